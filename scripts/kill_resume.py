"""SIGKILL `difffake prepare` at seeded random moments, resume it, and check that the
resumed store is byte-identical (every file, sha256) to an uninterrupted run's.

    python scripts/kill_resume.py --points 12 --seed 0 --out benchmarks/results/kill_resume.md

The inputs are small synthetic videos (scikit-image's astronaut drifting, as in the
tests) plus one unreadable file, so failures.json is written too. Start-up time
swings with the machine's load, so a kill point is drawn as progress, not as a
clock time: "after n entries are on disk (n from 0 to all), plus a random part of
one entry's extraction time" (seeded), so the kills land at random phases of the
writing: mid-extraction, mid-write, between entries, while failures.json is written.
At each kill the script also loads every entry already on disk: a partly written
entry must never be there to be trusted.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def write_videos(folder: Path, count: int, frames: int) -> Path:
    """`count` short mp4s of a window drifting over the astronaut's face, and one broken file."""
    import cv2
    from skimage import data

    folder.mkdir(parents=True, exist_ok=True)
    rgb = np.ascontiguousarray(data.astronaut())
    for k in range(count):
        rng = np.random.default_rng(k)
        writer = cv2.VideoWriter(str(folder / f"astro_{k}.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10, (320, 256))
        dx, dy = rng.uniform(-3, 3, 2)
        for i in range(frames):
            x0, y0 = int(np.clip(65 + dx * i, 0, 192)), int(np.clip(12 + dy * i, 0, 256))
            writer.write(cv2.cvtColor(rgb[y0:y0 + 256, x0:x0 + 320], cv2.COLOR_RGB2BGR))
        writer.release()
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    return folder


def store_digest(root: Path) -> dict:
    """{relative path: sha256} of every file under a store (lock files and settings included)."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def prepare_cmd(inputs: Path, store: Path, frames: int) -> list[str]:
    return [sys.executable, "-m", "difffake", "prepare", str(inputs), "--store", str(store),
            "--frames", str(frames)]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _entries(store: Path) -> int:
    faces = store / "faces"
    return sum(1 for _ in faces.rglob("*.npz")) if faces.exists() else 0


def reference_run(inputs: Path, store: Path, frames: int) -> tuple[float, float]:
    """Run once uninterrupted; (seconds until the first entry lock, total seconds)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(prepare_cmd(inputs, store, frames), env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first = None
    while proc.poll() is None:
        if first is None and (store / ".locks" / "faces").exists():
            first = time.perf_counter() - t0
        time.sleep(0.01)
    total = time.perf_counter() - t0
    if proc.returncode not in (0, 3):
        raise RuntimeError(f"reference prepare failed ({proc.returncode}): {proc.stderr.read().decode()}")
    return (first if first is not None else 0.0), total


def _state(store: Path) -> dict:
    """What a kill left: entries on disk (each loaded, crops decoded), temporaries, settings."""
    from difffake.faces.store import FaceStore

    faces = sorted((store / "faces").rglob("*.npz")) if (store / "faces").exists() else []
    temps = sorted(str(p.relative_to(store)) for p in store.rglob("*.tmp"))
    readable = 0
    if (store / "settings.json").exists():
        s = FaceStore(store)
        for vid in s.ids():
            s.load(vid)   # raises FileError if a kill left a damaged entry
            readable += 1
    return dict(entries=len(faces), readable=readable, temps=temps, settings=(store / "settings.json").exists())


def kill_and_resume(inputs: Path, work: Path, points: int, seed: int, frames: int, say=print) -> list[dict]:
    """The table rows: one per kill point (delay, what the kill left, whether the resume matched)."""
    ref = work / "reference"
    start, total = reference_run(inputs, ref, frames)
    want = store_digest(ref)
    say(f"reference: {len(want)} files, extraction from {start:.2f} s, done at {total:.2f} s")
    n_entries = _entries(ref)
    per_entry = (total - start) / max(1, n_entries)
    rng = np.random.default_rng(seed)
    plan = [(int(rng.integers(0, n_entries + 1)), float(rng.uniform(0, per_entry))) for _ in range(points)]
    rows = []
    for k, (after, extra) in enumerate(plan):
        store = work / f"kill_{k:02d}"
        proc = subprocess.Popen(prepare_cmd(inputs, store, frames), env=_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        # extraction started (first entry lock) and `after` entries written, or the run ended
        while proc.poll() is None and not ((store / ".locks" / "faces").exists() and _entries(store) >= after):
            time.sleep(0.002)
        time.sleep(extra)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        delay = time.perf_counter() - t0
        left = _state(store)
        resumed = subprocess.run(prepare_cmd(inputs, store, frames), env=_env(), capture_output=True)
        got = store_digest(store)
        differ = sorted(f for f in set(got) | set(want) if got.get(f) != want.get(f))
        rows.append(dict(point=k, after=after, extra=round(extra, 3), delay=round(delay, 2), killed=killed, **left,
                         resume_rc=resumed.returncode, identical=not differ, differ=differ))
        say(f"point {k}: kill after {after} entries + {extra:.3f} s ({delay:.2f} s), {left['entries']} entries and {len(left['temps'])} "
            f"temporaries left, resumed rc {resumed.returncode}, identical {not differ}")
    return rows


def table(rows: list[dict], args) -> str:
    lines = ["# `prepare` killed with SIGKILL, then resumed", "",
             f"`python scripts/kill_resume.py --points {args.points} --seed {args.seed} --videos {args.videos} "
             f"--frames {args.frames}` ({args.videos} synthetic videos of {args.video_frames} frames + 1 "
             f"unreadable file, {args.frames} frames sampled per video). A resumed store is compared file by "
             "file (sha256, settings.json, failures.json and lock files included) with an uninterrupted run's.",
             "", "| point | kill after n entries + s | at (s from start) | killed | entries on disk | all loadable | "
             "temporaries left | resume exit | byte-identical |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['point']} | {r['after']} + {r['extra']} | {r['delay']} | "
                     f"{'yes' if r['killed'] else 'no (had finished)'} | "
                     f"{r['entries']} | {'yes' if r['readable'] == r['entries'] else 'NO'} | "
                     f"{', '.join(r['temps']) or '-'} | {r['resume_rc']} | "
                     f"{'yes' if r['identical'] else 'NO: ' + ', '.join(r['differ'])} |")
    killed = [r for r in rows if r["killed"]]
    same = sum(r["identical"] for r in rows)
    lines += ["", f"{len(killed)} of {len(rows)} runs killed before they finished; "
                  f"{same} of {len(rows)} resumed stores byte-identical to the uninterrupted one."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import tempfile

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--points", type=int, default=12)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos", type=int, default=4)
    p.add_argument("--video-frames", type=int, default=24)
    p.add_argument("--frames", type=int, default=8, help="frames sampled per video by prepare")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "kill_resume.md")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kill_resume_") as tmp:
        inputs = write_videos(Path(tmp) / "inputs", args.videos, args.video_frames)
        rows = kill_and_resume(inputs, Path(tmp) / "work", args.points, args.seed, args.frames)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(table(rows, args))
    print(f"wrote {args.out}")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
