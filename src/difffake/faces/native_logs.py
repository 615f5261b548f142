"""FFmpeg's and OpenCV's own messages go through difffake's logging, never raw to stderr.

OpenCV's bundled FFmpeg prints "[mov,mp4,...] moov atom not found" and the like
straight to stderr, and OpenCV prints "[ WARN:0@0.9] global ..." lines; neither
offers a callback to Python. So both are silenced (OPENCV_FFMPEG_LOGLEVEL=-8,
OpenCV's log level SILENT) unless the user set those variables, and the reason
a file failed is found again with PyAV, whose FFmpeg messages are captured
(`ffmpeg_messages`) and logged on the "difffake.ffmpeg" logger at DEBUG
(`difffake -v` shows them, prefixed).
"""
from __future__ import annotations

import contextlib
import logging
import os

log = logging.getLogger("difffake.ffmpeg")
_quiet_done = False


def quiet_opencv() -> None:
    """Silence OpenCV's and its FFmpeg's own printing; call before the first VideoCapture."""
    global _quiet_done
    if _quiet_done:
        return
    _quiet_done = True
    # read by OpenCV when it first initialises its FFmpeg backend; -8 = AV_LOG_QUIET
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    if "OPENCV_LOG_LEVEL" not in os.environ:
        import cv2
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)   # difffake says why a file failed


class _Messages(list):
    """(level, source, message) tuples FFmpeg logged; `errors` are those at ERROR or worse."""

    @property
    def errors(self) -> list[str]:
        return [f"[{name}] {msg}" if name else msg for level, name, msg in self if level <= 16]


@contextlib.contextmanager
def ffmpeg_messages():
    """Capture PyAV's FFmpeg log lines (all threads) for the block; each is logged at DEBUG.

    PyAV keeps FFmpeg's logging off by default; it is turned to ERROR only inside the block.
    """
    import av.logging

    out = _Messages()
    previous, skipping = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)   # the second file with "moov atom not found" needs it too
    try:
        with av.logging.Capture(local=False) as logs:
            try:
                yield out   # filled when the block ends
            finally:
                for level, name, message in logs:
                    text = " ".join(str(message).split())
                    out.append((int(level), str(name or ""), text))
                    log.debug("ffmpeg [%s] %s", name or "libav", text)
    finally:
        av.logging.set_level(previous)
        av.logging.set_skip_repeated(skipping)
