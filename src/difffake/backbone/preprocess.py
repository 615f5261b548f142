"""Crop -> network input: the ONE preprocessing path for training, validation and inference.

`synthesis.dataset` (training / checkpoint-picking validation) and
`Backbone.preprocess` (embeddings, scan) both use these functions, so a model
is always fed at inference exactly what it was validated on. Kept free of
timm / model imports so the dataset can import it without a cycle.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch

# Part of the embedding cache key (embeddings.backbone_fingerprint): bump it
# whenever the pixels fed to the network change, so stale caches are not reused.
# 2: inference switched from cv2.resize to the dataset's warp (view_matrix/warp_view/to_tensor).
PREPROCESS_VERSION = 2


def view_matrix(shape, size: int, rng: np.random.Generator | None, cfg=None) -> np.ndarray:
    """2x3 matrix mapping a crop to the (size, size) input: crop jitter + flip + resize.

    With rng None: the plain resize (no augmentation; `cfg` unused). Otherwise
    `cfg` (a SynthConfig) gives aug_crop_min and aug_hflip.
    """
    h, w = shape[:2]
    x0, y0, cw, ch = 0.0, 0.0, float(w), float(h)
    flip = False
    if rng is not None:
        f = rng.uniform(cfg.aug_crop_min, 1.0)
        cw, ch = w * f, h * f
        x0, y0 = rng.uniform(0, w - cw), rng.uniform(0, h - ch)
        flip = rng.random() < cfg.aug_hflip
    sx, sy = size / cw, size / ch
    # Pixel centres: u = (x - x0 + 0.5) * sx - 0.5; a flip mirrors u -> size - 1 - u.
    m = np.array([[sx, 0, (0.5 - x0) * sx - 0.5], [0, sy, (0.5 - y0) * sy - 0.5]], np.float64)
    if flip:
        m[0] = -m[0]
        m[0, 2] += size - 1
    return m


def warp_view(img: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Apply a view matrix; strong downscales go through INTER_AREA first (no aliasing)."""
    sx, sy = float(np.hypot(*m[0, :2])), float(np.hypot(*m[1, :2]))
    if max(sx, sy) < 0.8:
        h, w = img.shape[:2]
        nw, nh = max(1, round(w * sx)), max(1, round(h * sy))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA)
        fx, fy = nw / w, nh / h
        # Small pixel x' -> crop pixel x = (x' + 0.5) / fx - 0.5, composed before m.
        pre = np.array([[1 / fx, 0, 0.5 / fx - 0.5], [0, 1 / fy, 0.5 / fy - 0.5], [0, 0, 1]])
        m = m @ pre
    return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)


def to_tensor(rgb: np.ndarray, mean, std) -> torch.Tensor:
    """(S, S, 3) uint8 -> (3, S, S) float32, (x / 255 - mean) / std."""
    x = rgb.astype(np.float32) * np.float32(1 / 255)
    x -= np.asarray(mean, np.float32)
    x /= np.asarray(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def preprocess_crop(crop: np.ndarray, size: int, mean, std) -> torch.Tensor:
    """RGB uint8 crop (any size) -> (3, size, size) float32: the non-augmented view."""
    return to_tensor(warp_view(crop, view_matrix(crop.shape, size, None), size), mean, std)
