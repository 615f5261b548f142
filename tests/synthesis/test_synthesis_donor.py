"""Other-identity pseudo-fakes (synthesis.donor and the dataset's p_other_identity): donor choice,
landmark alignment, colour matching, and that the self-blend draws stay as they were."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from difffake.config import SynthConfig
from difffake.synthesis.dataset import FaceItem, PseudoFakeDataset
from difffake.synthesis.donor import (
    DonorIndex,
    align_donor,
    match_colour,
    normalised_shape,
    similarity_matrix,
)
from difffake.synthesis.masks import draw_mask

MEAN, STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


def _rotation(theta):
    return np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])


def test_similarity_recovers_a_known_transform_and_agrees_with_opencv():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(68, 2)) * 30 + 100
    dst = 1.7 * src @ _rotation(0.3).T + np.array([5.0, -3.0])
    m = similarity_matrix(src, dst)
    assert np.abs(src @ m[:, :2].T + m[:, 2] - dst).max() < 1e-3
    noisy = dst + rng.normal(size=dst.shape)
    ref, _ = cv2.estimateAffinePartial2D(src.astype(np.float32), noisy.astype(np.float32), method=cv2.LMEDS)
    # LMedS refines on its inliers (all of them here): the same least-squares similarity.
    assert np.abs(similarity_matrix(src, noisy) - ref).max() < 1e-3


def test_similarity_is_never_a_mirror():
    src = np.random.default_rng(1).normal(size=(68, 2))
    m = similarity_matrix(src, src * np.array([-1.0, 1.0]))    # the best fit would be a reflection
    assert np.linalg.det(m[:, :2]) > 0


@pytest.fixture(scope="module")
def face(astronaut_face):
    return astronaut_face.crops[0], np.asarray(astronaut_face.landmarks[0], np.float32)


def test_align_donor_puts_the_donors_face_on_the_targets_landmarks(face):
    crop, lm = face
    h, w = crop.shape[:2]
    # The donor: the same face turned, shrunk and moved, its landmarks moved with it.
    move = cv2.getRotationMatrix2D((w / 2, h / 2), 12, 0.8)
    move[:, 2] += (9, -6)
    donor = cv2.warpAffine(crop, move, (w, h), borderMode=cv2.BORDER_REFLECT_101)
    donor_lm = lm @ move[:, :2].T + move[:, 2]
    aligned = align_donor(donor, donor_lm, lm, crop.shape)
    hull = draw_mask(lm, crop.shape, "hull").astype(bool)
    err = np.abs(aligned.astype(float) - crop.astype(float))[hull].mean()
    unaligned = np.abs(donor.astype(float) - crop.astype(float))[hull].mean()
    assert aligned.shape == crop.shape and err < 6 and unaligned > 4 * err


def test_colour_match_takes_the_targets_face_colour(face):
    crop, lm = face
    tinted = cv2.LUT(crop, np.clip(np.arange(256) * 0.7 + 40, 0, 255).astype(np.uint8))
    tinted[..., 2] = np.clip(tinted[..., 2].astype(int) + 35, 0, 255)
    hull = draw_mask(lm, crop.shape, "hull").astype(bool)

    def lab_mean(img):
        return cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(float)[hull].mean(0)

    matched = match_colour(tinted, crop, lm)
    assert np.abs(lab_mean(tinted) - lab_mean(crop)).max() > 15
    assert np.abs(lab_mean(matched) - lab_mean(crop)).max() < 2.5


def test_donor_is_from_another_video_and_the_nearest_shape_drawn():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(68, 2)) * 20 + 80
    shapes = [base + rng.normal(size=base.shape) * s for s in (0.0, 0.5, 3.0, 6.0)]
    index = DonorIndex(shapes, ["a", "a", "b", "c"], candidates=200)   # every face is drawn
    picks = {index.pick(0, np.random.default_rng(k)) for k in range(5)}
    assert picks == {2}                       # item 1 is nearer but from the same video
    assert DonorIndex(shapes[:2], ["a", "a"]).pick(0, np.random.default_rng(0)) is None
    # Place and size do not count, only the shape.
    assert np.allclose(normalised_shape(base * 3 + 50), normalised_shape(base))


def _items(face):
    crop, lm = face
    flipped = crop[:, ::-1].copy()           # another "person": the mirrored face, recoloured
    flipped_lm = lm.copy()
    flipped_lm[:, 0] = crop.shape[1] - 1 - lm[:, 0]
    other = flipped[..., ::-1].copy()        # red and blue swapped
    return [FaceItem(crop, lm, "astro"), FaceItem(other, flipped_lm, "other")]


def test_other_identity_blends_change_only_the_source(face):
    items = _items(face)
    self_ds = PseudoFakeDataset(items, 96, MEAN, STD, seed=4, augment=False)
    cfg = dataclasses.replace(SynthConfig(), p_other_identity=1.0)
    other_ds = PseudoFakeDataset(items, 96, MEAN, STD, seed=4, cfg=cfg, augment=False)
    for i in range(len(items)):
        a, _ = self_ds.sample(i)
        b, _ = other_ds.sample(i)
        # Same mask, ratio and target: the donor comes from its own random stream.
        assert (a.mask_type, a.blend_ratio) == (b.mask_type, b.blend_ratio)
        assert np.array_equal(a.mask, b.mask) and np.array_equal(a.real, b.real)
        inside = a.mask > 0.5 * a.mask.max()
        assert np.abs(a.fake.astype(int) - b.fake.astype(int))[inside].mean() > 3 * a.blend_ratio
        assert np.array_equal(b.fake[a.mask == 0], b.real[a.mask == 0])


def test_other_identity_items_repeat_byte_for_byte(face):
    cfg = dataclasses.replace(SynthConfig(), p_other_identity=0.5)
    one, two = (PseudoFakeDataset(_items(face), 64, MEAN, STD, seed=9, cfg=cfg) for _ in range(2))
    for i in range(2):
        assert all(np.array_equal(one[i][k].numpy(), two[i][k].numpy()) for k in ("real", "fake", "mask"))


def test_source_of_the_wrong_shape_is_refused(face):
    from difffake.synthesis.blend import PseudoFakeGenerator

    crop, lm = face
    with pytest.raises(ValueError, match="must have the crop's shape"):
        PseudoFakeGenerator().gen(crop, lm, np.random.default_rng(0), source=crop[:-2])
