"""The actor pool: bounded in-flight work, dead actors replaced, their tasks
retried a bounded number of times and then written as error rows."""
from __future__ import annotations

import logging
from dataclasses import dataclass

from .actors import error_row

log = logging.getLogger("difffake.distributed")


@dataclass
class _Slot:
    actor: object
    generation: int = 0
    load: int = 0


class ActorPool:
    """`make(index)` returns a new actor handle; tasks are actor.run.remote(path, id)."""

    def __init__(self, ray, make, size: int, max_in_flight: int | None = None, retries: int = 2,
                 max_replacements: int | None = None):
        self.ray, self.make, self.retries = ray, make, retries
        self.slots = [_Slot(make(i)) for i in range(size)]
        self.created = size
        self.max_in_flight = max_in_flight or 2 * size   # backpressure: a queue of ~2 per actor
        self.max_replacements = 3 * size + 3 if max_replacements is None else max_replacements
        self.replaced = 0
        self.inflight: dict = {}   # ObjectRef -> (slot index, generation, path, id, attempts so far)

    def actors(self) -> list:
        return [s.actor for s in self.slots]

    def submit(self, path: str, video_id: str, attempts: int = 0) -> None:
        index = min(range(len(self.slots)), key=lambda i: self.slots[i].load)
        slot = self.slots[index]
        ref = slot.actor.run.remote(path, video_id)
        slot.load += 1
        self.inflight[ref] = (index, slot.generation, path, video_id, attempts)

    def full(self) -> bool:
        return len(self.inflight) >= self.max_in_flight

    def harvest(self, block: bool = True) -> list[dict]:
        """Rows of the tasks that finished (waits for at least one when `block`)."""
        if not self.inflight:
            return []
        ready, _ = self.ray.wait(list(self.inflight), num_returns=1, timeout=None if block else 0)
        rows = []
        for ref in ready:
            index, generation, path, video_id, attempts = self.inflight.pop(ref)
            slot = self.slots[index]
            slot.load -= slot.generation == generation
            attempts += 1
            try:
                row = self.ray.get(ref)
            except self.ray.exceptions.RayActorError as exc:   # the actor (its process or node) died
                self._replace(index, generation, exc)
                if attempts <= self.retries:
                    log.warning("%s: its worker died (attempt %d); retrying", path, attempts)
                    self.submit(path, video_id, attempts)
                    continue
                row = error_row(path, video_id, f"{path}: worker died on each of {attempts} attempts "
                                                f"({type(exc).__name__})")
            except self.ray.exceptions.RayError as exc:   # the task itself raised: a bug, recorded
                # a RayTaskError's own first line is Ray's "ray::Class.run() (pid=..., ip=...)" header,
                # in terminal colours: the reason is the task's exception (its `cause`)
                cause = getattr(exc, "cause", None) or exc
                first = str(cause).splitlines()[0] if str(cause) else ""
                row = error_row(path, video_id, f"{path}: task failed ({type(cause).__name__}: {first})")
            row["attempts"] = attempts
            rows.append(row)
        return rows

    def drain(self):
        while self.inflight:
            yield from self.harvest()

    def _replace(self, index: int, generation: int, exc) -> None:
        slot = self.slots[index]
        if slot.generation != generation:
            return   # already replaced after an earlier task of the same dead actor
        if self.replaced >= self.max_replacements:
            raise RuntimeError(f"{self.replaced} Ray actors died already (last: {exc}); giving up") from exc
        self.replaced += 1
        log.warning("Ray actor %d died (%s); starting a new one", index, type(exc).__name__)
        # tasks still queued on the dead actor fail on their own and are retried one by one
        self.slots[index] = _Slot(self.make(self.created), generation + 1)
        self.created += 1

    def close(self) -> None:
        for slot in self.slots:
            self.ray.kill(slot.actor)
