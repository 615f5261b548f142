"""atheris target: bytes -> a temporary media file -> the frame reader `difffake scan` uses.

The first byte picks the file's suffix (so the image, GIF and video paths are all
reached), the rest is the file. `faces.video.iter_frames` decodes up to 4 frames
under a 4-megapixel limit, then, for a video or GIF, `faces.stream_check`
asks PyAV why it gave no usable frame (what scan does when no face is found).
Only difffake's own errors (DifffakeError: a file and a reason) are expected;
anything else escaping is a crash, and so is a frame that is not RGB uint8.

    python scripts/fuzz/targets/media_reader.py -max_total_time=60   # atheris, seeds built in
"""
from __future__ import annotations

import io
import os
import sys
import tempfile

SUFFIXES = (".mp4", ".png", ".jpg", ".gif", ".webm", ".webp", ".avi", ".mkv", ".bin")
FRAMES = 4
MAX_PIXELS = 4_000_000      # keeps one fuzz input's memory small; the limit itself is under test
_DIR = tempfile.mkdtemp(prefix="difffake-fuzz-media-")


def one_input(data: bytes) -> None:
    import numpy as np

    from difffake.errors import DifffakeError
    from difffake.faces.stream_check import undecodable_reason
    from difffake.faces.video import iter_frames, media_kind

    if not data:
        return
    path = os.path.join(_DIR, "input" + SUFFIXES[data[0] % len(SUFFIXES)])
    with open(path, "wb") as f:
        f.write(data[1:])
    info: dict = {}
    try:
        for index, frame in iter_frames(path, FRAMES, info, max_pixels=MAX_PIXELS):
            if not (isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3
                    and frame.shape[2] == 3 and frame.shape[0] * frame.shape[1] <= MAX_PIXELS):
                raise AssertionError(f"frame {index}: not an RGB uint8 frame within the limit: "
                                     f"{getattr(frame, 'shape', None)} {getattr(frame, 'dtype', None)}")
        if media_kind(path) != "image":
            reason = undecodable_reason(path, info)
            assert reason is None or isinstance(reason, str)
    except DifffakeError:
        pass   # a file and a reason: the expected outcome for bad bytes


def _mp4(codec: str = "libx264", fmt: str = "mp4", size: int = 32, n: int = 3) -> bytes:
    import av
    import numpy as np

    buf = io.BytesIO()
    with av.open(buf, "w", format=fmt) as c:
        s = c.add_stream(codec, rate=5)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(n):
            frame = np.full((size, size, 3), 40 * i, np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return buf.getvalue()


def seeds() -> list[bytes]:
    """Small valid inputs, each prefixed by the byte that selects its suffix."""
    import cv2
    import numpy as np
    from PIL import Image

    img = np.zeros((24, 32, 3), np.uint8)
    img[4:20, 6:26] = (200, 120, 40)
    out = []
    for suffix in (".png", ".jpg", ".webp"):
        ok, buf = cv2.imencode(suffix, img)
        out.append(bytes([SUFFIXES.index(suffix)]) + buf.tobytes())
    gif = io.BytesIO()
    Image.fromarray(img).save(gif, "GIF", save_all=True, append_images=[Image.fromarray(255 - img)])
    out.append(bytes([SUFFIXES.index(".gif")]) + gif.getvalue())
    try:
        out.append(bytes([SUFFIXES.index(".mp4")]) + _mp4())
        out.append(bytes([SUFFIXES.index(".webm")]) + _mp4("libvpx", "webm"))
        out.append(bytes([SUFFIXES.index(".avi")]) + _mp4("mpeg4", "avi"))
    except ImportError:   # no PyAV: image seeds only
        pass
    return out


def main() -> None:
    import atheris

    with atheris.instrument_imports(include=["difffake"]):
        import difffake.faces.stream_check
        import difffake.faces.video  # noqa: F401
    argv = list(sys.argv)
    if not any(not a.startswith("-") for a in argv[1:]):   # no corpus folder given: start from the seeds
        corpus = tempfile.mkdtemp(prefix="difffake-fuzz-media-corpus-")
        for k, seed in enumerate(seeds()):
            with open(os.path.join(corpus, f"seed{k}"), "wb") as f:
                f.write(seed)
        argv.append(corpus)
    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
