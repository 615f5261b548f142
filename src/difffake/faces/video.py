"""Frame sampling: N evenly spaced frames of a video (or the one frame of a photo).

Videos are decoded in ONE sequential grab/retrieve pass: seeking with
CAP_PROP_POS_FRAMES cost ~9x more on this machine for identical frames
(docs: /work/shared/FINDINGS.md). Only the wanted frames are converted to RGB.

`iter_frames` yields frames one at a time so a caller can process an 8K video
without holding 32 full frames in memory; `sample_frames` collects them.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import MediaError

log = logging.getLogger("difffake.faces")

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_EXTENSIONS = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv"}
GIF_EXTENSIONS = {".gif"}
MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS | GIF_EXTENSIONS


def collect_media(inputs, explicit_id: str = "name") -> tuple[list[tuple[str, str]], list[dict]]:
    """(path, video id) of every media file in `inputs`, and problems (dicts id, path, reason).

    The listing and its id rules are difffake.faces.listing (explicit_id is its `ids`):
    a folder is walked (sorted, media extensions only); missing inputs, folders
    without media, broken links and duplicate store ids are problems.
    """
    from .listing import list_inputs

    listing = list_inputs(inputs, ids=explicit_id)
    for note in listing.notes:
        log.warning("%s", note)
    return listing.jobs, [dict(id=e.video_id, path=e.path, reason=e.reason) for e in listing.problems]


def media_kind(path) -> str:
    """'image', 'gif', 'video' by extension, or '' for anything else."""
    ext = Path(path).suffix.lower()
    if ext in IMAGE_EXTENSIONS:
        return "image"
    if ext in GIF_EXTENSIONS:
        return "gif"
    if ext in VIDEO_EXTENSIONS:
        return "video"
    return ""


def even_indices(total: int, num_frames: int) -> np.ndarray:
    """`num_frames` evenly spaced indices in [0, total), first and last included; unique."""
    if total <= 0:
        return np.zeros(0, np.int64)
    if num_frames >= total:
        return np.arange(total, dtype=np.int64)
    return np.unique(np.linspace(0, total - 1, num_frames).round().astype(np.int64))


def sample_frames(path, num_frames: int) -> tuple[list[np.ndarray], np.ndarray, dict]:
    """Decode `num_frames` evenly spaced RGB frames: (frames, frame indices, info)."""
    info: dict = {}
    pairs = list(iter_frames(path, num_frames, info))
    pairs.sort(key=lambda p: p[0])
    frames = [f for _, f in pairs]
    indices = np.array([i for i, _ in pairs], np.int64)
    return frames, indices, info


def iter_frames(path, num_frames: int, info: dict | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, RGB uint8 frame) for evenly spaced frames; fills `info`.

    Raises MediaError naming the file and the reason when nothing can be decoded.
    Indices are increasing except in the rare case where the container reported
    more frames than it holds (see `_iter_video`).
    """
    path = Path(path)
    info = {} if info is None else info
    if not path.exists():
        raise MediaError(path, "no such file")
    if path.is_dir():
        raise MediaError(path, "is a folder, not a media file")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    kind = media_kind(path)
    if kind == "image":
        yield 0, _read_image(path, info)
    elif kind == "gif":
        yield from _iter_gif(path, num_frames, info)
    else:  # videos and unknown extensions: let FFmpeg try
        yield from _iter_video(path, num_frames, info)


def _read_image(path: Path, info: dict) -> np.ndarray:
    data = np.fromfile(str(path), np.uint8)  # imdecode also copes with non-ASCII paths
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)  # grayscale / palette / alpha -> 3 channels
    if bgr is not None:
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        decoder = "opencv"
    else:
        rgb = _read_image_pil(path)
        decoder = "pil"
    h, w = rgb.shape[:2]
    info.update(kind="image", decoder=decoder, frame_count=1, reported_frame_count=1,
                fps=0.0, width=w, height=h)
    return rgb


def _read_image_pil(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB")).copy()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(path, f"not a readable image ({type(exc).__name__}: {exc})") from None


def _iter_gif(path: Path, num_frames: int, info: dict):
    # OpenCV's FFmpeg reads most GIFs; PIL is the fallback for the ones it cannot.
    try:
        yield from _iter_video(path, num_frames, info)
        return
    except MediaError:
        pass
    from PIL import Image, ImageSequence, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            total = getattr(im, "n_frames", 1)
            wanted = set(even_indices(total, num_frames).tolist())
            for i, frame in enumerate(ImageSequence.Iterator(im)):
                if i in wanted:
                    rgb = np.asarray(frame.convert("RGB")).copy()
                    info.update(kind="gif", decoder="pil", frame_count=total,
                                reported_frame_count=total, fps=0.0,
                                width=rgb.shape[1], height=rgb.shape[0])
                    yield i, rgb
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise MediaError(path, f"not a readable GIF ({type(exc).__name__}: {exc})") from None


def _count_frames(cap: cv2.VideoCapture) -> int:
    n = 0
    while cap.grab():
        n += 1
    return n


def _iter_video(path: Path, num_frames: int, info: dict):
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise MediaError(path, "cannot be opened as a video (not a video, unsupported codec, "
                                   "or truncated container)")
        reported = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        info.update(kind="gif" if path.suffix.lower() == ".gif" else "video", decoder="opencv",
                    reported_frame_count=reported, fps=fps,
                    width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                    height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
        total = reported
        if total <= 0:
            # Some containers (webm, streams) report no count: count in a cheap grab pass.
            total = _count_frames(cap)
            cap.release()
            cap = cv2.VideoCapture(str(path))
        wanted = even_indices(total, num_frames)
        yielded: set[int] = set()
        decoded = 0
        for target in wanted:
            ok = True
            while decoded <= target:
                ok = cap.grab()
                if not ok:
                    break
                decoded += 1
            if not ok:
                break
            frame = _retrieve_rgb(cap)
            if frame is None:
                continue
            yielded.add(int(target))
            yield int(target), frame
        else:
            info["frame_count"] = total
            if not yielded:
                raise MediaError(path, "no decodable frames (corrupt video)")
            return
        # The stream ended before the reported count (a wrong header or a truncated
        # file): the real count is `decoded`. Replace the missing tail frames by
        # evenly spaced frames of the real length, in a second pass.
        real_total = decoded
        info["frame_count"] = real_total
        if real_total == 0:
            raise MediaError(path, "no decodable frames (truncated or corrupt video)")
        missing = len(wanted) - len(yielded)
        extra = [int(i) for i in even_indices(real_total, num_frames) if int(i) not in yielded]
        extra = sorted(extra)[-missing:] if missing > 0 else []
        if not extra:
            return
        cap.release()
        cap = cv2.VideoCapture(str(path))
        decoded = 0
        for target in extra:
            while decoded <= target:
                if not cap.grab():
                    return
                decoded += 1
            frame = _retrieve_rgb(cap)
            if frame is not None:
                yield target, frame
    finally:
        cap.release()


def _retrieve_rgb(cap: cv2.VideoCapture) -> np.ndarray | None:
    ok, bgr = cap.retrieve()
    if not ok or bgr is None:
        return None
    if bgr.ndim == 2:
        return cv2.cvtColor(bgr, cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
