"""CPU seconds of the two parts a batch scan made cheaper, each against what it replaced.

1. The network on ONNX Runtime: the shipped detector's graph (its run-time "same"
   Pads folded into the Convs, backbone.onnx_pad_fold) against the same backbone
   exported as torch writes it (Pads left in place), on the same seeded crops at
   batch 8 (what difffake.embed_ahead runs) and 32, one and two threads. The
   outputs of the two graphs are compared too.
2. Decoding the 32 sampled frames of the dev subset of bench_scan.py with
   faces.video.iter_frames: FFmpeg's default threads (one per core; a single
   file's scan) against one thread (each file of a batch, workflows.scan).

Rows interleave over `--rounds`; CPU = process time (every thread), wall = elapsed.
Needs the `train` extra (torch, onnx) for the unfolded export.

    python benchmarks/bench_scan_cpu.py [--rounds 3] [--out benchmarks/results/scan_cpu.md]
"""
from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
from bench_scan import dev_videos

from difffake.backbone.meta import read_backbone_json
from difffake.backbone.model import Backbone
from difffake.backbone.onnx_engine import OnnxBackbone
from difffake.backbone.onnx_graph import export_onnx, parity_crops
from difffake.detector import DEFAULT_DIR
from difffake.faces.video import iter_frames


def unfolded_graph(directory: Path, out: Path) -> Path:
    """The detector's backbone exported without the Pad folding (as torch.onnx writes it)."""
    backbone = Backbone.load(directory, device="cpu")
    with mock.patch("difffake.backbone.onnx_pad_fold.fold_pads_into_convs", return_value=0):
        export_onnx(backbone, out)
    return out


def time_network(graphs: dict, rounds: int) -> tuple[dict, float]:
    meta = read_backbone_json(DEFAULT_DIR / "backbone.json")
    crops = parity_crops(n=32, seed=3)
    rows, outputs = {}, {}
    for threads in (1, 2):
        engines = {name: OnnxBackbone(path, meta, threads=threads) for name, path in graphs.items()}
        for batch in (8, 32):
            for name, engine in engines.items():
                outputs[name] = engine.embed_and_classify(crops, batch_size=batch)   # warm, and the outputs
            for _ in range(rounds):
                for name, engine in engines.items():
                    c, t = time.process_time(), time.perf_counter()
                    engine.embed_and_classify(crops, batch_size=batch)
                    cell = rows.setdefault((name, threads, batch), {"cpu": [], "wall": []})
                    cell["cpu"].append(time.process_time() - c)
                    cell["wall"].append(time.perf_counter() - t)
    (a_emb, a_prob), (b_emb, b_prob) = outputs.values()
    diff = float(max(np.abs(a_emb - b_emb).max(), np.abs(a_prob - b_prob).max()))
    return {k: {m: float(np.median(v)) for m, v in cell.items()} for k, cell in rows.items()}, diff


def time_decoding(videos, rounds: int) -> dict:
    rows = {"FFmpeg default (one per core)": None, "1 thread": 1}
    out = {name: {"cpu": [], "wall": []} for name in rows}
    for _ in range(rounds):
        for name, threads in rows.items():
            c, t = time.process_time(), time.perf_counter()
            for path in videos:
                for _ in iter_frames(path, 32, decode_threads=threads):
                    pass
            out[name]["cpu"].append((time.process_time() - c) / len(videos))
            out[name]["wall"].append((time.perf_counter() - t) / len(videos))
    return {name: {m: float(np.median(v)) for m, v in cell.items()} for name, cell in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--every", type=int, default=4, help="dev subset, as bench_scan.py")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "scan_cpu.md"))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        graphs = {"shipped (Pads folded into the Convs)": DEFAULT_DIR / "backbone.onnx",
                  "as torch.onnx writes it (run-time Pads)": unfolded_graph(DEFAULT_DIR, Path(tmp) / "plain.onnx")}
        network, diff = time_network(graphs, args.rounds)
    videos = dev_videos(args.every)
    decoding = time_decoding(videos, args.rounds)
    lines = ["# CPU of the batch scan's network and decoding, against what they replaced", "",
             f"`python benchmarks/bench_scan_cpu.py --rounds {args.rounds}`: {os.cpu_count()} cores, "
             f"{platform.machine()}, malloc tuning {'on' if os.environ.get('MALLOC_MMAP_MAX_') else 'off'}, "
             f"load average {os.getloadavg()[0]:.1f} at the end. Medians of {args.rounds} interleaved rounds.", "",
             "## The network: 32 seeded face crops through the shipped Lite0 @ 224 graph", "",
             "| graph | threads | batch | CPU s / 32 crops | wall s / 32 crops |", "|---|---|---|---|---|"]
    for (name, threads, batch), cell in network.items():
        lines.append(f"| {name} | {threads} | {batch} | {cell['cpu']:.3f} | {cell['wall']:.3f} |")
    lines += ["", f"Largest difference between the two graphs' outputs (embeddings and P(fake)): {diff:.1e}.", "",
              f"## Decoding: the 32 sampled frames of {len(videos)} dev videos (faces.video.iter_frames)", "",
              "| FFmpeg threads | CPU s / video | wall s / video |", "|---|---|---|"]
    for name, cell in decoding.items():
        lines.append(f"| {name} | {cell['cpu']:.3f} | {cell['wall']:.3f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
