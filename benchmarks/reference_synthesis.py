"""Reference pseudo-fake generator: the same recipe written as the paper's code writes it.

albumentations transforms on full-size images (RGBShift, HueSaturationValue,
RandomBrightnessContrast, Downscale/Sharpen via OneOf, Affine, ElasticTransform
on source and mask together), a float mask blurred at a random working size,
float64 blending and a truncating cast to uint8. Same landmark hulls as
difffake.synthesis.masks. Written for the speed/statistics comparison in
bench_synthesis.py; it is not part of the package.
"""
from __future__ import annotations

import random

import albumentations as A
import cv2
import numpy as np

from difffake.synthesis.masks import GLOBAL_TYPES, REGION_TYPES, make_mask

BLEND_RATIOS = [0.25, 0.5, 0.75, 1, 1, 1]


def _downscale(scale: float) -> A.Downscale:
    return A.Downscale(scale_range=(scale, scale), p=1,
                       interpolation_pair={"downscale": cv2.INTER_NEAREST, "upscale": cv2.INTER_LINEAR})


class ReferenceGenerator:
    def __init__(self, seed: int = 0):
        random.seed(seed)
        np.random.seed(seed)
        self.source_transforms = A.Compose([
            A.Compose([
                A.RGBShift((-20, 20), (-20, 20), (-20, 20), p=0.3),
                A.HueSaturationValue(hue_shift_limit=(-0.3, 0.3), sat_shift_limit=(-0.3, 0.3),
                                     val_shift_limit=(-0.3, 0.3), p=1),
                A.RandomBrightnessContrast(brightness_limit=(-0.1, 0.1), contrast_limit=(-0.1, 0.1), p=1),
            ], p=1),
            A.OneOf([A.OneOf([_downscale(0.5), _downscale(0.25)], p=1),
                     A.Sharpen(alpha=(0.2, 0.5), lightness=(0.5, 1.0), p=1)], p=1),
        ], p=1, seed=seed)
        self.affine = A.Affine(translate_percent={"x": (-0.03, 0.03), "y": (-0.015, 0.015)},
                               scale=(0.95, 1 / 0.95), fit_output=False, p=1)
        self.elastic = A.ElasticTransform(alpha=50, sigma=7, p=1)
        self.affine.set_random_seed(seed)
        self.elastic.set_random_seed(seed + 1)

    @staticmethod
    def blend_mask(mask: np.ndarray) -> np.ndarray:
        h, w = mask.shape
        size_h, size_w = np.random.randint(192, 257), np.random.randint(192, 257)
        mask = cv2.resize(mask, (size_w, size_h))
        k1, k2 = random.randrange(5, 26, 2), random.randrange(5, 26, 2)
        blurred = cv2.GaussianBlur(mask, (k1, k1), 0)
        blurred = blurred / blurred.max()
        blurred[blurred < 1] = 0
        blurred = cv2.GaussianBlur(blurred, (k2, k2), np.random.randint(5, 46))
        blurred = blurred / blurred.max()
        return cv2.resize(blurred, (w, h))

    def gen(self, crop: np.ndarray, landmarks: np.ndarray, mask_type: str | None = None):
        """(real, fake, mask (H, W) in [0, ratio], mask_type, ratio)."""
        if mask_type is None:
            # Legacy global state, as the paper's code.
            types = GLOBAL_TYPES if np.random.rand() < 0.5 else REGION_TYPES
            mask_type = types[np.random.randint(len(types))]
        mask = make_mask(landmarks, crop.shape, mask_type).astype(np.float64)
        source, target = crop.copy(), crop.copy()
        if np.random.rand() < 0.5:
            source = self.source_transforms(image=source)["image"]
        else:
            target = self.source_transforms(image=target)["image"]
        out = self.affine(image=source, mask=mask)
        source, mask = out["image"], out["mask"]
        mask = self.elastic(image=source, mask=mask)["mask"]   # the image result is discarded
        mask = self.blend_mask(mask)
        ratio = BLEND_RATIOS[np.random.randint(len(BLEND_RATIOS))]
        mask = mask * ratio
        fake = mask[..., None] * source + (1 - mask[..., None]) * target
        return target, fake.astype(np.uint8), mask.astype(np.float32), mask_type, float(ratio)
