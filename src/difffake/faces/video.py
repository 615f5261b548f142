"""Frame sampling: N evenly spaced frames of a video (or the one frame of a photo).

Videos are decoded in ONE sequential grab/retrieve pass: seeking with
CAP_PROP_POS_FRAMES cost ~9x more on this machine for identical frames
(docs: /work/shared/FINDINGS.md). Only the wanted frames are converted to RGB.

`iter_frames` yields frames one at a time so a caller can process an 8K video
without holding 32 full frames in memory; `sample_frames` collects them.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import MediaError
from .file_checks import check_readable
from .images import read_image
from .limits import max_pixels as _max_pixels
from .limits import too_large
from .native_logs import quiet_opencv
from .stream_check import open_failure_reason

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


def iter_frames(path, num_frames: int, info: dict | None = None,
                max_pixels: int | None = None,
                decode_threads: int | None = None) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, RGB uint8 frame) for evenly spaced frames; fills `info`.

    `decode_threads`: FFmpeg's decoding threads for a video (None: OpenCV's default, one per
    core). The frames are the same either way; one thread costs less CPU, more wall time.

    Raises MediaError naming the file and the reason when nothing can be decoded,
    when the path is not a readable regular file (faces.file_checks), or when an
    image or video frame is larger than `max_pixels` (default $DIFFFAKE_MAX_PIXELS
    or 50 MP; faces.limits; a JPEG above it is decoded reduced).
    Indices are increasing except in the rare case where the container reported
    more frames than it holds (see `_iter_video`).
    """
    path = Path(path)
    info = {} if info is None else info
    check_readable(path)   # before any decoder: a FIFO would block it, a 0-byte file confuse it
    if num_frames < 1:
        raise ValueError(f"num_frames must be >= 1, got {num_frames}")
    limit = _max_pixels(max_pixels)
    kind = media_kind(path)
    if kind == "image":
        yield 0, read_image(path, info, limit)
    elif kind == "gif":
        yield from _iter_gif(path, num_frames, info, limit, decode_threads)
    else:  # videos and unknown extensions: let FFmpeg try
        yield from _iter_video(path, num_frames, info, limit, decode_threads)


def _iter_gif(path: Path, num_frames: int, info: dict, limit: int, decode_threads: int | None = None):
    # OpenCV's FFmpeg reads most GIFs; PIL is the fallback for the ones it cannot.
    try:
        yield from _iter_video(path, num_frames, info, limit, decode_threads)
        return
    except MediaError as exc:
        ffmpeg_reason = exc.reason   # kept: said beside PIL's if PIL fails too
    from PIL import ImageSequence

    from .images import PIL_ERRORS, _pil_open

    try:
        with _pil_open(path) as im:
            if im.size[0] * im.size[1] > limit:
                raise MediaError(path, too_large(im.size[0], im.size[1], limit, "GIF frame"))
            total = getattr(im, "n_frames", 1)
            wanted = set(even_indices(total, num_frames).tolist())
            for i, frame in enumerate(ImageSequence.Iterator(im)):
                if frame.size[0] * frame.size[1] > limit:   # a later frame may declare another size
                    raise MediaError(path, too_large(frame.size[0], frame.size[1], limit, "GIF frame"))
                if i in wanted:
                    rgb = np.asarray(frame.convert("RGB")).copy()
                    info.update(kind="gif", decoder="pil", frame_count=total,
                                reported_frame_count=total, fps=0.0,
                                width=rgb.shape[1], height=rgb.shape[0])
                    yield i, rgb
    except PIL_ERRORS as exc:
        raise MediaError(path, f"not a readable GIF (FFmpeg: {ffmpeg_reason}; "
                               f"PIL: {type(exc).__name__}: {exc})") from None


def _count_frames(cap: cv2.VideoCapture) -> int:
    n = 0
    while cap.grab():
        n += 1
    return n


def _not_decodable(path: Path, generic: str) -> MediaError:
    """OpenCV's failure, with FFmpeg's own reason when PyAV can tell it (faces.stream_check)."""
    why = open_failure_reason(path)
    return MediaError(path, f"{generic}: {why}" if why else generic)


def _open(path: Path, threads: int | None) -> cv2.VideoCapture:
    if threads is None:
        return cv2.VideoCapture(str(path))
    return cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, int(threads)])


def _iter_video(path: Path, num_frames: int, info: dict, limit: int | None = None,
                decode_threads: int | None = None):
    quiet_opencv()   # OpenCV's FFmpeg would print its own messages to stderr
    limit = _max_pixels(limit)
    cap = _open(path, decode_threads)
    try:
        if not cap.isOpened():
            raise _not_decodable(path, "cannot be opened as a video (not a video, unsupported codec, "
                                       "or truncated container)")
        reported = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        if width * height > limit:   # one frame at a time, but each must fit
            raise MediaError(path, too_large(width, height, limit, "video frame"))
        info.update(kind="gif" if path.suffix.lower() == ".gif" else "video", decoder="opencv",
                    reported_frame_count=reported, fps=fps, width=width, height=height)
        total = reported
        if total <= 0:
            # Some containers (webm, streams) report no count: count in a cheap grab pass.
            total = _count_frames(cap)
            cap.release()
            cap = _open(path, decode_threads)
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
                raise _not_decodable(path, "no decodable frames (corrupt video)")
            return
        # The stream ended before the reported count (a wrong header or a truncated
        # file): the real count is `decoded`. Replace the missing tail frames by
        # evenly spaced frames of the real length, in a second pass.
        real_total = decoded
        info["frame_count"] = real_total
        if real_total == 0:
            raise _not_decodable(path, "no decodable frames (truncated or corrupt video)")
        missing = len(wanted) - len(yielded)
        extra = [int(i) for i in even_indices(real_total, num_frames) if int(i) not in yielded]
        extra = sorted(extra)[-missing:] if missing > 0 else []
        if not extra:
            return
        cap.release()
        cap = _open(path, decode_threads)
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
