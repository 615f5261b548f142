"""difffake evaluate: the paper's protocols on benchmark datasets -> tables + ROC plots."""
from __future__ import annotations

import logging
import sys

from ..errors import EXIT_OK, EXIT_USAGE, UsageError

NAME = "evaluate"
HELP = "evaluate a detector on benchmark datasets (tables in Markdown/CSV, ROC plots)"
log = logging.getLogger("difffake.evaluate")


def add_arguments(p):
    p.add_argument("--detector", metavar="DIR", help="detector folder (default: the packaged one)")
    import argparse

    from ..datasets.options import options_help
    p.formatter_class = argparse.RawDescriptionHelpFormatter   # keep the options table's layout
    p.epilog = options_help()
    p.add_argument("--dataset", action="append", required=True, metavar="KIND[,opt=v]:ROOT",
                   help="e.g. ffpp:/data/FF++ , ffpp,compression=c40,split=test:/data/FF++ , "
                        "celebdf:/data/Celeb-DF-v2 , csv:/data/dev/labels.csv , auto:ROOT (repeatable; "
                        "options of each KIND below)")
    p.add_argument("--out", required=True, metavar="REPORT_DIR",
                   help="folder for the tables (Markdown, CSV), ROC plots and scores")
    p.add_argument("--store", metavar="DIR",
                   help="face stores, one sub-folder per dataset (default: REPORT_DIR/stores); resumable")
    p.add_argument("--cache", metavar="DIR", help="embedding cache folder (default: inside each store)")
    p.add_argument("--face-cache", metavar="DIR", default=None,
                   help="faces keyed by file content + face settings, shared by every run, so a video is "
                        "never prepared twice (default $DIFFFAKE_FACE_CACHE or ~/.cache/difffake/faces; "
                        "'none' to turn off)")
    p.add_argument("--variants", metavar="LIST",
                   help="comma-separated combine:density[:pcaN|nopca][:full|diag|tied][:kN] and/or "
                        "'classifier'; refitted on the detector's own fit/calibration videos "
                        "(from model.json) and scored from the same cached embeddings")
    p.add_argument("--subset", action="append", default=[], metavar="NAME=REGEX",
                   help="extra row: the videos whose id matches REGEX, e.g. 'DeepFaceLive pairs=dfl_' "
                        "(repeatable)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the AUC CI")
    p.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resampling (default 0)")
    from .ray_runner import add_ray_arguments
    add_ray_arguments(p, dry_run=False)


def run(args) -> int:
    from ..detector import Detector
    from ..evaluate import (
        check_variant_names,
        evaluate,
        parse_dataset_spec,
        parse_variant,
    )

    # torch: evaluation caches embeddings by the weights' fingerprint and reuses them for P(fake)
    det = Detector.load(args.detector, engine="torch")
    try:
        datasets = [parse_dataset_spec(s) for s in args.dataset]
        variants = ([parse_variant(v, det.anomaly.cfg) for v in args.variants.split(",") if v.strip()]
                    if args.variants else None)
        check_variant_names(variants or [])   # before any embedding work
        subsets = [_subset(s) for s in args.subset]
    except ValueError as exc:   # a misspelt option, a bad value: the user's mistake
        print(f"difffake: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.ray is not None:   # faces extracted by Ray actors first; the rest runs here
        from .ray_runner import prepare_datasets
        if (code := prepare_datasets(args, datasets, det.face_cfg)) is not None:
            return code
    fit_embs = cal_embs = cal_probs = None
    if variants:
        fit_embs, cal_embs, cal_probs = fit_embeddings(det, args.cache)
    summary = evaluate(det, datasets, args.out, store_base=args.store, variants=variants,
                       fit_embs=fit_embs, cal_embs=cal_embs, cal_probs=cal_probs,
                       cache_dir=args.cache, seed=args.seed, n_boot=args.bootstrap, subsets=subsets,
                       face_cache=_face_cache(args.face_cache))
    for row in summary["rows"]:
        if row["variant"] == "detector":
            auc = "–" if row["auc"] is None else f"{row['auc']:.3f}"
            print(f"{row['dataset']:<28} {row['method']:<24} {row['compression'] or '':<5} AUC {auc} "
                  f"({row['n_real']} real / {row['n_fake']} fake, {row['n_no_face']} no face)")
    print(f"tables and ROC plots in {args.out}", file=sys.stderr)
    return EXIT_OK


def _face_cache(value):
    from ..faces.content_cache import default_cache_dir
    return None if value == "none" else (value or default_cache_dir())


def _subset(text: str) -> tuple[str, str]:
    import re
    name, eq, pattern = text.partition("=")
    if not eq or not name.strip() or not pattern:
        raise ValueError(f"--subset {text!r}: expected NAME=REGEX")
    re.compile(pattern)
    return name.strip(), pattern


def fit_embeddings(det, cache=None):
    """Embeddings of the detector's own fit and calibration videos (for variants), from model.json."""
    from ..embeddings import frame_fake_prob
    from ..faces.store import FaceStore
    from ..pool import embed_pool, locate

    info = det.info
    if not info.get("stores") or not info.get("fit_ids"):
        raise UsageError(f"{det.path}: model.json does not list the fit stores/ids; "
                         f"--variants needs a detector made by `difffake fit`")
    try:
        stores = [FaceStore(s) for s in info["stores"]]
    except FileNotFoundError as exc:
        raise UsageError(f"{det.path}: a fit store listed in model.json is gone ({exc})") from exc
    entries = locate(info, stores)
    missing = [k for k in info["fit_ids"] + info.get("cal_ids", [])
               if k not in entries or entries[k][0] is None or not entries[k][0].has(entries[k][1])]
    if missing:
        raise UsageError(f"{missing[0]}: listed in model.json but in none of the stores {info['stores']}"
                         + (f" ({len(missing) - 1} more)" if len(missing) > 1 else ""))
    embs = embed_pool(det.backbone, entries, cache)
    fit = [embs[k] for k in info["fit_ids"]]
    cal = [embs[k] for k in info.get("cal_ids", [])]
    return fit, cal, [frame_fake_prob(det.backbone, e) for e in cal]
