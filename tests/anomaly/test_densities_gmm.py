"""anomaly.densities.gmm: the paper's Gaussian mixture, scored with numpy from its stored arrays."""
import warnings

import numpy as np
import pytest

from difffake.anomaly.densities.gmm import GaussianMixtureDensity
from difffake.anomaly.density_score import COVARIANCES
from difffake.config import AnomalyConfig


def _two_clusters(seed=0, n=120):
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.normal(-4, 0.5, (n // 2, 3)), rng.normal(4, 0.5, (n // 2, 3))])


def test_variant_tokens_are_the_covariance_types():
    for cov in COVARIANCES:
        assert GaussianMixtureDensity.variant_option(cov) == {"gmm_covariance": cov}
    assert GaussianMixtureDensity.variant_option("k5") is None
    assert GaussianMixtureDensity.variant_option("pca32") is None
    assert GaussianMixtureDensity.variant_suffix(AnomalyConfig(gmm_covariance="tied")) == ":tied"


@pytest.mark.parametrize("cov", ["tied", "diag", "spherical"])
def test_every_covariance_type_scores_as_sklearn_and_round_trips(cov):
    from sklearn.mixture import GaussianMixture

    X, Y = _two_clusters(), _two_clusters(seed=1, n=20)
    ours = GaussianMixtureDensity(pca_dims=None, gmm_components=2, gmm_covariance=cov).fit(X)
    gm = GaussianMixture(n_components=2, covariance_type=cov, reg_covar=1e-4, max_iter=250,
                         init_params="kmeans", random_state=0).fit(X)
    np.testing.assert_allclose(ours.score(Y), -gm.score_samples(Y), rtol=1e-9, atol=1e-9)
    again = GaussianMixtureDensity.from_arrays(*ours.to_arrays())
    assert again.params["gmm_covariance"] == cov
    np.testing.assert_array_equal(again.score(Y), ours.score(Y))


def test_two_components_find_both_clusters_and_the_gap_between_is_anomalous():
    X = _two_clusters()
    density = GaussianMixtureDensity(pca_dims=None, gmm_components=2).fit(X)
    assert sorted(np.round(density.arrays["means"][:, 0]).tolist()) == [-4.0, 4.0]
    np.testing.assert_allclose(density.arrays["weights"], [0.5, 0.5], atol=1e-6)
    centres_and_gap = np.array([[-4.0] * 3, [4.0] * 3, [0.0] * 3])
    s = density.score(centres_and_gap)
    assert s[2] > s[0] + 50 and s[2] > s[1] + 50    # the midpoint is far less likely than either centre


def test_fit_record_and_the_component_count_capped_by_the_samples():
    density = GaussianMixtureDensity(pca_dims=None, gmm_components=3).fit(_two_clusters())
    info = density.info
    assert info["gmm_components"] == 3 and info["converged"] is True
    assert 1 <= info["n_iter"] <= 250 and np.isfinite(info["lower_bound"])
    assert sorted(density.arrays) == ["covariances", "means", "precisions", "precisions_cholesky", "weights"]
    assert density.arrays["precisions_cholesky"].shape == (3, 3, 3)
    few = GaussianMixtureDensity(pca_dims=None, gmm_components=3).fit(np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert few.info["gmm_components"] == 2 and few.arrays["means"].shape == (2, 2)


def test_max_iter_is_passed_to_the_fit():
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        density = GaussianMixtureDensity(pca_dims=None, gmm_components=3, gmm_max_iter=1).fit(_two_clusters())
    assert density.info["n_iter"] == 1 and density.info["converged"] is False


def test_seed_makes_the_fit_reproducible():
    X, Y = _two_clusters(), _two_clusters(seed=3, n=10)
    a = GaussianMixtureDensity(pca_dims=2, seed=5).fit(X).score(Y)
    b = GaussianMixtureDensity(pca_dims=2, seed=5).fit(X).score(Y)
    np.testing.assert_array_equal(a, b)


def test_stored_arrays_need_the_cholesky_precisions():
    arrays, meta = GaussianMixtureDensity(pca_dims=None, gmm_components=2).fit(_two_clusters()).to_arrays()
    del arrays["est_precisions_cholesky"]
    del arrays["est_covariances"]        # not needed to score: its absence is fine
    with pytest.raises(ValueError, match=r"a gmm model needs arrays \['est_precisions_cholesky'\]"):
        GaussianMixtureDensity.from_arrays(arrays, meta)
