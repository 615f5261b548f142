"""Seconds per dev video, split into decode / faces / embed / score.

Three configurations in the same run, on the same videos:
- difffake default on ONNX Runtime and on torch: the shipped detector (32
  frames, Lite0 at the detector's input size, faces searched near the previous face first), each
  frame embedded once (embedding + P(fake) in one pass), pairs formed from the
  embeddings;
- paper: 40 frames, the paper's "largest face" policy (every frame searched
  whole), EfficientNet-B4 @ 224, and each frame embedded once per pair it takes
  part in (two images per pair), as the paper's code does. B4 weights are
  random here (nothing can be downloaded): the cost is the same. Its GMM
  (3 components, full covariance, no PCA, 1792 dims) is fitted on random
  features: scoring cost does not depend on what was fitted.

decode = decoding the sampled frames alone (a separate pass); faces = face
extraction (decode + detection + crops) minus decode; embed = what is left to
embed once the faces are found; score = pairs, combination and density. The
default configurations run as `scan` does: on ONNX Runtime each face is
embedded while later frames are searched (difffake.embed_ahead), so its embed
column is the part that did not overlap; "embed alone" is the network's time on
the finished record, measured in its own pass. Torch, and the paper
configuration (as the paper's code does), embed after the search.

Batch: the whole subset through the scan's own loop (workflows.scan.scan_files,
where the next file decodes while the current one ends: faces.decode_ahead),
against the same detector scanning the files one after the other (scan_video per
file), interleaved over `--batch-rounds`. The paper configuration runs one video
after the other, as the paper's code does: its batch is its per-video total.

    python benchmarks/bench_scan.py [--every 4] [--out benchmarks/results/scan.md]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from difffake.anomaly.model import AnomalyModel
from difffake.backbone.model import Backbone
from difffake.config import AnomalyConfig, BackboneConfig, preset
from difffake.datasets import load_dataset
from difffake.detector import Detector
from difffake.embed_ahead import embed_ahead_for
from difffake.faces.pipeline import detector_for, extract_faces
from difffake.faces.video import iter_frames
from difffake.scanning import scan_video
from difffake.workflows.scan import scan_files

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"


def dev_videos(every: int) -> list[Path]:
    records = load_dataset("csv", DEV / "labels.csv")
    return [r.path for r in records][::every]


def paper_model():
    backbone = Backbone(BackboneConfig(name="tf_efficientnet_b4.ap_in1k", pretrained="none", input_size=224,
                                       mean=(0.5,) * 3, std=(0.5,) * 3))
    anomaly = AnomalyModel(AnomalyConfig(pca_dims=None, gmm_max_iter=3))
    anomaly.fit([np.random.default_rng(k).normal(size=(40, backbone.embedding_size)) for k in range(60)])
    return backbone, anomaly


def time_video(path, face_cfg, face_detector, embed, anomaly, ahead=None) -> dict:
    """Seconds of each stage for one video (decode timed in its own pass, then subtracted).
    `ahead`: makes an EmbedAhead, whose on_face embeds the faces during the search."""
    t = time.perf_counter()
    for _ in iter_frames(path, face_cfg.num_frames):
        pass
    decode = time.perf_counter() - t
    helper = ahead() if ahead is not None else None
    t = time.perf_counter()
    record = extract_faces(path, face_cfg, face_detector, on_face=helper.on_face if helper else None)
    faces = time.perf_counter() - t - decode
    t = time.perf_counter()
    emb, pairs = (helper.result(record)[0], None) if helper else embed(record)
    embed_s = alone = time.perf_counter() - t
    if helper:   # the network alone on the finished record, for the "embed alone" column
        t = time.perf_counter()
        embed(record)
        alone = time.perf_counter() - t
    t = time.perf_counter()
    if pairs is None:
        anomaly.score_video(emb)
    else:   # paper: embeddings already per pair position
        from difffake.anomaly.combine import combine
        anomaly.density.score(combine(emb[0::2], emb[1::2], anomaly.cfg.combine))
    score = time.perf_counter() - t
    return {"decode": decode, "faces": max(faces, 0.0), "embed": embed_s, "alone": alone, "score": score,
            "n_faces": record.num_faces, "n_frames": record.num_frames}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--every", type=int, default=4, help="take every k-th dev video")
    ap.add_argument("--detector", default=None, help="detector folder (default: the shipped one)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-rounds", type=int, default=2, help="rounds of the batch comparison")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "scan.md"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    videos = dev_videos(args.every)

    dets = {e: Detector.load(args.detector, engine=e) for e in ("onnx", "torch")}
    b4, paper_anomaly = paper_model()

    def embed_with(det):
        return lambda record: (det.embed_and_classify(record)[0], None)

    def embed_paper(record):
        # Each pair's two frames go through the network, frames shared by pairs included.
        crops = [record.crops[i] for i in record.face_positions()]
        pairs = paper_anomaly.pairs_for(len(crops))
        flat = [crops[i] for pair in pairs for i in pair]
        return b4.embed_crops(flat, batch_size=32), pairs

    face_cfg = dets["onnx"].face_cfg
    paper_faces = preset("paper").faces
    tracked, whole = detector_for(face_cfg), detector_for(paper_faces)
    default = f"difffake default (32 frames, Lite0 @ {dets['onnx'].backbone.input_size}, each frame embedded once)"
    paper = "paper (40 frames, largest face, B4 @ 224, each frame embedded per pair)"
    configs = {
        f"{default}, ONNX Runtime": (face_cfg, tracked, embed_with(dets["onnx"]), dets["onnx"].anomaly,
                                     lambda: embed_ahead_for(dets["onnx"])),
        f"{default}, torch": (face_cfg, tracked, embed_with(dets["torch"]), dets["torch"].anomaly,
                              lambda: embed_ahead_for(dets["torch"])),
        paper: (paper_faces, whole, embed_paper, paper_anomaly, None),
    }
    totals = {name: [] for name in configs}
    for i, path in enumerate(videos):
        for name, (cfg, face_detector, embed, anomaly, ahead) in configs.items():   # interleaved: same load
            totals[name].append(time_video(path, cfg, face_detector, embed, anomaly, ahead))
        print(f"{i + 1}/{len(videos)} {path.name}", flush=True)
        # the table so far, after every video: a run cut short still leaves its numbers
        write_table(args, totals, i + 1, len(videos), default, paper)
    batch = time_batches(dets, videos, args.batch_rounds)
    write_table(args, totals, len(videos), len(videos), default, paper, batch)


def time_batches(dets: dict, videos: list[Path], rounds: int) -> dict:
    """Mean seconds per video of each engine's detector over the whole subset: in the scan's
    batch loop, and file after file; the rounds interleave the two. Scores must agree."""
    jobs = [(path, path.name) for path in videos]
    out = {}
    for engine, det in dets.items():
        list(scan_files(det, jobs[:2]))   # warm: the first file pays for loading dlib's models
        seconds = {"batch": [], "one by one": []}
        for r in range(rounds):
            t = time.perf_counter()
            batch = list(scan_files(det, jobs))
            seconds["batch"].append((time.perf_counter() - t) / len(jobs))
            t = time.perf_counter()
            single = [scan_video(det, path, vid) for path, vid in jobs]
            seconds["one by one"].append((time.perf_counter() - t) / len(jobs))
            if [b.score for b in batch] != [s.score for s in single]:
                raise SystemExit(f"{engine}: batch and one-by-one scores differ")
            print(f"batch round {r + 1}/{rounds} {engine}: "
                  + ", ".join(f"{k} {v[-1]:.3f} s/video" for k, v in seconds.items()), flush=True)
        out[engine] = {k: float(np.mean(v)) for k, v in seconds.items()}
    return out


def write_table(args, totals, done: int, n_videos: int, default: str, paper: str, batch=None) -> None:
    lines = ["# Seconds per dev video, by stage", "",
             f"`python benchmarks/bench_scan.py --every {args.every}`: {done} of {n_videos} dev videos "
             f"(every {args.every}th of dev/labels.csv), {args.threads} torch threads, {os.cpu_count()} cores, "
             f"{platform.machine()}, malloc tuning {'on' if os.environ.get('MALLOC_MMAP_MAX_') else 'off'}. "
             f"Load average {os.getloadavg()[0]:.1f} at the end (the machine is shared). "
             "Mean seconds per video; the configurations ran interleaved on the same videos.", "",
             "| configuration | decode | faces | embed | score | total | videos/min | frames with a face | embed alone |",
             "|---|---|---|---|---|---|---|---|---|"]
    total = {}
    for name, rows in totals.items():
        m = {k: float(np.mean([r[k] for r in rows])) for k in ("decode", "faces", "embed", "score")}
        total[name] = sum(m.values())
        alone = float(np.mean([r["alone"] for r in rows]))
        rate = sum(r["n_faces"] for r in rows) / max(1, sum(r["n_frames"] for r in rows))
        lines.append(f"| {name} | {m['decode']:.2f} | {m['faces']:.2f} | {m['embed']:.2f} | "
                     f"{m['score']:.3f} | {total[name]:.2f} | {60 / total[name]:.1f} | {100 * rate:.1f} % | {alone:.2f} |")
    lines += ["", f"Paper / default, one video at a time: {total[paper] / total[f'{default}, ONNX Runtime']:.1f}x "
              f"with ONNX Runtime, {total[paper] / total[f'{default}, torch']:.1f}x with torch (same run)."]
    if batch:
        lines += ["", f"## Batch: the {n_videos} videos in one scan ({args.batch_rounds} rounds, interleaved)", "",
                  "| configuration | batch (scan's loop) | one by one | paper / this, batch |", "|---|---|---|---|"]
        for engine, label in (("onnx", "ONNX Runtime"), ("torch", "torch")):
            b = batch[engine]
            lines.append(f"| {default}, {label} | {b['batch']:.3f} | {b['one by one']:.3f} | "
                         f"{total[paper] / b['batch']:.1f}x |")
        lines.append(f"| {paper} | {total[paper]:.3f} (one after the other) | {total[paper]:.3f} | 1.0x |")
        lines += ["", f"Paper / default, batch: **{total[paper] / batch['onnx']['batch']:.1f}x** with ONNX Runtime, "
                  f"{total[paper] / batch['torch']['batch']:.1f}x with torch (same run)."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    if done == n_videos:
        print(text)


if __name__ == "__main__":
    main()
