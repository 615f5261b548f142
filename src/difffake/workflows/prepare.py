"""Fill a FaceStore with face crops + landmarks of videos and photos (`difffake prepare`).

Resumable (finished videos are skipped; entries are written atomically), one
bad file never stops the batch. Two runs on one store split the work: each entry
is extracted under its own lock, a run leaves entries another run holds to it and
waits for them at the end (faces/store_locks.py). Failures are returned in the
summary and merged into STORE/failures.json.
"""
from __future__ import annotations

import functools
import json
import logging
import multiprocessing as mp
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import FaceConfig
from ..errors import MediaError
from ..progress import bar as progress_bar

FAILURES = "failures.json"
log = logging.getLogger("difffake.prepare")


@dataclass
class Job:
    path: str
    video_id: str


def collect_jobs(inputs) -> tuple[list[Job], list[dict]]:
    """Media files under each input (sorted), with ids; and problems with the inputs."""
    from ..faces.video import collect_media

    found, problems = collect_media(inputs, explicit_id="name")
    return [Job(path, vid) for path, vid in found], problems


def reusable(store, job: Job, quiet: bool = False) -> bool:
    """True when the store holds job.video_id extracted from the same file as job.path.

    An entry made from another file (same id, another root) must not be reused:
    its crops are another video's.
    """
    from ..faces.store import made_from

    if not store.has(job.video_id):
        return False
    try:
        source = store.load(job.video_id, with_crops=False).meta.get("source")
    except Exception as exc:   # a damaged entry is remade, not fatal to the batch
        if not quiet:
            log.warning("%s: store entry %r unreadable (%s); extracting again", job.path, job.video_id, exc)
        return False
    if made_from(source, job.path):
        return True
    if not quiet:
        log.warning("%s: store entry %r was made from %s, not this file; extracting again",
                    job.path, job.video_id, source or "an unknown file")
    return False


class ExtractionWorker:
    """What one process needs to extract and store jobs: the face settings, its own face
    detector (dlib's models cannot be sent to another process) and the store."""

    def __init__(self, store_root: str, cfg_dict: dict, detector=None, read_ahead: bool = True):
        from ..faces import pipeline
        from ..faces.pipeline import detector_for
        from ..faces.store import FaceStore

        pipeline.READ_AHEAD = read_ahead   # pool workers already fill every core: no decode thread each
        self.decode_threads = None if read_ahead else 1   # nor FFmpeg's threads, one per core each
        self.cfg = FaceConfig(**cfg_dict)
        self.detector = detector or detector_for(self.cfg)
        self.store = FaceStore(store_root)

    def process(self, job: Job, wait: bool = False) -> dict:
        """Extract and store one job under its entry lock. Without `wait`, an entry that
        another run holds is left to it: the result says held=True."""
        from filelock import Timeout

        from ..faces.pipeline import extract_faces

        t0 = time.perf_counter()
        out = dict(id=job.video_id, path=job.path, ok=False, frames=0, faces=0)
        store = self.store
        lock = store.entry_lock(job.video_id)
        try:
            lock.acquire(timeout=-1 if wait else 0)
        except Timeout:
            return {**out, "held": True}
        try:
            if reusable(store, job, quiet=True):   # another run wrote it after this one listed its work
                rec = store.load(job.video_id, with_crops=False)
                return {**out, "ok": True, "by_other": True, "frames": rec.num_frames, "faces": rec.num_faces}
            record = extract_faces(job.path, self.cfg, self.detector, video_id=job.video_id,
                                   decode_threads=self.decode_threads)
            # absolute, so `reusable` can compare it from any working directory
            record.meta["source"] = str(Path(job.path).resolve())
            record.meta.pop("seconds", None)   # a timing differs run to run: entries stay byte-identical
            store.save(record)
            out.update(ok=True, frames=record.num_frames, faces=record.num_faces)
        except MediaError as exc:
            out["reason"] = exc.reason
        except Exception as exc:  # recorded as this file's failure; the batch goes on
            out["reason"] = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            lock.release()
        out["seconds"] = round(time.perf_counter() - t0, 3)
        return out


class _PoolProcessSlot:
    """The ExtractionWorker of a pool process. Pool tasks must be module-level functions
    (they are pickled by name), so the worker the pool initializer builds in each spawned
    process is kept here, one slot per process; the single-process path does not use it."""

    def __init__(self):
        self.worker: ExtractionWorker | None = None


_POOL_PROCESS = _PoolProcessSlot()


def _init_pool_process(*args) -> None:
    _POOL_PROCESS.worker = ExtractionWorker(*args)


def _process_in_pool(job: Job, wait: bool = False) -> dict:
    return _POOL_PROCESS.worker.process(job, wait)


def prepare(inputs, store_root, cfg: FaceConfig, workers: int = 1, progress: bool | None = None) -> dict:
    """Run the face pipeline over `inputs` into the store; return the summary dict.

    Raises SettingsMismatch when the store was made with other face settings.
    """
    jobs, problems = collect_jobs(inputs)
    return prepare_jobs(jobs, store_root, cfg, workers, progress, problems=problems)


def prepare_jobs(jobs: list[Job], store_root, cfg: FaceConfig, workers: int = 1, progress: bool | None = None,
                 problems: list[dict] = (), detector=None, desc: str = "prepare") -> dict:
    """Extract the faces of `jobs` not yet in the store (one failing file never stops the others).

    Every failure (any exception: its type and message) is in summary["failures"]
    and STORE/failures.json. `detector`: a face detector to reuse when workers == 1.
    """
    from ..faces.pipeline import store_settings
    from ..faces.store import FaceStore

    store = FaceStore(store_root, store_settings(cfg))
    failures = list(problems)
    todo = [j for j in jobs if not reusable(store, j)]
    t0 = time.perf_counter()
    bar = progress_bar(total=len(todo), desc=desc, unit="video", enabled=progress is not False)
    init_args = (str(store.root), store_settings(cfg))
    if workers <= 1 or len(todo) <= 1:
        results = []
        if todo:   # no detector is loaded when everything is stored already
            worker = ExtractionWorker(*init_args, detector=detector)
            results = _two_passes(todo, lambda batch, wait: map(functools.partial(worker.process, wait=wait), batch),
                                  bar, store.root)
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(workers, len(todo)), initializer=_init_pool_process,
                      initargs=init_args + (None, False)) as pool:
            results = _two_passes(
                todo, lambda batch, wait: pool.imap_unordered(functools.partial(_process_in_pool, wait=wait),
                                                              batch),
                bar, store.root)
    bar.close()
    seconds = time.perf_counter() - t0
    failures += [dict(id=r["id"], path=r["path"], reason=r["reason"]) for r in results if not r["ok"]]
    by_other = sum(1 for r in results if r.get("by_other"))
    done = [r for r in results if r["ok"] and not r.get("by_other")]
    summary = dict(
        inputs=len(jobs) + len(problems), skipped_existing=len(jobs) - len(todo) + by_other, processed=len(done),
        failed=len(failures), frames=sum(r["frames"] for r in done),
        frames_with_face=sum(r["faces"] for r in done),
        videos_without_face=[r["id"] for r in done if r["faces"] == 0],
        seconds=round(seconds, 2), workers=workers, failures=failures)
    summary["frames_per_second"] = round(summary["frames"] / seconds, 2) if seconds > 0 else 0.0
    _write_failures(store.root, failures, ok_ids={r["id"] for r in results if r["ok"]})
    return summary


def _two_passes(todo: list[Job], run_jobs, bar, root) -> list[dict]:
    """Every job once without waiting; then the ones another run held, waiting for their locks."""
    results, held = [], []
    for res in run_jobs(todo, False):
        (held if res.get("held") else results).append(res)
        bar.update(0 if res.get("held") else 1)
    if held:
        log.info("%s: %d entries are being written by another prepare run; waiting for them", root, len(held))
        by_id = {j.video_id: j for j in todo}
        for res in run_jobs([by_id[r["id"]] for r in held], True):
            results.append(res)
            bar.update()
    return results


def _write_failures(root: Path, new: list[dict], ok_ids: set) -> None:
    # Keep earlier runs' failures unless the file has since succeeded; under a lock, so
    # two runs on one store do not drop each other's lines.
    from ..faces.store_locks import replace_locked, store_lock

    path = root / FAILURES
    with store_lock(root, "failures"):
        old = json.loads(path.read_text()) if path.exists() else []
        merged = {f["id"]: f for f in old if f["id"] not in ok_ids}
        merged.update({f["id"]: f for f in new})
        text = json.dumps(sorted(merged.values(), key=lambda f: f["id"]), indent=1)
        replace_locked(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
