"""Threshold and conformal p-value from held-out REAL videos' scores.

Never from test labels: the only input is the scores of real videos the
density model was not fitted on.

- threshold: a video is called fake when score >= threshold (the convention
  of difffake.metrics). It sits just above (np.nextafter) the calibration
  score that leaves floor(target_fpr * n) real calibration scores above it, so
  the false-positive rate on the calibration reals is <= target_fpr (and as
  close as the sample allows).
- p_value_real(s) = (1 + #{cal >= s}) / (n + 1): conformal p-value of "this
  video is real", in [1/(n+1), 1], non-increasing in s.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Calibration:
    threshold: float
    target_fpr: float
    scores: np.ndarray          # sorted calibration real scores
    achieved_fpr: float
    ids: tuple = ()             # which videos calibrated it (for the model card)

    @property
    def n(self) -> int:
        return len(self.scores)

    def p_value_real(self, score) -> np.ndarray | float:
        s = np.asarray(score, np.float64)
        # number of calibration scores >= s, via the sorted array
        ge = self.n - np.searchsorted(self.scores, s, side="left")
        p = (1.0 + ge) / (self.n + 1.0)
        return float(p) if p.ndim == 0 else p

    def verdict(self, score) -> str:
        if score is None or not np.isfinite(score):
            return "unknown"
        return "fake" if score >= self.threshold else "real"

    def to_dict(self) -> dict:
        return {"threshold": float(self.threshold), "target_fpr": float(self.target_fpr),
                "achieved_fpr": float(self.achieved_fpr), "n": self.n,
                "scores": [float(v) for v in self.scores], "ids": list(self.ids),
                "rule": "fake if score >= threshold; threshold at target_fpr on held-out real "
                        "videos; p_value_real = (1 + #{cal >= s}) / (n_cal + 1)"}

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        return cls(threshold=float(d["threshold"]), target_fpr=float(d["target_fpr"]),
                   scores=np.sort(np.asarray(d["scores"], np.float64)),
                   achieved_fpr=float(d["achieved_fpr"]), ids=tuple(d.get("ids", ())))


def calibrate(real_scores, target_fpr: float = 0.05, ids=()) -> Calibration:
    """Calibration from the scores of held-out real videos (NaN scores are dropped)."""
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in [0, 1), got {target_fpr}")
    s = np.asarray(real_scores, np.float64)
    s = np.sort(s[np.isfinite(s)])
    if len(s) == 0:
        raise ValueError("calibration needs at least one real video with a score")
    allowed = int(np.floor(target_fpr * len(s) + 1e-9))
    threshold = float(np.nextafter(s[len(s) - 1 - allowed], np.inf))
    achieved = float(np.mean(s >= threshold))
    return Calibration(threshold=threshold, target_fpr=float(target_fpr), scores=s,
                       achieved_fpr=achieved, ids=tuple(ids))
