"""difffake's own pixel limit: how large a decoded image or video frame may be.

A 700 KB PNG can declare 15000 x 15000 pixels and take 1.5 GB to decode. Every
image and video frame is checked against DIFFFAKE_MAX_PIXELS (default 50
megapixels) before decoding: a JPEG above it is decoded reduced (1/2, 1/4 or
1/8, which libjpeg does without ever holding the full image); any other file
above it is refused with its size in the reason. The detector itself never
looks at more than `FaceConfig.max_side` (1280) pixels a side, so nothing under
the limit changes.
"""
from __future__ import annotations

import os

from ..errors import UsageError

MAX_PIXELS_ENV = "DIFFFAKE_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 50_000_000
REDUCE_FACTORS = (2, 4, 8)   # what OpenCV's IMREAD_REDUCED_COLOR_* and libjpeg's DCT scaling offer


def max_pixels(value=None) -> int:
    """The limit: `value`, else $DIFFFAKE_MAX_PIXELS (e.g. 80000000 or 80e6), else 50 megapixels."""
    raw = value if value is not None else os.environ.get(MAX_PIXELS_ENV, "")
    if raw in ("", None):
        return DEFAULT_MAX_PIXELS
    try:
        limit = int(float(raw))
    except (TypeError, ValueError):
        raise UsageError(f"{MAX_PIXELS_ENV}={raw!r} is not a number of pixels (e.g. 80000000)") from None
    if limit < 1:
        raise UsageError(f"{MAX_PIXELS_ENV} must be at least 1, not {raw!r}")
    return limit


def megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:.0f} MP" if pixels >= 10e6 else f"{pixels / 1e6:.1f} MP"


def too_large(width: int, height: int, limit: int, what: str = "image") -> str:
    """The reason given for a file refused by the limit."""
    return (f"{what} is {width}x{height} pixels ({megapixels(width * height)}), above difffake's "
            f"limit of {megapixels(limit)}; set {MAX_PIXELS_ENV} to raise it")


def reduce_factor(width: int, height: int, limit: int) -> int | None:
    """Smallest of 1, 2, 4, 8 that brings the image under `limit`; None when even 1/8 is above."""
    for factor in (1, *REDUCE_FACTORS):
        if -(-width // factor) * -(-height // factor) <= limit:
            return factor
    return None
