"""difffake.distributed.runner: the actor pool. Its bookkeeping (sizes, replacement, the limit on
replacements) needs no cluster; submitting, retrying and error rows run on the real loopback Ray
cluster of tests/distributed/conftest.py, with actors of the test's own whose run() returns a row,
raises, or kills its process."""
from __future__ import annotations

import re
import time

import pytest

from difffake.distributed.runner import ActorPool, _Slot

WAIT = 60   # a guard only


def handles(made: list):
    """make(index) for a pool that never submits: a named handle, and a record of the calls."""
    def make(i):
        made.append(i)
        return f"actor-{i}"
    return make


def test_a_new_pool_makes_one_actor_per_slot_and_sizes_its_queue():
    made = []
    pool = ActorPool(None, handles(made), 3)
    assert made == [0, 1, 2] and pool.actors() == ["actor-0", "actor-1", "actor-2"]
    assert (pool.created, pool.max_in_flight, pool.max_replacements, pool.replaced) == (3, 6, 12, 0)
    assert [(s.generation, s.load) for s in pool.slots] == [(0, 0)] * 3
    assert not pool.full() and pool.harvest() == [] and list(pool.drain()) == []   # nothing in flight
    pool = ActorPool(None, handles([]), 2, max_in_flight=5, max_replacements=0)
    assert (pool.max_in_flight, pool.max_replacements) == (5, 0)


def test_a_dead_actor_is_replaced_once_per_generation():
    made = []
    pool = ActorPool(None, handles(made), 2)
    pool.slots[1].load = 4
    pool._replace(1, 0, RuntimeError("gone"))
    assert pool.slots[1] == _Slot("actor-2", generation=1, load=0) and pool.slots[0].actor == "actor-0"
    pool._replace(1, 0, RuntimeError("gone"))   # another task of the same dead actor: already replaced
    assert (pool.replaced, pool.created, made) == (1, 3, [0, 1, 2])
    pool._replace(1, 1, RuntimeError("gone again"))
    assert pool.slots[1] == _Slot("actor-3", generation=2) and pool.replaced == 2


def test_too_many_dead_actors_give_up_naming_the_last_error():
    pool = ActorPool(None, handles([]), 1, max_replacements=1)
    pool._replace(0, 0, RuntimeError("first"))
    with pytest.raises(RuntimeError, match=r"^1 Ray actors died already \(last: second\); giving up$") as exc:
        pool._replace(0, 1, RuntimeError("second"))
    assert str(exc.value.__cause__) == "second" and pool.replaced == 1 and pool.actors() == ["actor-1"]


# --- on the real cluster ---------------------------------------------------------------

def toy_actor_class():
    """Defined in a function so that Ray ships the class itself (a module of tests/ is not
    importable in Ray's worker processes)."""
    import os
    from pathlib import Path

    class Toy:
        def __init__(self, index: int):
            self.index = index

        def run(self, path: str, video_id: str) -> dict:
            if path == "die":
                os._exit(1)
            if path.startswith("die-once:"):
                marker = Path(path.split(":", 1)[1])
                if not marker.exists():
                    marker.write_text("died here once")
                    os._exit(1)
            if path == "raise":
                raise ValueError("bad input\nsecond line")
            return {"id": video_id, "path": path, "status": "ok", "actor": self.index}
    return Toy


@pytest.fixture(scope="module")
def make_toy(ray_cluster):
    import ray

    remote = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(toy_actor_class())
    return ray, lambda i: remote.remote(i)


def one(pool, path: str) -> dict:
    pool.submit(path, path)
    [row] = list(pool.drain())
    return row


def test_rows_retries_and_error_rows_one_task_at_a_time(make_toy, tmp_path):
    ray, make = make_toy
    pool = ActorPool(ray, make, 1, retries=1)
    try:
        assert one(pool, "a") == {"id": "a", "path": "a", "status": "ok", "actor": 0, "attempts": 1}
        raised = one(pool, "raise")   # the task raised: recorded, the actor lives on
        assert raised == {"id": "raise", "path": "raise", "status": "error", "attempts": 1,
                          "reason": "raise: task failed (ValueError: bad input)"}
        assert pool.replaced == 0
        marker = tmp_path / "marker"
        again = one(pool, f"die-once:{marker}")   # died once, retried on a new actor
        assert (again["status"], again["attempts"], again["actor"]) == ("ok", 2, 1) and marker.is_file()
        assert (pool.replaced, pool.created) == (1, 2)
        died = one(pool, "die")                   # dies on every attempt: an error row after retries + 1
        assert (died["status"], died["attempts"]) == ("error", 2)
        assert re.fullmatch(r"die: worker died on each of 2 attempts \(\w+\)", died["reason"]), died["reason"]
        assert (pool.replaced, pool.created, pool.inflight) == (3, 4, {})
        assert one(pool, "b")["actor"] == 3       # the pool goes on with the newest actor
    finally:
        pool.close()


def test_work_goes_to_the_least_loaded_actor_with_bounded_work_in_flight(make_toy):
    ray, make = make_toy
    pool = ActorPool(ray, make, 2, max_in_flight=3)
    try:
        for name in ("a", "b"):
            pool.submit(name, name)
        assert not pool.full()
        pool.submit("c", "c")
        assert pool.full() and [s.load for s in pool.slots] == [2, 1]
        rows = {r["id"]: r for r in pool.drain()}
        assert {k: r["actor"] for k, r in rows.items()} == {"a": 0, "b": 1, "c": 0}
        assert [s.load for s in pool.slots] == [0, 0] and not pool.full()
        first = pool.actors()[0]
    finally:
        pool.close()
    # close() killed the actors; ray.kill is asynchronous, so a call right after may still be served
    deadline = time.monotonic() + WAIT
    with pytest.raises(ray.exceptions.RayActorError):
        while time.monotonic() < deadline:
            ray.get(first.run.remote("a", "a"), timeout=WAIT)
            time.sleep(0.1)
