"""anomaly.densities.knn: mean distance to the k nearest real training samples."""
import numpy as np
import pytest

from difffake.anomaly.densities.knn import KNNDensity
from difffake.config import AnomalyConfig


def _data(seed=0, n=40, d=5):
    return np.random.default_rng(seed).normal(size=(n, d))


def test_variant_tokens_are_k_and_a_number():
    assert KNNDensity.variant_option("k7") == {"knn_k": 7}
    assert KNNDensity.variant_option("k12") == {"knn_k": 12}
    for token in ("k", "kx", "k3a", "diag", "7"):
        assert KNNDensity.variant_option(token) is None
    assert KNNDensity.variant_suffix(AnomalyConfig(knn_k=9)) == ":k9"


def test_score_is_the_mean_distance_to_the_k_nearest_as_sklearn_finds_them():
    from sklearn.neighbors import NearestNeighbors

    X, Y = _data(), _data(seed=1, n=12)
    density = KNNDensity(pca_dims=None, knn_k=4).fit(X)
    dist, _ = NearestNeighbors(n_neighbors=4).fit(X).kneighbors(Y)
    np.testing.assert_allclose(density.score(Y), dist.mean(axis=1), rtol=1e-12)


def test_hand_computed_distances_and_a_training_sample_at_k1_scores_zero():
    train = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    density = KNNDensity(pca_dims=None, knn_k=2).fit(train)
    # from (0, 0): nearest are itself (0) and (3, 0) (3) -> 1.5; from (3, 4): 4 and 3 -> 3.5
    np.testing.assert_allclose(density.score(np.array([[0.0, 0.0], [3.0, 4.0]])), [1.5, 3.5])
    one = KNNDensity(pca_dims=None, knn_k=1).fit(train)
    np.testing.assert_array_equal(one.score(train), [0.0, 0.0, 0.0])


def test_an_outlier_scores_above_every_inlier():
    density = KNNDensity(pca_dims=3).fit(_data())
    s = density.score(np.concatenate([_data(seed=2, n=10), np.full((1, 5), 6.0)]))
    assert s[-1] > 2 * s[:-1].max()


def test_k_is_capped_by_the_training_samples_and_the_train_set_is_stored_projected():
    X = _data(n=3)
    density = KNNDensity(pca_dims=None, knn_k=10).fit(X)
    assert density.info["knn_k"] == 3 and density.params["knn_k"] == 10
    np.testing.assert_array_equal(density.arrays["train"], X)
    projected = KNNDensity(pca_dims=2).fit(_data())
    assert projected.arrays["train"].shape == (40, 2)
    np.testing.assert_allclose(projected.arrays["train"], projected._project(_data()), atol=1e-12)


def test_round_trip_gives_identical_scores():
    X, Y = _data(), _data(seed=4, n=9)
    density = KNNDensity(pca_dims=3, knn_k=6, seed=2).fit(X)
    arrays, meta = density.to_arrays()
    assert sorted(arrays) == ["est_train", "pca_components", "pca_evr", "pca_mean"]
    again = KNNDensity.from_arrays(arrays, meta)
    assert again.info["knn_k"] == 6 and again.seed == 2
    np.testing.assert_array_equal(again.score(Y), density.score(Y))


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, None])
def test_stored_k_must_be_a_positive_integer(bad):
    arrays, meta = KNNDensity(pca_dims=None).fit(_data()).to_arrays()
    if bad is None:
        del meta["info"]["knn_k"]
    else:
        meta["info"]["knn_k"] = bad
    with pytest.raises(ValueError, match=f"info.knn_k must be a positive integer, got {bad!r}"):
        KNNDensity.from_arrays(arrays, meta)
