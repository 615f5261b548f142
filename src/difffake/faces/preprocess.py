"""Crop -> network input: the ONE preprocessing path for training, validation and inference.

`synthesis.dataset` (training / checkpoint-picking validation) and
`Backbone.preprocess` (embeddings, scan) both use these functions, so a model
is always fed at inference exactly what it was validated on. The ONNX Runtime
engine (backbone.onnx_engine) feeds `preprocess_batch` too, so both engines see
identical pixels. numpy + OpenCV only: torch is imported by `to_tensor` alone,
so the torch-free scan path can use this module.
"""
from __future__ import annotations

import cv2
import numpy as np

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


def to_array(rgb: np.ndarray, mean, std) -> np.ndarray:
    """(S, S, 3) uint8 -> (3, S, S) float32, (x / 255 - mean) / std."""
    x = rgb.astype(np.float32) * np.float32(1 / 255)
    x -= np.asarray(mean, np.float32)
    x /= np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def to_tensor(rgb: np.ndarray, mean, std):
    """`to_array` as a torch tensor (no copy)."""
    import torch
    return torch.from_numpy(to_array(rgb, mean, std))


def preprocess_crop_array(crop: np.ndarray, size: int, mean, std) -> np.ndarray:
    """RGB uint8 crop (any size) -> (3, size, size) float32: the non-augmented view."""
    return to_array(warp_view(crop, view_matrix(crop.shape, size, None), size), mean, std)


def preprocess_crop(crop: np.ndarray, size: int, mean, std):
    """`preprocess_crop_array` as a torch tensor."""
    import torch
    return torch.from_numpy(preprocess_crop_array(crop, size, mean, std))


def preprocess_batch(crops, size: int, mean, std) -> np.ndarray:
    """RGB uint8 crops (any sizes) -> (N, 3, size, size) float32: what both engines are fed."""
    out = np.empty((len(crops), 3, size, size), np.float32)
    for i, crop in enumerate(crops):
        crop = np.asarray(crop)
        if crop.ndim != 3 or crop.shape[2] != 3 or crop.dtype != np.uint8:
            raise ValueError(f"crop {i}: expected RGB uint8 (H, W, 3), got {crop.dtype} {crop.shape}")
        out[i] = preprocess_crop_array(crop, size, mean, std)
    return out
