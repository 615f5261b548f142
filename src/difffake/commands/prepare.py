"""`difffake prepare`: fill a FaceStore with face crops + landmarks of videos and photos.

Resumable (finished videos are skipped; entries are written atomically), one
bad file never stops the batch. Two runs on one store split the work: each entry
is extracted under its own lock, a run leaves entries another run holds to it and
waits for them at the end (faces/store_locks.py). Exit codes: 0 all inputs done; 2 bad arguments
or a store made with other settings; 3 some inputs failed (listed on stderr
and in STORE/failures.json), the others were stored.
"""
from __future__ import annotations

import functools
import json
import logging
import multiprocessing as mp
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import PRESETS, FaceConfig, preset
from ..errors import EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE, MediaError, SettingsMismatch
from ..progress import bar as progress_bar

NAME = "prepare"
HELP = "detect faces in videos/photos and cache crops + 68 landmarks in a face store"
FAILURES = "failures.json"
log = logging.getLogger("difffake.prepare")


def add_arguments(p) -> None:
    p.epilog = ("exit codes: 0 every input stored; 2 bad arguments or a store made with other "
                "settings; 3 some inputs could not be read (each listed as 'FAILED path: reason' "
                "on stderr and in STORE/failures.json), the others were stored")
    p.add_argument("inputs", nargs="+", metavar="ROOT_OR_FILE",
                   help="folders (walked for videos/images; id = path relative to the folder) or files "
                        "(id = file name)")
    p.add_argument("--store", required=True, help="face store folder (created if missing)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames sampled per video (default: the preset's, cpu 32, paper 40)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--preset", choices=PRESETS, default="cpu", help="face settings preset")
    from .ray_runner import add_ray_arguments
    add_ray_arguments(p)
    from .dash_names import explain_dash_names
    explain_dash_names(p, NAME)   # `prepare -- -clip.mp4`


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


# -- per-process worker state (a detector per process) ------------------------
_STATE: dict = {}


def _init_worker(store_root: str, cfg_dict: dict, detector=None, read_ahead: bool = True) -> None:
    from ..faces import pipeline
    from ..faces.pipeline import detector_for
    from ..faces.store import FaceStore

    pipeline.READ_AHEAD = read_ahead   # pool workers already fill every core: no decode thread each

    cfg = FaceConfig(**cfg_dict)
    _STATE.update(cfg=cfg, detector=detector or detector_for(cfg), store=FaceStore(store_root))


def _process(job: Job, wait: bool = False) -> dict:
    """Extract and store one job under its entry lock. Without `wait`, an entry that
    another run holds is left to it: the result says held=True."""
    from filelock import Timeout

    from ..faces.pipeline import extract_faces

    t0 = time.perf_counter()
    out = dict(id=job.video_id, path=job.path, ok=False, frames=0, faces=0)
    store = _STATE["store"]
    lock = store.entry_lock(job.video_id)
    try:
        lock.acquire(timeout=-1 if wait else 0)
    except Timeout:
        return {**out, "held": True}
    try:
        if reusable(store, job, quiet=True):   # another run wrote it after this one listed its work
            rec = store.load(job.video_id, with_crops=False)
            return {**out, "ok": True, "by_other": True, "frames": rec.num_frames, "faces": rec.num_faces}
        record = extract_faces(job.path, _STATE["cfg"], _STATE["detector"], video_id=job.video_id)
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
        if todo:   # no detector is loaded when everything is stored already
            _init_worker(*init_args, detector=detector)
        results = _two_passes(todo, lambda batch, wait: map(functools.partial(_process, wait=wait), batch),
                              bar, store.root)
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(workers, len(todo)), initializer=_init_worker,
                      initargs=init_args + (None, False)) as pool:
            results = _two_passes(
                todo, lambda batch, wait: pool.imap_unordered(functools.partial(_process, wait=wait), batch),
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


def run(args) -> int:
    cfg = preset(args.preset).faces
    if args.frames is not None:
        if args.frames < 1:
            print("difffake prepare: error: --frames must be >= 1", file=sys.stderr)
            return EXIT_USAGE
        cfg.num_frames = args.frames
    if args.ray is not None:   # the same store, filled by Ray actors (difffake.distributed)
        from .ray_runner import run_prepare
        return run_prepare(args, cfg)
    try:
        summary = prepare(args.inputs, args.store, cfg, workers=max(1, args.workers))
    except SettingsMismatch as exc:
        print(f"difffake prepare: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for f in summary["failures"]:
        print(f"FAILED {f['path']}: {f['reason']}", file=sys.stderr)
    s = summary
    rate = 100.0 * s["frames_with_face"] / s["frames"] if s["frames"] else 0.0
    print(f"prepare: {s['inputs']} inputs, {s['skipped_existing']} already in store, "
          f"{s['processed']} processed, {s['failed']} failed; "
          f"{s['frames']} frames, {s['frames_with_face']} with a face ({rate:.1f}%); "
          f"{len(s['videos_without_face'])} without any face; "
          f"{s['seconds']:.1f} s ({s['frames_per_second']:.1f} frames/s, {s['workers']} workers)")
    if s["videos_without_face"]:
        print("no face in: " + ", ".join(s["videos_without_face"]))
    return EXIT_INPUT_ERROR if s["failed"] else EXIT_OK
