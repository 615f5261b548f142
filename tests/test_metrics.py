"""Metrics against cases computed by hand (labels: 1 = fake, higher score = more fake)."""
from __future__ import annotations

import numpy as np
import pytest

from difffake.metrics import (
    bootstrap_auc_ci,
    compute_metrics,
    equal_error_rate,
    twin_test,
)


def test_auc_ap_on_hand_case():
    # Real-fake pairs: (0.1<0.35) (0.1<0.8) (0.4>0.35) (0.4<0.8) -> 3 of 4 ordered right.
    m = compute_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert (m["n"], m["n_real"], m["n_fake"]) == (4, 2, 2)
    assert m["auc"] == pytest.approx(0.75)
    # Ranked: 0.8 fake (precision 1), 0.4 real, 0.35 fake (precision 2/3): AP = (1 + 2/3) / 2.
    assert m["ap"] == pytest.approx(5 / 6)
    # At threshold 0.4 one fake of two and one real of two are flagged: fpr = fnr = 0.5.
    assert m["eer"] == pytest.approx(0.5)
    assert "warning" not in m and "acc" not in m


def test_paper_binarised_auc_is_optimistic():
    # Reals 0.1, 0.2, 0.9; fakes 0.5, 0.6, 0.7. Each fake beats 2 of 3 reals: AUC = 6/9.
    # ROC (fpr, tpr) by threshold: 0.9 (1/3, 0), 0.7 (1/3, 1/3), 0.6 (1/3, 2/3),
    # 0.5 (1/3, 1) <- Youden max tpr - fpr = 2/3, 0.2 (2/3, 1), 0.1 (1, 1).
    # Binarised at 0.5: tpr 1, fpr 1/3 -> AUC of 0/1 scores = (1 + 1 - 1/3) / 2 = 5/6.
    labels = [0, 0, 0, 1, 1, 1]
    scores = [0.1, 0.2, 0.9, 0.5, 0.6, 0.7]
    m = compute_metrics(labels, scores)
    assert m["auc"] == pytest.approx(2 / 3)
    assert m["youden_threshold"] == pytest.approx(0.5)
    assert m["paper_binarised_auc"] == pytest.approx(5 / 6)
    # ... which is the balanced accuracy at that (test-chosen) threshold.
    at_youden = compute_metrics(labels, scores, threshold=m["youden_threshold"])
    assert at_youden["balanced_acc"] == pytest.approx(m["paper_binarised_auc"])


def test_paper_binarised_auc_can_be_lower():
    # Reals 0.1, 0.2, 0.3; fakes 0.25, 0.9, 0.95. AUC = (2 + 3 + 3) / 9 = 8/9.
    # Youden ties at 2/3 for thresholds 0.9 (tpr 2/3, fpr 0) and 0.25 (tpr 1, fpr 1/3);
    # the higher threshold is taken: binarised AUC = (2/3 + 1) / 2 = 5/6.
    m = compute_metrics([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.25, 0.9, 0.95])
    assert m["auc"] == pytest.approx(8 / 9)
    assert m["youden_threshold"] == pytest.approx(0.9)
    assert m["paper_binarised_auc"] == pytest.approx(5 / 6)


def test_threshold_metrics():
    # Threshold 0.35 flags 0.4 (real), 0.35 and 0.8 (fakes): tpr 1, fpr 1/2, acc 3/4.
    m = compute_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], threshold=0.35)
    assert (m["tpr"], m["fpr"], m["acc"]) == (1.0, 0.5, 0.75)
    assert m["balanced_acc"] == pytest.approx(0.75)
    m = compute_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], threshold=0.9)
    assert (m["tpr"], m["fpr"], m["acc"], m["balanced_acc"]) == (0.0, 0.0, 0.5, 0.5)


def test_eer_separable_and_interpolated():
    assert equal_error_rate([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert equal_error_rate([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 1.0
    # Reals 0.2, 0.5; fakes 0.5, 0.9. ROC: (0, 0), 0.9 -> (0, 1/2), 0.5 -> (1/2, 1).
    # fnr - fpr goes 1/2 -> -1/2 on the last segment: crossing half-way, fpr = fnr = 1/4.
    assert equal_error_rate([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9]) == pytest.approx(0.25)
    # A single tied pair: the ROC is the diagonal, EER = 1/2.
    assert equal_error_rate([0, 1], [0.5, 0.5]) == pytest.approx(0.5)


def test_single_class_gives_none_not_half():
    m = compute_metrics([1, 1, 1], [0.2, 0.5, 0.9], threshold=0.4)
    for key in ("auc", "ap", "eer", "paper_binarised_auc", "youden_threshold", "fpr", "balanced_acc"):
        assert m[key] is None, key
    assert "one class" in m["warning"]
    assert m["tpr"] == pytest.approx(2 / 3) and m["acc"] == pytest.approx(2 / 3)
    assert bootstrap_auc_ci([0, 0], [0.1, 0.2]) == (None, None)


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="one length"):
        compute_metrics([0, 1], [0.1])
    with pytest.raises(ValueError, match="NaN"):
        compute_metrics([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError, match="0 \\(real\\) or 1"):
        compute_metrics([0, 2], [0.1, 0.2])


def test_bootstrap_ci_contains_estimate_and_is_deterministic():
    rng = np.random.default_rng(1)
    labels = np.r_[np.zeros(40), np.ones(30)].astype(int)
    scores = np.r_[rng.normal(0, 1, 40), rng.normal(1, 1, 30)]
    auc = compute_metrics(labels, scores)["auc"]
    lo, hi = bootstrap_auc_ci(labels, scores, n=500, seed=3)
    assert lo < auc < hi
    assert 0.5 < lo and hi < 1.0 and hi - lo < 0.4
    assert bootstrap_auc_ci(labels, scores, n=500, seed=3) == (lo, hi)
    assert bootstrap_auc_ci(labels, scores, n=500, seed=4) != (lo, hi)
    assert bootstrap_auc_ci(labels, scores, n=500, seed=np.random.default_rng(3)) == (lo, hi)
    # Perfect separation survives any within-class resample.
    assert bootstrap_auc_ci([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], n=50) == (1.0, 1.0)


def test_twin_test_counts_ties_half():
    # Pairs: fake wins, fake loses, tie, fake wins -> (1 + 0 + 0.5 + 1) / 4.
    assert twin_test([0.9, 0.1, 0.5, 0.7], [0.2, 0.3, 0.5, 0.6]) == pytest.approx(0.625)
    with pytest.raises(ValueError, match="one length"):
        twin_test([0.1, 0.2], [0.1])


def test_paper_binarised_auc_is_best_balanced_accuracy_on_random_data():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 2, 60)
    scores = np.round(rng.normal(labels * 0.8, 1.0), 1)  # rounding makes ties
    m = compute_metrics(labels, scores)
    best = max(compute_metrics(labels, scores, threshold=t)["balanced_acc"] for t in np.unique(scores))
    assert m["paper_binarised_auc"] == pytest.approx(best)
    assert m["paper_binarised_auc"] >= 0.5


def test_bootstrap_rank_auc_matches_sklearn_with_ties():
    from sklearn.metrics import roc_auc_score

    from difffake.metrics import _rank_auc

    fake = np.array([[0.5, 0.5, 0.9, 0.2]])
    real = np.array([[0.5, 0.1, 0.2]])
    expected = roc_auc_score([1, 1, 1, 1, 0, 0, 0], np.r_[fake[0], real[0]])
    assert _rank_auc(fake, real)[0] == pytest.approx(expected)


def _within_class_percentile_ci(labels, scores, n, seed, level=0.95):
    """Reference: resample fakes and reals separately with numpy, Mann-Whitney AUC, percentiles."""
    from scipy.stats import mannwhitneyu
    labels, scores = np.asarray(labels), np.asarray(scores, dtype=float)
    fake, real = scores[labels == 1], scores[labels == 0]
    rng = np.random.default_rng(seed)
    f = fake[rng.integers(0, len(fake), (n, len(fake)))]
    r = real[rng.integers(0, len(real), (n, len(real)))]
    aucs = np.array([mannwhitneyu(a, b).statistic / (len(a) * len(b)) for a, b in zip(f, r)])
    tail = (1 - level) / 2 * 100
    return tuple(np.percentile(aucs, [tail, 100 - tail]))


def test_bootstrap_ci_is_the_within_class_percentile_interval():
    from sklearn.metrics import roc_auc_score
    rng = np.random.default_rng(11)
    labels = np.r_[np.zeros(17), np.ones(9)]
    scores = np.r_[rng.normal(0, 1, 17), rng.normal(0.8, 1, 9)]
    got = bootstrap_auc_ci(labels, scores, n=300, seed=2, chunk=300)   # one draw of each class
    assert got == pytest.approx(_within_class_percentile_ci(labels, scores, 300, 2), abs=1e-12)
    assert got[0] < roc_auc_score(labels, scores) < got[1]


def test_bootstrap_ci_edge_cases_are_exact():
    # perfectly separated classes: every resample has AUC 1
    assert bootstrap_auc_ci([0, 0, 0, 1, 1], [0.1, 0.2, 0.3, 0.8, 0.9], n=200) == (1.0, 1.0)
    # one fake: only the reals vary; the reference draws the same way
    labels, scores = [0, 0, 0, 0, 1], [0.1, 0.5, 0.7, 0.9, 0.6]
    got = bootstrap_auc_ci(labels, scores, n=400, seed=1, chunk=400)
    assert got == pytest.approx(_within_class_percentile_ci(labels, scores, 400, 1), abs=1e-12)
    assert got[0] < got[1]
