"""Face pipeline benchmark on ../shared/data/dev: share of frames with a face, and throughput.

Usage:  python benchmarks/bench_prepare.py [--workers 2] [--frames 32] [--keep DIR]
Writes benchmarks/results/prepare.md (a Markdown table). Detection only: nothing
is trained or fitted on dev/.
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from difffake.commands.prepare import prepare
from difffake.config import FaceConfig
from difffake.faces.store import FaceStore

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "dev"
SUBSETS = [("dev DFL real", "real"), ("dev DFL fake", "fake"), ("ffpp c23", "ffpp")]


def measure(store: FaceStore) -> dict:
    heights, stages, per_video = [], {}, []
    for vid in store.ids():
        rec = store.load(vid, with_crops=False)
        per_video.append(rec.num_faces / max(1, rec.num_frames))
        # stored boxes are 1.3x crop boxes: face height ~ box height / 1.3
        ok = rec.has_face
        heights += list((rec.boxes[ok, 3] - rec.boxes[ok, 1]) / 1.3)
        for k, v in rec.meta.get("stages", {}).items():
            stages[k] = stages.get(k, 0) + v
    return dict(median_face_px=float(np.median(heights)) if heights else float("nan"),
                worst_video=min(per_video) if per_video else float("nan"), stages=stages)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--frames", type=int, default=FaceConfig().num_frames)
    ap.add_argument("--keep", default=None, help="keep the stores here (default: a temp folder)")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "prepare.md"))
    args = ap.parse_args()
    if not DEV.is_dir():
        raise SystemExit(f"{DEV}: missing (needs ../shared/data)")
    cfg = FaceConfig(num_frames=args.frames)
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bench_prepare_"))
    rows, total = [], dict(videos=0, frames=0, faces=0, seconds=0.0, failed=0)
    load = os.getloadavg()[0]
    for label, sub in SUBSETS:
        store_dir = base / sub
        t0 = time.perf_counter()
        s = prepare([DEV / sub], store_dir, cfg, workers=args.workers, progress=True)
        seconds = time.perf_counter() - t0
        if s["skipped_existing"]:
            raise SystemExit(f"{store_dir}: not empty; timings need a fresh store")
        m = measure(FaceStore(store_dir))
        rows.append((label, s["processed"], s["failed"], s["frames"], s["frames_with_face"],
                     100.0 * s["frames_with_face"] / max(1, s["frames"]), 100.0 * m["worst_video"],
                     m["median_face_px"], seconds, s["frames"] / seconds, m["stages"]))
        total["videos"] += s["processed"]
        total["frames"] += s["frames"]
        total["faces"] += s["frames_with_face"]
        total["seconds"] += seconds
        total["failed"] += s["failed"]
    lines = [
        "# Face pipeline on dev (detection only)",
        "",
        f"`python benchmarks/bench_prepare.py --workers {args.workers} --frames {args.frames}`; "
        f"dlib HOG + fallbacks (CLAHE, tracking, upsampling), {os.cpu_count()} cores, "
        f"{args.workers} worker processes, load average {load:.1f} at start "
        "(the machine was shared with other jobs: throughput is a lower bound). "
        f"{platform.processor() or platform.machine()}, {time.strftime('%Y-%m-%d')}.",
        "",
        "| subset | videos | failed | frames | with face | face rate | worst video | median face px "
        "| seconds | frames/s | found by stage |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, n, failed, frames, faces, rate, worst, px, sec, fps, stages in rows:
        st = ", ".join(f"{k} {v}" for k, v in sorted(stages.items()))
        lines.append(f"| {label} | {n} | {failed} | {frames} | {faces} | {rate:.1f}% | {worst:.0f}% "
                     f"| {px:.0f} | {sec:.1f} | {fps:.1f} | {st} |")
    rate = 100.0 * total["faces"] / max(1, total["frames"])
    lines.append(f"| **total** | {total['videos']} | {total['failed']} | {total['frames']} | {total['faces']} "
                 f"| **{rate:.1f}%** | | | {total['seconds']:.1f} "
                 f"| **{total['frames'] / total['seconds']:.1f}** | |")
    lines += ["", "Targets: face rate >= 95 %, >= 30 frames/s. 'worst video' = lowest per-video face rate; "
              "'median face px' = detector face height (crop box / 1.3)."]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"stores in {base}")


if __name__ == "__main__":
    main()
