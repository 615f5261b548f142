"""ray_scan, ray_prepare, ray_prepare_records: the use cases over an actor pool."""
from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path

from .actors import FaceWorker, ScanWorker, error_row
from .inputs import count_inputs, iter_inputs
from .progress import Progress
from .results import ResultLog, log_path
from .runner import ActorPool
from .runtime import LOCAL, cluster_cpus, cluster_gpus, connect, owns_session

log = logging.getLogger("difffake.distributed")


def _run(ray, make, jobs, total, out, actors: int, desc: str, retries: int, max_in_flight,
         progress_every: float, skip=None) -> dict:
    """Feed `jobs` ((path, id, problem) stream) to a pool; one row per input in `out`."""
    results = ResultLog(out)
    progress = Progress(total, desc, every=progress_every)
    t0 = time.perf_counter()
    pool = ActorPool(ray, make, actors, max_in_flight=max_in_flight, retries=retries)
    counts = {"ok": 0, "no_face": 0, "error": 0}
    stamps = []   # when the first `actors` rows and the last one came: the steady rate, without start-up

    def write(row):
        results.write(row)
        counts[row["status"]] += 1
        progress.update(row["status"])
        if len(stamps) > actors:
            stamps.pop()
        stamps.append(time.perf_counter())

    try:
        for path, video_id, problem in jobs:
            if video_id in results.done:
                progress.skip()
                continue
            if problem is not None:
                write({**error_row(path, video_id, f"{path}: {problem}"), "attempts": 0})
                continue
            if skip is not None and (row := skip(path, video_id)) is not None:
                write(row)
                continue
            while pool.full():   # backpressure: the stream is read no faster than actors finish
                for row in pool.harvest():
                    write(row)
            pool.submit(path, video_id)
            for row in pool.harvest(block=False):
                write(row)
        for row in pool.drain():
            write(row)
    finally:
        pool.close()
        results.close()
        progress.close()
    seconds = time.perf_counter() - t0
    done = sum(counts.values())
    return {"output": str(out), "log": str(results.path), "inputs": total, "written": done,
            "skipped_already_written": progress.skipped, **counts, "actors": actors,
            "actors_replaced": pool.replaced, "seconds": round(seconds, 2),
            "videos_per_minute": round(60.0 * done / seconds, 2) if seconds > 0 else 0.0,
            "steady_videos_per_minute": _steady(stamps, done, actors)}


def _steady(stamps: list, done: int, actors: int) -> float | None:
    """Rows per minute after every actor delivered its first one (actor start-up left out)."""
    if done <= actors or len(stamps) <= actors:
        return None
    span = stamps[-1] - stamps[actors - 1]
    return round(60.0 * (done - actors) / span, 2) if span > 0 else None


def _actor_count(ray, actors: int | None) -> int:
    return max(1, actors or cluster_cpus(ray))


@owns_session
def ray_scan(inputs, out, detector_dir=None, frames: int | None = None, address: str | None = LOCAL,
             actors: int | None = None, dry_run: bool = False, retries: int = 2,
             max_in_flight: int | None = None, progress_every: float = 30.0, name_prefix: str | None = None,
             num_cpus: int | None = None) -> dict:
    """Scan every input on a Ray cluster into `out` (.jsonl, or .parquet plus its .jsonl log).

    `inputs`: files, folders, '@LIST' files (read as streams). Actors: one per
    cluster CPU by default; with GPUs in the cluster each also takes a share of
    one (num_gpus) and embeds on CUDA.
    """
    ray = connect(address, num_cpus=num_cpus)
    n = _actor_count(ray, actors)
    gpus = cluster_gpus(ray)
    options = dict(num_cpus=1, max_restarts=0, max_task_retries=0)
    if gpus and not dry_run:
        options["num_gpus"] = min(1.0, gpus / n)
    remote = ray.remote(**options)(ScanWorker)
    prefix = name_prefix or f"difffake-scan-{uuid.uuid4().hex[:8]}"
    device = "cuda" if options.get("num_gpus") else "cpu"
    args = (str(detector_dir) if detector_dir else None, frames, device, 1, dry_run)
    make = lambda i: remote.options(name=f"{prefix}-{i}").remote(*args)
    summary = _run(ray, make, iter_inputs(inputs, prefix_folders=True), count_inputs(inputs), out, n, "ray scan", retries,
                   max_in_flight, progress_every)
    summary.update(verdicts(out), gpus=gpus)
    return summary


def verdicts(out) -> dict:
    """fake / unscored counts over the whole log (this run and earlier ones), streamed."""
    fake = unscored = 0
    with log_path(out).open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            result = row.get("result") or {}
            fake += result.get("verdict") == "fake"
            unscored += row["status"] != "ok" or result.get("verdict", "unknown") == "unknown"
    return {"judged_fake": fake, "unscored": unscored}


def _stored_from(store, path: str, video_id: str):
    """A row when the store already holds `video_id` made from this very file (as prepare's reuse rule)."""
    if not store.has(video_id):
        return None
    try:
        meta = store.load(video_id, with_crops=False).meta
    except Exception:   # a damaged entry is remade by an actor
        return None
    from ..faces.store import made_from

    if made_from(meta.get("source"), path):
        return {"id": video_id, "path": path, "status": "ok", "reason": "already in the store", "attempts": 0}
    return None


@owns_session
def _prepare(jobs, total, store_root, cfg, out, address, actors, dry_run, retries, max_in_flight,
             progress_every, name_prefix, num_cpus, desc):
    from ..faces.pipeline import store_settings
    from ..faces.store import FaceStore

    store = FaceStore(store_root, store_settings(cfg))   # created (or checked) once, by the driver
    ray = connect(address, num_cpus=num_cpus)
    n = _actor_count(ray, actors)
    remote = ray.remote(num_cpus=1, max_restarts=0, max_task_retries=0)(FaceWorker)
    prefix = name_prefix or f"difffake-faces-{uuid.uuid4().hex[:8]}"
    args = (str(Path(store_root).resolve()), store_settings(cfg), dry_run)
    make = lambda i: remote.options(name=f"{prefix}-{i}").remote(*args)
    out = Path(out) if out else Path(store_root) / "ray_rows.jsonl"
    return _run(ray, make, jobs, total, out, n, desc, retries, max_in_flight, progress_every,
                skip=None if dry_run else (lambda p, v: _stored_from(store, p, v)))


def ray_prepare(inputs, store_root, cfg, out=None, address: str | None = LOCAL, actors: int | None = None,
                dry_run: bool = False, retries: int = 2, max_in_flight: int | None = None,
                progress_every: float = 30.0, name_prefix: str | None = None, num_cpus: int | None = None) -> dict:
    """`difffake prepare` on a Ray cluster: the same store entries, one row per input in
    `out` (default STORE/ray_rows.jsonl). The store must be on a filesystem every node sees."""
    return _prepare(iter_inputs(inputs), count_inputs(inputs), store_root, cfg, out, address, actors, dry_run,
                    retries, max_in_flight, progress_every, name_prefix, num_cpus, "ray prepare")


def ray_prepare_records(records, store_root, cfg, address: str | None = LOCAL, actors: int | None = None,
                        **kwargs) -> dict:
    """The face store of a dataset's records (evaluate --ray), rows in STORE/ray_rows.jsonl."""
    jobs = ((str(r.path), r.video_id, None) for r in records)
    return _prepare(jobs, len(records), store_root, cfg, None, address, actors, False,
                    kwargs.get("retries", 2), kwargs.get("max_in_flight"), kwargs.get("progress_every", 30.0),
                    kwargs.get("name_prefix"), kwargs.get("num_cpus"), f"ray faces {Path(store_root).name}")
