"""`difffake scan`: verdicts for videos or photos, as text, JSON lines or an HTML report."""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path

from ..errors import EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE, MediaError

log = logging.getLogger("difffake.scan")

NAME = "scan"
HELP = "judge videos or photos: verdict, fake score, p-value that it is real (the main job)"

EXIT_FLAGGED = 1
EXIT_FLAGGED_AND_FAILED = 5

EPILOG = """exit codes:
  0  every file was scored and none was judged fake
  1  at least one file was judged fake (all were scored)
  3  at least one file could not be scored (unreadable, or no face); none judged fake
  5  at least one file judged fake AND at least one could not be scored
  2  bad arguments; 4 unexpected failure"""


def add_arguments(p) -> None:
    import argparse
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("inputs", nargs="+", help="video or image files, or folders to search")
    p.add_argument("--detector", default=None,
                   help="detector folder made by `difffake fit` (default: the one shipped with difffake)")
    p.add_argument("--json", action="store_true", help="one JSON object per file on stdout, as each finishes")
    p.add_argument("--report", type=Path, default=None, help="write a self-contained HTML report here")
    p.add_argument("--reference", type=Path, default=None,
                   help="a trusted photo or video of the same person: suspect frames are also compared with it")
    p.add_argument("--frames", type=int, default=None, help="frames sampled per video (default: the detector's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    from .ray_runner import add_ray_arguments
    add_ray_arguments(p, out=True)


def exit_code(results) -> int:
    flagged = any(r.verdict == "fake" for r in results)
    # a video without a verdict (no calibration in the model) was not really judged
    failed = any(r.status != "ok" or r.verdict == "unknown" for r in results)
    if flagged and failed:
        return EXIT_FLAGGED_AND_FAILED
    if flagged:
        return EXIT_FLAGGED
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def _line(r) -> str:
    t = sum(v for v in r.timings.values() if v)
    if r.status == "ok":
        p = "" if r.p_value_real is None else f"p(real)={r.p_value_real:.3f}  "
        ref = "" if r.reference_score is None else f"vs-reference={r.reference_score:+.3f}  "
        return (f"{r.verdict.upper():7s} score={r.score:+.3f}  {p}{ref}faces {r.n_faces}/{r.n_frames}  "
                f"{t:.1f}s  {r.path}")
    label = {"error": "ERROR", "no_face": "NO FACE", "too_few_faces": "TOO FEW"}.get(r.status, r.status)
    return f"{label:7s} {r.path}: {r.error}"


def scan_files(detector, jobs, reference_emb=None, keep_records=False, progress=None):
    """Yield a ScanResult per (path, video_id); the face record is attached when asked."""
    for path, vid in jobs:
        try:
            yield _scan_one(detector, path, vid, reference_emb, keep_records)
        except MediaError as exc:
            yield _error_result(path, vid, str(exc))
        except Exception as exc:  # one odd file never stops the batch
            log.exception("%s: unexpected failure", path)
            yield _error_result(path, vid, f"{path}: unexpected {type(exc).__name__}: {exc}")


def _scan_one(detector, path, vid, reference_emb, keep_records):
    from ..faces.pipeline import extract_faces
    from ..reference import score_against_reference

    t0 = time.perf_counter()
    record = extract_faces(path, detector.face_cfg, detector.face_detector(), video_id=vid)
    faces_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    emb = detector.embed_record(record)   # once: the scan and the reference view share it
    embed_s = time.perf_counter() - t1
    result = detector.scan(path, vid, record=record, embeddings=emb)
    result.timings.update(faces=faces_s, embed=embed_s + result.timings.get("embed", 0.0))
    result.timings.pop("decode", None)  # decoding is interleaved with detection
    if reference_emb is not None and result.status == "ok":
        ref = score_against_reference(detector.anomaly, emb, reference_emb)
        result.reference_score = float(ref.score)
        result.reference_pair_scores = [float(v) for v in ref.pair_scores]
    if keep_records:
        result.record = record
    return result


def model_info(detector) -> dict:
    """What a report says about the model: where it came from and how it was made."""
    info = {"detector": str(detector.path) if detector.path else "in memory",
            "backbone": detector.backbone.cfg.name,
            "input size": detector.backbone.cfg.input_size}
    if detector.calibration is not None:
        info["calibration"] = (f"threshold {detector.calibration.threshold:.4f} at target FPR "
                               f"{detector.anomaly.cfg.target_fpr} on {detector.calibration.n} real videos")
    info.update({k: v for k, v in detector.info.items() if isinstance(v, (str, int, float))})
    return info


def _error_result(path, vid, message):
    from ..detector import ScanResult
    return ScanResult(path=str(path), video_id=vid, status="error", error=message)


def run(args) -> int:
    if args.ray is not None:   # the same scan on a Ray cluster (difffake.distributed)
        from .ray_runner import run_scan
        return run_scan(args)
    from tqdm import tqdm

    from ..detector import Detector
    from ..faces.video import collect_media
    from ..faces.pipeline import extract_faces

    jobs, problems = collect_media(args.inputs, explicit_id="path")
    detector = Detector.load(args.detector, device=args.device)
    if args.frames is not None:
        if args.frames < 2:
            print("difffake: error: --frames must be at least 2 (pairs need two frames)", file=sys.stderr)
            return EXIT_USAGE
        if args.frames != detector.face_cfg.num_frames:
            # the threshold and p-values were calibrated on videos sampled at the detector's count
            print(f"difffake: warning: the detector was calibrated with {detector.face_cfg.num_frames} "
                  f"frames per video; with --frames {args.frames} its threshold and p-values are approximate",
                  file=sys.stderr)
        detector.face_cfg.num_frames = args.frames

    reference_emb = None
    if args.reference is not None and detector.anomaly.cfg.combine == "single":
        print("difffake: error: --reference needs a differential detector; this one scores single frames",
              file=sys.stderr)
        return EXIT_USAGE
    if args.reference is not None:
        try:
            ref_record = extract_faces(args.reference, detector.face_cfg, detector.face_detector(),
                                       video_id=args.reference.name)
        except MediaError as exc:
            print(f"difffake: error: reference {exc}", file=sys.stderr)
            return EXIT_INPUT_ERROR
        if ref_record.num_faces == 0:
            print(f"difffake: error: reference {args.reference}: no face found", file=sys.stderr)
            return EXIT_INPUT_ERROR
        reference_emb = detector.embed_record(ref_record)

    results = [_error_result(p["path"], p["id"], p["reason"]) for p in problems]
    for r in results:
        print(json.dumps(r.to_dict()) if args.json else _line(r), flush=True)
    bar = tqdm(total=len(jobs), desc="scanning", unit="file", disable=None, file=sys.stderr)
    stream = scan_files(detector, jobs, reference_emb,
                        keep_records=args.report is not None)
    for result in stream:
        results.append(result)
        bar.update(1)
        text = json.dumps(result.to_dict()) if args.json else _line(result)
        (bar.write(text, file=sys.stdout) if not args.json else print(text, flush=True))
    bar.close()

    if args.report is not None:
        from ..report import render_html
        settings = {"frames per video": detector.face_cfg.num_frames,
                    "face detector": detector.face_cfg.detector,
                    "pairing": detector.anomaly.cfg.pairing,
                    "combination": detector.anomaly.cfg.combine,
                    "density model": detector.anomaly.cfg.density,
                    "reference": str(args.reference) if args.reference else None}
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(render_html(results, settings, model_info(detector)), encoding="utf-8")
        print(f"report written to {args.report}", file=sys.stderr)
    if not results:
        print("difffake: error: no video or image files found in the inputs", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return exit_code(results)
