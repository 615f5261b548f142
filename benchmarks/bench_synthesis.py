"""Pseudo-fake generator speed on ONE core vs the albumentations reference, and output statistics.

    python benchmarks/bench_synthesis.py [--n 600] [--rounds 4] [--out benchmarks/results/synthesis.md]

Faces: real photos from ../shared/data/real/photos (astronaut if absent), each
resized to square 256 and 380 px crops. Both generators run interleaved in
rounds on the same crops (the machine is shared: the median round counts).
The statistics (mask type share, mask area by type, blend ratios) must agree:
speed only counts if the output is the same recipe.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from difffake.config import FaceConfig
from difffake.synthesis.blend import PseudoFakeGenerator
from difffake.synthesis.dataset import FaceItem, PseudoFakeDataset
from difffake.synthesis.masks import MASK_TYPES

sys.path.insert(0, str(Path(__file__).parent))
from reference_synthesis import ReferenceGenerator

REPO = Path(__file__).resolve().parents[1]
PHOTOS = REPO.parent / "shared" / "data" / "real" / "photos"


def load_faces(limit: int = 24):
    from difffake.faces.pipeline import detector_for, extract_faces

    cfg = FaceConfig(num_frames=1)
    det = detector_for(cfg)
    paths = sorted(PHOTOS.iterdir())[::5] if PHOTOS.is_dir() else []
    faces = []
    for p in paths:
        rec = extract_faces(p, cfg, det)
        if rec.has_face[0]:
            faces.append((rec.crops[0], np.asarray(rec.landmarks[0], np.float32)))
        if len(faces) == limit:
            break
    if not faces:
        import tempfile

        from skimage import data
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "astronaut.png"
            cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
            rec = extract_faces(path, cfg, det)
        faces = [(rec.crops[0], np.asarray(rec.landmarks[0], np.float32))]
    return faces, ("real photos" if paths else "astronaut")


def at_size(faces, side):
    out = []
    for crop, lm in faces:
        f = np.array([side / crop.shape[1], side / crop.shape[0]], np.float32)
        out.append((cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA if f[0] < 1
                               else cv2.INTER_LINEAR), (lm + 0.5) * f - 0.5))
    return out


class Stats:
    def __init__(self):
        self.rows = []  # (mask_type, ratio, area, mass, mean |fake-real| inside)

    def add(self, real, fake, mask, mask_type, ratio):
        inside = mask > 0
        diff = np.abs(fake.astype(np.int16) - real).mean(2)
        self.rows.append((mask_type, ratio, inside.mean(), mask.mean() / ratio,
                          diff[inside].mean() if inside.any() else 0.0))

    def by_type(self, t):
        r = [x for x in self.rows if x[0] == t]
        return len(r) / len(self.rows), np.mean([x[2] for x in r]), np.mean([x[3] for x in r]), \
            np.mean([x[4] for x in r])

    def ratios(self):
        rs = np.array([x[1] for x in self.rows])
        return {v: float((rs == v).mean()) for v in (0.25, 0.5, 0.75, 1.0)}


def run_ours(gen, faces, n, seed0, stats):
    """Samples/s of the generator alone (statistics are gathered outside the timer)."""
    spent = 0.0
    for i in range(n):
        crop, lm = faces[i % len(faces)]
        t = time.perf_counter()
        s = gen.gen(crop, lm, np.random.default_rng([seed0, i]))
        spent += time.perf_counter() - t
        stats.add(s.real, s.fake, s.mask, s.mask_type, s.blend_ratio)
    return n / spent


def run_ref(ref, faces, n, stats):
    spent = 0.0
    for i in range(n):
        crop, lm = faces[i % len(faces)]
        t = time.perf_counter()
        real, fake, mask, mask_type, ratio = ref.gen(crop, lm)
        spent += time.perf_counter() - t
        stats.add(real, fake, mask, mask_type, ratio)
    return n / spent


def run_dataset(faces, n, input_size):
    items = [FaceItem(c, lm, f"v{k}") for k, (c, lm) in enumerate(faces)]
    ds = PseudoFakeDataset(items, input_size, (0.5,) * 3, (0.5,) * 3, seed=0)
    t = time.perf_counter()
    for i in range(n):
        ds.set_epoch(i // len(ds))
        ds[i % len(ds)]
    return n / (time.perf_counter() - t)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600, help="samples per generator, size and round")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "synthesis.md"))
    args = ap.parse_args(argv)
    cv2.setNumThreads(1)
    torch.set_num_threads(1)

    faces, source = load_faces()
    gen, ref = PseudoFakeGenerator(), ReferenceGenerator(seed=0)
    speed, stats, ds_speed = {}, {}, {}
    for side in (256, 380):
        crops = at_size(faces, side)
        run_ours(gen, crops, 20, 999, Stats()), run_ref(ref, crops, 20, Stats())  # warm-up
        ours, theirs = [], []
        so, sr = Stats(), Stats()
        for r in range(args.rounds):
            ours.append(run_ours(gen, crops, args.n, r, so))
            theirs.append(run_ref(ref, crops, args.n, sr))
            print(f"{side} px round {r}: ours {ours[-1]:.0f}/s reference {theirs[-1]:.0f}/s",
                  file=sys.stderr)
        speed[side] = (float(np.median(ours)), float(np.median(theirs)), min(ours), max(ours),
                       min(theirs), max(theirs))
        stats[side] = (so, sr)
        ds_speed[side] = float(np.median([run_dataset(crops, args.n // 2, 224) for _ in range(2)]))

    lines = [
        "# Pseudo-fake synthesis: speed and output statistics",
        "",
        f"Generated by `benchmarks/bench_synthesis.py` on {datetime.date.today()} "
        f"({platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs; "
        f"load average at the end {os.getloadavg()[0]:.1f}). One thread: cv2.setNumThreads(1), "
        f"torch.set_num_threads(1), OMP_NUM_THREADS=1. Faces: {len(faces)} dlib crops of {source}, "
        f"resized to square crops. {args.rounds} interleaved rounds of {args.n} samples per "
        "generator and size; the median round is shown, with the range.",
        "",
        "Reference = the same recipe written as the paper's code writes it "
        "(`benchmarks/reference_synthesis.py`: albumentations 2.0.8 transforms at full size, "
        "float64 mask and blend).",
        "",
        "## Samples per second, one core",
        "",
        "| crop | difffake (median, range) | reference (median, range) | speed-up | "
        "difffake Dataset item at 224 px input (pair + tensors) |",
        "|---|---|---|---|---|",
    ]
    for side, (o, r, omin, omax, rmin, rmax) in speed.items():
        lines.append(f"| {side} px | {o:.0f} ({omin:.0f}-{omax:.0f}) | {r:.0f} ({rmin:.0f}-{rmax:.0f}) "
                     f"| {o / r:.1f}x | {ds_speed[side]:.0f} |")
    for side, (so, sr) in stats.items():
        lines += ["", f"## Output statistics, {side} px crops ({len(so.rows)} samples each)", "",
                  "| mask type | share (ours / ref) | area M>0 (ours / ref) | "
                  "soft mass / ratio (ours / ref) | mean abs(fake-real) inside (ours / ref) |",
                  "|---|---|---|---|---|"]
        for t in MASK_TYPES:
            a, b = so.by_type(t), sr.by_type(t)
            lines.append(f"| {t} | {a[0]:.3f} / {b[0]:.3f} | {a[1]:.3f} / {b[1]:.3f} | "
                         f"{a[2]:.3f} / {b[2]:.3f} | {a[3]:.2f} / {b[3]:.2f} |")
        ro, rr = so.ratios(), sr.ratios()
        lines += ["", "| blend ratio | 0.25 | 0.5 | 0.75 | 1 |", "|---|---|---|---|---|",
                  "| ours | " + " | ".join(f"{ro[v]:.3f}" for v in ro) + " |",
                  "| reference | " + " | ".join(f"{rr[v]:.3f}" for v in rr) + " |",
                  "| recipe | 0.167 | 0.167 | 0.167 | 0.500 |"]
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    existing = Path(args.out).read_text() if Path(args.out).exists() else ""
    marker = "\n## Notes"
    notes = existing[existing.index(marker):] if marker in existing else ""
    Path(args.out).write_text(text + notes)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
