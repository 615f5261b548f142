"""Ray scan throughput beside the plain local batch scan, in one run, plus the
driver's memory over a long dry-run list; writes benchmarks/results/ray.md.

    nice -n 5 python benchmarks/bench_ray.py --every 2 --rounds 2 --dry-lines 100000

Configurations run in ABBA order (local, 1 actor, 2 actors, then reversed) on
the same videos so that load from other jobs on the machine hits all alike.
"local" is the plain batch scan in this process: the same per-file function
as `difffake scan`, one thread per engine (torch, OpenCV, ONNX Runtime) like
each actor (so the difference to "Ray, 1 actor" is Ray's own cost). Steady = rows per minute after every actor
delivered its first row (model loading left out, as it is for local).
"""
from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DFDC_VIDEOS = 119_154   # DFDC train set (~120k videos)


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def ray_daemon_cpu() -> float:
    """CPU seconds so far of Ray's own processes (GCS, raylet, agents), actors and idle workers excluded."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if "site-packages/ray/" in cmd and not cmd.startswith("ray::"):
            total += (int(stat[11]) + int(stat[12])) / tick   # utime, stime
    return total


def local_scan(files, frames):
    import cv2
    import torch

    from difffake.detector import Detector
    from difffake.distributed.actors import scan_one

    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    det = Detector.load(None, threads=1)   # one thread per engine, as in each actor
    if frames:
        det.face_cfg.num_frames = frames
    stamps, t0, c0 = [], time.perf_counter(), time.process_time()
    for f in files:
        scan_one(det, str(f), str(f))
        stamps.append(time.perf_counter())
    wall = stamps[-1] - t0
    return {"wall_vpm": 60 * len(files) / wall, "steady_vpm": 60 * (len(files) - 1) / (stamps[-1] - stamps[0]),
            "cpu_per_video": (time.process_time() - c0) / len(files)}


def ray_scan_run(files, frames, actors, out):
    from difffake.distributed import ray_scan
    from difffake.distributed.results import read_rows

    out.unlink(missing_ok=True)
    c0, d0 = time.process_time(), ray_daemon_cpu()
    s = ray_scan([str(f) for f in files], out, frames=frames, actors=actors, progress_every=1e9)
    overhead_cpu = time.process_time() - c0 + ray_daemon_cpu() - d0   # driver + Ray's daemons
    assert s["written"] == len(files) and s["error"] == 0, s
    actor_cpu = sum(r["cpu_seconds"] for r in read_rows(out))
    return {"wall_vpm": s["videos_per_minute"], "steady_vpm": s["steady_videos_per_minute"],
            "cpu_per_video": (actor_cpu + overhead_cpu) / len(files), "ray_cpu_per_video": overhead_cpu / len(files)}


def dry_memory(files, lines, tmp: Path):
    """Driver RSS while a `lines`-line list streams through 2 dry-run actors."""
    from difffake.distributed import ray_scan

    listing = tmp / "long_list.txt"
    with listing.open("w") as fh:
        for k in range(lines):
            fh.write(f"{files[k % len(files)]}\tcopy{k}\n")
    out = tmp / "dry.jsonl"
    out.unlink(missing_ok=True)
    samples, done = [], threading.Event()

    def sample():
        while not done.is_set():
            rows = 0
            if out.exists():
                with out.open() as fh:
                    rows = sum(1 for _ in fh)
            samples.append((rows, rss_mb()))
            done.wait(2.0)

    sampler = threading.Thread(target=sample, daemon=True)
    t0 = time.perf_counter()
    sampler.start()
    # more in flight than for real work: a dry-run task is ~1 ms, so latency, not the actors, bounds it
    s = ray_scan([f"@{listing}"], out, actors=2, dry_run=True, progress_every=1e9, max_in_flight=64,
                 num_cpus=2)
    done.set()
    sampler.join()
    samples.append((s["written"], rss_mb()))
    return s, samples, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=2, help="every Nth video of dev/labels.csv")
    ap.add_argument("--frames", type=int, default=None, help="default: the detector's (32)")
    ap.add_argument("--rounds", type=int, default=2, help="ABBA rounds")
    ap.add_argument("--dry-lines", type=int, default=100_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "ray.md"))
    ap.add_argument("--dry-only", metavar="JSON", help=argparse.SUPPRESS)   # the memory run, in a fresh driver
    ap.add_argument("--from-log", metavar="LOG", action="append", default=[],
                    help="take the scan runs from the 'local {...}' / 'ray1 {...}' lines an earlier run of this "
                         "script printed (repeatable), instead of measuring again")
    ap.add_argument("--load-note", default="", help="with --from-log: the load the runs had, in words")
    ap.add_argument("--dry-from", metavar="JSON",
                    help="take the memory run from this file (written by an earlier --dry-only run)")
    args = ap.parse_args()
    if args.dry_only:
        import json
        files = json.loads(Path(args.dry_only).read_text())
        dry, samples, dry_s = dry_memory(files, args.dry_lines, Path(args.dry_only).parent)
        Path(args.dry_only).write_text(json.dumps({"dry": dry, "samples": samples, "seconds": dry_s}))
        return 0

    import ray

    from difffake.distributed.runtime import connect

    dev = SHARED / "dev"
    with (dev / "labels.csv").open() as fh:
        files = [dev / r["path"] for r in csv.DictReader(fh)][:: args.every]
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_ray_{os.getpid()}"
    tmp.mkdir(parents=True, exist_ok=True)
    if not args.from_log:
        connect("local", num_cpus=2)
    runs = {"local": [], "ray1": [], "ray2": []}
    order = ["local", "ray1", "ray2"]
    for log_file in args.from_log:   # runs measured earlier, printed one per line
        import ast
        for line in Path(log_file).read_text().splitlines():
            name, _, rest = line.partition(" ")
            if name in runs and rest.startswith("{"):
                runs[name].append(ast.literal_eval(rest[: rest.rindex("}") + 1]))
    for r in range(0 if args.from_log else args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            t = time.perf_counter()
            res = (local_scan(files, args.frames) if name == "local"
                   else ray_scan_run(files, args.frames, int(name[-1]), tmp / f"{name}.jsonl"))
            runs[name].append(res)
            print(name, {k: round(v, 2) for k, v in res.items() if v is not None},
                  f"{time.perf_counter() - t:.0f}s", flush=True)
    keys = ("wall_vpm", "steady_vpm", "cpu_per_video", "ray_cpu_per_video")
    mean = {n: {k: (sum(v) / len(v) if (v := [r[k] for r in rs if r.get(k) is not None]) else float("nan"))
                for k in keys} for n, rs in runs.items()}
    ray.shutdown()
    # The memory run in a fresh process: this one holds torch and a detector for the local scan.
    import json
    import subprocess
    spec = Path(args.dry_from) if args.dry_from else tmp / "dry.json"
    if not args.dry_from:
        spec.write_text(json.dumps([str(f) for f in files[:4]]))
        subprocess.run([sys.executable, __file__, "--dry-only", str(spec), "--dry-lines", str(args.dry_lines)],
                       check=True)
    got = json.loads(spec.read_text())
    args.dry_lines = got["dry"]["inputs"]
    dry, samples, dry_s = got["dry"], [tuple(x) for x in got["samples"]], got["seconds"]

    local, one, two = mean["local"], mean["ray1"], mean["ray2"]
    scale = two["steady_vpm"] / one["steady_vpm"]
    overhead = 1 - one["steady_vpm"] / local["steady_vpm"]
    overhead_wall = 1 - one["wall_vpm"] / local["wall_vpm"]
    per_core = one["steady_vpm"]   # one actor per core; 2 actors here shared their cores with other jobs
    load = os.getloadavg()
    lines = [
        "# Ray scan: actors side by side with the plain local scan",
        "",
        f"`{' '.join(['python', 'benchmarks/bench_ray.py'] + sys.argv[1:])}`"
        + ("" if not args.from_log else f" (the runs: `nice -n 5 python benchmarks/bench_ray.py --every {args.every} "
           f"--rounds 2`; the memory run: `--dry-only ... --dry-lines {args.dry_lines}`)")
        + f": {len(files)} dev videos (every {args.every}th of dev/labels.csv), "
        f"{args.frames or 32} frames, built-in detector, local Ray instance with 2 CPUs, "
        f"{platform.machine()}, {os.cpu_count()} cores shared with other jobs (load average "
        + ("at the end " if not args.from_log else "")
        + (f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}). ABBA order, {args.rounds} rounds, means shown. "
           if not args.from_log else
           f"{args.load_note}). Runs taken from earlier runs' logs ({', '.join(Path(f).name for f in args.from_log)}), "
           f"means of every run shown. ")
        +
        "Each actor and the local scan use one thread per engine (torch, OpenCV, ONNX Runtime).",
        "",
        "| configuration | videos/min (steady) | videos/min (wall, model load included) | CPU s / video "
        "(of which driver + Ray daemons) |",
        "|---|---|---|---|",
        f"| plain local batch scan (1 process) | {local['steady_vpm']:.1f} | {local['wall_vpm']:.1f} | "
        f"{local['cpu_per_video']:.2f} |",
        f"| Ray, 1 actor | {one['steady_vpm']:.1f} | {one['wall_vpm']:.1f} | {one['cpu_per_video']:.2f} "
        f"({one['ray_cpu_per_video']:.2f}) |",
        f"| Ray, 2 actors | {two['steady_vpm']:.1f} | {two['wall_vpm']:.1f} | {two['cpu_per_video']:.2f} "
        f"({two['ray_cpu_per_video']:.2f}) |",
        "",
        f"- 2 actors / 1 actor (steady): **{scale:.2f}x** (goal >= 1.7x)",
        f"- Ray overhead, 1 actor vs local (steady): **{100 * overhead:.1f} %** (goal <= 10 %); "
        f"with actor start-up in the wall clock: {100 * overhead_wall:.1f} % on {len(files)} videos "
        "(a fixed cost of a few seconds per actor, spread over a real run's thousands of videos)",
        f"- Ray overhead in CPU time per video (independent of what else runs on the machine): "
        f"1 actor {100 * (one['cpu_per_video'] / local['cpu_per_video'] - 1):+.1f} %, "
        f"2 actors {100 * (two['cpu_per_video'] / local['cpu_per_video'] - 1):+.1f} % against local",
        "- rounds: " + "; ".join(f"{n}: " + ", ".join(f"{r['steady_vpm']:.1f}" for r in rs)
                                 for n, rs in runs.items()),
        "",
        "## Sizing a cluster for DFDC",
        "",
        f"Per core (one actor per core: the 1-actor steady rate): {per_core:.1f} videos/min, measured here on "
        "short dev clips; "
        "DFDC clips are 10 s at 1080p, so decode costs more: re-measure on a sample of DFDC before "
        "booking machines. Hours = 119,154 videos / (nodes x cores x per-core rate) / 60.",
        "",
        "| nodes x cores | actors | videos/min | hours for DFDC (119,154 videos) |",
        "|---|---|---|---|",
    ]
    for nodes, cores in ((1, 2), (1, 16), (4, 16), (8, 32), (16, 32)):
        vpm = nodes * cores * per_core
        lines.append(f"| {nodes} x {cores} | {nodes * cores} | {vpm:,.0f} | "
                     f"{DFDC_VIDEOS:,} / {vpm:,.0f} / 60 = {DFDC_VIDEOS / vpm / 60:.1f} |")
    # baseline: the first sample once rows flow (the actors and the first batch are set up by then)
    base = next((rss for rows, rss in samples if rows >= args.dry_lines // 10), samples[0][1])
    growth = samples[-1][1] - base
    lines += [
        "",
        "## Driver memory over a long input list",
        "",
        f"A {args.dry_lines:,}-line `@LIST` (paths to {min(4, len(files))} real files, each line its own id) "
        f"through 2 actors with `--dry-run` (stops before decoding): {dry['written']:,} rows in {dry_s:.0f} s, "
        f"none lost ({dry['ok']:,} ok). Driver RSS (MB) by rows written:",
        "",
        "| rows written | driver RSS (MB) |",
        "|---|---|",
    ]
    step = max(1, len(samples) // 10)
    for rows, rss in samples[::step] + [samples[-1]]:
        lines.append(f"| {rows:,} | {rss:.0f} |")
    lines += ["", f"Growth from the first sample past 10 % of the rows to the end: {growth:+.1f} MB "
                  "(the climb before it is Ray's connection and buffers filling, once)."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
