"""difffake fit: density model on real pairs + calibration -> a detector folder.

The work is difffake.workflows.fit (also `difffake.fit(...)` from Python); this module
parses the options and prints the workflow's messages on stderr.

How the real pool is chosen and split for calibration (crossfit / holdout): see
difffake.workflows.fit.
"""
from __future__ import annotations

import dataclasses
import sys

from ..anomaly.densities import density_names
from ..config import AnomalyConfig
from ..errors import EXIT_OK
from . import share

NAME = "fit"
HELP = "fit the differential density model on real videos and write a detector folder"


def add_arguments(p):
    p.add_argument("--backbone", required=True, metavar="RUN_OR_DIR",
                   help="training run folder or a folder with backbone.safetensors + backbone.json")
    p.add_argument("--store", action="append", required=True, metavar="STORE",
                   help="face store of REAL videos (repeatable)")
    p.add_argument("--out", required=True, metavar="DETECTOR_DIR", help="detector folder to write")
    p.add_argument("--ids-file", metavar="F", help="use only these store ids (one per line)")
    p.add_argument("--exclude-ids", metavar="F",
                   help="ids the backbone trained on (txt, one per line, or a split.json); "
                        "default: the run folder's train_ids.txt / split.json 'train'")
    p.add_argument("--no-exclude", action="store_true",
                   help="fit on every pool video even if the backbone trained on it (not advised)")
    p.add_argument("--split-by", choices=("group", "video"), default="group",
                   help="hold out calibration videos by person/source group (default) or per video")
    p.add_argument("--split-by-group", dest="split_by", action="store_const", const="group",
                   help="alias of --split-by group")
    p.add_argument("--groups", metavar="FILE",
                   help="CSV of path,group lines: who is who (else person folder / source repository)")
    p.add_argument("--calibration", choices=("crossfit", "holdout"), default=None,
                   help="crossfit (default): K group folds give every pool video an out-of-fold score, "
                        "the final model is fitted on all of them; holdout: a separate calibration "
                        "share (--calibration-fraction); --cal-ids-file implies holdout")
    p.add_argument("--folds", type=int, default=5, metavar="K",
                   help="cross-fitting folds (whole groups per fold; fewer if fewer groups; default 5)")
    p.add_argument("--cal-ids-file", metavar="F", help="explicit calibration ids (overrides the split)")
    p.add_argument("--calibration-fraction", type=float, default=None,
                   help="with --calibration holdout: share of the pool (whole groups) held out for calibration "
                        "(default 0.3)")
    p.add_argument("--combine", choices=("abs", "sub", "sq", "cube", "single"),
                   help="how the embeddings a, b of a frame pair become one vector: |a-b|, a-b, (a-b)^2, (a-b)^3, "
                        "or single (each frame alone: the non-differential baseline); default sq")
    p.add_argument("--density", choices=density_names(),
                   help="density model of real pairs: Gaussian mixture (default), one-class SVM or "
                        "k-nearest-neighbour distance")
    p.add_argument("--pca", type=int, default=None, metavar="DIMS", help="PCA dims first (0 = none)")
    p.add_argument("--pairing", choices=("paper", "all", "consecutive"),
                   help="which frame pairs: paper (default: a few partner frames, every other frame paired with "
                        "one of them), all pairs, or consecutive frames")
    p.add_argument("--gmm-covariance", choices=("full", "diag", "tied", "spherical"),
                   help="covariance type of the Gaussian mixture (default full)")
    p.add_argument("--gmm-components", type=int, help="Gaussians in the mixture (default 3)")
    p.add_argument("--knn-k", type=int, help="neighbours of --density knn (default 5)")
    p.add_argument("--video-reduce", choices=("mean", "median", "trimmed"),
                   help="how the pair scores of a video become its score (default mean)")
    p.add_argument("--target-fpr", type=float,
                   help="false-positive rate on real videos that sets the threshold (default 0.05)")
    p.add_argument("--seed", type=int, help="random seed (pairs, splits, density fit; default 0)")
    p.add_argument("--no-fusion", action="store_true",
                   help="fit only the differential score (no pseudo-fake videos, no fused verdict)")
    p.add_argument("--basis", choices=("fused", "differential", "classifier"), default=None,
                   help="which score gives the stored verdict (default: fused when fitted, else differential)")
    p.add_argument("--no-degraded", action="store_true",
                   help="do not add re-captured (down-scaled, JPEG, colour-cast) copies of each real and "
                        "its pseudo-fake twin to the fusion and calibration sets")
    p.add_argument("--pseudo-seed", type=int, default=0,
                   help="seed of the pseudo-fake twin made of every pool video (fusion and validation)")
    p.add_argument("--other-identity-twins", type=share, default=0.0, metavar="P",
                   help="share of the pseudo-fake twins whose blend carries another person's face (a "
                        "video of another group in the same fold) instead of the video's own: a judge "
                        "and a fusion that also see identity swaps; default 0, self-blends only")
    p.add_argument("--allow-small-calibration", action="store_true",
                   help="store a threshold even when the calibration reals are too few to resolve "
                        "the target false-positive rate (flagged in model.json)")
    p.add_argument("--note", default="", help="free text kept in model.json (e.g. the recipe that made it)")
    p.add_argument("--cache", metavar="DIR", help="embedding cache folder (default: <store>/embeddings)")


def anomaly_config(args) -> AnomalyConfig:
    cfg = AnomalyConfig()
    over = {"combine": args.combine, "density": args.density, "pairing": args.pairing,
            "gmm_covariance": args.gmm_covariance, "gmm_components": args.gmm_components,
            "knn_k": args.knn_k, "video_reduce": args.video_reduce, "target_fpr": args.target_fpr,
            "seed": args.seed, "calibration_fraction": args.calibration_fraction}
    over = {k: v for k, v in over.items() if v is not None}
    if args.pca is not None:
        over["pca_dims"] = args.pca or None
    return dataclasses.replace(cfg, **over)


def run(args) -> int:
    from ..workflows.fit import FitRequest, fit_detector

    req = FitRequest(
        backbone=args.backbone, stores=list(args.store), out=args.out, anomaly=anomaly_config(args),
        ids_file=args.ids_file, exclude_ids=args.exclude_ids, exclude_training=not args.no_exclude,
        split_by=args.split_by, groups=args.groups, calibration=args.calibration, folds=args.folds, cal_ids_file=args.cal_ids_file,
        fusion=not args.no_fusion, basis=args.basis, degraded=not args.no_degraded, pseudo_seed=args.pseudo_seed,
        other_identity_twins=args.other_identity_twins,
        allow_small_calibration=args.allow_small_calibration, note=args.note, cache=args.cache,
        argv=sys.argv[1:])
    fit_detector(req, say=lambda msg: print(msg, file=sys.stderr))
    return EXIT_OK
