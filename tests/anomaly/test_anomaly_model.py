"""AnomalyModel end to end on synthetic embeddings: fakes jitter frame to frame."""
import dataclasses

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from difffake.anomaly.model import AnomalyModel
from difffake.config import AnomalyConfig

D = 48


def synth_video(rng, fake: bool, frames=24):
    """A person-specific mean, slow drift, small noise; fakes add jitter in a few dims."""
    base = rng.normal(size=D) * 2.0
    drift = np.cumsum(rng.normal(scale=0.05, size=(frames, D)), axis=0)
    emb = base + drift + rng.normal(scale=0.05, size=(frames, D))
    if fake:
        jitter = np.zeros((frames, D))
        jitter[:, :6] = rng.normal(scale=0.6, size=(frames, 6))   # blending boundary flicker
        emb = emb + jitter
    return emb.astype(np.float32)


def make_sets(seed=0, n_fit=40, n_test=20):
    rng = np.random.default_rng(seed)
    fit = [synth_video(rng, False) for _ in range(n_fit)]
    test = [synth_video(rng, False) for _ in range(n_test)] + [synth_video(rng, True) for _ in range(n_test)]
    labels = np.array([0] * n_test + [1] * n_test)
    return fit, test, labels


@pytest.mark.parametrize("combine,density,pca", [
    ("sq", "gmm", 16), ("sq", "gmm", None), ("abs", "gmm", 16), ("abs", "knn", None),
    ("sq", "ocsvm", 16), ("abs", "ocsvm", None),
])
def test_differential_model_separates_jittery_fakes(combine, density, pca):
    fit, test, labels = make_sets()
    cfg = AnomalyConfig(combine=combine, density=density, pca_dims=pca, gmm_covariance="diag")
    model = AnomalyModel(cfg).fit(fit)
    scores = model.score_videos(test)
    assert np.all(np.isfinite(scores))
    assert roc_auc_score(labels, scores) > 0.85, (combine, density)


def test_single_frame_baseline_cannot_see_zero_mean_jitter():
    """The jitter has zero mean per frame: only the differential features expose it."""
    fit, test, labels = make_sets()
    model = AnomalyModel(AnomalyConfig(combine="single", density="gmm", pca_dims=16,
                                       gmm_covariance="diag")).fit(fit)
    assert roc_auc_score(labels, model.score_videos(test)) < 0.7


def test_video_score_contents_and_reductions():
    fit, test, _ = make_sets(n_fit=20, n_test=2)
    model = AnomalyModel(AnomalyConfig(density="knn", pca_dims=None)).fit(fit)
    vs = model.score_video(test[0])
    assert vs.status == "ok" and vs.n_frames_with_face == 24
    assert len(vs.pair_scores) == len(vs.pairs) == 24 - 8      # paper strategy: 8 partners
    assert vs.score == pytest.approx(np.mean(vs.pair_scores))
    for reduce, fn in [("median", np.median), ("trimmed", None)]:
        m2 = AnomalyModel(dataclasses.replace(model.cfg, video_reduce=reduce))
        m2.density = model.density
        s2 = m2.score_video(test[0])
        if fn is not None:
            assert s2.score == pytest.approx(fn(vs.pair_scores))
        else:
            lo, hi = np.min(vs.pair_scores), np.max(vs.pair_scores)
            assert lo <= s2.score <= hi
    # the same video always gets the same score, whatever was scored before
    assert model.score_video(test[0]).score == vs.score


def test_no_face_and_single_face_get_status_not_score():
    fit, _, _ = make_sets(n_fit=10, n_test=1)
    model = AnomalyModel(AnomalyConfig(density="knn", pca_dims=None)).fit(fit)
    none = model.score_video(np.zeros((0, D)))
    one = model.score_video(fit[0][:1])
    assert none.status == "no_face" and np.isnan(none.score)
    assert one.status == "too_few_faces" and np.isnan(one.score)
    single = AnomalyModel(AnomalyConfig(combine="single", density="knn", pca_dims=None)).fit(fit)
    s = single.score_video(fit[0][:1])
    assert s.status == "ok" and np.isfinite(s.score) and s.pairs.tolist() == [[0, 0]]


def test_anomaly_model_save_load_round_trip(tmp_path):
    fit, test, _ = make_sets(n_fit=15, n_test=3)
    model = AnomalyModel(AnomalyConfig(density="gmm", pca_dims=8, gmm_covariance="full")).fit(fit)
    path = model.save(tmp_path)
    loaded = AnomalyModel.load(tmp_path)
    assert path.name == "density.npz"
    assert loaded.cfg == model.cfg
    assert np.allclose(loaded.score_videos(test), model.score_videos(test))
    assert loaded.info["n_videos"] == 15 and loaded.info["density"]["pca_dims"] == 8
