"""Domain augmentation: the same capture degradation applied to a real crop and its fake.

Real test footage is small, re-encoded, colour-cast and overlaid (streams, TV);
the training reals are mostly clean crops. Unless both sides of a pair are
degraded identically, "small / blocky / tinted" becomes a cue for REAL and the
blend artefacts the network should see are hidden behind the domain gap. Every
operation here draws its parameters once and applies them to both images, so
only the blend can still tell them apart.

Operations (each with its own probability, all parameters from `rng`):
- resample: shrink the crop to a face-sized side (a 50-90 px face in a 1.3x box
  is a 65-120 px crop), then back up, with random interpolations;
- JPEG re-encode at a random quality (block artefacts, chroma subsampling);
- colour cast: per-channel gains and a gamma curve;
- overlay: an opaque or translucent box with text near a border, as stream
  overlays and news tickers cut into face crops.
"""
from __future__ import annotations

import cv2
import numpy as np

_INTERP = (cv2.INTER_AREA, cv2.INTER_LINEAR, cv2.INTER_CUBIC)


def degrade_pair(real: np.ndarray, fake: np.ndarray, rng: np.random.Generator, cfg):
    """(real, fake) RGB uint8 crops after one shared random degradation (`cfg`: a SynthConfig)."""
    ops = draw_degradation(rng, cfg)
    return apply_ops(ops, real), apply_ops(ops, fake)


def draw_degradation(rng: np.random.Generator, cfg) -> list:
    """A random degradation as a list of ops; each op works on any crop size, so one draw can
    degrade every frame of a video the same way (synthesis.video). Empty with prob 1 - p_domain."""
    if rng.random() >= cfg.p_domain:
        return []
    ops = []
    if rng.random() < cfg.p_resample:
        ops.append(_resampler(rng.uniform(*cfg.resample_side), rng))
    if rng.random() < cfg.p_color:
        ops.append(_color_cast(rng, cfg))
    if rng.random() < cfg.p_overlay:
        ops.append(_overlay(rng))
    if rng.random() < cfg.p_jpeg:   # last: the codec sees everything above, as in a real encode
        quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
        ops.append(lambda im, q=quality: _jpeg(im, q))
    return ops


def apply_ops(ops, img: np.ndarray) -> np.ndarray:
    for op in ops:
        img = op(img)
    return img


def _resampler(side: float, rng):
    down, up = (_INTERP[int(rng.integers(len(_INTERP)))] for _ in range(2))
    up = cv2.INTER_LINEAR if up == cv2.INTER_AREA else up   # AREA is for shrinking only

    def apply(im):
        h, w = im.shape[:2]
        scale = min(1.0, side / max(h, w))
        nh, nw = max(8, round(h * scale)), max(8, round(w * scale))
        small = cv2.resize(im, (nw, nh), interpolation=down)
        return cv2.resize(small, (w, h), interpolation=up)
    return apply


def _color_cast(rng, cfg):
    gains = 1.0 + rng.uniform(-cfg.color_gain, cfg.color_gain, 3)
    gamma = float(np.exp(rng.uniform(-cfg.color_log_gamma, cfg.color_log_gamma)))
    lut = np.stack([np.clip(255.0 * (np.arange(256) / 255.0) ** gamma * g, 0, 255)
                    for g in gains], axis=1).astype(np.uint8)     # (256, 3)

    def apply(im):
        return np.stack([lut[im[..., c], c] for c in range(3)], axis=-1)
    return apply


def _overlay(rng):
    fh, fw = rng.uniform(0.08, 0.25), rng.uniform(0.3, 1.0)      # box size, fractions of the crop
    top = rng.random() < 0.5
    fx = rng.random()                                            # left edge, fraction of the free width
    colour = tuple(int(v) for v in rng.integers(0, 256, 3))
    alpha = float(rng.choice([1.0, rng.uniform(0.4, 0.9)]))
    text = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(3, 10))))
    ink = tuple(255 - c for c in colour)

    def apply(im):
        h, w = im.shape[:2]
        bh, bw = max(4, int(h * fh)), max(4, int(w * fw))
        y0 = 0 if top else h - bh
        x0 = int(fx * max(0, w - bw))
        out = im.copy()
        box = out[y0:y0 + bh, x0:x0 + bw]
        layer = np.empty_like(box)
        layer[:] = colour
        cv2.putText(layer, text, (2, bh - 3), cv2.FONT_HERSHEY_SIMPLEX, bh / 40.0, ink, 1, cv2.LINE_AA)
        out[y0:y0 + bh, x0:x0 + bw] = np.rint(alpha * layer + (1 - alpha) * box).astype(np.uint8)
        return out
    return apply


def _jpeg(im: np.ndarray, quality: int) -> np.ndarray:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(im, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise RuntimeError(f"OpenCV could not JPEG-encode a {im.shape} crop")
    return cv2.cvtColor(cv2.imdecode(buf, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
