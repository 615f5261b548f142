"""`difffake prepare`: fill a FaceStore with face crops + landmarks of videos and photos.

The work is difffake.workflows.prepare; this module parses, prints and picks the exit code.

Resumable (finished videos are skipped; entries are written atomically), one
bad file never stops the batch. Two runs on one store split the work: each entry
is extracted under its own lock, a run leaves entries another run holds to it and
waits for them at the end (faces/store_locks.py). Exit codes: 0 all inputs done; 2 bad arguments
or a store made with other settings; 3 some inputs failed (listed on stderr
and in STORE/failures.json), the others were stored.
"""
from __future__ import annotations

import sys

from ..config import PRESETS, preset
from ..errors import EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE, SettingsMismatch

NAME = "prepare"
HELP = "detect faces in videos/photos and cache crops + 68 landmarks in a face store"


def add_arguments(p) -> None:
    p.epilog = ("exit codes: 0 every input stored; 2 bad arguments or a store made with other "
                "settings; 3 some inputs could not be read (each listed as 'FAILED path: reason' "
                "on stderr and in STORE/failures.json), the others were stored")
    p.add_argument("inputs", nargs="+", metavar="ROOT_OR_FILE",
                   help="folders (walked for videos/images; id = path relative to the folder) or files "
                        "(id = file name)")
    p.add_argument("--store", required=True, help="face store folder (created if missing)")
    p.add_argument("--frames", type=int, default=None,
                   help="frames sampled per video (default: the preset's, cpu 32, paper 40)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--preset", choices=PRESETS, default="cpu", help="face settings preset")
    p.add_argument("--face-search", choices=("near", "whole"), default=None,
                   help="track policy: 'near' looks for the face near the previous frame's first "
                        "(faces/roi.py, default; 1.7x less CPU on the real pool), 'whole' searches every frame whole "
                        "(the paper preset's)")
    from .ray_runner import add_ray_arguments
    add_ray_arguments(p)
    from .dash_names import explain_dash_names
    explain_dash_names(p, NAME)   # `prepare -- -clip.mp4`


def run(args) -> int:
    cfg = preset(args.preset).faces
    if args.frames is not None:
        if args.frames < 1:
            print("difffake prepare: error: --frames must be >= 1", file=sys.stderr)
            return EXIT_USAGE
        cfg.num_frames = args.frames
    if args.face_search is not None:
        cfg.roi_search = args.face_search == "near"
    if args.ray is not None:   # the same store, filled by Ray actors (difffake.distributed)
        from .ray_runner import run_prepare
        return run_prepare(args, cfg)
    from ..workflows.prepare import prepare
    try:
        summary = prepare(args.inputs, args.store, cfg, workers=max(1, args.workers))
    except SettingsMismatch as exc:
        print(f"difffake prepare: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for f in summary["failures"]:
        print(f"FAILED {f['path']}: {f['reason']}", file=sys.stderr)
    s = summary
    rate = 100.0 * s["frames_with_face"] / s["frames"] if s["frames"] else 0.0
    print(f"prepare: {s['inputs']} inputs, {s['skipped_existing']} already in store, "
          f"{s['processed']} processed, {s['failed']} failed; "
          f"{s['frames']} frames, {s['frames_with_face']} with a face ({rate:.1f}%); "
          f"{len(s['videos_without_face'])} without any face; "
          f"{s['seconds']:.1f} s ({s['frames_per_second']:.1f} frames/s, {s['workers']} workers)")
    if s["videos_without_face"]:
        print("no face in: " + ", ".join(s["videos_without_face"]))
    return EXIT_INPUT_ERROR if s["failed"] else EXIT_OK
