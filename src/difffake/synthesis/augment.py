"""Source/target jitter of the self-blending recipe, written as a few whole-image cv2 passes.

Recipe (SBI, as used by DiffFake): RGB shift +-20 per channel (p 0.3), HSV shift
+-0.3, brightness/contrast +-0.1, then either a 2x/4x down-and-up-scale or a
sharpen (alpha 0.2-0.5, lightness 0.5-1.0).

Units follow albumentations on uint8 images, which the paper's code uses: hue is
in OpenCV units (0-180), saturation and value in levels (0-255), and the shift
goes through truncating uint8 look-up tables. So the paper's +-0.3 moves a
level by at most one; what remains of that step is mostly the lossy uint8
RGB->HSV->RGB round trip. We keep it (it is cheap) for fidelity.
"""
from __future__ import annotations

import cv2
import numpy as np

_LEVELS = np.arange(256, dtype=np.float32)


def _lut(values: np.ndarray) -> np.ndarray:
    return np.clip(values, 0, 255).astype(np.uint8)


def color_jitter(img: np.ndarray, rng: np.random.Generator, cfg) -> np.ndarray:
    """RGB shift, HSV shift and brightness/contrast: three look-up tables and an HSV round trip."""
    # 1) Per-channel RGB shift, one (1, 256, 3) LUT for the three channels.
    if rng.random() < cfg.p_rgb_shift:
        shift = rng.uniform(-cfg.rgb_shift, cfg.rgb_shift, 3).astype(np.float32)
        img = cv2.LUT(img, _lut(np.rint(_LEVELS[:, None] + shift[None, :]))[None])
    # 2) HSV shift; truncation as albumentations' uint8 LUTs (see module doc).
    dh, ds, dv = rng.uniform(-1, 1, 3) * np.asarray(cfg.hsv_shift, np.float32)
    hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
    sat_lut = _lut(np.floor(_LEVELS + ds))
    sat_lut[0] = 0  # grey pixels stay grey
    lut = np.stack([np.mod(np.floor(_LEVELS + dh), 180).astype(np.uint8),
                    sat_lut, _lut(np.floor(_LEVELS + dv))], axis=1)
    img = cv2.cvtColor(cv2.LUT(hsv, lut[None]), cv2.COLOR_HSV2RGB)
    # 3) Brightness/contrast: alpha * x + beta * 255, one LUT.
    alpha = 1.0 + rng.uniform(-cfg.contrast, cfg.contrast)
    beta = rng.uniform(-cfg.brightness, cfg.brightness) * 255.0
    return cv2.LUT(img, _lut(np.rint(alpha * _LEVELS + beta)))


def sharpen(img: np.ndarray, rng: np.random.Generator, cfg) -> np.ndarray:
    """3x3 sharpen: identity blended with a Laplacian-like kernel (albumentations' formula)."""
    a = rng.uniform(*cfg.sharpen_alpha)
    light = rng.uniform(*cfg.sharpen_lightness)
    kernel = np.full((3, 3), -a, np.float32)
    kernel[1, 1] = (1 - a) + a * (8 + light)
    return cv2.filter2D(img, -1, kernel, borderType=cv2.BORDER_REFLECT_101)


def jitter(img: np.ndarray, rng: np.random.Generator, cfg) -> np.ndarray:
    """The full source/target jitter: colour, then a 2x/4x down-up-scale or a sharpen (50/50).

    The downscale is nearest-neighbour, which only picks pixels, and the colour
    jitter is per pixel: the two commute (to +-1 level: OpenCV's uint8 HSV->RGB
    rounds its SIMD body and row tail differently), so in that branch the
    colour jitter runs on the 4x or 16x smaller image.
    """
    h, w = img.shape[:2]
    if rng.random() < 0.5:
        f = float(rng.choice(cfg.downscale_factors))
        small = cv2.resize(img, (max(1, int(w / f)), max(1, int(h / f))),
                           interpolation=cv2.INTER_NEAREST)
        return cv2.resize(color_jitter(small, rng, cfg), (w, h), interpolation=cv2.INTER_LINEAR)
    return sharpen(color_jitter(img, rng, cfg), rng, cfg)


def random_affine(shape, rng: np.random.Generator, cfg) -> np.ndarray:
    """2x3 matrix: scale about the centre, translate by a fraction of the size."""
    h, w = shape[:2]
    s = rng.uniform(cfg.affine_scale[0], cfg.affine_scale[1])
    tx = rng.uniform(-cfg.affine_translate[0], cfg.affine_translate[0]) * w
    ty = rng.uniform(-cfg.affine_translate[1], cfg.affine_translate[1]) * h
    cx, cy = (w - 1) / 2, (h - 1) / 2
    return np.array([[s, 0, (1 - s) * cx + tx], [0, s, (1 - s) * cy + ty]], np.float32)


def elastic_field(shape, rng: np.random.Generator, alpha: float, sigma: float,
                  scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Smooth random displacement (dx, dy) for an image `scale` x the size it was specified for.

    Same law as albumentations' ElasticTransform at full size: Gaussian noise
    divided by its max |value|, blurred with sigma, times alpha. Two shortcuts,
    both exact in distribution up to the normalising max: (1) at scale s the
    blur is sigma*s, which shrinks the std by 1/s while displacements in small
    pixels must shrink by s, hence alpha * s**2; (2) the noise is drawn on a
    grid g times coarser (g <= sigma*s, so the coarse blur still spans a cell), blurred
    there with sigma*s/g and upsampled linearly; coarse cells average g*g
    pixels' worth of noise, so the std is divided by g.
    """
    h, w = shape[:2]
    sig = sigma * scale
    g = max(1, int(sig))
    ch, cw = -(-h // g) + 1, -(-w // g) + 1
    noise = rng.standard_normal((2, ch, cw), dtype=np.float32)
    noise /= max(float(np.abs(noise).max()), 1e-6)
    k = np.float32(alpha * scale * scale / g)
    out = []
    for field in noise:
        field = cv2.GaussianBlur(field, (0, 0), sig / g, borderType=cv2.BORDER_REPLICATE)
        # Coarse cell centres at i*g: an affine resize of the (ch, cw) grid to (ch-1)*g+1 pixels.
        big = cv2.resize(field, ((cw - 1) * g + 1, (ch - 1) * g + 1), interpolation=cv2.INTER_LINEAR)
        out.append(big[:h, :w] * k)
    return out[0], out[1]
