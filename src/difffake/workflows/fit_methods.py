"""The three ways `difffake fit` fits and calibrates its pool: holdout, crossfit and fused
crossfit. Each returns (model, calibration, info for model.json[, the fused parts])."""
from __future__ import annotations

import numpy as np

from ..errors import UsageError


def split_pool(ids, fraction: float, seed: int, by="group"):
    """(fit ids, calibration ids, groups dict): `fraction` of the groups held out (difffake.splits)."""
    from ..splits import holdout_split

    try:
        return holdout_split(ids, fraction, seed, by)
    except ValueError as exc:
        raise UsageError(f"{exc}; add real videos or pass --cal-ids-file") from exc


def _split_rule(by) -> str:
    from ..splits import as_groups
    return as_groups(by).describe()


def fit_holdout(cfg, pool: dict, embed, req, say):
    """Density on the fit videos, calibration on HELD-OUT pool videos (the original rule)."""
    from ..anomaly.holdout import fit_and_calibrate
    from .fit import read_id_list

    if req.cal_ids_file:
        cal_ids = sorted(set(read_id_list(req.cal_ids_file)) & set(pool))
        fit_ids = sorted(set(pool) - set(cal_ids))
        split_rule, n_groups = f"explicit calibration ids from {req.cal_ids_file}", None
    else:
        fit_ids, cal_ids, groups = split_pool(pool, cfg.calibration_fraction, cfg.seed, req.split_by)
        n_groups = len(groups)
        split_rule = (f"whole {_split_rule(req.split_by)}"
                      f" held out for calibration until >= {cfg.calibration_fraction:.0%} of the pool, seed {cfg.seed}")
    if not fit_ids or not cal_ids:
        raise UsageError(f"split left {len(fit_ids)} fit and {len(cal_ids)} calibration videos; need both")
    say(f"split: {len(fit_ids)} fit videos, {len(cal_ids)} calibration videos"
        + (f" ({n_groups} groups)" if n_groups else "") + f"; {split_rule}")
    emb = embed()
    held = fit_and_calibrate(cfg, [emb[k] for k in fit_ids], [emb[k] for k in cal_ids],
                             fit_ids=fit_ids, cal_ids=cal_ids)
    if held.calibration is None:   # as anomaly.calibrate says it
        raise ValueError("calibration needs at least one real video with a score")
    info = {"calibration_method": "holdout", "split_rule": split_rule, "fit_ids": fit_ids,
            "cal_ids": cal_ids, "cal_unscored": sorted(held.unscored_ids)}
    return held.model, held.calibration, info


def fit_crossfit(cfg, pool: dict, embed, k: int, by: str, say):
    """Final density on ALL pool videos, calibration on their out-of-fold scores."""
    from ..anomaly.crossfit import crossfit
    from ..splits import assign_folds, group_videos

    ids = sorted(pool)
    try:
        fold_of = assign_folds(ids, k, cfg.seed, by)
    except ValueError as exc:
        raise UsageError(f"{exc}; add real videos, use --split-by video, or --calibration holdout") from exc
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


def fit_fused(cfg, pool: dict, embed, backbone, req, say):
    """Crossfit of densities + fusion on the pool and its pseudo-fake twins (anomaly.fused_fit)."""
    from ..anomaly.fused_fit import fit_fused as fit_fused_scores
    from ..anomaly.pseudo_pool import choose_donors, pseudo_twins
    from ..anomaly.source_fpr import fpr_by_group
    from ..splits import as_groups, assign_folds

    ids = sorted(pool)
    try:
        fold_of = assign_folds(ids, req.folds, cfg.seed, req.split_by)
    except ValueError as exc:
        raise UsageError(f"{exc}; add real videos, use --split-by video, or --no-fusion") from exc
    emb = embed()
    step = max(1, len(ids) // 10)
    donors = choose_donors(ids, dict(zip(ids, as_groups(req.split_by).keys(ids))), fold_of,
                           req.other_identity_twins, seed=req.pseudo_seed)
    twins = pseudo_twins(backbone, pool, emb, seed=req.pseudo_seed, degraded=req.degraded, donors=donors,
                         progress=lambda d, t: (d % step == 0 or d == t) and say(f"pseudo-fake twins {d}/{t}"))
    pool_ids, ids = ids, twins.keys    # entries: pool videos and, by default, their re-captured copies
    ff = fit_fused_scores(cfg, twins.real_embs, twins.real_probs, twins.fake_embs, twins.fake_probs,
                          [fold_of[v] for v in twins.base_keys], ids=ids, say=say)
    n_folds = max(fold_of.values()) + 1
    validation = ff.validation()
    other = np.array([d is not None for d in twins.donors])
    by_kind = ({"self-blend": ff.validation(~other), "other identity": ff.validation(other)}
               if other.any() else {})
    def by_entry(table):
        return {name: {v: (float(x) if np.isfinite(x) else None) for v, x in zip(ids, scores)}
                for name, scores in table.items()}

    oof = by_entry(ff.oof_real)
    info = {"calibration_method": "crossfit", "folds": n_folds,
            "split_rule": f"crossfit: {n_folds} folds of whole {_split_rule(req.split_by)}, seed {cfg.seed}; "
                          f"densities and fusion of each fold fitted on the other folds' reals and their "
                          f"pseudo-fake twins; final models fitted on all pool videos",
            "fit_ids": pool_ids, "cal_ids": ids, "fit_entries": ids, "fold_of": fold_of,
            "oof_scores": oof["differential"],
            "oof_component_scores": oof,
            # The twins' out-of-fold scores too: another fusion rule or score can be judged
            # on the same pseudo-fake videos from model.json alone, without a refit.
            "oof_pseudo_fake_scores": by_entry(ff.oof_fake),
            "cal_unscored": sorted(v for v, s in oof["differential"].items() if s is None),
            "pseudo_fake_validation": validation,
            "pseudo_fake_validation_by_kind": by_kind,
            "pseudo_fake_recipe": {"seed": req.pseudo_seed, "degraded_copies": req.degraded,
                                   "other_identity_share": req.other_identity_twins,
                                   "mask_types": dict(zip(ids, twins.mask_types)),
                                   "donors": {v: d for v, d in zip(ids, twins.donors) if d is not None},
                                   "rule": "one pseudo-fake twin per pool video (synthesis.video); with "
                                           "degraded copies, each real and its twin also re-captured once "
                                           "(the same synthesis.domain degradation on both); the "
                                           "other-identity share of the twins carry the face of another "
                                           "group's video of the same fold (synthesis.donor)"},
            "fpr_by_source": {name: fpr_by_group(ids, ff.oof_real[name], cal.threshold)
                              for name, cal in ff.calibrations.items()}}
    extra = {"single": ff.single, "fusion": ff.fusion, "calibrations": ff.calibrations}
    return ff.differential, ff.calibrations["differential"], info, extra
