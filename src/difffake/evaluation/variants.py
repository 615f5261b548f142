"""The variant mini-language ('sq:gmm:pca64:full', 'classifier') and fitting variants
on the detector's own fit/calibration reals, as scorers beside the detector's."""
from __future__ import annotations

import dataclasses
import re

import numpy as np

from ..anomaly.calibrate import Calibration, calibrate
from ..anomaly.crossfit import crossfit
from ..anomaly.densities import density_class
from ..anomaly.model import AnomalyModel
from ..config import AnomalyConfig
from ..errors import UsageError
from ..progress import bar as progress_bar
from .scoring import anomaly_scorer, classifier_scorer


def parse_variant(text: str, base: AnomalyConfig) -> AnomalyConfig | str:
    """'combine:density[:pcaN|nopca][:full|diag|tied|spherical][:kN][:mean|median|trimmed]'
    -> AnomalyConfig; 'classifier' -> the backbone's own score."""
    if text.strip() == "classifier":
        return "classifier"
    parts = [p.strip() for p in text.split(":") if p.strip()]
    if len(parts) < 2:
        raise ValueError(f"variant {text!r}: expected combine:density[:options]")
    over = {"combine": parts[0], "density": parts[1]}
    for p in parts[2:]:
        if p == "nopca":
            over["pca_dims"] = None
        elif re.fullmatch(r"pca\d+", p):
            over["pca_dims"] = int(p[3:])
        elif (option := density_class(parts[1]).variant_option(p)) is not None:   # the density's own
            over.update(option)
        elif p in ("mean", "median", "trimmed"):
            over["video_reduce"] = p
        elif p in ("paper", "all", "consecutive"):
            over["pairing"] = p
        else:
            raise ValueError(f"variant {text!r}: unknown option {p!r}")
    return dataclasses.replace(base, **over)


def variant_name(cfg: AnomalyConfig) -> str:
    name = f"{cfg.combine}:{cfg.density}:" + (f"pca{cfg.pca_dims}" if cfg.pca_dims else "nopca")
    name += density_class(cfg.density).variant_suffix(cfg)
    # pairing and reduction change the scores too: named when not the default, so
    # sq:gmm:mean / sq:gmm:median / sq:gmm:all get distinct rows
    default = AnomalyConfig()
    if cfg.pairing != default.pairing:
        name += f":{cfg.pairing}"
    if cfg.video_reduce != default.video_reduce:
        name += f":{cfg.video_reduce}"
    return name


def scorer_name(variant) -> str:
    return "classifier (backbone mean P(fake))" if variant == "classifier" else variant_name(variant)


def check_variant_names(variants: list) -> None:
    """Raise ValueError when two variants get one name (their rows would overwrite each other)."""
    seen: dict[str, object] = {}
    for v in variants:
        name = scorer_name(v)
        if name in seen:
            raise ValueError(f"variants {seen[name]!r} and {v!r} are both named {name!r}: "
                             f"give each variant once")
        seen[name] = v


def fit_variant(cfg: AnomalyConfig, fit_embs: list, cal_embs: list,
                folds=None) -> tuple[AnomalyModel, Calibration | None]:
    """Fit a variant on the fit reals and calibrate it on the held-out reals (never test labels).

    With `folds` (one per fit video: a crossfit detector's), the variant is
    cross-fitted like the detector: final model on all fit reals, calibration
    on their out-of-fold scores; cal_embs are then unused (the same videos).
    """
    if folds is not None:
        cf = crossfit(cfg, fit_embs, folds)
        return cf.model, cf.calibration
    from ..anomaly.holdout import fit_and_calibrate
    held = fit_and_calibrate(cfg, fit_embs, cal_embs)
    return held.model, held.calibration


def variant_folds(info: dict) -> list | None:
    """Fold per info['fit_ids'] entry for a crossfit detector's model.json info, else None
    (fit_embeddings returns the fit embeddings in that order)."""
    if info.get("calibration_method") != "crossfit":
        return None
    return [int(info["fold_of"][v]) for v in info["fit_ids"]]


def variant_scorers(variants: list, fit_embs: list, cal_embs: list, cal_probs: list | None = None,
                    target_fpr: float = 0.05, folds=None) -> dict:
    """{name: (scorer, threshold)} for AnomalyConfigs and 'classifier'."""
    check_variant_names(variants)
    out = {}
    for v in progress_bar(variants, desc="fit variants", unit="variant"):   # a GMM on many pairs: seconds each
        if v == "classifier":
            thr = None
            if cal_probs:
                vals = [float(np.mean(p)) for p in cal_probs if p is not None and len(p)]
                if vals:
                    thr = calibrate(vals, target_fpr).threshold
            out[scorer_name(v)] = (classifier_scorer, thr)
            continue
        model, cal = fit_variant(v, fit_embs, cal_embs, folds)
        out[scorer_name(v)] = (anomaly_scorer(model), cal.threshold if cal else None)
    return out


def fit_embeddings(det, cache=None):
    """Embeddings of the detector's own fit and calibration videos (for variants), from model.json:
    (fit embeddings in info['fit_ids'] order, calibration embeddings, their per-frame P(fake))."""
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
