"""Hold-out calibration: a density fitted on fit videos, its threshold set on OTHER real videos.

The one fit + calibrate path of `difffake fit --calibration holdout` and of
evaluate's variants (difffake.evaluate.fit_variant), so both calibrate alike.
The cross-fitted alternative is anomaly/crossfit.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import AnomalyConfig
from .calibrate import Calibration, calibrate
from .model import AnomalyModel


@dataclass
class HoldoutFit:
    """model: fitted on the fit videos; calibration: from the held-out videos' scores, None when
    none of them could be scored (too few face frames); scored_ids / unscored_ids: the
    calibration ids with and without a score (empty lists when no ids were given)."""
    model: AnomalyModel
    calibration: Calibration | None
    cal_scores: np.ndarray
    scored_ids: list = field(default_factory=list)
    unscored_ids: list = field(default_factory=list)


def fit_and_calibrate(cfg: AnomalyConfig, fit_embs: list, cal_embs: list, fit_ids=None,
                      cal_ids=None) -> HoldoutFit:
    """Density of `cfg` on `fit_embs` (each a video's (F, D) face-frame embeddings), calibrated
    at cfg.target_fpr on the scores of `cal_embs`. Ids, when given, are recorded in the model's
    info and the calibration."""
    model = AnomalyModel(cfg).fit(fit_embs, ids=fit_ids)
    scores = model.score_videos(cal_embs) if len(cal_embs) else np.zeros(0)
    finite = np.isfinite(scores)
    ids = list(cal_ids) if cal_ids is not None else []
    scored = [v for v, ok in zip(ids, finite) if ok]
    calibration = calibrate(scores, cfg.target_fpr, ids=scored) if finite.any() else None
    return HoldoutFit(model, calibration, scores, scored, [v for v, ok in zip(ids, finite) if not ok])
