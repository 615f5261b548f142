"""Why a video gave no usable frame: FFmpeg's own reason, found again with PyAV.

OpenCV only says "cannot be opened" or gives no frame; PyAV (the `serve`
extra) says "moov atom not found", "no video stream" or "error while decoding
MB 1 0". Without PyAV the reasons stay OpenCV's. These checks run only on the
failure path (a file that does not open, or a video in which no frame has a
face), never on a video that scans normally.
"""
from __future__ import annotations

from dataclasses import dataclass

from .native_logs import ffmpeg_messages

MAX_CHECKED_PACKETS = 2000     # bounds the decode check of a long video
TRUNCATED_SHARE = 0.9          # fewer decoded frames than this share of the declared count: cut short


def _av():
    try:
        import av
        return av
    except ImportError:
        return None


def _ffmpeg_words(why: str, errors: list[str]) -> str:
    return f"{why}; FFmpeg: {errors[-1]}" if errors else why


def open_failure_reason(path) -> str | None:
    """FFmpeg's reason `path` is not a decodable video, or None (PyAV decodes it, or no PyAV)."""
    av = _av()
    if av is None:
        return None
    why = None
    with ffmpeg_messages() as messages:
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    kinds = sorted({s.type for s in container.streams}) or ["no streams"]
                    why = f"no video stream (the {container.format.name} file holds {', '.join(kinds)})"
                elif next(container.decode(video=0), None) is None:
                    why = "no frame could be decoded"
        except (av.FFmpegError, ValueError, OSError) as exc:
            why = getattr(exc, "strerror", None) or type(exc).__name__
    return None if why is None else _ffmpeg_words(why, messages.errors)


@dataclass
class StreamHealth:
    packets: int          # video packets read (at most MAX_CHECKED_PACKETS)
    failed: int           # packets the decoder rejected
    corrupt_frames: int   # frames FFmpeg flagged as corrupt (concealed errors)
    errors: int           # error messages FFmpeg logged while decoding (concealed damage too)
    first_error: str      # FFmpeg's first error message, "" when none


def stream_health(path, max_packets: int = MAX_CHECKED_PACKETS) -> StreamHealth | None:
    """Decode up to `max_packets` video packets and count the failures; None without PyAV or a
    video stream."""
    av = _av()
    if av is None:
        return None
    packets = failed = corrupt = 0
    with ffmpeg_messages() as messages:
        try:
            with av.open(str(path)) as container:
                if not container.streams.video:
                    return None
                stream = container.streams.video[0]
                for packet in container.demux(stream):
                    if packets >= max_packets:
                        break
                    packets += 1 if packet.size else 0
                    try:
                        corrupt += sum(bool(getattr(f, "is_corrupt", False)) for f in packet.decode())
                    except (av.FFmpegError, ValueError):
                        failed += 1
        except (av.FFmpegError, ValueError, OSError):
            failed += 1
    errors = messages.errors
    return StreamHealth(packets, failed, corrupt, len(errors), errors[0] if errors else "")


def undecodable_reason(path, info: dict) -> str | None:
    """For a video in which no sampled frame had a face: why its frames are not trustworthy
    (a corrupt or cut-short stream), or None when it decoded cleanly (then it truly has no face)."""
    declared, decoded = int(info.get("reported_frame_count") or 0), int(info.get("frame_count") or 0)
    health = stream_health(path)
    if health is not None and (health.failed or health.corrupt_frames or health.errors):
        why = (f"corrupt video stream: FFmpeg rejected {health.failed} of {health.packets} packets "
               f"and reported {health.errors} decoding error(s); no face in the frames it could decode")
        return f"{why}; FFmpeg: {health.first_error}" if health.first_error else why
    if declared > 1 and decoded < TRUNCATED_SHARE * declared:
        return (f"truncated or corrupt video stream: the header declares {declared} frames, "
                f"only {decoded} could be decoded, no face in them")
    return None
