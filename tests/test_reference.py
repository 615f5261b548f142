"""reference.score_against_reference: suspect frames paired with a trusted reference, scored by the density."""
import numpy as np
import pytest

from difffake.anomaly.combine import combine
from difffake.anomaly.model import AnomalyModel
from difffake.config import AnomalyConfig
from difffake.reference import ReferenceScore, score_against_reference

DIM = 10


def _video(rng, base, n=8):
    """Frames of one person: a fixed identity vector plus small motion in the first 3 dims only."""
    emb = np.repeat(base[None], n, axis=0)
    emb[:, :3] += rng.normal(0, 0.05, (n, 3))
    return emb


@pytest.fixture(scope="module")
def setup():
    rng = np.random.default_rng(0)
    person = rng.normal(size=DIM)
    videos = [_video(rng, person) for _ in range(6)]
    model = AnomalyModel(AnomalyConfig(density="knn", knn_k=3, pca_dims=None, combine="sq")).fit(videos)
    return rng, person, model


def test_pairs_go_round_robin_over_the_reference_frames(setup):
    rng, person, model = setup
    suspect, reference = _video(rng, person, n=5), _video(rng, person, n=2)
    res = score_against_reference(model, suspect, reference)
    assert isinstance(res, ReferenceScore)
    assert res.reference_positions.tolist() == [0, 1, 0, 1, 0]
    expected = model.density.score(combine(reference[[0, 1, 0, 1, 0]], suspect, "sq"))
    np.testing.assert_array_equal(res.pair_scores, expected)
    assert res.score == pytest.approx(float(np.mean(expected)))      # reduced as a video score ("mean")


def test_the_score_is_reduced_as_the_model_reduces_video_scores(setup):
    rng, person, _ = setup
    videos = [_video(rng, person) for _ in range(6)]
    model = AnomalyModel(AnomalyConfig(density="knn", knn_k=3, pca_dims=None, video_reduce="median")).fit(videos)
    res = score_against_reference(model, _video(rng, person, n=7), _video(rng, person, n=3))
    assert res.score == float(np.median(res.pair_scores))


def test_another_person_scores_higher_than_the_same_person(setup):
    rng, person, model = setup
    reference = _video(rng, person)
    other = person.copy()
    other[3:] += rng.normal(0, 1.0, DIM - 3)                           # a different face: other dims differ
    same = score_against_reference(model, _video(rng, person), reference)
    different = score_against_reference(model, _video(rng, other), reference)
    assert different.score > 3 * same.score
    assert different.pair_scores.min() > same.pair_scores.max()


def test_a_reference_needs_pairs_and_faces_on_both_sides(setup):
    rng, person, model = setup
    with pytest.raises(ValueError, match="both need at least one face"):
        score_against_reference(model, _video(rng, person), np.zeros((0, DIM)))
    with pytest.raises(ValueError, match="both need at least one face"):
        score_against_reference(model, np.zeros((0, DIM)), _video(rng, person))
    single = AnomalyModel(AnomalyConfig(density="knn", pca_dims=None, combine="single")).fit([_video(rng, person)])
    with pytest.raises(ValueError, match="the single-frame baseline has no pairs"):
        score_against_reference(single, _video(rng, person), _video(rng, person))
