"""The density contract: every registered density fits, scores higher = more anomalous, round-trips."""
import numpy as np
import pytest

from difffake.anomaly.densities import (
    DENSITIES,
    NotFittedError,
    density_class,
    density_from_config,
    density_names,
    make_density,
)
from difffake.anomaly.densities.npz import density_from_arrays, load_density
from difffake.anomaly.densities.ocsvm import scale_gamma
from difffake.anomaly.model import AnomalyModel
from difffake.config import AnomalyConfig
from difffake.detector import DEFAULT_DIR


def _data(seed=0, n=200, d=8):
    return np.random.default_rng(seed).normal(size=(n, d))


@pytest.mark.parametrize("name", sorted(DENSITIES))
def test_round_trip_gives_identical_scores_and_outlier_is_highest(name):
    X = _data()
    density = make_density(name, pca_dims=5).fit(X)
    test = np.concatenate([_data(seed=1, n=15), np.full((1, 8), 10.0)])
    arrays, meta = density.to_arrays()
    again = density_from_arrays(arrays, meta)
    assert type(again) is type(density) and again.params == density.params
    np.testing.assert_array_equal(again.score(test), density.score(test))
    scores = density.score(test)
    assert scores[-1] > scores[:-1].max()          # the far outlier scores highest


@pytest.mark.parametrize("name", sorted(DENSITIES))
def test_unfitted_use_raises(name):
    density = make_density(name)
    assert not density.fitted
    with pytest.raises(NotFittedError, match="not fitted"):
        density.score(_data(n=3))
    with pytest.raises(NotFittedError):
        density.to_arrays()


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown density model 'iforest'") as info:
        make_density("iforest")
    for name in density_names():
        assert name in str(info.value)


def test_unknown_parameter_is_named():
    with pytest.raises(ValueError, match="'knn_k' for density 'gmm'"):
        make_density("gmm", knn_k=3)


def test_parameters_come_from_the_config_alone():
    cfg = AnomalyConfig(density="knn", knn_k=7, pca_dims=None, seed=3)
    density = density_from_config(cfg)
    assert isinstance(density, density_class("knn"))
    assert density.params == {"knn_k": 7} and density.seed == 3 and density.pca_dims is None
    # an unset parameter takes AnomalyConfig's default: no second table of defaults
    assert make_density("gmm").params["gmm_components"] == AnomalyConfig().gmm_components


def test_ocsvm_gamma_scale_equals_what_sklearn_uses():
    from sklearn.svm import OneClassSVM

    X = _data(n=150, d=6) * np.linspace(3, 0.2, 6)
    Y = _data(seed=4, n=40, d=6) * 2
    ours = make_density("ocsvm", ocsvm_nu=0.2, ocsvm_gamma="scale").fit(X)
    assert ours.info["gamma"] == pytest.approx(1.0 / (6 * X.var()))
    reference = OneClassSVM(kernel="rbf", nu=0.2, gamma="scale").fit(X)
    np.testing.assert_allclose(-ours.score(Y), reference.decision_function(Y), rtol=1e-9, atol=1e-12)
    assert scale_gamma(np.ones((5, 3))) == 1.0     # sklearn's rule for zero variance


def test_gmm_score_is_the_negated_log_likelihood():
    from sklearn.mixture import GaussianMixture

    X = _data(n=300, d=4)
    ours = make_density("gmm", gmm_components=2).fit(X)
    gm = GaussianMixture(n_components=2, covariance_type="full", reg_covar=1e-4, max_iter=250,
                         init_params="kmeans", random_state=0).fit(X)
    np.testing.assert_allclose(ours.score(X[:20]), -gm.score_samples(X[:20]), rtol=1e-6, atol=1e-8)


def test_shipped_density_files_load_through_the_registry():
    # written before the registry, with every density's parameters in meta.params
    for name in ("density.npz", "density_single.npz"):
        density, extra = load_density(DEFAULT_DIR / name, with_extra=True)
        assert density.name == "gmm" and density.fitted
        assert density.params["gmm_covariance"] == "full" and density.pca_dims == 32
        assert "anomaly_config" in extra
    model = AnomalyModel.load(DEFAULT_DIR)
    assert model.density.info["dim_in"] == 1280
    assert np.all(np.isfinite(model.density.score(_data(n=4, d=1280))))
