"""PseudoFakeDataset: shapes, normalisation, identical views of a pair, worker-independent seeding."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from difffake.config import SynthConfig
from difffake.synthesis.dataset import (
    FaceItem,
    PseudoFakeDataset,
    collate_pairs,
    load_face_items,
    view_matrix,
    warp_view,
)
from difffake.synthesis.masks import MASK_TYPES

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


@pytest.fixture(scope="module")
def items(astronaut_face):
    crop, lm = astronaut_face.crops[0], astronaut_face.landmarks[0]
    # Same face, different sizes: stand-ins for several frames.
    out = []
    for k, side in enumerate((96, 128, 160, 200, 256, 300)):
        f = np.array([side / crop.shape[1], side / crop.shape[0]], np.float32)
        out.append(FaceItem(cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA),
                            (lm + 0.5) * f - 0.5, f"astro_{k}"))
    return out


def denorm(t: torch.Tensor) -> np.ndarray:
    x = t.numpy().transpose(1, 2, 0) * np.array(STD) + np.array(MEAN)
    return x * 255


def test_items_have_the_contract_shapes(items):
    ds = PseudoFakeDataset(items, 64, MEAN, STD, seed=0)
    assert len(ds) == len(items)
    for i in range(len(ds)):
        d = ds[i]
        assert d["real"].shape == d["fake"].shape == (3, 64, 64)
        assert d["real"].dtype == torch.float32
        assert d["mask"].shape == (1, 64, 64)
        assert 0 <= d["mask_type"] < len(MASK_TYPES)
        assert 0 <= float(d["mask"].min()) and float(d["mask"].max()) <= d["blend_ratio"] + 1e-6
        # Normalised from 0-1 RGB with mean/std: back to 0-255 range.
        px = denorm(d["real"])
        assert px.min() > -1 and px.max() < 256 and px.std() > 10


def test_real_and_fake_share_one_view(items):
    """Where the (warped) mask is 0 the fake equals the real: same flip, crop and resize."""
    ds = PseudoFakeDataset(items, 80, MEAN, STD, seed=3)
    flips = 0
    for i in range(len(ds)):
        d = ds[i]
        outside = d["mask"][0] == 0
        assert outside.float().mean() > 0.2
        assert torch.equal(d["real"][:, outside], d["fake"][:, outside])
        assert not torch.equal(d["real"], d["fake"])
        s, m = ds.sample(i)
        flips += m[0, 0] < 0
    assert 0 < flips < len(ds)


def test_view_matrix_flip_and_plain_resize():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)
    plain = warp_view(img, view_matrix(img.shape, 50, None, SynthConfig()), 50)
    cfg = SynthConfig(aug_hflip=1.0, aug_crop_min=1.0)
    flipped = warp_view(img, view_matrix(img.shape, 50, rng, cfg), 50)
    assert np.array_equal(flipped, plain[:, ::-1])
    # Identity size: the plain view is the image itself.
    sq = img[:, :50]
    assert np.array_equal(warp_view(sq, view_matrix(sq.shape, 50, None, SynthConfig()), 50), sq)


def test_same_item_whatever_the_order_and_epoch_changes_it(items):
    ds = PseudoFakeDataset(items, 48, MEAN, STD, seed=5)
    forward = [ds[i]["fake"] for i in range(len(ds))]
    backward = [ds[i]["fake"] for i in reversed(range(len(ds)))][::-1]
    assert all(torch.equal(a, b) for a, b in zip(forward, backward))
    ds.set_epoch(1)
    assert not torch.equal(ds[0]["fake"], forward[0])
    ds.set_epoch(0)
    assert torch.equal(ds[0]["fake"], forward[0])
    other = PseudoFakeDataset(items, 48, MEAN, STD, seed=6)
    assert not torch.equal(other[0]["fake"], forward[0])


def test_dataloader_workers_do_not_change_the_data(items):
    ds = PseudoFakeDataset(items, 48, MEAN, STD, seed=11)

    def load(workers):
        dl = DataLoader(ds, batch_size=3, shuffle=False, num_workers=workers, collate_fn=collate_pairs)
        return [(x.clone(), y.clone()) for x, y in dl]

    a, b = load(0), load(2)
    assert len(a) == len(b) == 2
    for (xa, ya), (xb, yb) in zip(a, b):
        assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_collate_pairs_balances_labels(items):
    ds = PseudoFakeDataset(items, 32, MEAN, STD, seed=0, augment=False)
    batch = [ds[i] for i in range(4)]
    images, labels = collate_pairs(batch)
    assert images.shape == (8, 3, 32, 32)
    assert labels.dtype == torch.long and labels.tolist() == [0] * 4 + [1] * 4
    assert torch.equal(images[1], batch[1]["real"]) and torch.equal(images[5], batch[1]["fake"])


def test_no_augment_gives_the_plain_resize(items):
    ds = PseudoFakeDataset(items, 64, MEAN, STD, seed=0, augment=False)
    s, m = ds.sample(2)
    assert np.allclose(m, view_matrix(items[2].crop.shape, 64, None, ds.cfg))


def test_load_face_items_from_a_store(tiny_store):
    ids = tiny_store.ids()
    got = load_face_items(tiny_store, ids)
    expect = sum(tiny_store.load(i, with_crops=False).num_faces for i in ids)
    assert len(got) == expect > 0
    assert {it.video_id for it in got} == set(ids)
    for it in got[:5]:
        assert it.crop.dtype == np.uint8 and it.crop.ndim == 3
        assert it.landmarks.shape == (68, 2) and np.isfinite(it.landmarks).all()
    d = PseudoFakeDataset(got, 64, MEAN, STD, seed=0)[0]
    assert d["fake"].shape == (3, 64, 64)
