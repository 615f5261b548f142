"""One cold `difffake scan` of one dev clip: light install (ONNX Runtime) vs the torch path, side by side.

Every run is a fresh process, timed from outside with /usr/bin/time (wall,
peak RSS), the configurations interleaved so that they share the machine's load:
- light: a fresh venv holding only the base install (`pip install .`), engine auto = ONNX;
- light + malloc env: the same with glibc's malloc tuning set beforehand (what the
  tuning would buy an ONNX scan);
- torch engine: this branch in the full venv (`--engine torch`, malloc tuned in the process);
- before (f1a5103): the code before this work, same full venv.
The floor beside it: each part of a scan measured alone in the light venv.

    python benchmarks/bench_cold_scan.py [--install] [--reps 3] [--venv /tmp/v-base]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CLIP = REPO.parent / "shared" / "data" / "dev" / "real" / "dfl_Keanu_Reeves_0.mp4"
BEFORE = "f1a5103"
MALLOC = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736"}

FLOOR = r"""
import json, resource, sys, time
t = time.perf_counter()
import cv2, dlib, numpy as np, onnxruntime
imports = time.perf_counter() - t
from difffake.config import FaceConfig
from difffake.faces.detect import LANDMARKS_68, models_dir
from difffake.faces.video import iter_frames
t = time.perf_counter(); dlib.shape_predictor(str(models_dir() / LANDMARKS_68)); landmark_load = time.perf_counter() - t
t = time.perf_counter(); frames = list(iter_frames(sys.argv[1], 32)); decode = time.perf_counter() - t
from difffake.faces.pipeline import detector_for
from difffake.faces.detect import pick_face
from difffake.faces.crop import crop_face
det = detector_for(FaceConfig())   # loads the landmark model again: not counted below
t = time.perf_counter(); hint = None; crops = []
for _, rgb in frames:
    face = pick_face(det.detect(rgb, hint_box=hint), "track", previous_box=hint)
    if face is not None:
        hint = face.box
        crops.append(crop_face(rgb, face.landmarks, 1.3)[0])
detect = time.perf_counter() - t
from difffake.backbone.onnx_engine import OnnxBackbone
from difffake.detector import DEFAULT_DIR
t = time.perf_counter(); net = OnnxBackbone.load(DEFAULT_DIR); net_load = time.perf_counter() - t
t = time.perf_counter(); net.embed_and_classify(crops); embed = time.perf_counter() - t
print(json.dumps(dict(landmark_load=landmark_load, decode=decode, detect=detect, faces=len(crops),
                      net_load=net_load, embed=embed, in_process_imports=imports,
                      peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)))
"""


def timed(cmd, env=None) -> tuple[float, float, str]:
    """(wall s, peak RSS MB, stdout) of one child process, measured by /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as fh:
        out = subprocess.run(["/usr/bin/time", "-f", "%e %M", "-o", fh.name, *cmd], env=env,
                             capture_output=True, text=True, cwd=tempfile.gettempdir())
        if out.returncode not in (0, 1):
            raise RuntimeError(f"{cmd[:3]} exited {out.returncode}: {out.stderr[-2000:]}")
        wall, kb = fh.read().split()[-2:]
    return float(wall), float(kb) / 1024, out.stdout


def install(venv: Path) -> dict:
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    subprocess.run(["python3", "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(REPO)], check=True)
    return sizes(venv)


def sizes(venv: Path) -> dict:
    du = lambda p: int(subprocess.run(["du", "-sm", str(p)], capture_output=True, text=True).stdout.split()[0])
    site = next((venv / "lib").glob("python3*/site-packages"))
    parts = sorted(((du(p), p.name) for p in site.iterdir() if p.is_dir() and not p.name.endswith("-info")),
                   reverse=True)
    freeze = subprocess.run([str(venv / "bin" / "pip"), "freeze"], capture_output=True, text=True).stdout
    return {"total_mb": du(venv), "largest": parts[:8],
            "torch_installed": any(line.lower().startswith("torch") for line in freeze.splitlines())}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--venv", type=Path, default=Path("/tmp/v-base"))
    ap.add_argument("--install", action="store_true", help="make the light venv afresh first")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "cold_scan.md")
    args = ap.parse_args()
    size = install(args.venv) if args.install else sizes(args.venv)

    before_src = Path(tempfile.mkdtemp()) / "before"
    before_src.mkdir()
    subprocess.run(f"git -C {REPO} archive {BEFORE} src | tar -x -C {before_src}", shell=True, check=True)
    light = str(args.venv / "bin" / "difffake")
    base_env = {k: v for k, v in os.environ.items()
                if k not in ("PYTHONPATH", "DIFFFAKE_MALLOC_TUNED", *MALLOC)}
    configs = {
        "light install, ONNX Runtime (default)": ([light, "scan", str(CLIP)], base_env),
        "light install, ONNX Runtime, malloc tuning preset": ([light, "scan", str(CLIP)], {**base_env, **MALLOC}),
        "full install, torch engine (this branch)": (
            [sys.executable, "-m", "difffake", "scan", str(CLIP), "--engine", "torch"],
            {**base_env, "PYTHONPATH": str(REPO / "src")}),
        f"full install, torch (before: {BEFORE})": (
            [sys.executable, "-m", "difffake", "scan", str(CLIP)],
            {**base_env, "PYTHONPATH": str(before_src / "src")}),
    }
    runs = {name: [] for name in configs}
    for rep in range(args.reps):
        for name, (cmd, env) in configs.items():
            wall, rss, out = timed(cmd, env)
            runs[name].append((wall, rss))
            print(f"{rep + 1}/{args.reps} {wall:6.2f} s {rss:7.0f} MB  {name}: {out.strip()[:60]}", flush=True)

    py = str(args.venv / "bin" / "python")
    bare = [timed([py, "-c", "import onnxruntime, cv2, dlib"], base_env) for _ in range(args.reps)]
    floors = [json.loads(timed([py, "-c", FLOOR, str(CLIP)], base_env)[2]) for _ in range(args.reps)]
    start = [timed([py, "-c", "import difffake.cli"], base_env)[0] for _ in range(args.reps)]
    med = lambda xs: statistics.median(xs)
    fl = {k: med([f[k] for f in floors]) for k in floors[0]}
    bare_wall, bare_rss = med([b[0] for b in bare]), med([b[1] for b in bare])
    floor = bare_wall + fl["landmark_load"] + fl["decode"] + fl["detect"] + fl["net_load"] + fl["embed"]

    light_wall = med([w for w, _ in runs["light install, ONNX Runtime (default)"]])
    torch_wall = med([w for w, _ in runs["full install, torch engine (this branch)"]])
    before_wall = med([w for w, _ in runs[f"full install, torch (before: {BEFORE})"]])
    lines = ["# Cold scan of one dev clip: light install vs torch", "",
             f"`python benchmarks/bench_cold_scan.py{' --install' if args.install else ''} --reps {args.reps}` "
             f"on `{CLIP.relative_to(REPO.parent)}` (7.7 s, 231 frames, 512x340); {os.cpu_count()} cores shared "
             f"with other jobs (load average at the end: {os.getloadavg()[0]:.1f}). Each run is a new process; "
             "medians of the interleaved runs; wall and peak RSS from /usr/bin/time.", "",
             "## Install", "",
             f"Fresh venv + `pip install .` (base): **{size['total_mb']} MB** (`du -sm`), torch installed: "
             f"{size['torch_installed']}. Largest: " +
             ", ".join(f"{name} {mb} MB" for mb, name in size["largest"]) + ".", "",
             "## Cold scan", "",
             "| configuration | wall s (median) | runs | peak RSS MB | wall / torch engine | wall / before |",
             "|---|---|---|---|---|---|"]
    for name, rs in runs.items():
        w, m = med([x for x, _ in rs]), med([y for _, y in rs])
        lines.append(f"| {name} | {w:.2f} | {', '.join(f'{x:.2f}' for x, _ in rs)} | {m:.0f} | "
                     f"{w / torch_wall:.2f} | {w / before_wall:.2f} |")
    lines += ["", "## The floor (light venv, each part measured alone, medians)", "",
              "| part | seconds |", "|---|---|",
              f"| bare imports, a whole process: `python -c \"import onnxruntime, cv2, dlib\"` ({bare_rss:.0f} MB) | {bare_wall:.2f} |",
              f"| load the 68-point landmark model | {fl['landmark_load']:.2f} |",
              f"| decode the clip (one sequential pass, 32 frames retrieved) | {fl['decode']:.2f} |",
              f"| {fl['faces']:.0f} detections + landmarks (window near the previous face, faces/roi.py) | {fl['detect']:.2f} |",
              f"| load the ONNX network | {fl['net_load']:.2f} |",
              f"| {fl['faces']:.0f} embeddings + P(fake) (ONNX Runtime) | {fl['embed']:.2f} |",
              f"| **floor (sum)** | **{floor:.2f}** |",
              f"| the light scan above | {light_wall:.2f} ({light_wall / floor:.2f} x floor) |",
              f"| for scale: `python -c \"import difffake.cli\"` (one restart would cost about this) | {med(start):.2f} |",
              "", f"Light scan wall / torch engine: **{light_wall / torch_wall:.2f}** (target <= 0.35); "
              f"/ before: {light_wall / before_wall:.2f}."]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
