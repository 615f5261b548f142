"""anomaly.pseudo_pool: each real pool video gets one pseudo-fake twin, embedded by the same backbone."""
import numpy as np
import pytest

from difffake.anomaly.pseudo_pool import PoolTwins, choose_donors, pseudo_twins
from difffake.embeddings import embed_record, frame_fake_prob
from difffake.synthesis.masks import MASK_TYPES
from difffake.synthesis.video import degraded_record, pseudo_fake_record


@pytest.fixture(scope="module")
def pool(tiny_store):
    """Two entries whose pool keys differ from the store ids (the keys name the entries, the ids the records)."""
    ids = sorted(tiny_store.ids())[:2]
    return {f"storeA/{vid}": (tiny_store, vid) for vid in reversed(ids)}


@pytest.fixture(scope="module")
def real_embs(pool, tiny_backbone):
    return {key: embed_record(tiny_backbone, store.load(vid)) for key, (store, vid) in pool.items()}


@pytest.fixture(scope="module")
def twins(tiny_backbone, pool, real_embs):
    calls = []
    out = pseudo_twins(tiny_backbone, pool, real_embs, seed=3, progress=lambda n, total: calls.append((n, total)))
    return out, calls


def test_one_twin_per_entry_in_key_order_with_progress(twins, pool):
    out, calls = twins
    assert isinstance(out, PoolTwins)
    keys = sorted(pool)
    assert out.keys == keys and out.base_keys == keys
    assert calls == [(1, 2), (2, 2)]
    assert all(len(getattr(out, f)) == 2 for f in ("real_embs", "real_probs", "fake_embs", "fake_probs",
                                                    "mask_types"))


def test_real_side_is_the_given_embeddings_and_their_head_probabilities(twins, real_embs, tiny_backbone):
    out, _ = twins
    for key, emb, prob in zip(out.keys, out.real_embs, out.real_probs):
        np.testing.assert_array_equal(emb, real_embs[key])
        np.testing.assert_array_equal(prob, frame_fake_prob(tiny_backbone, real_embs[key]))
        assert prob.shape == (len(emb),) and np.all((prob > 0) & (prob < 1))


def test_fake_side_is_the_seeded_pseudo_fake_twin_embedded_alike(twins, pool, tiny_backbone):
    out, _ = twins
    for key, fake, prob, mask in zip(out.keys, out.fake_embs, out.fake_probs, out.mask_types):
        store, vid = pool[key]
        twin = pseudo_fake_record(store.load(vid), seed=3)
        expected = embed_record(tiny_backbone, twin)
        np.testing.assert_array_equal(fake, expected)
        np.testing.assert_array_equal(prob, frame_fake_prob(tiny_backbone, expected))
        assert mask == twin.meta["pseudo_fake"]["mask_type"] and mask in MASK_TYPES
        assert fake.shape == out.real_embs[out.keys.index(key)].shape
        assert np.abs(fake - out.real_embs[out.keys.index(key)]).max() > 1e-4   # a twin is not its real


def test_degraded_adds_a_recaptured_pair_per_entry_from_the_same_pool_key(tiny_backbone, pool, real_embs, twins):
    out = pseudo_twins(tiny_backbone, pool, real_embs, seed=3, degraded=True)
    keys = sorted(pool)
    assert out.keys == [keys[0], "degraded/" + keys[0], keys[1], "degraded/" + keys[1]]
    assert out.base_keys == [keys[0], keys[0], keys[1], keys[1]]
    plain, _ = twins
    np.testing.assert_array_equal(out.fake_embs[0], plain.fake_embs[0])   # the plain entries are unchanged
    store, vid = pool[keys[0]]
    record = store.load(vid)
    twin = pseudo_fake_record(record, seed=3)
    np.testing.assert_array_equal(out.real_embs[1],
                                  embed_record(tiny_backbone, degraded_record(record, seed=3, salt=vid)))
    np.testing.assert_array_equal(out.fake_embs[1],
                                  embed_record(tiny_backbone, degraded_record(twin, seed=3, salt=vid)))
    assert out.mask_types[1] == out.mask_types[0]
    assert np.abs(out.real_embs[1] - out.real_embs[0]).max() > 1e-4     # the re-capture changed the pixels


def test_donors_come_from_another_group_of_the_same_fold_and_are_stable():
    keys = [f"v{i}" for i in range(12)]
    groups = {k: f"g{int(k[1:]) // 2}" for k in keys}          # two videos per person
    folds = {k: int(k[1:]) // 4 for k in keys}                 # three folds of two people each
    every = choose_donors(keys, groups, folds, 1.0, seed=0)
    assert all(d is not None and folds[d] == folds[k] and groups[d] != groups[k] for k, d in every.items())
    assert every == choose_donors(list(reversed(keys)), groups, folds, 1.0, seed=0)
    assert set(choose_donors(keys, groups, folds, 0.0).values()) == {None}
    half = choose_donors([f"w{i}" for i in range(400)], {f"w{i}": f"g{i}" for i in range(400)},
                         {f"w{i}": 0 for i in range(400)}, 0.5)
    assert 150 < sum(d is not None for d in half.values()) < 250
    alone = choose_donors(["a", "b"], {"a": "g", "b": "g"}, {"a": 0, "b": 0}, 1.0)
    assert alone == {"a": None, "b": None}                      # nobody else in the fold: a self-blend


def test_a_donor_twin_is_the_donor_blend_of_its_video(tiny_backbone, pool, real_embs, twins):
    keys = sorted(pool)
    out = pseudo_twins(tiny_backbone, pool, real_embs, seed=3, donors={keys[0]: keys[1]})
    (store, vid), (dstore, dvid) = pool[keys[0]], pool[keys[1]]
    twin = pseudo_fake_record(store.load(vid), seed=3, donor=dstore.load(dvid))
    np.testing.assert_array_equal(out.fake_embs[0], embed_record(tiny_backbone, twin))
    assert out.donors == [dvid, None]
    plain, _ = twins
    np.testing.assert_array_equal(out.fake_embs[1], plain.fake_embs[1])     # no donor: the self-blend
    assert np.abs(out.fake_embs[0] - plain.fake_embs[0]).max() > 1e-4
