"""difffake evaluate: the paper's protocols on benchmark datasets -> tables + ROC plots."""
from __future__ import annotations

import logging
import sys

from ..errors import EXIT_OK, EXIT_USAGE

NAME = "evaluate"
HELP = "evaluate a detector on benchmark datasets (tables in Markdown/CSV, ROC plots)"
log = logging.getLogger("difffake.evaluate")


# One example --dataset spec per dataset kind (datasets.READERS); a test checks none is missing.
EXAMPLES = {
    "ffpp": "ffpp,compression=c40,split=test:/data/FF++",
    "celebdf": "celebdf,split=test:/data/Celeb-DF-v2",
    "dfo": "dfo,ffpp_root=/data/FF++,perturbation=end_to_end:/data/DeeperForensics-1.0",
    "deeperforensics": "deeperforensics,ffpp_root=/data/FF++:/data/DeeperForensics-1.0",
    "forgerynet": "forgerynet,list_file=/data/ForgeryNet/Validation/video_list.txt:/data/ForgeryNet",
    "dfdc": "dfdc,split=test:/data/dfdc",
    "folder": "folder:/data/mine   (ROOT/real/** and ROOT/fake/**; fake/METHOD/ names the method)",
    "csv": "csv:/data/mine/labels.csv   (header path,label[,method,group,split])",
    "auto": "auto:/data/FF++   (the kind guessed from the tree)",
}


def kinds_help() -> str:
    """Every dataset kind `--dataset` accepts, with an example spec each."""
    from ..datasets import READERS

    kinds = [*READERS, "auto"]
    width = max(map(len, kinds))
    return "\n".join(["dataset kinds (--dataset KIND[,opt=value...]:ROOT), one example each:"]
                     + [f"  {k:<{width}}  {EXAMPLES.get(k, f'{k}:ROOT')}" for k in kinds])


def add_arguments(p):
    import argparse

    from ..datasets.options import options_help
    p.formatter_class = argparse.RawDescriptionHelpFormatter   # keep the tables' layout
    p.epilog = kinds_help() + "\n\n" + options_help()
    p.add_argument("--detector", metavar="DIR", help="detector folder (default: the packaged one)")
    p.add_argument("--dataset", action="append", required=True, metavar="KIND[,opt=v]:ROOT",
                   help="a dataset to evaluate on (repeatable); every KIND with an example, and each "
                        "KIND's options, are listed below")
    p.add_argument("--out", required=True, metavar="REPORT_DIR",
                   help="report folder: results.md/.csv, one sub-folder per dataset (table, videos.csv, "
                        "unscored.csv, ROC plot), summary.json")
    p.add_argument("--store", metavar="DIR",
                   help="face stores, one sub-folder per dataset (default: REPORT_DIR/stores); resumable")
    p.add_argument("--cache", metavar="DIR", help="embedding cache folder (default: inside each store)")
    p.add_argument("--face-cache", metavar="DIR", default=None,
                   help="faces keyed by file content + face settings, shared by every run, so a video is "
                        "never prepared twice (default $DIFFFAKE_FACE_CACHE or ~/.cache/difffake/faces; "
                        "'none' to turn off)")
    p.add_argument("--variants", metavar="LIST",
                   help="comma-separated combine:density[:pcaN|nopca][:full|diag|tied|spherical][:kN]"
                        "[:mean|median|trimmed][:paper|all|consecutive] and/or 'classifier'; refitted on "
                        "the detector's own fit/calibration videos (from model.json) and scored from the "
                        "same cached embeddings (rows in variants.md)")
    p.add_argument("--subset", action="append", default=[], metavar="NAME=REGEX",
                   help="extra row: the videos whose id matches REGEX, e.g. 'DeepFaceLive pairs=dfl_' "
                        "(repeatable)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples (reals and fakes resampled separately) for the AUC's 95%% "
                        "interval (default 1000)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of the bootstrap resampling (default 0); the same seed gives the same intervals")
    from .ray_runner import add_ray_arguments
    add_ray_arguments(p, dry_run=False)


def run(args) -> int:
    from ..errors import require_module
    from ..evaluation.protocols import parse_dataset_spec

    require_module("`difffake evaluate`", "torch")
    try:   # the datasets and subsets are checked before torch loads (~3 s): a typo fails at once
        datasets = [parse_dataset_spec(s) for s in args.dataset]
        subsets = [_subset(s) for s in args.subset]
    except ValueError as exc:   # a misspelt option, a bad value: the user's mistake
        print(f"difffake: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    from ..detector import Detector
    from ..evaluation.variants import check_variant_names, parse_variant
    from ..workflows.evaluate import evaluate

    # torch: evaluation caches embeddings by the weights' fingerprint and reuses them for P(fake)
    det = Detector.load(args.detector, engine="torch")
    try:
        variants = ([parse_variant(v, det.anomaly.cfg) for v in args.variants.split(",") if v.strip()]
                    if args.variants else None)
        check_variant_names(variants or [])   # before any embedding work
    except ValueError as exc:
        print(f"difffake: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.ray is not None:   # faces extracted by Ray actors first; the rest runs here
        from .ray_runner import prepare_datasets
        if (code := prepare_datasets(args, datasets, det.face_cfg)) is not None:
            return code
    # variants are fitted on the detector's own fit/calibration videos, embedded by the workflow
    summary = evaluate(det, datasets, args.out, store_base=args.store, variants=variants,
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
