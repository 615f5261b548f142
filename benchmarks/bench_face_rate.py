"""Face rate and faces-stage time on every dev video: full-frame search vs the window near the previous face.

Both face paths run on the same videos in the same run (interleaved), with the
shipped detector's face settings (32 frames, track policy). For each: frames
with a face, seconds per video, and how far the crops moved (IoU of the crop
boxes where both found the face). The built-in detector (ONNX Runtime) then
scores both sets of faces, to show what the change does to the scores: dev is
evaluation data, reported here and chosen on nothing.

    python benchmarks/bench_face_rate.py [--out benchmarks/results/face_rate.md]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from difffake.datasets import load_dataset
from difffake.detector import Detector
from difffake.faces.detect import iou
from difffake.faces.pipeline import extract_faces
from difffake.faces.roi import RoiTracker
from difffake.metrics import compute_metrics, twin_test

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "face_rate.md")
    args = ap.parse_args()
    records = load_dataset("csv", DEV / "labels.csv")
    det = Detector.load(engine="onnx")
    roi = det.face_detector()
    assert isinstance(roi, RoiTracker), "the shipped face settings should use the window search"
    paths = {"full-frame search (before)": roi.detector, "window near the previous face (now)": roi}
    stats = {name: {"faces": 0, "frames": 0, "seconds": 0.0, "scores": {}, "probs": {}} for name in paths}
    ious = []
    for i, rec in enumerate(records):
        got = {}
        for name, face_detector in paths.items():
            t = time.perf_counter()
            face_rec = extract_faces(rec.path, det.face_cfg, face_detector, video_id=rec.video_id)
            s = stats[name]
            s["seconds"] += time.perf_counter() - t
            s["faces"] += face_rec.num_faces
            s["frames"] += face_rec.num_frames
            res = det.scan(rec.path, rec.video_id, record=face_rec)
            s["scores"][rec.video_id] = res.score if res.status == "ok" else np.nan
            s["probs"][rec.video_id] = res.classifier_score if res.classifier_score is not None else np.nan
            got[name] = face_rec
        a, b = got.values()
        both = a.has_face & b.has_face
        ious += [iou(x, y) for x, y in zip(a.boxes[both], b.boxes[both])]
        print(f"{i + 1}/{len(records)} {rec.video_id}: {a.num_faces} / {b.num_faces} faces", flush=True)

    labels = {r.video_id: int(r.label == "fake") for r in records}
    twins = [(f"fake/{v.split('/', 1)[1]}", v) for v in labels if v.startswith("real/dfl_")]
    lines = ["# Dev face rate: full-frame search vs the window near the previous face", "",
             f"`python benchmarks/bench_face_rate.py`: all {len(records)} dev videos, 32 frames each, "
             "the built-in detector's face settings; the two paths ran interleaved. AUC and twin share "
             "of the built-in detector (ONNX Runtime) on each path's faces are reported, never used "
             "to choose anything.", "",
             f"| face path | frames with a face | faces s/video | {det.basis} (verdict) AUC | twin share | "
             "classifier AUC | classifier twin share |", "|---|---|---|---|---|---|---|"]
    for name, s in stats.items():
        ids = list(labels)
        y = np.array([labels[v] for v in ids])
        sc = np.array([s["scores"][v] for v in ids])
        pr = np.array([s["probs"][v] for v in ids])
        ok, okp = np.isfinite(sc), np.isfinite(pr)
        auc = compute_metrics(y[ok], sc[ok])["auc"]
        pauc = compute_metrics(y[okp], pr[okp])["auc"]
        tw, ptw = (twin_test(*zip(*[(d[f], d[r]) for f, r in twins if np.isfinite([d[f], d[r]]).all()]))
                   for d in (s["scores"], s["probs"]))
        lines.append(f"| {name} | {s['faces']} / {s['frames']} ({100 * s['faces'] / s['frames']:.1f} %) | "
                     f"{s['seconds'] / len(records):.2f} | {auc:.3f} | {tw:.2f} | {pauc:.3f} | {ptw:.2f} |")
    lines += ["", f"Crop boxes where both found the face: IoU median {np.median(ious):.3f}, "
              f"5th percentile {np.percentile(ious, 5):.3f}, min {np.min(ious):.3f} ({len(ious)} frames). "
              f"Window hits {roi.hits}, misses (full search after) {roi.misses}."]
    text = "\n".join(lines) + "\n"
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
