"""The fused verdict score: every signal, made comparable against real videos, then combined.

Components of a video (each: higher = more fake):
- differential: the DiffFake pair score (AnomalyModel, the paper's method);
- single: the single-frame density score (AnomalyModel with combine="single");
- classifier_mean / classifier_q90: the mean and the 90th percentile over frames
  of the backbone's own P(fake) (SBI-style; the quantile catches swaps that
  break down in a few frames only).

Each component is put on one scale by a robust z-score against the
out-of-fold scores of the calibration REAL videos ((s - median) / (1.4826 MAD)),
clipped so that one wild component cannot outvote the rest, and the z-scores are
combined by a logistic regression fitted on pseudo-fake videos against real
calibration videos (never on deepfakes). The fused score is that regression's
log-odds; its threshold and p-values come from real videos like any other score.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

COMPONENTS = ("differential", "single", "classifier_mean", "classifier_q90")
LABELS = {
    "fused": "fused score (all components)",
    "differential": "differential score (DiffFake: change between frames)",
    "single": "single-frame density score",
    "classifier_mean": "frame classifier, mean P(fake)",
    "classifier_q90": "frame classifier, 90th percentile P(fake)",
}
Z_CLIP = 8.0
CLASSIFIER_QUANTILE = 0.9


def component_scores(emb, probs, differential, single=None, differential_score=None) -> dict[str, float]:
    """{component: score} of one video from its face-frame embeddings and P(fake) per frame.

    NaN where a component cannot score the video (e.g. one face frame: no pair).
    `differential_score`: the video's pair score when the caller has it already."""
    if differential_score is None:
        differential_score = differential.score_video(emb).score
    out = {"differential": float(differential_score)}
    if single is not None:
        out["single"] = float(single.score_video(emb).score)
    if probs is not None and len(probs):
        p = np.asarray(probs, np.float64)
        out["classifier_mean"] = float(np.mean(p))
        out["classifier_q90"] = float(np.quantile(p, CLASSIFIER_QUANTILE))
    return out


def robust_scale(real_scores) -> tuple[float, float]:
    """(median, 1.4826 * MAD) of real scores; the scale never collapses to 0."""
    s = np.asarray(real_scores, np.float64)
    s = s[np.isfinite(s)]
    if len(s) < 2:
        raise ValueError(f"robust scaling needs >= 2 real scores, got {len(s)}")
    med = float(np.median(s))
    mad = 1.4826 * float(np.median(np.abs(s - med)))
    if mad <= 0:   # over half the reals tie (e.g. saturated probabilities): fall back to the spread
        mad = float(np.std(s))
    return med, max(mad, 1e-9)


@dataclass
class Fusion:
    components: tuple
    centre: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    intercept: float
    info: dict = field(default_factory=dict)

    def z(self, scores: dict) -> np.ndarray:
        """Clipped robust z-scores, in self.components order (NaN if a component is missing)."""
        x = np.array([scores.get(c, np.nan) for c in self.components], np.float64)
        return np.clip((x - self.centre) / self.scale, -Z_CLIP, Z_CLIP)

    def score(self, scores: dict) -> float:
        """Log-odds of 'pseudo-fake' (higher = more fake); NaN if any component is missing."""
        z = self.z(scores)
        if not np.isfinite(z).all():
            return float("nan")
        return float(z @ self.weights + self.intercept)

    @classmethod
    def fit(cls, real: list[dict], fake: list[dict], components=COMPONENTS, c: float = 1.0,
            scale_from: list[dict] | None = None) -> Fusion:
        """Scales from `scale_from` (default `real`), weights from real (0) vs pseudo-fake (1)."""
        from sklearn.linear_model import LogisticRegression

        components = tuple(components)
        ref = scale_from if scale_from is not None else real
        centre, scale = zip(*(robust_scale([d.get(k, np.nan) for d in ref]) for k in components))
        model = cls(components, np.array(centre), np.array(scale), np.zeros(len(components)), 0.0)
        rows = [(model.z(d), y) for y, group in ((0, real), (1, fake)) for d in group]
        rows = [(z, y) for z, y in rows if np.isfinite(z).all()]
        if len({y for _, y in rows}) < 2:
            raise ValueError("fusion needs scored real and pseudo-fake videos")
        X = np.stack([z for z, _ in rows])
        y = np.array([y for _, y in rows])
        lr = LogisticRegression(C=c, class_weight="balanced", max_iter=1000).fit(X, y)
        model.weights = lr.coef_[0].astype(np.float64)
        model.intercept = float(lr.intercept_[0])
        model.info = {"n_real": int((y == 0).sum()), "n_pseudo_fake": int((y == 1).sum()), "C": c,
                      "rule": "logistic regression on clipped robust z-scores (vs calibration reals), "
                              "pseudo-fake videos vs real videos, balanced classes"}
        return model

    def to_dict(self) -> dict:
        return {"components": list(self.components), "centre": self.centre.tolist(),
                "scale": self.scale.tolist(), "weights": self.weights.tolist(),
                "intercept": self.intercept, "z_clip": Z_CLIP, "info": self.info}

    @classmethod
    def from_dict(cls, d: dict) -> Fusion:
        return cls(tuple(d["components"]), np.asarray(d["centre"], np.float64),
                   np.asarray(d["scale"], np.float64), np.asarray(d["weights"], np.float64),
                   float(d["intercept"]), dict(d.get("info", {})))
