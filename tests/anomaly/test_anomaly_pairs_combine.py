"""Pairs (counts, orientation, determinism) and pair combinations."""
import numpy as np
import pytest

from difffake.anomaly.combine import combine, features, l2_normalize
from difffake.anomaly.pairs import expected_pair_count, make_pairs


@pytest.mark.parametrize("strategy", ["paper", "all", "consecutive"])
@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 32, 40])
def test_pairs_count_no_self_pairs_in_range(strategy, n):
    pairs = make_pairs(n, strategy, num_partners=8, max_pairs=32, rng=3)
    assert pairs.shape == (expected_pair_count(n, strategy, 8, 32), 2)
    if n >= 2:
        assert len(pairs) >= 1
        assert np.all(pairs[:, 0] < pairs[:, 1])          # oriented, never self-paired
        assert pairs.min() >= 0 and pairs.max() < n
        assert len({tuple(p) for p in pairs}) == len(pairs)  # no duplicates


def test_paper_strategy_40_frames_gives_32_pairs_over_8_partners():
    pairs = make_pairs(40, "paper", num_partners=8, max_pairs=1000, rng=0)
    assert len(pairs) == 32
    # every frame is used; at most 8 frames (the partners) appear in several pairs
    counts = np.bincount(pairs.ravel(), minlength=40)
    assert np.all(counts >= 1) or np.sum(counts == 0) <= 8   # an unchosen partner may be unused
    assert np.sum(counts > 1) <= 8


def test_paper_partner_structure_exact():
    """Recover the partners from the generator directly: each pair joins one partner and one other."""
    rng = np.random.default_rng(5)
    partners = np.sort(rng.choice(40, size=8, replace=False))
    pairs = make_pairs(40, "paper", num_partners=8, max_pairs=1000, rng=5)
    in_partner = np.isin(pairs, partners)
    assert np.all(in_partner.sum(axis=1) == 1)
    non_partner = pairs[~in_partner]
    assert sorted(non_partner.tolist()) == sorted(set(range(40)) - set(partners.tolist()))


def test_pairs_deterministic_and_seed_dependent():
    a = make_pairs(40, "paper", rng=1)
    b = make_pairs(40, "paper", rng=1)
    c = make_pairs(40, "paper", rng=2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    all_capped = make_pairs(20, "all", max_pairs=10, rng=4)
    assert len(all_capped) == 10 and np.array_equal(all_capped, make_pairs(20, "all", max_pairs=10, rng=4))


def test_consecutive_pairs_neighbours():
    pairs = make_pairs(6, "consecutive", max_pairs=100)
    assert pairs.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5]]


def test_bad_strategy_rejected():
    with pytest.raises(ValueError, match="pairing"):
        make_pairs(5, "bogus")


def test_combinations_by_hand():
    a = np.array([[3.0, 1.0, 0.0]])
    b = np.array([[1.0, 2.0, 0.0]])
    d = np.array([2.0, -1.0, 0.0])
    for op, raw in {"sub": d, "abs": np.abs(d), "sq": d ** 2, "cube": d ** 3}.items():
        out = combine(a, b, op)[0]
        assert np.allclose(out, raw / np.linalg.norm(raw)), op
        assert np.isclose(np.linalg.norm(out), 1.0)


def test_l2_normalize_zero_vector_is_safe():
    out = l2_normalize(np.array([[0.0, 0.0], [3.0, 4.0]]))
    assert np.all(np.isfinite(out))
    assert np.allclose(out, [[0, 0], [0.6, 0.8]])
    same = combine(np.ones((1, 4)), np.ones((1, 4)), "sq")   # identical frames -> zero difference
    assert np.all(same == 0)


def test_features_single_and_pair_orientation():
    emb = np.array([[1.0, 0.0], [0.0, 2.0], [5.0, 5.0]])
    single = features(emb, None, "single")
    assert single.shape == (3, 2) and np.allclose(np.linalg.norm(single, axis=1), 1)
    f = features(emb, np.array([[0, 1]]), "sub")   # emb[earlier] - emb[later]
    assert np.allclose(f[0], np.array([1.0, -2.0]) / np.sqrt(5))
    with pytest.raises(ValueError, match="combination"):
        combine(emb, emb, "max")
