"""One photo -> one RGB frame, within difffake's pixel limit (faces.limits).

The header is read first (Pillow reads only the header on open): a file that
declares more pixels than the limit is decoded reduced when it is a JPEG
(libjpeg scales while decoding, so the full image never exists in memory) and
refused otherwise, before any large buffer is allocated. OpenCV decodes; Pillow
is the fallback for the files OpenCV cannot read.
"""
from __future__ import annotations

import struct
import threading
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ..errors import MediaError
from .limits import max_pixels, reduce_factor, too_large
from .native_logs import quiet_opencv

_REDUCED = {1: cv2.IMREAD_COLOR, 2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
            8: cv2.IMREAD_REDUCED_COLOR_8}
_REDUCIBLE = {"JPEG", "MPO"}     # formats whose decoder scales while decoding
_PIL_LOCK = threading.Lock()     # Pillow's own bomb check is a module global: ours replaces it
# What Pillow's parsers raise on malformed bytes (found by fuzzing: IndexError in a GIF's
# n_frames, struct.error in headers): a property of the file, reported as its reason.
PIL_ERRORS = (OSError, ValueError, SyntaxError, EOFError, IndexError, KeyError, TypeError,
              struct.error, ZeroDivisionError, MemoryError, Image.DecompressionBombError)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# difffake's own limit replaces Pillow's warning, which would reach stderr unprefixed (a GIF
# frame's seek warns even when the file is then refused)
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def _pil_open(path: Path):
    """Image.open without Pillow's decompression-bomb check (difffake applies its own limit)."""
    with _PIL_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = saved


def image_header(path: Path) -> tuple[str, int, int] | None:
    """(format, width, height) from the header alone; None when Pillow does not know the file."""
    try:
        with _pil_open(path) as im:
            return str(im.format or ""), int(im.size[0]), int(im.size[1])
    except Exception:   # noqa: BLE001 - any header Pillow cannot parse: OpenCV gets its own try
        return None


def read_image(path, info: dict, limit: int | None = None) -> np.ndarray:
    """The RGB frame of a photo (fills `info`); MediaError naming the file and the reason."""
    path = Path(path)
    quiet_opencv()   # OpenCV's "[ WARN ] ... PNG input buffer is incomplete" would reach stderr
    limit = max_pixels(limit)
    header = image_header(path)
    factor = 1
    if header is not None:
        fmt, w, h = header
        if w * h > limit:
            factor = reduce_factor(w, h, limit) if fmt in _REDUCIBLE else None
            if factor is None:
                raise MediaError(path, too_large(w, h, limit))
        if fmt == "PNG":
            _check_png_chunks(path)
    data = np.fromfile(str(path), np.uint8)   # imdecode also copes with non-ASCII paths
    if header is None and data[:8].tobytes() == PNG_SIGNATURE:   # libpng would print its own error
        raise MediaError(path, "not a readable image (corrupt PNG header)")
    try:
        bgr = cv2.imdecode(data, _REDUCED[factor])   # grayscale / palette / alpha -> 3 channels
    except cv2.error as exc:   # e.g. OpenCV's own size limit: say so, not its assertion text
        raise MediaError(path, f"not a readable image (OpenCV refused it: {_cv_reason(exc)})") from None
    del data
    if bgr is not None:
        rgb, decoder = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB, dst=bgr), "opencv"   # in place: no 2nd copy
    else:
        rgb, decoder = _read_image_pil(path, limit, factor), "pil"
    h, w = rgb.shape[:2]
    if h * w > limit:   # a format Pillow could not size: refuse what came out too large
        raise MediaError(path, too_large(w, h, limit))
    info.update(kind="image", decoder=decoder, frame_count=1, reported_frame_count=1,
                fps=0.0, width=w, height=h, reduced=factor)
    return rgb


def _read_image_pil(path: Path, limit: int, factor: int) -> np.ndarray:
    try:
        with _pil_open(path) as im:
            w, h = im.size
            if factor > 1:
                im.draft("RGB", (-(-w // factor), -(-h // factor)))
            elif w * h > limit:
                raise MediaError(path, too_large(w, h, limit))
            return np.asarray(im.convert("RGB")).copy()
    except PIL_ERRORS as exc:
        raise MediaError(path, f"not a readable image ({type(exc).__name__}: {exc})") from None


def _check_png_chunks(path: Path) -> None:
    """Chunk structure and CRCs, without decoding: libpng prints its own "libpng error: ..." to
    stderr for a cut-off PNG (OpenCV installs no handler), so such a file never reaches it."""
    try:
        with _pil_open(path) as im:
            im.verify()
    except Exception as exc:   # noqa: BLE001 - Pillow raises SyntaxError, OSError, EOFError, struct.error ...
        raise MediaError(path, f"not a readable image (truncated or corrupt PNG: {exc or type(exc).__name__})") from None


def _cv_reason(exc: Exception) -> str:
    """OpenCV's failed check, without its source-file prefix ('pixels <= CV_IO_MAX_IMAGE_PIXELS')."""
    text = str(exc).strip()
    if "Assertion failed)" in text:
        text = text.split("Assertion failed)", 1)[1].split(" in function", 1)[0].strip()
    return text.splitlines()[-1] if text else type(exc).__name__
