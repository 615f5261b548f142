"""Fused verdict: components, robust scaling, fusion, cross-fitted fit, calibration checks."""
import numpy as np
import pytest

from difffake.anomaly.calibrate import calibrate
from difffake.anomaly.calibration_check import check_calibration_size, videos_needed
from difffake.anomaly.fused_fit import fit_fused
from difffake.anomaly.fusion import COMPONENTS, Fusion, component_scores, robust_scale
from difffake.anomaly.model import AnomalyModel
from difffake.anomaly.source_fpr import fpr_by_group
from difffake.config import AnomalyConfig

CFG = AnomalyConfig(pca_dims=None, gmm_components=1, gmm_covariance="diag", max_pairs=16)


def _videos(rng, n, shift=0.0, dims=8, frames=10):
    """Real-like videos: a per-video identity plus small per-frame motion; fakes flicker more."""
    out = []
    for _ in range(n):
        base = rng.normal(size=dims)
        noise = 0.1 + shift
        out.append(base + noise * rng.normal(size=(frames, dims)))
    return out


def _probs(rng, n, mean, frames=10):
    return [np.clip(rng.normal(mean, 0.1, frames), 0, 1) for _ in range(n)]


def test_robust_scale_is_median_and_mad():
    med, scale = robust_scale([1, 2, 3, 4, 100])
    assert med == 3
    assert scale == pytest.approx(1.4826 * 1)
    with pytest.raises(ValueError, match=">= 2"):
        robust_scale([1.0, np.nan])


def test_component_scores_of_one_video():
    rng = np.random.default_rng(0)
    vids = _videos(rng, 6)
    dm = AnomalyModel(CFG).fit(vids)
    sm = AnomalyModel(AnomalyConfig(**{**CFG.__dict__, "combine": "single"})).fit(vids)
    probs = np.array([0.1, 0.2, 0.9, 0.3])
    s = component_scores(vids[0], probs, dm, sm)
    assert set(s) == set(COMPONENTS)
    assert s["classifier_mean"] == pytest.approx(0.375)
    assert s["classifier_q90"] == pytest.approx(np.quantile(probs, 0.9))
    assert s["differential"] == pytest.approx(dm.score_video(vids[0]).score)
    assert "classifier_mean" not in component_scores(vids[0], None, dm, sm)


def test_fusion_learns_the_informative_component_and_round_trips():
    rng = np.random.default_rng(1)
    real = [{"a": rng.normal(), "b": rng.normal()} for _ in range(60)]
    fake = [{"a": rng.normal() + 3, "b": rng.normal()} for _ in range(60)]
    f = Fusion.fit(real, fake, ("a", "b"))
    assert f.weights[0] > 1.0 and abs(f.weights[1]) < 0.5 * f.weights[0]
    g = Fusion.from_dict(f.to_dict())
    probe = {"a": 2.0, "b": -1.0}
    assert g.score(probe) == f.score(probe)
    assert np.isnan(f.score({"a": 1.0}))          # a missing component is never guessed
    # clipping: one absurd component cannot run away with the score
    assert f.score({"a": 1e9, "b": 0}) == f.score({"a": 1e12, "b": 0})


def test_fit_fused_cross_fits_and_separates_pseudo_fakes():
    rng = np.random.default_rng(2)
    n = 24
    real = _videos(rng, n)
    # twins: same identity; the blend flickers along a few directions of its own
    fake = [v + np.r_[0.8, 0.8, np.zeros(v.shape[1] - 2)] * rng.normal(size=v.shape) for v in real]
    rp, fp = _probs(rng, n, 0.3), _probs(rng, n, 0.6)
    folds = np.arange(n) % 4
    ff = fit_fused(CFG, real, rp, fake, fp, folds, ids=[f"v{i}" for i in range(n)])
    val = ff.validation()
    assert set(val) == set(COMPONENTS) | {"fused"}
    assert val["differential"]["auc"] > 0.9 and val["classifier_mean"]["auc"] > 0.9
    assert val["fused"]["auc"] > 0.9 and val["fused"]["n"] == n
    for name, cal in ff.calibrations.items():
        assert cal.n == n, name                      # every real calibrates, out of fold
    # out-of-fold: a real's score comes from densities that never saw it, so it differs
    # from the final model's (fitted on everything)
    assert ff.oof_real["differential"][0] != pytest.approx(ff.differential.score_video(real[0]).score)
    with pytest.raises(ValueError, match="2 folds"):
        fit_fused(CFG, real, rp, fake, fp, np.zeros(n), ids=None)


def test_calibration_too_small_for_its_fpr_is_named():
    assert videos_needed(0.05) == 20 and videos_needed(0.1) == 10
    small = calibrate(np.arange(12.0), 0.05)
    assert small.achieved_fpr == 0.0
    msg = check_calibration_size(small)
    assert "12 calibration real videos" in msg and "at least 20" in msg
    assert check_calibration_size(calibrate(np.arange(40.0), 0.05)) is None


def test_fpr_by_source_group():
    ids = ["videos/a__r__1.mp4", "videos/a__r__2.mp4", "videos/b__s__1.mp4", "videos/obama_x.mp4"]
    got = fpr_by_group(ids, [1.0, 5.0, 6.0, np.nan], threshold=4.0)
    assert got["source:a__r"] == {"n": 2, "flagged": 1, "fpr": 0.5}
    assert got["source:b__s"]["fpr"] == 1.0
    assert "person:obama" not in got                 # unscored videos are not counted
