"""difffake.distributed.workflows: the parts with no cluster (the verdict counts over a log, the
steady rate, the reuse of a store entry made from the same file) and `_run`, the loop every
workflow shares, on the folder's real Ray cluster with actors of the test's own. The workflows
end to end (ray_scan, ray_prepare against local runs): test_distributed.py."""
from __future__ import annotations

import json
import shutil

import pytest

from difffake.distributed.results import read_rows
from difffake.distributed.workflows import _actor_count, _run, _steady, _stored_from, verdicts


def write_log(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_verdicts_count_fakes_and_unscored_rows_over_the_whole_log(tmp_path):
    rows = [{"status": "ok", "result": {"verdict": "fake"}}, {"status": "ok", "result": {"verdict": "real"}},
            {"status": "ok", "result": {"verdict": "unknown"}}, {"status": "ok", "result": {}},
            {"status": "no_face", "result": {"verdict": "unknown"}}, {"status": "error", "reason": "x"},
            {"status": "ok", "result": {"verdict": "fake"}}]
    write_log(tmp_path / "r.jsonl", rows)
    assert verdicts(tmp_path / "r.jsonl") == {"judged_fake": 2, "unscored": 4}
    write_log(tmp_path / "r.parquet.jsonl", rows[:2])   # a .parquet output: counted from its .jsonl log
    assert verdicts(tmp_path / "r.parquet") == {"judged_fake": 1, "unscored": 0}


def test_steady_rate_leaves_out_each_actors_first_row():
    # 2 actors; rows at 10 s and 12 s (start-up), then 4 more by 72 s: 4 rows in the 60 s after the 2nd
    assert _steady([10.0, 12.0, 72.0], done=6, actors=2) == 4.0
    assert _steady([10.0, 12.0], done=2, actors=2) is None        # no row after start-up
    assert _steady([5.0, 5.0, 5.0], done=3, actors=2) is None     # no time passed
    assert _steady([1.0, 3.0], done=3, actors=1) == 60.0           # _run keeps the first `actors` and the last


def test_actor_count_given_or_at_least_one():
    assert _actor_count(None, 3) == 3   # given: the cluster is not asked
    assert _actor_count(None, 1) == 1


@pytest.fixture
def store_with_entry(tiny_store, synthetic_videos, tmp_path):
    """A writable store holding astro_0.mp4's entry (made from the synthetic video of that name)."""
    from difffake.faces.store import FaceStore

    store = FaceStore(tmp_path / "store", tiny_store.settings)
    store.save(tiny_store.load("astro_0.mp4"))
    return store, synthetic_videos / "astro_0.mp4"


def test_an_entry_made_from_this_very_file_is_reused(store_with_entry, tmp_path):
    store, video = store_with_entry
    assert store.load("astro_0.mp4", with_crops=False).meta["source"] == str(video.resolve())
    assert _stored_from(store, str(video), "astro_0.mp4") == {
        "id": "astro_0.mp4", "path": str(video), "status": "ok", "reason": "already in the store", "attempts": 0}
    other = tmp_path / "elsewhere" / "astro_0.mp4"   # the same bytes in another place: another file
    other.parent.mkdir()
    shutil.copy(video, other)
    assert _stored_from(store, str(other), "astro_0.mp4") is None
    assert _stored_from(store, str(video), "astro_9.mp4") is None   # not in the store


def test_a_damaged_entry_is_remade_not_reused(store_with_entry):
    store, video = store_with_entry
    store.path_for("astro_0.mp4").write_bytes(b"not an npz archive")
    assert store.has("astro_0.mp4")
    assert _stored_from(store, str(video), "astro_0.mp4") is None


# --- _run on the real cluster --------------------------------------------------------------

def echo_actor_class():
    """Defined in a function so that Ray ships the class itself to its workers."""
    class Echo:
        def __init__(self, index: int):
            self.index = index

        def run(self, path: str, video_id: str) -> dict:
            status = "no_face" if path.endswith(".png") else "ok"
            return {"id": video_id, "path": path, "status": status, "reason": None, "actor": self.index}
    return Echo


@pytest.fixture(scope="module")
def echo(ray_cluster):
    import ray

    remote = ray.remote(num_cpus=0, max_restarts=0, max_task_retries=0)(echo_actor_class())
    return ray, lambda i: remote.remote(i)


def test_run_writes_one_row_per_input_and_a_rerun_skips_them(echo, tmp_path):
    ray, make = echo
    jobs = [("a.mp4", "a", None), ("gone.mp4", "gone", "no such file"), ("kept.mp4", "kept", None),
            ("b.png", "b", None), ("c.mp4", "c", None)]
    kept = {"id": "kept", "path": "kept.mp4", "status": "ok", "reason": "already in the store", "attempts": 0}
    skip = lambda path, vid: kept if vid == "kept" else None
    out = tmp_path / "rows.jsonl"
    s = _run(ray, make, iter(jobs), len(jobs), out, 2, "test", 1, 2, 3600.0, skip=skip)
    assert {k: s[k] for k in ("output", "log", "inputs", "written", "skipped_already_written", "ok", "no_face",
                              "error", "actors", "actors_replaced")} == {
        "output": str(out), "log": str(out), "inputs": 5, "written": 5, "skipped_already_written": 0, "ok": 3,
        "no_face": 1, "error": 1, "actors": 2, "actors_replaced": 0}
    rows = {r["id"]: r for r in read_rows(out)}
    assert len(rows) == 5
    assert rows["gone"] == {"id": "gone", "path": "gone.mp4", "status": "error", "reason": "gone.mp4: no such file",
                            "attempts": 0}                     # a problem input never reaches an actor
    assert rows["kept"] == kept                                # the skip function's row, as given
    assert {rows[k]["attempts"] for k in ("a", "b", "c")} == {1} and rows["b"]["status"] == "no_face"
    assert {rows[k]["actor"] for k in ("a", "b", "c")} <= {0, 1}
    assert s["videos_per_minute"] > 0 and s["steady_videos_per_minute"] > 0   # 5 rows from 2 actors

    again = _run(ray, make, iter(jobs + [("d.mp4", "d", None)]), 6, out, 1, "test", 1, None, 3600.0)
    assert (again["written"], again["skipped_already_written"], again["ok"]) == (1, 5, 1)
    assert [r["id"] for r in read_rows(out)][-1] == "d" and len(read_rows(out)) == 6
