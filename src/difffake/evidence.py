"""File evidence for a report: what exactly was scanned (hash, size, container, codec, ...).

The container is probed with PyAV (FFmpeg's demuxers, bundled in the `av` wheel)
when it is installed, else with OpenCV. `probe_media` is also the server's
content check: a file is accepted for what its bytes are, never for its name.
"""
from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import MediaError

# a stream declaring N frames but holding fewer packets than this share is cut short
TRUNCATED_SHARE = 0.9


class TruncatedMedia(MediaError):
    """A container that opens but holds fewer frames than it declares (a cut-off upload)."""


@dataclass
class Evidence:
    sha256: str
    size_bytes: int
    container: str | None = None      # e.g. "QuickTime / MOV"
    codec: str | None = None          # e.g. "h264"
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration_s: float | None = None
    frames: int | None = None         # video packets found by demuxing (PyAV) or the header's count
    probed_with: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def sha256_and_size(path) -> tuple[str, int]:
    h, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def probe_media(path) -> Evidence:
    """Evidence of a media file; MediaError (file + reason) when it is not a readable video or image."""
    from .faces.file_checks import check_readable
    check_readable(path)   # a FIFO would block the hash forever; 0 bytes, no permission: say so
    digest, size = sha256_and_size(path)
    try:
        import av  # noqa: F401
    except ImportError:
        return _probe_opencv(path, digest, size)
    return _probe_av(path, digest, size)


def _probe_av(path, digest: str, size: int) -> Evidence:
    import av

    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise MediaError(path, f"no video stream in this {c.format.long_name} file")
            s = c.streams.video[0]
            declared = int(s.frames or 0)
            # demuxing reads packet headers only (no decoding): milliseconds for a 10 s clip
            packets = sum(1 for p in c.demux(s) if p.size)
            c.seek(0)
            first = next(c.decode(s), None)
            if first is None:
                raise MediaError(path, "no frame could be decoded")
            rate = s.average_rate or s.guessed_rate
            duration = (float(s.duration * s.time_base) if s.duration else
                        (c.duration / 1e6 if c.duration else None))
            ev = Evidence(sha256=digest, size_bytes=size, container=c.format.long_name,
                          codec=s.codec_context.name, width=int(s.width), height=int(s.height),
                          fps=float(rate) if rate else None, duration_s=duration,
                          frames=packets, probed_with=f"PyAV {av.__version__}")
    except MediaError:
        raise
    except (av.FFmpegError, StopIteration, ValueError, OSError) as exc:
        # strerror, not str(exc): FFmpeg's message repeats the (private) path
        why = getattr(exc, "strerror", None) or exc.__class__.__name__
        raise MediaError(path, f"not a readable video or image ({why})") from exc
    if declared > 1 and packets < TRUNCATED_SHARE * declared:
        raise TruncatedMedia(path, f"truncated: the header declares {declared} frames, "
                               f"the file holds {packets}")
    return ev


def _probe_opencv(path, digest: str, size: int) -> Evidence:
    import cv2

    from .faces.native_logs import quiet_opencv
    quiet_opencv()   # OpenCV's FFmpeg would print its own messages to stderr
    cap = cv2.VideoCapture(str(path))
    try:
        ok, _ = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            raise MediaError(path, "not a readable video or image (OpenCV decoded no frame)")
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> 8 * i) & 0xFF) for i in range(4)).strip("\x00 ") or None
        fps = cap.get(cv2.CAP_PROP_FPS) or None
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
        return Evidence(sha256=digest, size_bytes=size, container=None, codec=codec,
                        width=int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                        height=int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), fps=fps,
                        duration_s=(frames / fps) if fps and frames else None, frames=frames,
                        probed_with=f"OpenCV {cv2.__version__} (install PyAV for the container name)")
    finally:
        cap.release()


def evidence_or_none(path) -> Evidence | None:
    """Evidence for a report, or None when the file cannot be probed (the scan says why)."""
    try:
        return probe_media(Path(path))
    except (MediaError, OSError):
        return None
