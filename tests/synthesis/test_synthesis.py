"""Pseudo-fake synthesis: masks land where their type says, blends obey their limits, seeds rule."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from difffake.config import SynthConfig
from difffake.synthesis.augment import elastic_field, jitter
from difffake.synthesis.blend import PseudoFakeGenerator, soften_mask
from difffake.synthesis.masks import (
    GLOBAL_TYPES,
    MASK_TYPES,
    REGION_TYPES,
    choose_mask_type,
    draw_mask,
    make_mask,
)

NOSE_TIP = 30


@pytest.fixture(scope="module")
def astro(astronaut_face):
    return astronaut_face.crops[0], np.asarray(astronaut_face.landmarks[0], np.float32)


def centroid(mask: np.ndarray) -> np.ndarray:
    ys, xs = np.nonzero(mask > 0)
    w = mask[ys, xs]
    return np.array([np.average(xs, weights=w), np.average(ys, weights=w)])


def check_mask_geometry(mask: np.ndarray, lm: np.ndarray, mask_type: str, tol: float = 0.0) -> None:
    """Mass where the type says; `tol` (pixels) allows for the generator's small affine."""
    assert mask.any(), f"{mask_type}: empty mask"
    cx, cy = centroid(mask)
    # "Above" and "below" along the face's own axis (eyes -> mouth), so a tilted head counts too.
    down = lm[48:68].mean(axis=0) - lm[36:48].mean(axis=0)
    down = down / np.linalg.norm(down)
    c = float(np.dot((cx, cy), down))
    nose_y = float(np.dot(lm[NOSE_TIP], down))
    eyes_y = float(np.dot(lm[36:48].mean(axis=0), down))
    chin_y = float(np.dot(lm[8], down))
    if mask_type == "eyes":
        assert c < nose_y - tol, (mask_type, c, nose_y)
        assert abs(c - eyes_y) < abs(c - chin_y), "eyes mask nearer the chin than the eyes"
    elif mask_type == "mouth_jaw":
        assert c > nose_y + tol, (mask_type, c, nose_y)
    elif mask_type == "lower_head":
        assert c > eyes_y + tol, (mask_type, c, eyes_y)
    else:  # whole face: centred between eyes and mouth, inside the landmarks' box
        if tol == 0:  # raw hulls cover the nose tip (eroded ones may not, on profiles)
            x, y = np.round(lm[NOSE_TIP]).astype(int)
            assert mask[y, x] > 0, f"{mask_type}: nose tip not covered"
        assert lm[36:48, 1].min() - tol < cy < lm[48:68, 1].max() + tol
        assert lm[:, 0].min() - tol < cx < lm[:, 0].max() + tol


# ---------------------------------------------------------------- masks

def test_every_mask_type_is_on_its_region_of_the_astronaut(astro):
    crop, lm = astro
    areas = {}
    for t in MASK_TYPES:
        m = make_mask(lm, crop.shape, t)
        assert m.dtype == np.float32 and m.shape == crop.shape[:2]
        assert set(np.unique(m)) <= {0.0, 1.0}
        check_mask_geometry(m, lm, t)
        areas[t] = m.sum()
    # The convex hull of all points contains every other whole-face mask.
    hull = draw_mask(lm, crop.shape, "hull")
    for t in ("dfl_full", "components", "eyes", "mouth_jaw", "lower_head"):
        outside = (draw_mask(lm, crop.shape, t) & (1 - hull)).sum()
        assert outside <= 0.01 * areas[t], (t, outside)
    # The extended mask reaches above the brows; the plain components do not.
    brow_top = int(lm[17:27, 1].min())
    ext, comp = draw_mask(lm, crop.shape, "extended"), draw_mask(lm, crop.shape, "components")
    assert ext[: brow_top - 3].sum() > 0 and comp[: brow_top - 3].sum() == 0
    assert areas["extended"] > areas["components"]
    assert areas["eyes"] < areas["hull"] and areas["mouth_jaw"] < areas["hull"]


def test_masks_on_real_faces(real_face_items):
    for crop, lm, source in real_face_items:
        for t in MASK_TYPES:
            m = make_mask(np.asarray(lm, np.float32), crop.shape, t)
            try:
                check_mask_geometry(m, lm, t)
            except AssertionError as exc:
                raise AssertionError(f"{source}: {exc}") from exc


def test_mask_type_frequencies_follow_the_recipe():
    rng = np.random.default_rng(0)
    n = 24000
    counts = {t: 0 for t in MASK_TYPES}
    for _ in range(n):
        counts[choose_mask_type(rng, 0.5)] += 1
    for t in GLOBAL_TYPES:   # 1/2 x 1/4 each
        assert abs(counts[t] / n - 1 / 8) < 0.01, (t, counts[t] / n)
    for t in REGION_TYPES:   # 1/6 each
        assert abs(counts[t] / n - 1 / 6) < 0.01, (t, counts[t] / n)


def test_erosion_equals_blur_threshold_of_the_recipe(astro):
    """soften_mask's erosion == 'blur k1, divide by max, zero below 1' on a binary mask."""
    crop, lm = astro
    for t, k in [("hull", 25), ("eyes", 11), ("components", 5), ("mouth_jaw", 17)]:
        small = (lm + 0.5) * (224 / crop.shape[1]) - 0.5
        core = draw_mask(small, (224, 224), t)
        blurred = cv2.GaussianBlur(core.astype(np.float32), (k, k), 0)
        blurred /= blurred.max()
        blurred[blurred < 1] = 0
        eroded = cv2.erode(core, np.ones((k, k), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=0)
        assert np.array_equal(blurred > 0, eroded > 0), t
        # With a tiny second blur kernel the soft mask is ~ the core itself.
        soft = soften_mask(core, k, 1)
        assert np.array_equal(soft > 0.5, eroded > 0)


def test_elastic_field_matches_full_size_law():
    """Coarse-grid field at working size ~ albumentations' law at full size (std in crop pixels)."""
    rng = np.random.default_rng(1)
    h = w = 380

    def full():
        n = rng.standard_normal((2, h, w)).astype(np.float32)
        n /= np.abs(n).max()
        return cv2.GaussianBlur(n[0], (0, 0), 7, borderType=cv2.BORDER_REPLICATE) * 50

    ref = np.mean([full().std() for _ in range(4)])
    s = 224 / 380
    ours = np.mean([elastic_field((224, 224), rng, 50, 7, s)[0].std() / s for _ in range(16)])
    assert 0.8 < ours / ref < 1.25, (ours, ref)


# ---------------------------------------------------------------- generator

def check_sample(s, crop, lm):
    h, w = crop.shape[:2]
    assert s.real.shape == s.fake.shape == s.source.shape == crop.shape
    assert s.real.dtype == s.fake.dtype == np.uint8
    assert s.mask.shape == (h, w) and s.mask.dtype == np.float32
    assert s.blend_ratio in (0.25, 0.5, 0.75, 1.0)
    assert s.mask.min() >= 0 and s.mask.max() <= s.blend_ratio + 1e-6
    assert s.mask.max() > 0.8 * s.blend_ratio, "soft mask lost its peak"
    # Outside the mask the fake is the real, bit for bit.
    outside = s.mask == 0
    assert outside.mean() > 0.2, "mask covers almost the whole crop"
    assert np.array_equal(s.fake[outside], s.real[outside])
    # Blend limit: the fake moves towards the source by at most the ratio.
    d_fake = np.abs(s.fake.astype(np.int16) - s.real)
    d_src = np.abs(s.source.astype(np.int16) - s.real)
    assert (d_fake <= s.blend_ratio * d_src + 1).all()
    # Exact blend where the mask is known.
    expect = s.real + s.mask[..., None] * (s.source.astype(np.float32) - s.real)
    assert np.abs(s.fake - expect).max() <= 0.5 + 1e-3
    check_mask_geometry(s.mask, lm, s.mask_type, tol=0.05 * h)


def test_generator_geometry_and_blend_limits_on_the_astronaut(astro):
    crop, lm = astro
    gen = PseudoFakeGenerator()
    seen = set()
    for seed in range(60):
        s = gen.gen(crop, lm, np.random.default_rng(seed))
        check_sample(s, crop, lm)
        seen.add(s.mask_type)
    assert seen == set(MASK_TYPES)


def test_generator_on_real_faces(real_face_items):
    gen = PseudoFakeGenerator()
    for k, (crop, lm, source) in enumerate(real_face_items):
        for t in MASK_TYPES:
            s = gen.gen(crop, lm, np.random.default_rng([k, MASK_TYPES.index(t)]), mask_type=t)
            assert s.mask_type == t
            try:
                check_sample(s, crop, np.asarray(lm, np.float32))
            except AssertionError as exc:
                raise AssertionError(f"{source} / {t}: {exc}") from exc


def test_generator_is_a_function_of_its_rng(astro):
    crop, lm = astro
    gen = PseudoFakeGenerator()
    a = gen.gen(crop, lm, np.random.default_rng(7))
    b = PseudoFakeGenerator().gen(crop.copy(), lm.copy(), np.random.default_rng(7))
    assert a.mask_type == b.mask_type and a.blend_ratio == b.blend_ratio
    assert np.array_equal(a.fake, b.fake) and np.array_equal(a.mask, b.mask)
    c = gen.gen(crop, lm, np.random.default_rng(8))
    assert not np.array_equal(a.fake, c.fake)
    # Global numpy state plays no part.
    np.random.seed(123)
    d = gen.gen(crop, lm, np.random.default_rng(7))
    assert np.array_equal(a.fake, d.fake)


def test_fakes_differ_from_reals_and_jitter_hits_one_side(astro):
    crop, lm = astro
    gen = PseudoFakeGenerator()
    jittered_real = 0
    for seed in range(40):
        s = gen.gen(crop, lm, np.random.default_rng(seed))
        assert np.abs(s.fake.astype(np.int16) - s.real).max() > 0
        jittered_real += not np.array_equal(s.real, crop)
    # The target (= real) is the jittered copy half of the time.
    assert 10 <= jittered_real <= 30


def test_jitter_stays_small_and_varies(astro):
    crop, _ = astro
    cfg = SynthConfig()
    diffs = [np.abs(jitter(crop, np.random.default_rng(i), cfg).astype(np.int16) - crop).mean()
             for i in range(30)]
    assert all(0 < d < 60 for d in diffs)
    assert np.std(diffs) > 1


def test_bad_inputs_name_the_problem(astro):
    crop, lm = astro
    gen = PseudoFakeGenerator()
    with pytest.raises(ValueError, match="mask type"):
        gen.gen(crop, lm, np.random.default_rng(0), mask_type="nose")
    with pytest.raises(ValueError, match="landmarks"):
        gen.gen(crop, lm[:5], np.random.default_rng(0))
    with pytest.raises(ValueError, match="uint8"):
        gen.gen(crop.astype(np.float32), lm, np.random.default_rng(0))


def test_downscale_branch_jitters_the_small_image_exactly(astro):
    """Nearest downscale picks pixels, colour jitter is per pixel: they commute.

    Up to +-1 level (2 after the contrast gain): OpenCV's uint8 HSV->RGB rounds differently in its SIMD body
    and its scalar row tail, so a pixel's result depends on the row width; how many pixels round differently
    depends on the CPU's SIMD width (14-16 % here, 23 % on CI), their mean difference stays a fraction of a
    level, far below another seed's jitter (14-62 levels)."""
    from difffake.synthesis.augment import color_jitter
    crop, _ = astro
    cfg = SynthConfig(p_rgb_shift=1.0, hsv_shift=(3.0, 5.0, 5.0))
    h, w = crop.shape[:2]

    def down(img):
        return cv2.resize(img, (w // 4, h // 4), interpolation=cv2.INTER_NEAREST)

    for seed in range(5):
        a = down(color_jitter(crop, np.random.default_rng(seed), cfg))
        b = color_jitter(down(crop), np.random.default_rng(seed), cfg)
        diff = np.abs(a.astype(np.int16) - b)
        assert diff.max() <= 2 and diff.mean() < 0.5  # +-1, times the contrast gain
        other = color_jitter(down(crop), np.random.default_rng(seed + 100), cfg)
        assert np.abs(a.astype(np.int16) - other).mean() > 5   # the check can tell a wrong jitter
