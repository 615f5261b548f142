"""`difffake prepare`: fill a FaceStore with face crops + landmarks of videos and photos.

Resumable (finished videos are skipped; entries are written atomically), one
bad file never stops the batch. Exit codes: 0 all inputs done; 2 bad arguments
or a store made with other settings; 3 some inputs failed (listed on stderr
and in STORE/failures.json), the others were stored.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..config import PRESETS, FaceConfig, preset
from ..errors import EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE, MediaError, SettingsMismatch

NAME = "prepare"
HELP = "detect faces in videos/photos and cache crops + 68 landmarks in a face store"
FAILURES = "failures.json"


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


@dataclass
class Job:
    path: str
    video_id: str


def collect_jobs(inputs) -> tuple[list[Job], list[dict]]:
    """Media files under each input (sorted), with ids; and problems with the inputs."""
    from ..faces.video import MEDIA_EXTENSIONS

    jobs, problems, seen = [], [], {}
    for raw in inputs:
        root = Path(raw)
        if root.is_dir():
            found = [(p, p.relative_to(root).as_posix()) for p in sorted(root.rglob("*"))
                     if p.is_file() and p.suffix.lower() in MEDIA_EXTENSIONS]
        elif root.exists():
            found = [(root, root.name)]  # an explicit file is tried whatever its extension
        else:
            problems.append(dict(id=root.name, path=str(root), reason="no such file or folder"))
            continue
        for path, vid in found:
            if vid in seen:
                problems.append(dict(id=vid, path=str(path),
                                     reason=f"duplicate id (also {seen[vid]}); give it another root"))
                continue
            seen[vid] = str(path)
            jobs.append(Job(str(path), vid))
    return jobs, problems


# -- per-process worker state (a detector per process) ------------------------
_STATE: dict = {}


def _init_worker(store_root: str, cfg_dict: dict) -> None:
    from ..faces.pipeline import detector_for
    from ..faces.store import FaceStore

    cfg = FaceConfig(**cfg_dict)
    _STATE.update(cfg=cfg, detector=detector_for(cfg), store=FaceStore(store_root))


def _process(job: Job) -> dict:
    from ..faces.pipeline import extract_faces

    t0 = time.perf_counter()
    out = dict(id=job.video_id, path=job.path, ok=False, frames=0, faces=0)
    try:
        record = extract_faces(job.path, _STATE["cfg"], _STATE["detector"], video_id=job.video_id)
        _STATE["store"].save(record)
        out.update(ok=True, frames=record.num_frames, faces=record.num_faces)
    except MediaError as exc:
        out["reason"] = exc.reason
    except Exception as exc:  # recorded as this file's failure; the batch goes on
        out["reason"] = f"unexpected {type(exc).__name__}: {exc}"
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def prepare(inputs, store_root, cfg: FaceConfig, workers: int = 1, progress: bool | None = None) -> dict:
    """Run the face pipeline over `inputs` into the store; return the summary dict.

    Raises SettingsMismatch when the store was made with other face settings.
    """
    from tqdm import tqdm

    from ..faces.pipeline import store_settings
    from ..faces.store import FaceStore

    store = FaceStore(store_root, store_settings(cfg))
    jobs, failures = collect_jobs(inputs)
    todo = [j for j in jobs if not store.has(j.video_id)]
    results = []
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), desc="prepare", unit="video", disable=None if progress is None else not progress,
               file=sys.stderr)
    init_args = (str(store.root), store_settings(cfg))
    if workers <= 1 or len(todo) <= 1:
        _init_worker(*init_args)
        for job in todo:
            results.append(_process(job))
            bar.update()
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(workers, len(todo)), initializer=_init_worker, initargs=init_args) as pool:
            for res in pool.imap_unordered(_process, todo):
                results.append(res)
                bar.update()
    bar.close()
    seconds = time.perf_counter() - t0
    failures += [dict(id=r["id"], path=r["path"], reason=r["reason"]) for r in results if not r["ok"]]
    done = [r for r in results if r["ok"]]
    summary = dict(
        inputs=len(jobs), skipped_existing=len(jobs) - len(todo), processed=len(done),
        failed=len(failures), frames=sum(r["frames"] for r in done),
        frames_with_face=sum(r["faces"] for r in done),
        videos_without_face=[r["id"] for r in done if r["faces"] == 0],
        seconds=round(seconds, 2), workers=workers, failures=failures)
    summary["frames_per_second"] = round(summary["frames"] / seconds, 2) if seconds > 0 else 0.0
    _write_failures(store.root, failures, ok_ids={r["id"] for r in done})
    return summary


def _write_failures(root: Path, new: list[dict], ok_ids: set) -> None:
    # Keep earlier runs' failures unless the file has since succeeded.
    path = root / FAILURES
    old = json.loads(path.read_text()) if path.exists() else []
    merged = {f["id"]: f for f in old if f["id"] not in ok_ids}
    merged.update({f["id"]: f for f in new})
    fd, tmp = tempfile.mkstemp(dir=root, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        json.dump(sorted(merged.values(), key=lambda f: f["id"]), fh, indent=1)
    os.replace(tmp, path)


def run(args) -> int:
    cfg = preset(args.preset).faces
    if args.frames is not None:
        if args.frames < 1:
            print("difffake prepare: error: --frames must be >= 1", file=sys.stderr)
            return EXIT_USAGE
        cfg.num_frames = args.frames
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
