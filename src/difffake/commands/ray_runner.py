"""The `--ray [ADDRESS]` flag of prepare, scan and evaluate: arguments and the
CLI side (printing, exit codes) of difffake.distributed. Not a subcommand."""
from __future__ import annotations

import sys

from ..errors import EXIT_INPUT_ERROR, EXIT_OK, EXIT_USAGE

RAY_HELP = ("run on Ray: 'auto' joins the running cluster, HOST:PORT joins that one, the flag alone "
            "starts a local Ray instance (needs: pip install \"difffake[ray]\")")


def add_ray_arguments(p, out: bool = False, dry_run: bool = True) -> None:
    g = p.add_argument_group("Ray (distributed)")
    g.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS", help=RAY_HELP)
    g.add_argument("--actors", type=int, default=None, help="Ray actors (default: one per cluster CPU)")
    if dry_run:
        g.add_argument("--dry-run", action="store_true",
                       help="with --ray: stop before decoding (checks inputs and the driver, writes rows)")
    if out:
        g.add_argument("--out", default=None, metavar="RESULTS.jsonl|.parquet",
                       help="with --ray: one row per input (status ok/no_face/error, reason); a rerun with "
                            "the same file skips the ids already written. Inputs may be @LIST files "
                            "(one path, or path<TAB>id, per line; read as a stream)")


def _check(args) -> int | None:
    from ..distributed.runtime import RayNotInstalled, import_ray
    try:
        import_ray()
    except RayNotInstalled as exc:
        print(f"difffake: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.actors is not None and args.actors < 1:
        print("difffake: error: --actors must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    return None


def _print_summary(what: str, s: dict) -> None:
    print(f"{what}: {s['written']} rows written to {s['log']} ({s['ok']} ok, {s['no_face']} no face, "
          f"{s['error']} error), {s['skipped_already_written']} already there; {s['actors']} actors "
          f"({s['actors_replaced']} replaced), {s['videos_per_minute']:.1f} videos/min", file=sys.stderr)


def run_scan(args) -> int:
    if (code := _check(args)) is not None:
        return code
    if not args.out:
        print("difffake: error: scan --ray needs --out RESULTS.jsonl (or .parquet)", file=sys.stderr)
        return EXIT_USAGE
    from ..output_paths import output_file
    args.out = str(output_file(args.out, "--out", "results.jsonl"))   # before Ray starts (UsageError: exit 2)
    unsupported = [flag for flag, value in (("--report", args.report), ("--reference", args.reference),
                                            ("--json", args.json)) if value]
    if unsupported:
        print(f"difffake: error: {', '.join(unsupported)} cannot be combined with --ray (its rows go to --out)",
              file=sys.stderr)
        return EXIT_USAGE
    from ..distributed import ray_scan
    from .scan import EXIT_FLAGGED, EXIT_FLAGGED_AND_FAILED
    s = ray_scan(args.inputs, args.out, detector_dir=args.detector, frames=args.frames, address=args.ray,
                 actors=args.actors, dry_run=args.dry_run)
    _print_summary("ray scan", s)
    flagged, failed = s["judged_fake"] > 0, s["unscored"] > 0   # scan's exit codes, over the whole log
    if flagged:
        return EXIT_FLAGGED_AND_FAILED if failed else EXIT_FLAGGED
    return EXIT_INPUT_ERROR if failed else EXIT_OK


def run_prepare(args, cfg) -> int:
    if (code := _check(args)) is not None:
        return code
    from ..distributed import ray_prepare
    s = ray_prepare(args.inputs, args.store, cfg, address=args.ray, actors=args.actors, dry_run=args.dry_run)
    _print_summary("ray prepare", s)
    return EXIT_INPUT_ERROR if s["error"] else EXIT_OK


def prepare_datasets(args, datasets, face_cfg) -> int | None:
    """evaluate --ray: fill each dataset's face store on the cluster; the local
    evaluate then finds every face stored and only embeds and scores."""
    if (code := _check(args)) is not None:
        return code
    from pathlib import Path

    from ..datasets import load_dataset
    from ..distributed import ray_prepare_records
    from ..evaluate import _safe, dataset_name
    store_base = Path(args.store) if args.store else Path(args.out) / "stores"
    for kind, root, options in datasets:
        name = dataset_name(kind, root, options)
        s = ray_prepare_records(load_dataset(kind, root, **options), store_base / _safe(name), face_cfg,
                                address=args.ray, actors=args.actors)
        _print_summary(f"ray faces {name}", s)
    return None
