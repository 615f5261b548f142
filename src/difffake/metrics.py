"""Video-level metrics. Labels: 1 = fake (the positive class), 0 = real.
Scores: higher = more likely fake.

`paper_binarised_auc` is the number the DiffFake code reports as "AUC": the
ROC AUC of the scores binarised at the Youden threshold chosen ON THE TEST
LABELS (argmax tpr - fpr). It equals (tpr + 1 - fpr) / 2 at that threshold,
i.e. the best balanced accuracy any threshold could reach, so it is
optimistic; it is reported under its own name, never as "auc".
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve


def _as_arrays(labels, scores) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.ndim != 1 or scores.ndim != 1 or len(labels) != len(scores):
        raise ValueError(f"labels and scores must be 1-D of one length, got {labels.shape} and {scores.shape}")
    if len(labels) == 0:
        raise ValueError("no labels/scores given")
    if not np.isin(labels, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinity")
    return labels.astype(np.int64), scores


def equal_error_rate(labels, scores) -> float:
    """The rate where false-positive and false-negative rates meet, linearly
    interpolated between ROC points."""
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    gap = (1.0 - tpr) - fpr          # starts at 1 (nothing flagged), ends at -1 (everything flagged)
    j = int(np.argmax(gap <= 0))
    if j == 0:
        return float(fpr[0])
    i = j - 1
    t = gap[i] / (gap[i] - gap[j])
    return float(fpr[i] + t * (fpr[j] - fpr[i]))


def youden_threshold(labels, scores) -> float:
    """Threshold maximising tpr - fpr (the highest such threshold on ties; the
    tolerance keeps 2/3 - 0 and 1 - 1/3 equal despite rounding). Infinite when
    no threshold beats flagging nothing. Ties do not change the binarised AUC,
    which is (1 + max(tpr - fpr)) / 2."""
    fpr, tpr, thresholds = roc_curve(labels, scores, drop_intermediate=False)
    youden = tpr - fpr
    return float(thresholds[int(np.flatnonzero(youden >= youden.max() - 1e-12)[0])])


def compute_metrics(labels, scores, threshold: float | None = None) -> dict:
    """Every metric in one dict; metrics needing both classes are None (with a
    "warning") when only one class is present. At `threshold`, score >= threshold
    means fake."""
    labels, scores = _as_arrays(labels, scores)
    n_fake = int(labels.sum())
    n_real = int(len(labels) - n_fake)
    out: dict = {"n": len(labels), "n_real": n_real, "n_fake": n_fake,
                 "auc": None, "ap": None, "eer": None, "paper_binarised_auc": None, "youden_threshold": None}
    if n_real and n_fake:
        out["auc"] = float(roc_auc_score(labels, scores))
        out["ap"] = float(average_precision_score(labels, scores))
        out["eer"] = equal_error_rate(labels, scores)
        cut = youden_threshold(labels, scores)
        out["youden_threshold"] = cut
        out["paper_binarised_auc"] = float(roc_auc_score(labels, (scores >= cut).astype(np.int64)))
    else:
        out["warning"] = f"only one class present ({n_real} real, {n_fake} fake): AUC, AP, EER undefined"
    if threshold is not None:
        flagged = scores >= threshold
        tpr = float(flagged[labels == 1].mean()) if n_fake else None
        fpr = float(flagged[labels == 0].mean()) if n_real else None
        out.update(threshold=float(threshold), acc=float((flagged == (labels == 1)).mean()), tpr=tpr, fpr=fpr,
                   balanced_acc=(tpr + 1.0 - fpr) / 2.0 if tpr is not None and fpr is not None else None)
    return out


def _rank_auc(fake_scores: np.ndarray, real_scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Mann-Whitney AUC along `axis` (ties count one half); other axes are resamples."""
    fake_scores = np.moveaxis(np.asarray(fake_scores), axis, -1)
    real_scores = np.moveaxis(np.asarray(real_scores), axis, -1)
    n_fake = fake_scores.shape[-1]
    n_real = real_scores.shape[-1]
    ranks = rankdata(np.concatenate([fake_scores, real_scores], axis=-1), axis=-1)
    return (ranks[..., :n_fake].sum(axis=-1) - n_fake * (n_fake + 1) / 2.0) / (n_fake * n_real)


def bootstrap_auc_ci(labels, scores, n: int = 1000, seed=0, level: float = 0.95,
                     chunk: int = 100) -> tuple[float | None, float | None]:
    """Percentile interval of the AUC over `n` resamples drawn with replacement
    within each class (so every resample keeps both classes and their counts):
    scipy.stats.bootstrap with the fakes and the reals as two independent samples.
    `seed`: an int or a numpy Generator; `chunk`: resamples computed at once.
    (None, None) when a class is missing."""
    from scipy.stats import bootstrap

    labels, scores = _as_arrays(labels, scores)
    fake, real = scores[labels == 1], scores[labels == 0]
    if len(fake) == 0 or len(real) == 0:
        return None, None
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    # scipy wants two observations per sample; a one-video class resamples to itself
    # anyway, and doubling it leaves every AUC as it is (the AUC is a mean over pairs)
    fake, real = (np.repeat(x, 2) if len(x) == 1 else x for x in (fake, real))
    res = bootstrap((fake, real), _rank_auc, n_resamples=n, batch=chunk, vectorized=True, paired=False,
                    axis=-1, confidence_level=level, method="percentile", rng=rng)
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def twin_test(scores_fake, scores_real) -> float:
    """Share of frame-aligned twin pairs (fake i made from real i) where the fake
    scores higher; a tie counts one half."""
    fake = np.asarray(scores_fake, dtype=np.float64)
    real = np.asarray(scores_real, dtype=np.float64)
    if fake.ndim != 1 or fake.shape != real.shape or len(fake) == 0:
        raise ValueError(f"twin scores must be two non-empty 1-D arrays of one length, got {fake.shape} and {real.shape}")
    if not (np.isfinite(fake).all() and np.isfinite(real).all()):
        raise ValueError("twin scores contain NaN or infinity")
    return float(np.mean((fake > real) + 0.5 * (fake == real)))
