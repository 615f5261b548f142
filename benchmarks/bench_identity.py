"""Identity check on the dev DeepFaceLive twins, and its cost beside a plain scan (same run).

For each of the 25 frame-aligned twins in ../shared/data/dev (real/dfl_X.mp4 and
fake/dfl_X.mp4): the reference is the first 2 s of the REAL twin; the suspects are
the rest of the real twin and the same span of its fake. Windows are cut by
timestamp (frame index / fps) into lossless FFV1 .avi files, so both suspects
keep identical frames apart from the swap.

Each suspect is scanned twice, interleaved (order alternating): plainly, and as
`difffake scan --reference` does (blind reference score + identity check), with
wall-clock time of the CLI's per-file path. Building a reference is
a one-off per reference (not per suspect) and reported apart.

The thresholds come from the detector's identity.json (real videos only, see
scripts/calibrate_identity.py): nothing here is tuned on dev.

    python benchmarks/bench_identity.py [--detector DIR] [--work DIR] [--out benchmarks/results/identity.md]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

DEV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dev"
REF_SECONDS = 2.0


def cut_windows(src: Path, out_dir: Path, split_s: float = REF_SECONDS) -> tuple[Path, Path, int]:
    """(first split_s seconds, the rest) of a video as lossless FFV1 .avi; frames by timestamp."""
    import cv2

    head, tail = out_dir / f"{src.stem}.head.avi", out_dir / f"{src.stem}.rest.avi"
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    split = int(np.ceil(split_s * fps))   # first frame at or after split_s
    if head.exists() and tail.exists():
        return head, tail, split
    out_dir.mkdir(parents=True, exist_ok=True)
    writers, i = {}, 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        target = head if i < split else tail
        if target not in writers:
            h, w = frame.shape[:2]
            writers[target] = cv2.VideoWriter(str(target) + ".tmp.avi", cv2.VideoWriter_fourcc(*"FFV1"), fps, (w, h))
        writers[target].write(frame)
        i += 1
    for target, w in writers.items():
        w.release()
        Path(str(target) + ".tmp.avi").rename(target)
    if len(writers) != 2:
        raise RuntimeError(f"{src}: shorter than {split_s} s")
    return head, tail, split


def timed_scan(detector, path, vid, ref=None, ref_emb=None):
    """The CLI's own per-file path; wall-clock seconds (the identity descriptors overlap the
    face search in a helper process, so the sum of the stages' timings would undercount)."""
    from difffake.commands.scan import scan_files
    t0 = time.perf_counter()
    [res] = list(scan_files(detector, [(str(path), vid)], ref_emb, identity_reference=ref))
    wall = time.perf_counter() - t0
    if res.status == "error":
        raise RuntimeError(res.error)
    return res, wall


def identity_only(detector, path, vid, ref):
    """The identity fields of a scan with `ref`, without the backbone (untimed twins)."""
    from difffake.detector import ScanResult
    from difffake.faces.pipeline import extract_faces
    from difffake.identity.check import add_identity
    from difffake.identity.guided import guided_face_detector
    record = extract_faces(path, detector.face_cfg, guided_face_detector(detector, ref), video_id=vid)
    res = ScanResult(path=str(path), video_id=vid, status="ok")
    add_identity(detector, res, record, ref)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--detector", default=None, help="detector folder (default: the shipped one)")
    ap.add_argument("--work", type=Path, default=Path("runs/identity_windows"), help="where cut windows go")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--time-every", type=int, default=5,
                    help="full scans, plain and with the reference, timed on every k-th twin (the others: identity only)")
    ap.add_argument("--limit", type=int, default=None,
                    help="stop before the N-th twin (rows already in WORK/rows are reused: resume in chunks)")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "identity.md")
    ap.add_argument("--json", type=Path, default=None, help="also write per-twin rows as JSON here")
    args = ap.parse_args(argv)

    import torch
    from sklearn.metrics import roc_auc_score

    from difffake.detector import Detector

    torch.set_num_threads(args.threads)
    twins = sorted(p.name for p in (DEV / "real").glob("dfl_*.mp4") if (DEV / "fake" / p.name).exists())
    det = Detector.load(args.detector)
    cal = det.identity_calibration
    if cal is None:
        raise SystemExit(f"{det.path}: no identity.json (run scripts/calibrate_identity.py)")
    rows, plain_t, ref_t, build_t = [], [], [], []
    done_dir = args.work / "rows"   # one JSON per finished twin: a long run can be split (--limit)
    done_dir.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(twins):
        done = done_dir / f"{name}.json"
        if done.exists():
            saved = json.loads(done.read_text())
            rows += saved["rows"]
            build_t.append(saved["build_s"])
            plain_t += [r["t_plain"] for r in saved["rows"] if r["t_plain"] is not None]
            ref_t += [r["t_ref"] for r in saved["rows"] if r["t_ref"] is not None]
            continue
        if args.limit is not None and k >= args.limit:
            break
        head, real_rest, split = cut_windows(DEV / "real" / name, args.work / "real")
        _, fake_rest, _ = cut_windows(DEV / "fake" / name, args.work / "fake")
        timed = k % args.time_every == 0
        t0 = time.perf_counter()
        ref = det.reference([head])
        ref_emb = np.concatenate([det.embed_record(r) for r in ref.records]) if timed else None
        build_t.append(time.perf_counter() - t0)
        for label, path in (("real", real_rest), ("fake", fake_rest)):
            runs = {}
            if timed:   # the whole scan, plain and with the reference, interleaved (order alternating)
                order = ("plain", "ref") if (k + (label == "fake")) % 2 == 0 else ("ref", "plain")
                for mode in order:
                    runs[mode] = timed_scan(det, path, f"{label}/{name}",
                                            *((ref, ref_emb) if mode == "ref" else ()))
                res, t_ref = runs["ref"]
                plain_t.append(runs["plain"][1])
                ref_t.append(t_ref)
            else:       # identity only (the same library calls, without the backbone's work)
                res = identity_only(det, path, f"{label}/{name}", ref)
            rows.append(dict(twin=name, label=label, distance=res.identity_distance,
                             verdict=res.identity_verdict, reason=res.identity_reason,
                             frames=len(res.identity_frame_distances), ref_faces=len(ref.descriptors),
                             blind=res.score, ref_score=res.reference_score,
                             t_plain=runs["plain"][1] if timed else None, t_ref=runs["ref"][1] if timed else None,
                             t_identity=res.timings.get("identity")))
        done.write_text(json.dumps({"rows": rows[-2:], "build_s": build_t[-1]}))
        print(f"{k + 1}/{len(twins)} {name}: real {rows[-2]['distance']:.3f} {rows[-2]['verdict']}, "
              f"fake {rows[-1]['distance']:.3f} {rows[-1]['verdict']}", flush=True)

    twins = sorted({r["twin"] for r in rows})
    y = np.array([r["label"] == "fake" for r in rows])
    d = np.array([np.nan if r["distance"] is None else r["distance"] for r in rows])
    auc = float(roc_auc_score(y[np.isfinite(d)], d[np.isfinite(d)]))
    tr = [i for i, r in enumerate(rows) if r["t_ref"] is not None]   # twins scanned in full
    auc_blind = float(roc_auc_score(y[tr], [rows[i]["blind"] for i in tr]))
    auc_refscore = float(roc_auc_score(y[tr], [rows[i]["ref_score"] for i in tr]))
    count = lambda lab, v: sum(r["label"] == lab and r["verdict"] == v for r in rows)
    n_real, n_fake = int((~y).sum()), int(y.sum())
    twin_share = float(np.mean([d[i + 1] > d[i] for i in range(0, len(rows), 2)]))
    ratio = float(np.sum(ref_t) / np.sum(plain_t))
    m = cal.measured
    sp, dp = m["same_person"], m["different_people"]
    lines = [
        "# Identity check (`scan --reference`) on the dev DeepFaceLive twins", "",
        f"`python benchmarks/bench_identity.py`: {len(twins)} frame-aligned twins from dev/ (evaluation only: "
        f"nothing tuned here). Reference = the first {REF_SECONDS:g} s of the real twin; suspects = the rest of "
        "the real twin and the same span of its fake (lossless cuts by timestamp). Distance = trimmed mean "
        f"(trim {cal.trim:g}) over {cal.suspect_frames} suspect frames of the distance to the nearest of up to "
        f"{cal.reference_frames} reference descriptors (dlib face-recognition ResNet, 128-d). "
        f"Thresholds from identity.json, fitted on real videos only: \"same\" below {cal.same_max:.3f}, "
        f"\"not the same\" above {cal.different_min:.3f}.", "",
        "| measure | value |", "|---|---|",
        f"| identity distance ROC AUC (fake = positive) | **{auc:.3f}** ({n_real} real / {n_fake} fake) |",
        f"| fake farther than its own real twin | {twin_share:.2f} |",
        f"| reals judged \"same person\" | {count('real', 'same')} / {n_real} "
        f"(unknown {count('real', 'unknown')}, different {count('real', 'different')}) |",
        f"| fakes judged \"not the same person\" | {count('fake', 'different')} / {n_fake} "
        f"(unknown {count('fake', 'unknown')}, same {count('fake', 'same')}) |",
        f"| real distances (min-max) | {np.nanmin(d[~y]):.3f}-{np.nanmax(d[~y]):.3f} |",
        f"| fake distances (min-max) | {np.nanmin(d[y]):.3f}-{np.nanmax(d[y]):.3f} |",
        f"| beside it, on the {len(tr) // 2} fully scanned twins: blind fake score AUC (no reference) | {auc_blind:.3f} |",
        f"| beside it, same twins: backbone score against the reference AUC | {auc_refscore:.3f} |", "",
        "## Calibration on the real pool (from identity.json; real videos only)", "",
        f"{m.get('n_clips', cal.info.get('clips'))} real clips, {cal.info.get('people')} people, multi-clip people: "
        f"{', '.join(cal.info.get('multi_clip_people', []))}. Ordered clip pairs (reference A, suspect B).", "",
        "| pool | pairs | judged same | cannot tell | judged not the same |", "|---|---|---|---|---|",
        f"| same person, other clip | {sp['n']} | {sp['n_same']} | {sp['n_unknown']} | "
        f"**{sp['n_different']} ({sp['rate_different']:.1%})** false \"not the same\" |",
        f"| different people | {dp['n']} | **{dp['n_same']} ({dp['rate_same']:.2%})** false \"same\" | "
        f"{dp['n_unknown']} | {dp['n_different']} |", "",
        *([f"Each person's pairs judged by cuts fitted without that person (leave one person out): "
           f"false \"not the same\" {m['leave_one_person_out']['n_false_different']} of "
           f"{m['leave_one_person_out']['n_same']}, false \"same\" {m['leave_one_person_out']['n_false_same']} of "
           f"{m['leave_one_person_out']['n_different']} ({m['leave_one_person_out']['false_same_rate']:.2%}; a "
           f"different-people pair is judged once per person it touches); cuts "
           f"{m['leave_one_person_out']['cut_range'][0]:.3f}-{m['leave_one_person_out']['cut_range'][1]:.3f}.", ""]
          if "leave_one_person_out" in m else []),
        "## Cost beside a plain scan (same videos, same run, interleaved)", "",
        f"Wall-clock seconds of the CLI's per-file scan, {len(plain_t)} suspect "
        f"clips (every {args.time_every}th twin, both suspects; each scanned plainly and with the reference, "
        f"interleaved, order alternating), {args.threads} torch threads, {os.cpu_count()} cores, {platform.machine()}, malloc tuning "
        f"{'on' if os.environ.get('MALLOC_MMAP_MAX_') else 'off'}, load average at the end "
        f"{os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} (other jobs slow the two modes alike only roughly): "
        f"a plain scan took {min(plain_t):.1f}-{max(plain_t):.1f} s per clip here; the medians are the steadier.", "",
        "| | mean s / suspect video | ratio |", "|---|---|---|",
        f"| scan | {np.mean(plain_t):.2f} | 1.00 |",
        f"| scan --reference (blind reference score + identity) | {np.mean(ref_t):.2f} | **{ratio:.2f}** |",
        f"| of which identity stage after the faces (descriptors the helper process had not finished, "
        f"+ distances) | "
        f"{np.mean([rows[i]['t_identity'] for i in tr]):.2f} | |",
        f"| median over clips of (scan --reference) / (scan) | | {np.median(np.divide(ref_t, plain_t)):.2f} |",
        f"| median over clips of (identity stage) / (scan) | | "
        f"+{np.median([rows[i]['t_identity'] / rows[i]['t_plain'] for i in tr]):.2f} |",
        f"| building one reference (2 s clip; once per run, not per video) | {np.mean(build_t):.2f} | |", "",
        "## Per twin", "",
        "| twin | real distance | real verdict | fake distance | fake verdict |", "|---|---|---|---|---|",
    ]
    for i in range(0, len(rows), 2):
        r, f = rows[i], rows[i + 1]
        fmt = lambda v: "–" if v is None else f"{v:.3f}"
        lines.append(f"| {r['twin']} | {fmt(r['distance'])} | {r['verdict']} | {fmt(f['distance'])} | {f['verdict']} |")
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    from difffake.backbone.malloc import tune_in_process
    tune_in_process()   # as the `difffake` command does for torch work
    sys.exit(main())
