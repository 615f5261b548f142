"""anomaly.densities.base: the Density contract itself (PCA, checks, arrays/meta), seen through a
density written here on the base class alone and through the registered ones."""
import numpy as np
import pytest

from difffake.anomaly.densities.base import (
    COMMON,
    FORMAT,
    PCA_NEEDED,
    Density,
    NotFittedError,
    as_samples,
)
from difffake.anomaly.densities.gmm import GaussianMixtureDensity
from difffake.anomaly.densities.knn import KNNDensity
from difffake.config import AnomalyConfig


class CentreDistance(Density):
    """Distance to the training mean: the smallest density the contract allows.
    It records what the base class hands to _fit / _score (the projected samples)."""

    name = "centre"
    PARAMS = ("knn_k",)          # an AnomalyConfig field, read for its default
    NEEDED = ("centre",)

    def _fit(self, X):
        self.seen_fit = X.copy()
        self.arrays = {"centre": X.mean(axis=0)}

    def _score(self, X):
        self.seen_score = X.copy()
        return np.linalg.norm(X - self.arrays["centre"], axis=1)


def _data(seed=0, n=60, d=6):
    return np.random.default_rng(seed).normal(size=(n, d)) * np.linspace(4, 0.5, d)


def test_parameters_default_from_the_config_and_unknown_ones_are_refused():
    density = CentreDistance(pca_dims=3, seed="7")
    assert density.params == {"knn_k": AnomalyConfig().knn_k}
    assert density.seed == 7 and density.pca_dims == 3
    assert CentreDistance(knn_k=9).params == {"knn_k": 9}
    with pytest.raises(ValueError) as info:
        CentreDistance(gmm_components=3)
    assert str(info.value) == ("unknown parameter 'gmm_components' for density 'centre': "
                               "it takes pca_dims, seed, knn_k")
    assert COMMON == ("pca_dims", "seed")


def test_from_config_reads_the_common_and_own_fields():
    cfg = AnomalyConfig(pca_dims=4, seed=11, knn_k=2, gmm_components=9)
    density = CentreDistance.from_config(cfg)
    assert (density.pca_dims, density.seed, density.params) == (4, 11, {"knn_k": 2})


def test_base_class_has_no_variant_options():
    assert CentreDistance.variant_option("diag") is None
    assert CentreDistance.variant_suffix(AnomalyConfig()) == ""


def test_pca_is_fitted_and_both_fit_and_score_see_the_projection():
    from sklearn.decomposition import PCA

    X, Y = _data(), _data(seed=1, n=5)
    density = CentreDistance(pca_dims=3, seed=0).fit(X)
    reference = PCA(n_components=3, random_state=0).fit(X)
    np.testing.assert_allclose(density.seen_fit, reference.transform(X), atol=1e-10)
    assert density.info == {"n_train": 60, "dim_in": 6, "pca_dims": 3, "dim_used": 3,
                            "pca_explained_variance": pytest.approx(reference.explained_variance_ratio_.sum())}
    scores = density.score(Y)
    np.testing.assert_allclose(density.seen_score, reference.transform(Y), atol=1e-10)
    np.testing.assert_allclose(scores, np.linalg.norm(reference.transform(Y), axis=1), atol=1e-10)


def test_pca_is_skipped_when_it_would_not_reduce_and_capped_by_the_sample_count():
    X = _data(n=10, d=6)
    for dims in (None, 0, 6, 50):
        density = CentreDistance(pca_dims=dims).fit(X)
        assert density.pca is None and density.info["dim_used"] == 6
        np.testing.assert_array_equal(density.seen_fit, X)
    few = CentreDistance(pca_dims=5).fit(_data(n=3, d=6))     # 3 samples: at most 3 components
    assert few.info["pca_dims"] == 3 and few.pca["components"].shape == (3, 6)


def test_bad_samples_are_refused_with_the_reason():
    density = CentreDistance()
    with pytest.raises(ValueError, match=r"needs at least 2 real samples, got 1"):
        density.fit(np.zeros((1, 4)))
    with pytest.raises(ValueError, match=r"samples must be a 2-D array, got shape \(4,\)"):
        density.fit(np.zeros(4))
    bad = np.zeros((5, 4))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        density.fit(bad)
    density.fit(_data(d=4))
    with pytest.raises(ValueError, match="samples have 3 dims, the density model was fitted on 4"):
        density.score(np.zeros((2, 3)))
    bad[2, 1] = np.inf
    with pytest.raises(ValueError, match="NaN or infinity"):
        density.score(bad)


def test_as_samples_gives_float64_and_empty_score_is_empty():
    out = as_samples([[1, 2], [3, 4]])
    assert out.dtype == np.float64 and out.tolist() == [[1.0, 2.0], [3.0, 4.0]]
    density = CentreDistance().fit(_data(d=4))
    empty = density.score(np.zeros((0, 4)))
    assert empty.shape == (0,) and empty.dtype == np.float64


def test_not_fitted_until_fit_and_repr_says_so():
    density = CentreDistance(pca_dims=2)
    assert not density.fitted
    assert repr(density) == ("CentreDistance({'kind': 'centre', 'pca_dims': 2, 'seed': 0, 'knn_k': 5}, "
                             "not fitted)")
    with pytest.raises(NotFittedError, match="the centre density is not fitted: call fit"):
        density.score(np.zeros((1, 4)))
    density.fit(_data(d=4))
    assert density.fitted and repr(density).endswith(", fitted)")


def test_to_arrays_names_estimator_and_pca_arrays_and_meta_is_json():
    import json

    density = CentreDistance(pca_dims=2, seed=3).fit(_data(d=4))
    arrays, meta = density.to_arrays()
    assert sorted(arrays) == ["est_centre", "pca_components", "pca_evr", "pca_mean"]
    np.testing.assert_array_equal(arrays["est_centre"], density.arrays["centre"])
    assert meta["format"] == FORMAT == "difffake-density-1"
    assert meta["params"] == {"kind": "centre", "pca_dims": 2, "seed": 3, "knn_k": 5}
    assert meta["info"] == density.info
    assert {"difffake", "python", "numpy", "sklearn", "scipy"} <= set(meta["versions"])
    assert json.loads(json.dumps(meta)) == meta
    no_pca_arrays, _ = CentreDistance().fit(_data(d=4)).to_arrays()
    assert sorted(no_pca_arrays) == ["est_centre"]


def test_from_arrays_round_trips_and_reads_only_its_own_parameters():
    X, Y = _data(d=4), _data(seed=2, n=8, d=4)
    density = CentreDistance(pca_dims=2, knn_k=4).fit(X)
    arrays, meta = density.to_arrays()
    meta["params"].update(gmm_components=3, ocsvm_nu=0.1)     # other densities' (older files)
    again = CentreDistance.from_arrays(arrays, meta)
    assert again.params == {"knn_k": 4} and again.pca_dims == 2 and again.info == density.info
    np.testing.assert_array_equal(again.score(Y), density.score(Y))


@pytest.mark.parametrize("change, message", [
    (lambda a, m: a.pop("est_centre"), r"a centre model needs arrays \['est_centre'\]"),
    (lambda a, m: a.pop("pca_mean"), r"a centre model needs arrays \['pca_mean'\]"),
    (lambda a, m: a.update(est_centre=np.array([np.nan, 0.0])), r"array est_centre must hold finite real numbers"),
    (lambda a, m: a.update(pca_components=np.array([["a", "b"]])), r"array pca_components must hold finite .*dtype <U1"),
    (lambda a, m: m["info"].update(dim_in=True), r"info.dim_in must be a positive integer, got True"),
    (lambda a, m: m["info"].update(dim_in=0), r"info.dim_in must be a positive integer, got 0"),
    (lambda a, m: m["info"].pop("dim_in"), r"info.dim_in must be a positive integer, got None"),
])
def test_from_arrays_refuses_arrays_a_score_cannot_use(change, message):
    arrays, meta = CentreDistance(pca_dims=2).fit(_data(d=4)).to_arrays()
    change(arrays, meta)
    with pytest.raises(ValueError, match=message):
        CentreDistance.from_arrays(arrays, meta)
    assert PCA_NEEDED == ("mean", "components")


def test_registered_densities_share_the_base_checks():
    X = _data(d=4)
    for cls in (GaussianMixtureDensity, KNNDensity):
        density = cls(pca_dims=2).fit(X)
        assert isinstance(density, Density) and density.info["dim_used"] == 2
        with pytest.raises(ValueError, match="fitted on 4"):
            density.score(np.zeros((1, 5)))
