"""difffake fit: density model on real pairs + calibration -> a detector folder.

The real pool is every video of the given face stores (or those in --ids-file)
MINUS the videos the backbone trained on: a density fitted on its own training
videos measures "seen before", not "real" (FINDINGS). By default the training
ids are read from the backbone's run folder (train_ids.txt, else split.json
"train"); --exclude-ids FILE overrides. The pool is then split by person /
source group (difffake.splits; --groups FILE says who is who) for calibration:
- crossfit (default): K folds of whole groups; each video gets an out-of-fold
  score from a model fitted on the other folds; the final density is fitted on
  the WHOLE pool and calibrated on those out-of-fold scores (n_cal = pool size).
  With ~50 unseen reals a 30% hold-out leaves ~15 calibration videos (p-values
  in steps of 1/16) and takes 30% of the density's data (difffake.anomaly.crossfit).
- holdout: fit videos and HELD-OUT calibration videos (--calibration-fraction).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import sys
from pathlib import Path

import numpy as np

from ..anomaly.densities import density_names
from ..config import AnomalyConfig, FaceConfig, section_from_dict
from ..errors import EXIT_OK, DifffakeError, FileError, UsageError

NAME = "fit"
HELP = "fit the differential density model on real videos and write a detector folder"
log = logging.getLogger("difffake.fit")


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
    p.add_argument("--calibration-fraction", type=float, default=None)
    p.add_argument("--combine", choices=("abs", "sub", "sq", "cube", "single"))
    p.add_argument("--density", choices=density_names())
    p.add_argument("--pca", type=int, default=None, metavar="DIMS", help="PCA dims first (0 = none)")
    p.add_argument("--pairing", choices=("paper", "all", "consecutive"))
    p.add_argument("--gmm-covariance", choices=("full", "diag", "tied", "spherical"))
    p.add_argument("--gmm-components", type=int)
    p.add_argument("--knn-k", type=int)
    p.add_argument("--video-reduce", choices=("mean", "median", "trimmed"))
    p.add_argument("--target-fpr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--no-fusion", action="store_true",
                   help="fit only the differential score (no pseudo-fake videos, no fused verdict)")
    p.add_argument("--basis", choices=("fused", "differential", "classifier"), default=None,
                   help="which score gives the stored verdict (default: fused when fitted, else differential)")
    p.add_argument("--no-degraded", action="store_true",
                   help="do not add re-captured (down-scaled, JPEG, colour-cast) copies of each real and "
                        "its pseudo-fake twin to the fusion and calibration sets")
    p.add_argument("--pseudo-seed", type=int, default=0,
                   help="seed of the pseudo-fake twin made of every pool video (fusion and validation)")
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


def load_fit_backbone(path, say):
    """(folder, Backbone): its exported backbone, else the best checkpoint of an unfinished run."""
    from ..backbone.model import Backbone
    from ..backbone.run_checkpoint import (
        describe,
        find_checkpoint,
        load_checkpoint_backbone,
    )

    path = Path(path)
    if (path / "backbone.json").is_file():
        return path, Backbone.load(path)
    resume = f"`difffake train --store STORE --out {path} --resume`"
    found = find_checkpoint(path)
    if found is None:
        raise FileError(path, f"no backbone.json here, and no checkpoint of an unfinished training run "
                              f"(last.json, checkpoints/): pass a training run folder, a folder with "
                              f"backbone.safetensors + backbone.json, or finish an interrupted run with {resume}")
    say(f"{path}: no backbone.json here (training unfinished); using {describe(*found)}; "
        f"{resume} finishes the run")
    return path, load_checkpoint_backbone(path, *found)


def read_id_list(path) -> list[str]:
    """Ids from a text file (one per line, # comments) or a split.json ('train' list)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DifffakeError(f"{path}: cannot read id list ({exc})") from exc
    if path.suffix == ".json":
        data = json.loads(text)
        if not isinstance(data, dict) or "train" not in data:
            raise DifffakeError(f"{path}: expected a JSON object with a 'train' id list")
        return [str(v) for v in data["train"]]
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]


def training_ids(backbone_dir: Path, explicit=None) -> tuple[list[str], str]:
    """(ids the backbone trained on, where they came from)."""
    if explicit:
        return read_id_list(explicit), str(explicit)
    for candidate in (backbone_dir / "train_ids.txt", backbone_dir / "split.json"):
        if candidate.is_file():
            return read_id_list(candidate), str(candidate)
    return [], ""


def is_excluded(video_id: str, exclude: set, exclude_names: set) -> bool:
    # Exact id first; the file name as a fallback because the trainer's store may
    # have had another root (e.g. "videos/x.mp4" vs "x.mp4").
    return video_id in exclude or Path(video_id).name in exclude_names


def split_pool(ids, fraction: float, seed: int, by="group"):
    """(fit ids, calibration ids, groups dict): `fraction` of the groups held out (difffake.splits)."""
    from ..splits import holdout_split

    try:
        return holdout_split(ids, fraction, seed, by)
    except ValueError as exc:
        raise DifffakeError(f"{exc}; add real videos or pass --cal-ids-file") from exc


def run(args) -> int:
    from ..detector import Detector
    from ..embeddings import backbone_fingerprint
    from ..faces.store import FaceStore
    from ..pool import embed_pool, pool_entries, pool_key, store_paths
    from ..splits import GroupsFileError, grouping

    cfg = anomaly_config(args)
    try:   # --split-by and --groups become one grouping, passed on as args.split_by
        args.split_by = grouping(args.split_by, args.groups)
    except (GroupsFileError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    say = lambda msg: print(msg, file=sys.stderr)
    bdir, backbone = load_fit_backbone(args.backbone, say)
    fingerprint = backbone_fingerprint(backbone)

    stores = [FaceStore(s) for s in args.store]
    face_cfg = _face_config(stores)
    wanted = set(read_id_list(args.ids_file)) if args.ids_file else None
    exclude_list, exclude_src = ([], "") if args.no_exclude else training_ids(bdir, args.exclude_ids)
    exclude, exclude_names = set(exclude_list), {Path(v).name for v in exclude_list}
    if not exclude_src and not args.no_exclude:
        say(f"warning: no train_ids.txt / split.json in {bdir} and no --exclude-ids: cannot tell which "
            f"videos the backbone trained on; fitting on all of them")

    pool: dict[str, tuple] = {}   # key -> (store, id); key = id, prefixed when stores share ids
    n_excluded, by_name = 0, []
    for k, store in enumerate(stores):
        for vid in store.ids():
            if wanted is not None and vid not in wanted:
                continue
            if is_excluded(vid, exclude, exclude_names):
                n_excluded += 1
                if vid not in exclude:
                    by_name.append(vid)
                continue
            pool[pool_key(k, vid, pool)] = (store, vid)
    if by_name:   # a name match may be another video with the same file name: make it visible
        say(f"{len(by_name)} pool videos excluded only because their FILE NAME matches a training id "
            f"(not their id): {', '.join(by_name[:5])}{' ...' if len(by_name) > 5 else ''}")
    say(f"real pool: {len(pool) + n_excluded} videos in {len(stores)} store(s); {n_excluded} excluded as "
        f"backbone training videos ({exclude_src or 'none given'}; the backbone's validation videos stay: "
        f"they only chose its checkpoint); {len(pool)} left")
    # Photos and faceless clips give no pairs: drop them before the split so they
    # cannot fill the calibration share (reads only has_face, not the crops).
    need = 1 if cfg.combine == "single" else 2
    few = [k for k, (store, vid) in pool.items() if store.load(vid, with_crops=False).num_faces < need]
    for k in few:
        del pool[k]
    if few:
        say(f"{len(few)} pool entries have < {need} face frames (photos, faceless clips) and are not used")
    if len(pool) < 2:
        raise DifffakeError(f"{args.store}: only {len(pool)} real videos left after exclusion; need >= 2")

    method = args.calibration or ("holdout" if args.cal_ids_file else "crossfit")
    if method == "crossfit" and args.cal_ids_file:
        raise DifffakeError("--cal-ids-file needs --calibration holdout (crossfit calibrates on every pool video)")
    # Embedded once (after the split, so split errors come first) and shared by every fold.
    embed = lambda: embed_pool(backbone, pool, args.cache, fingerprint)
    fused = method == "crossfit" and not args.no_fusion
    extra = {}
    if fused:
        model, calibration, fit_info, extra = _fit_fused(cfg, pool, embed, backbone, args, say)
    elif method == "crossfit":
        model, calibration, fit_info = _fit_crossfit(cfg, pool, embed, args.folds, args.split_by, say)
    else:
        model, calibration, fit_info = _fit_holdout(cfg, pool, embed, args, say)
    from ..anomaly.calibration_check import check_calibration_size
    for name, cal in (extra.get("calibrations") or {"differential": calibration}).items():
        problem = check_calibration_size(cal)
        if problem and not args.allow_small_calibration:
            raise UsageError(f"{name} score: {problem}; add real videos or pass --allow-small-calibration")
        if problem:
            say(f"WARNING: {name} score: {problem}")
            fit_info.setdefault("calibration_warnings", {})[name] = problem
    info = {
        "made_by": "difffake fit", "argv": sys.argv[1:], "note": args.note, "backbone_dir": str(bdir),
        "backbone_fingerprint": fingerprint, "backbone_training": getattr(backbone, "info", {}),
        "stores": store_paths(stores), "pool": pool_entries(pool, stores),
        "excluded_training_ids": n_excluded, "excluded_by_name_only": by_name,
        "exclude_source": exclude_src, **fit_info,
    }
    det = Detector(backbone, model, calibration, face_cfg, info, single=extra.get("single"),
                   fusion=extra.get("fusion"), calibrations=extra.get("calibrations"),
                   basis=args.basis)
    det.save(args.out)
    d = model.info["density"]
    say(f"fitted {cfg.density} on {model.info['n_samples']} {cfg.combine} samples from "
        f"{model.info['n_videos']} videos ({model.info['n_videos_skipped']} skipped: < {model.min_faces} faces)"
        + (f"; PCA {d['pca_dims']} dims keep {d['pca_explained_variance']:.1%} of the variance"
           if "pca_dims" in d else ""))
    what = "out-of-fold scores of the pool's" if method == "crossfit" else "held-out"
    say(f"calibration: {calibration.n} {what} real videos, threshold {calibration.threshold:.4g} "
        f"(target FPR {calibration.target_fpr:.0%}, achieved {calibration.achieved_fpr:.1%})")
    for name, v in (fit_info.get("pseudo_fake_validation") or {}).items():
        say(f"pseudo-fake videos vs real pool (out-of-fold): {name:16s} AUC {v['auc']:.3f}  "
            f"twin share {v['twin_share']:.2f}  ({v['n']} pairs)")
    say(f"verdict basis: {det.basis}")
    say(f"detector written to {args.out}")
    return EXIT_OK


def _split_rule(by) -> str:
    from ..splits import as_groups
    return as_groups(by).describe()


def _fit_holdout(cfg, pool: dict, embed, args, say):
    """Density on the fit videos, calibration on HELD-OUT pool videos (the original rule)."""
    from ..anomaly.calibrate import calibrate
    from ..anomaly.model import AnomalyModel

    if args.cal_ids_file:
        cal_ids = sorted(set(read_id_list(args.cal_ids_file)) & set(pool))
        fit_ids = sorted(set(pool) - set(cal_ids))
        split_rule, n_groups = f"explicit calibration ids from {args.cal_ids_file}", None
    else:
        fit_ids, cal_ids, groups = split_pool(pool, cfg.calibration_fraction, cfg.seed, args.split_by)
        n_groups = len(groups)
        split_rule = (f"whole {_split_rule(args.split_by)}"
                      f" held out for calibration until >= {cfg.calibration_fraction:.0%} of the pool, seed {cfg.seed}")
    if not fit_ids or not cal_ids:
        raise DifffakeError(f"split left {len(fit_ids)} fit and {len(cal_ids)} calibration videos; need both")
    say(f"split: {len(fit_ids)} fit videos, {len(cal_ids)} calibration videos"
        + (f" ({n_groups} groups)" if n_groups else "") + f"; {split_rule}")
    emb = embed()
    model = AnomalyModel(cfg).fit([emb[k] for k in fit_ids], ids=fit_ids)
    cal_scores = model.score_videos([emb[k] for k in cal_ids])
    usable = [k for k, s in zip(cal_ids, cal_scores) if np.isfinite(s)]
    calibration = calibrate(cal_scores, cfg.target_fpr, ids=usable)
    info = {"calibration_method": "holdout", "split_rule": split_rule, "fit_ids": fit_ids,
            "cal_ids": cal_ids, "cal_unscored": sorted(set(cal_ids) - set(usable))}
    return model, calibration, info


def _fit_crossfit(cfg, pool: dict, embed, k: int, by: str, say):
    """Final density on ALL pool videos, calibration on their out-of-fold scores."""
    from ..anomaly.crossfit import crossfit
    from ..splits import assign_folds, group_videos

    ids = sorted(pool)
    try:
        fold_of = assign_folds(ids, k, cfg.seed, by)
    except ValueError as exc:
        raise DifffakeError(f"{exc}; add real videos, use --split-by video, or --calibration holdout") from exc
    n_folds = max(fold_of.values()) + 1
    sizes = np.bincount([fold_of[v] for v in ids], minlength=n_folds).tolist()
    split_rule = (f"crossfit: {n_folds} folds of whole {_split_rule(by)}, seed {cfg.seed}; each video scored "
                  f"by a model fitted on the other folds; final model fitted on all pool videos")
    say(f"split: {len(ids)} pool videos in {len(group_videos(ids, by))} groups -> {n_folds} folds "
        f"(sizes {sizes}"
        + (f"; asked for {k}, fewer groups" if n_folds < k else "")
        + f"); final model fitted on all {len(ids)}, calibrated on their {len(ids)} out-of-fold scores")
    emb = embed()
    cf = crossfit(cfg, [emb[v] for v in ids], [fold_of[v] for v in ids], ids=ids)
    oof = {v: (float(s) if np.isfinite(s) else None) for v, s in zip(ids, cf.oof_scores)}
    info = {"calibration_method": "crossfit", "folds": n_folds, "split_rule": split_rule,
            "fit_ids": ids, "cal_ids": ids,   # the same videos: calibration is out-of-fold
            "fold_of": fold_of, "oof_scores": oof,
            "cal_unscored": sorted(v for v, s in oof.items() if s is None)}
    return cf.model, cf.calibration, info


def _fit_fused(cfg, pool: dict, embed, backbone, args, say):
    """Crossfit of densities + fusion on the pool and its pseudo-fake twins (anomaly.fused_fit)."""
    from ..anomaly.fused_fit import fit_fused
    from ..anomaly.pseudo_pool import pseudo_twins
    from ..anomaly.source_fpr import fpr_by_group
    from ..splits import assign_folds

    ids = sorted(pool)
    try:
        fold_of = assign_folds(ids, args.folds, cfg.seed, args.split_by)
    except ValueError as exc:
        raise DifffakeError(f"{exc}; add real videos, use --split-by video, or --no-fusion") from exc
    emb = embed()
    step = max(1, len(ids) // 10)
    twins = pseudo_twins(backbone, pool, emb, seed=args.pseudo_seed, degraded=not args.no_degraded,
                         progress=lambda d, t: (d % step == 0 or d == t) and say(f"pseudo-fake twins {d}/{t}"))
    pool_ids, ids = ids, twins.keys    # entries: pool videos and, by default, their re-captured copies
    ff = fit_fused(cfg, twins.real_embs, twins.real_probs, twins.fake_embs, twins.fake_probs,
                   [fold_of[v] for v in twins.base_keys], ids=ids, say=say)
    n_folds = max(fold_of.values()) + 1
    validation = ff.validation()
    oof = {name: {v: (float(x) if np.isfinite(x) else None) for v, x in zip(ids, scores)}
           for name, scores in ff.oof_real.items()}
    info = {"calibration_method": "crossfit", "folds": n_folds,
            "split_rule": f"crossfit: {n_folds} folds of whole {_split_rule(args.split_by)}, seed {cfg.seed}; "
                          f"densities and fusion of each fold fitted on the other folds' reals and their "
                          f"pseudo-fake twins; final models fitted on all pool videos",
            "fit_ids": pool_ids, "cal_ids": ids, "fit_entries": ids, "fold_of": fold_of,
            "oof_scores": oof["differential"],
            "oof_component_scores": oof,
            "cal_unscored": sorted(v for v, s in oof["differential"].items() if s is None),
            "pseudo_fake_validation": validation,
            "pseudo_fake_recipe": {"seed": args.pseudo_seed, "degraded_copies": not args.no_degraded,
                                   "mask_types": dict(zip(ids, twins.mask_types)),
                                   "rule": "one pseudo-fake twin per pool video (synthesis.video); with "
                                           "degraded copies, each real and its twin also re-captured once "
                                           "(the same synthesis.domain degradation on both)"},
            "fpr_by_source": {name: fpr_by_group(ids, ff.oof_real[name], cal.threshold)
                              for name, cal in ff.calibrations.items()}}
    extra = {"single": ff.single, "fusion": ff.fusion, "calibrations": ff.calibrations}
    return ff.differential, ff.calibrations["differential"], info, extra


def _face_config(stores) -> FaceConfig:
    names = {f.name for f in dataclasses.fields(FaceConfig)}
    settings = [{k: v for k, v in s.settings.items() if k in names} for s in stores]
    for s, other in zip(stores[1:], settings[1:]):
        diff = {k for k in names if other.get(k) != settings[0].get(k)}
        if diff - {"num_frames"}:
            log.warning("%s: face settings differ from the first store in %s", s.root, sorted(diff))
    return section_from_dict(FaceConfig, settings[0], f"{stores[0].root} settings")

