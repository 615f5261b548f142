"""Cross-fitted calibration: every real pool video calibrates, none scores itself.

With few unseen real videos, a held-out calibration split leaves both the
density and the calibration short of data. Cross-fitting instead splits the
pool into K folds of WHOLE person/source groups; each fold is scored by a
model fitted on the other folds (one out-of-fold score per video, from a model
that never saw the video's group), and the final density is fitted on the
whole pool. The calibration is built from the out-of-fold scores, so n_cal is
the pool size. The final model sees ~K/(K-1) times the data of a fold model,
so its real scores run slightly lower than the OOF ones: the threshold errs
towards fewer false positives.

Used by `difffake fit` and by evaluate's variants (same folds, from
difffake.splits.assign_folds), so the two calibrate the same way.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..config import AnomalyConfig
from .calibrate import Calibration, calibrate
from .model import AnomalyModel


@dataclass
class CrossFit:
    model: AnomalyModel              # final model, fitted on every pool video
    calibration: Calibration         # from the out-of-fold scores
    oof_scores: np.ndarray           # one per pool video, pool order (NaN if unscorable)
    folds: np.ndarray                # fold per pool video, pool order


def oof_scores(cfg: AnomalyConfig, embs: list, folds) -> np.ndarray:
    """Score each video with a fresh model fitted on the other folds' videos."""
    folds = np.asarray(folds)
    if len(folds) != len(embs):
        raise ValueError(f"{len(folds)} fold labels for {len(embs)} videos")
    out = np.full(len(embs), np.nan)
    for f in np.unique(folds):
        held = np.flatnonzero(folds == f)
        train = np.flatnonzero(folds != f)
        if len(train) == 0:
            raise ValueError("cross-fitting needs >= 2 folds")
        model = AnomalyModel(cfg).fit([embs[i] for i in train])
        out[held] = model.score_videos([embs[i] for i in held])
    return out


def crossfit(cfg: AnomalyConfig, embs: list, folds, ids=None) -> CrossFit:
    """Final model on all videos + calibration on out-of-fold scores (NaN scores dropped)."""
    ids = list(ids) if ids is not None else [str(i) for i in range(len(embs))]
    scores = oof_scores(cfg, embs, folds)
    model = AnomalyModel(cfg).fit(embs, ids=ids)
    usable = [v for v, s in zip(ids, scores) if np.isfinite(s)]
    return CrossFit(model, calibrate(scores, cfg.target_fpr, ids=usable), scores, np.asarray(folds))
