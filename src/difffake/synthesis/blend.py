"""Self-blended pseudo-fakes: a face blended into a jittered, slightly moved copy of itself.

One of source/target (50/50) is jittered (augment.jitter); the source and the
mask move by one random affine; the mask is deformed (elastic), eroded to its
core and blurred at a random working size of 192-256 px, scaled by a blend
ratio, and out = source * M + target * (1 - M). The target is the "real".

Speed: the mask never exists at full size before its final resize. The affine
moves the landmarks (hulls of moved points = moved hulls), so the hulls are
drawn straight at working size; the elastic remap, the erosion and the blur
run there too. Only the source warp and the blend touch full-size pixels, and
the blend only inside the mask's bounding box.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..config import SynthConfig
from .augment import elastic_field, jitter, random_affine
from .masks import MASK_TYPES, choose_mask_type, draw_mask


@dataclass
class SynthSample:
    real: np.ndarray        # (H, W, 3) uint8: the target (possibly jittered; still a real face)
    fake: np.ndarray        # (H, W, 3) uint8
    mask: np.ndarray        # (H, W) float32 in [0, blend_ratio]: the blend weight of the source
    mask_type: str
    blend_ratio: float
    source: np.ndarray      # (H, W, 3) uint8: the moved source inside the mask's box, the target
                            # outside it (where the mask is 0); for checks and figures


def odd_kernel(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Uniform odd integer in [lo, hi] (lo, hi odd)."""
    return int(lo + 2 * rng.integers((hi - lo) // 2 + 1))


def soften_mask(core: np.ndarray, k1: int, k2: int, sigma2: float = 0) -> np.ndarray:
    """Keep the core of a binary mask, then blur it: float32 in [0, 1].

    The recipe blurs with k1, divides by the max and zeroes everything below 1.
    For a binary mask that keeps exactly the pixels whose k1 x k1 window lies
    inside the mask (positive Gaussian weights), i.e. an erosion; the erosion is
    exact where the float test `< 1` can be fooled by rounding. The second blur
    has a large sigma (5-45) for its k2 <= 25 kernel: close to a box filter.
    """
    eroded = cv2.erode(core, cv2.getStructuringElement(cv2.MORPH_RECT, (k1, k1)),
                       borderType=cv2.BORDER_CONSTANT, borderValue=0)
    if not eroded.any():
        # Mask thinner than the kernel: the recipe keeps its blurred maximum.
        blurred = cv2.GaussianBlur(core.astype(np.float32), (k1, k1), 0)
        eroded = (blurred >= blurred.max()).astype(np.uint8) if blurred.max() > 0 else eroded
    soft = cv2.GaussianBlur(eroded.astype(np.float32), (k2, k2), sigma2)
    peak = float(soft.max())
    return soft / peak if peak > 0 else soft


def _support_box(small: np.ndarray, shape) -> tuple[int, int, int, int]:
    """(y0, y1, x0, x1) at crop size covering where the resized `small` mask can be non-zero."""
    rows, cols = np.flatnonzero(small.any(1)), np.flatnonzero(small.any(0))
    if not len(rows):
        return 0, 0, 0, 0
    (sh, sw), (h, w) = small.shape, shape[:2]

    def span(lo, hi, n_small, n):  # bilinear resize: crop pixel x reads small (x + .5) * f - .5
        f = n / n_small
        return max(0, int(np.floor(lo * f)) - 1), min(n, int(np.ceil((hi + 1) * f)) + 1)

    y0, y1 = span(rows[0], rows[-1], sh, h)
    x0, x1 = span(cols[0], cols[-1], sw, w)
    return y0, y1, x0, x1


class PseudoFakeGenerator:
    """gen(crop, landmarks, rng) -> SynthSample; uses only `rng`, so one seed = one pair."""

    def __init__(self, cfg: SynthConfig | None = None):
        self.cfg = cfg or SynthConfig()

    def blend_mask(self, landmarks: np.ndarray, shape, matrix: np.ndarray, mask_type: str,
                   rng: np.random.Generator):
        """(soft mask in [0, 1] at crop size, moved by `matrix`, built at working size;
        a box (y0, y1, x0, x1) outside which that mask is 0)."""
        cfg = self.cfg
        h, w = shape[:2]
        wh, ww = (int(v) for v in rng.integers(cfg.working_size_min, cfg.working_size_max + 1, 2))
        moved = landmarks @ matrix[:, :2].T + matrix[:, 2]
        # Pixel-centre convention when changing resolution.
        small = (moved + 0.5) * np.array([ww / w, wh / h], np.float32) - 0.5
        core = draw_mask(small, (wh, ww), mask_type)
        # Elastic deformation, specified at crop size, applied at working size.
        scale = float(np.sqrt(ww * wh / (w * h)))
        dx, dy = elastic_field((wh, ww), rng, cfg.elastic_alpha, cfg.elastic_sigma, scale)
        core = cv2.remap(core, dx, dy, cv2.INTER_NEAREST | cv2.WARP_RELATIVE_MAP,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        k1 = odd_kernel(rng, *cfg.blur_kernel)
        k2 = odd_kernel(rng, *cfg.blur_kernel)
        sigma2 = float(rng.integers(cfg.blur2_sigma[0], cfg.blur2_sigma[1] + 1))
        soft = soften_mask(core, k1, k2, sigma2)
        return cv2.resize(soft, (w, h), interpolation=cv2.INTER_LINEAR), _support_box(soft, (h, w))

    def gen(self, crop: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator,
            mask_type: str | None = None, source: np.ndarray | None = None) -> SynthSample:
        """One (real, fake) pair from an RGB uint8 crop and its (68, 2) landmarks.

        `source`: another face already aligned onto this crop (synthesis.donor), blended in
        instead of the crop itself; None is the self-blend."""
        cfg = self.cfg
        crop = np.ascontiguousarray(crop)
        landmarks = np.asarray(landmarks, np.float32)
        if crop.dtype != np.uint8 or crop.ndim != 3 or crop.shape[2] != 3:
            raise ValueError(f"expected an RGB uint8 crop, got {crop.dtype} {crop.shape}")
        if landmarks.shape != (68, 2) or not np.isfinite(landmarks).all():
            raise ValueError(f"expected finite (68, 2) landmarks, got {landmarks.shape}")
        if mask_type is None:
            mask_type = choose_mask_type(rng, cfg.p_global_mask)
        elif mask_type not in MASK_TYPES:
            raise ValueError(f"unknown mask type {mask_type!r}; choose one of {MASK_TYPES}")
        h, w = crop.shape[:2]

        if source is not None and source.shape != crop.shape:
            raise ValueError(f"the blend source {source.shape} must have the crop's shape {crop.shape}")
        source, target = (crop if source is None else source), crop
        if rng.random() < 0.5:
            source = jitter(source, rng, cfg)
        else:
            target = jitter(crop, rng, cfg)
        matrix = random_affine(crop.shape, rng, cfg)
        ratio = float(rng.choice(cfg.blend_ratios))
        mask, (y0, y1, x0, x1) = self.blend_mask(landmarks, crop.shape, matrix, mask_type, rng)
        mask *= np.float32(ratio)

        # The moved source matters only inside the mask's box: warp just that part.
        fake, moved = target.copy(), target.copy()
        if y1 > y0 and x1 > x0:
            box = np.s_[y0:y1, x0:x1]
            shifted = matrix - np.array([[0, 0, x0], [0, 0, y0]], np.float32)
            moved[box] = cv2.warpAffine(source, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REFLECT_101)
            d = np.subtract(moved[box], target[box], dtype=np.float32)
            d *= mask[box][..., None]
            d += target[box]
            fake[box] = np.rint(d, out=d)
        return SynthSample(real=target, fake=fake, mask=mask, mask_type=mask_type,
                           blend_ratio=ratio, source=moved)
