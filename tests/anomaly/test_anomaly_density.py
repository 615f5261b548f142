"""Density models: save -> load gives identical scores; higher = more anomalous; no pickle."""
import numpy as np
import pytest
from sklearn.svm import OneClassSVM

from difffake.anomaly.calibrate import calibrate
from difffake.anomaly.densities import make_density
from difffake.anomaly.densities.npz import load_density, save_density
from difffake.anomaly.densities.ocsvm import scale_gamma
from difffake.anomaly.density_score import (
    gmm_log_likelihood,
    knn_mean_distance,
    ocsvm_decision,
)


def _data(seed=0, n=300, d=20):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) * np.linspace(2.0, 0.1, d)


@pytest.mark.parametrize(("kind", "kwargs"), [
    ("gmm", dict(gmm_covariance="full")),
    ("gmm", dict(gmm_covariance="diag", pca_dims=8)),
    ("gmm", dict(gmm_covariance="tied")),
    ("ocsvm", dict()),
    ("ocsvm", dict(pca_dims=5)),
    ("knn", dict(knn_k=5)),
])
def test_save_load_identical_and_outlier_scores_higher(tmp_path, kind, kwargs):
    X = _data()
    model = make_density(kind, **kwargs).fit(X)
    test = np.concatenate([_data(seed=1, n=20), np.full((1, X.shape[1]), 8.0)])
    before = model.score(test)
    path = save_density(model, tmp_path / "d.npz")
    with np.load(path, allow_pickle=False) as data:   # loads without pickle
        assert "meta" in data.files
    loaded = load_density(path)
    after = loaded.score(test)
    assert np.allclose(before, after, rtol=1e-10, atol=1e-10)
    assert after[-1] > np.max(after[:-1])            # the far outlier is the most anomalous
    assert loaded.info["dim_in"] == X.shape[1]


def test_pca_records_explained_variance():
    model = make_density("gmm", pca_dims=4).fit(_data())
    ev = model.info["pca_explained_variance"]
    assert 0.0 < ev < 1.0 and model.info["dim_used"] == 4


def test_gmm_score_is_negated_log_likelihood():
    # against an independent sklearn fit with the same settings, not the model's own GMM object
    from sklearn.decomposition import PCA
    from sklearn.mixture import GaussianMixture

    X = _data(n=200, d=5)
    model = make_density("gmm", gmm_components=2, pca_dims=3).fit(X)
    P = PCA(n_components=3, random_state=0).fit(X).transform(X)
    gm = GaussianMixture(n_components=2, covariance_type="full", reg_covar=1e-4, max_iter=250,
                         init_params="kmeans", random_state=0).fit(P)
    assert np.allclose(model.score(X[:10]), -gm.score_samples(P[:10]), rtol=1e-6, atol=1e-8)


def test_save_load_keeps_extra_metadata(tmp_path):
    model = make_density("knn", knn_k=3).fit(_data(n=30, d=4))
    path = save_density(model, tmp_path / "d.npz", extra={"owner": {"a": 1}})
    loaded, extra = load_density(path, with_extra=True)
    assert extra == {"owner": {"a": 1}}
    assert np.allclose(loaded.score(_data(n=5, d=4)), model.score(_data(n=5, d=4)))
    assert type(load_density(path)) is type(model)
    with pytest.raises(ValueError, match="own"):
        save_density(model, tmp_path / "e.npz", extra={"info": {}})
    assert not list(tmp_path.glob("*.tmp"))   # written atomically, no temporary file left


def test_own_ocsvm_decision_equals_sklearn():
    X = _data(n=150, d=6)
    svm = OneClassSVM(kernel="rbf", nu=0.2, gamma="scale").fit(X)
    Y = _data(seed=3, n=30, d=6) * 1.5
    ours = ocsvm_decision(Y, svm.support_vectors_, svm.dual_coef_[0], float(svm.intercept_[0]),
                           scale_gamma(X))
    assert np.allclose(ours, svm.decision_function(Y), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("covariance", ["full", "tied", "diag", "spherical"])
def test_numpy_gmm_equals_sklearn_score_samples(covariance):
    from sklearn.mixture import GaussianMixture

    X = _data(n=400, d=7)
    gm = GaussianMixture(n_components=3, covariance_type=covariance, reg_covar=1e-4,
                         random_state=0).fit(X)
    Y = np.concatenate([_data(seed=5, n=50, d=7), _data(seed=6, n=5, d=7) * 4])
    ours = gmm_log_likelihood(Y, gm.weights_, gm.means_, gm.precisions_cholesky_, covariance)
    np.testing.assert_allclose(ours, gm.score_samples(Y), rtol=1e-9, atol=0)


def test_numpy_knn_equals_sklearn_kneighbors():
    from sklearn.neighbors import NearestNeighbors

    X, Y = _data(n=120, d=9), _data(seed=2, n=40, d=9)
    dist, _ = NearestNeighbors(n_neighbors=5).fit(X).kneighbors(Y)
    np.testing.assert_allclose(knn_mean_distance(Y, X, 5), dist.mean(axis=1), rtol=1e-9, atol=0)


def test_scoring_a_saved_model_never_imports_sklearn(tmp_path):
    # a scan loads density.npz and scores it: that path must run without scikit-learn
    import subprocess
    import sys

    X = _data(n=200, d=6)
    for kind in ("gmm", "ocsvm", "knn"):
        save_density(make_density(kind, pca_dims=4).fit(X), tmp_path / f"{kind}.npz")
    code = ("import sys, numpy as np\n"
            "from difffake.anomaly.model import AnomalyModel\n"
            "from difffake.anomaly.densities.npz import load_density\n"
            f"for k in ('gmm', 'ocsvm', 'knn'):\n"
            f"    m = load_density(r'{tmp_path}/' + k + '.npz')\n"
            "    s = m.score(np.random.default_rng(0).normal(size=(5, 6)))\n"
            "    assert np.all(np.isfinite(s)), k\n"
            "print('sklearn' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", out.stdout + out.stderr


def test_density_errors_are_explicit():
    with pytest.raises(ValueError, match="at least 2"):
        make_density("knn").fit(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="unknown density"):
        make_density("iforest")
    m = make_density("knn").fit(_data(n=10, d=3))
    with pytest.raises(ValueError, match="dims"):
        m.score(np.zeros((2, 4)))


def test_calibration_threshold_hits_target_fpr():
    rng = np.random.default_rng(0)
    for n, fpr in [(100, 0.05), (37, 0.1), (20, 0.0), (200, 0.2)]:
        s = rng.normal(size=n)
        cal = calibrate(s, target_fpr=fpr)
        achieved = np.mean(s >= cal.threshold)
        assert achieved <= fpr + 1e-12
        assert achieved > fpr - 1.0 / n            # as close as the sample allows
        assert cal.achieved_fpr == pytest.approx(achieved)
        assert cal.verdict(float(s.max()) + 1) == "fake"
        assert cal.verdict(float(s.min()) - 1) == "real"
        assert cal.verdict(float("nan")) == "unknown"


def test_conformal_p_value_bounds_and_monotonicity():
    s = np.random.default_rng(1).normal(size=50)
    cal = calibrate(s, 0.05)
    grid = np.linspace(-5, 5, 201)
    p = cal.p_value_real(grid)
    assert np.all(np.diff(p) <= 0)                         # non-increasing in the score
    assert p[0] == pytest.approx(1.0) and p[-1] == pytest.approx(1 / 51)
    # by hand: p = (1 + #{cal >= s}) / (n + 1)
    x = float(np.sort(s)[10])
    assert cal.p_value_real(x) == pytest.approx((1 + np.sum(s >= x)) / 51)
    again = type(cal).from_dict(cal.to_dict())
    assert again.threshold == cal.threshold and np.allclose(again.p_value_real(grid), p)
