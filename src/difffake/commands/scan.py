"""`difffake scan`: verdicts for videos or photos, as text, JSON lines or an HTML report.

The scanning is difffake.workflows.scan; this module parses, prints each verdict as it
comes, writes the report and picks the exit code."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from ..errors import EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE, FileError

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
  2  bad arguments (checked before any file is scanned: --report must be writable); 4 unexpected failure

inputs:
  every input gets one line, in the order given: a folder gives a line per media file
  (sorted; folder links followed unless they loop back), and a missing path, a folder
  without media, a broken symbolic link, a link loop or a named pipe gets an ERROR line
  with its reason.
  A file name that starts with '-' needs `--` before it, or ./ : difffake scan -- -clip.mp4

ids (video_id in --json and the report):
  a file given by name keeps the path as given; a file found in a folder is named by its
  path inside that folder, prefixed, when several folders are given, by the folder's name
  (`scan real fake`: real/x.mp4, fake/x.mp4; names that repeat take more of their path:
  a/clips/x.mp4, b/clips/x.mp4). The same file given twice is scanned once.

A verdict resting on fewer than half the frame pairs the detector was calibrated on
is marked LOW-EVIDENCE (JSON: "evidence_level": "low", n_pairs, pairs_expected).
Images and video frames above DIFFFAKE_MAX_PIXELS pixels (default 50000000) are
refused (a JPEG is decoded reduced instead); set it to raise the limit."""


def add_arguments(p) -> None:
    import argparse
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.epilog = EPILOG
    p.add_argument("inputs", nargs="+", help="video or image files, or folders to search")
    p.add_argument("--detector", default=None,
                   help="detector folder made by `difffake fit` (default: the one shipped with difffake)")
    p.add_argument("--json", action="store_true", help="one JSON object per file on stdout, as each finishes")
    p.add_argument("--report", default=None, metavar="REPORT.html",   # a str: keeps a trailing /
                   help="write a self-contained HTML report to this file (an existing folder, or a path "
                        "ending in /, gets report.html inside it); checked before scanning")
    p.add_argument("--reference", type=Path, action="append", default=None,
                   help="a trusted photo or video of the person (a folder of photos works; repeat for "
                        "several): adds an identity check (same person or not) and a blind reference score")
    p.add_argument("--frames", type=int, default=None, help="frames sampled per video (default: the detector's)")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--engine", choices=("auto", "onnx", "torch"), default="auto",
                   help="run the network with ONNX Runtime (no torch needed) or torch; auto: ONNX "
                        "when the detector folder has backbone.onnx and the device is the CPU")
    p.add_argument("--score", choices=("fused", "differential", "classifier"), default=None,
                   help="which score gives the verdict: fused (every signal, the default of a fused "
                        "detector), differential (the DiffFake pair score alone) or classifier (the "
                        "backbone's mean P(fake)); every score is reported either way")
    from .ray_runner import add_ray_arguments
    add_ray_arguments(p, out=True)
    from .dash_names import explain_dash_names
    explain_dash_names(p, NAME)


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
        if r.identity_verdict is not None:
            ref += f"identity={r.identity_verdict.upper()}({_num(r.identity_distance)})  "
        score = "score=n/a" if r.score is None else f"{r.basis} score={r.score:+.3f}"
        others = " ".join(f"{c['name']}={c['score']:+.3f}" for c in r.components[1:] if c["score"] is not None)
        others = f"[{others}]  " if others else ""
        people = f" (main of {r.segments} people)" if getattr(r, "segments", 1) > 1 else ""
        low = (f"LOW-EVIDENCE({r.n_pairs}/{r.pairs_expected} pairs)  "
               if getattr(r, "evidence_level", None) == "low" else "")
        return (f"{r.verdict.upper():7s} {low}{score}  {p}{ref}{others}faces {r.n_faces}/{r.n_frames}{people}  "
                f"{t:.1f}s  {r.path}")
    label = {"error": "ERROR", "no_face": "NO FACE", "too_few_faces": "TOO FEW"}.get(r.status, r.status)
    error = str(r.error)   # most reasons already start with the path: say it once
    return f"{label:7s} {error if error.startswith(r.path + ':') else f'{r.path}: {error}'}"


def _num(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def run(args) -> int:
    from ..devices import check_device
    check_device(args.device)   # --device cuda without a GPU: exit 2 with the fix, before any work
    if args.ray is not None:   # the same scan on a Ray cluster (difffake.distributed)
        from .ray_runner import run_scan
        return run_scan(args)
    from ..detector import Detector
    from ..faces.limits import max_pixels
    from ..faces.listing import list_inputs
    from ..output_paths import output_file
    from ..workflows.scan import detector_for_scan, load_reference, scan_entries

    max_pixels()   # a bad DIFFFAKE_MAX_PIXELS is a usage error (exit 2), said once, not per file
    ray_only = [flag for flag, given in (("--out", args.out is not None), ("--actors", args.actors is not None),
                                         ("--dry-run", args.dry_run)) if given]
    if ray_only:   # without --ray they would be ignored: the scan would not do what was asked
        print(f"difffake: error: {', '.join(ray_only)} is for --ray (without it, --json > RESULTS.jsonl "
              f"writes the rows)", file=sys.stderr)
        return EXIT_USAGE
    if args.report is not None:   # before any work: a scan must not end unable to write it
        args.report = output_file(args.report, "--report", "report.html")
    listing = list_inputs(args.inputs, ids="path")
    for note in listing.notes:
        print(f"difffake: warning: {note}", file=sys.stderr)
    detector = Detector.load(args.detector, device=args.device, engine=args.engine)
    # a view with --score / --frames: the loaded detector keeps its settings
    detector, notes = detector_for_scan(detector, frames=args.frames, basis=args.score)
    for note in notes:
        print(f"difffake: warning: {note}", file=sys.stderr)

    reference = None
    if args.reference is not None:
        try:
            reference = load_reference(detector, args.reference)
        except FileError as exc:
            print(f"difffake: error: reference {exc}", file=sys.stderr)
            return EXIT_INPUT_ERROR
        for note in reference.notes:
            print(f"difffake: warning: {note}", file=sys.stderr)

    results = []
    from ..progress import bar as progress_bar
    bar = progress_bar(total=len(listing.entries), desc="scanning", unit="file")
    for result in scan_entries(detector, listing.entries, reference, keep_records=args.report is not None):
        results.append(result)
        bar.update(1)
        text = json.dumps(result.to_dict()) if args.json else _line(result)
        (bar.write(text, file=sys.stdout) if not args.json else print(text, flush=True))
    bar.close()

    if args.report is not None:
        from ..report import write_report
        try:
            write_report(args.report, results, detector, reference=args.reference)
            print(f"report written to {args.report}", file=sys.stderr)
        except OSError as exc:   # checked before scanning; if it fails now, keep the verdicts' code
            print(f"difffake: error: report not written: {args.report}: {exc.strerror or exc}", file=sys.stderr)
    if not results:
        print("difffake: error: no video or image files found in the inputs", file=sys.stderr)
        return EXIT_INPUT_ERROR
    return exit_code(results)
