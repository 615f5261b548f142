"""A corpus of bad and odd inputs, made by the tests (PyAV encoders, numpy, OpenCV, Pillow,
bytes written by hand). No file comes from outside; nothing is downloaded.

`build_corpus(folder, face)` writes every input and returns the list of `Case`s:
the file, what `difffake scan` must say about it (status, exit code when scanned
alone, words of the reason), in a fixed order. `face` is an RGB face photo
(scikit-image's astronaut).
"""
from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

VERDICT = "verdict"     # exit code 0 (real) or 1 (fake): whatever the detector says


@dataclass
class Case:
    name: str                 # file name inside the corpus folder
    status: str               # ScanResult.status
    exit: int | str           # exit code when scanned alone, or VERDICT
    reason: tuple = ()        # words the error message must hold (besides the path)
    low_evidence: bool | None = None   # for status ok: must the verdict be marked low-evidence?
    needs: str = ""           # "" | "unprivileged": only when reads can be denied
    extra: dict = field(default_factory=dict)


def face_frames(face: np.ndarray, n: int, size=(256, 256), seed: int = 0) -> list[np.ndarray]:
    """`n` RGB frames of a window drifting over the face (the astronaut's face is near (225, 127))."""
    rng = np.random.default_rng(seed)
    w, h = size
    out = []
    for _ in range(n):
        dx, dy = int(rng.integers(-4, 5)), int(rng.integers(-4, 5))
        x0 = int(np.clip(225 - w // 2 + dx, 0, face.shape[1] - w))
        y0 = int(np.clip(140 - h // 2 + dy, 0, face.shape[0] - h))
        out.append(np.ascontiguousarray(face[y0:y0 + h, x0:x0 + w]))
    return out


def encode(path: Path, frames, codec="libx264", fps=10, pix_fmt="yuv420p", fmt=None,
           container_options=None, stream_options=None, rotation=None, pts=None, time_base=None):
    """Encode RGB frames with PyAV (FFmpeg's encoders in the `av` wheel)."""
    import av

    with av.open(str(path), "w", format=fmt, options=container_options or {}) as c:
        s = c.add_stream(codec, rate=fps, options=stream_options or {}) if fps else c.add_stream(
            codec, options=stream_options or {})
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        if time_base is not None:
            s.time_base = time_base
            s.codec_context.time_base = time_base
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i, f in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            if pts is not None:
                frame.pts, frame.time_base = pts[i], time_base
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def audio_only(path: Path):
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        t = np.arange(16000) / 16000
        tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for p in s.encode(frame):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_by_hand(path: Path, width: int, height: int, rows: int | None = None) -> Path:
    """An RGB PNG whose header says width x height; `rows` of grey pixel data (None: all)."""
    row = b"\0" + b"\x80" * (width * 3)
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height if rows is None else rows)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b""))
    return path


def flip_bytes(src: Path, dst: Path, start: int, step: int) -> Path:
    """Copy with every `step`-th byte inverted from `start` on (up to the last 1.5 KB: moov stays)."""
    data = bytearray(src.read_bytes())
    for k in range(start, len(data) - 1500, step):
        data[k] ^= 0xFF
    dst.write_bytes(bytes(data))
    return dst


def _imwrite(path: Path, rgb: np.ndarray, params=()) -> Path:
    ok, buf = cv2.imencode(path.suffix, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params))
    assert ok, path
    path.write_bytes(buf.tobytes())   # tofile-free: copes with any name
    return path


def build_corpus(folder: Path, face: np.ndarray) -> list[Case]:
    folder.mkdir(parents=True, exist_ok=True)
    f = lambda name: folder / name
    clip = face_frames(face, 24)   # 16 pairs: more than half the 24 of the calibrated 32 frames
    rng = np.random.default_rng(0)
    cases: list[Case] = []
    add = cases.append

    # --- files that hold no video or image at all
    f("zero_byte.mp4").write_bytes(b"")
    add(Case("zero_byte.mp4", "error", 3, ("empty file (0 bytes)",)))
    f("text_named.mp4").write_text("this is a text file, not a video\n")
    add(Case("text_named.mp4", "error", 3, ("cannot be opened as a video",)))
    f("random_bytes.jpg").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    add(Case("random_bytes.jpg", "error", 3, ("not a readable image",)))
    audio_only(f("audio_only.mp4"))
    add(Case("audio_only.mp4", "error", 3, ("no video stream", "audio")))

    # --- broken containers and streams
    good = encode(f("good.mp4"), clip)
    add(Case("good.mp4", "ok", VERDICT, low_evidence=False))
    data = good.read_bytes()
    f("moov_less.mp4").write_bytes(data[: data.rfind(b"moov") - 4])   # the index (at the end) cut off
    add(Case("moov_less.mp4", "error", 3, ("cannot be opened as a video", "moov atom not found")))
    fast = encode(f("faststart_full.mp4"), face_frames(face, 24, seed=1),
                  container_options={"movflags": "faststart"})
    f("truncated.mp4").write_bytes(fast.read_bytes()[: int(fast.stat().st_size * 0.9)])
    fast.unlink()
    add(Case("truncated.mp4", "ok", VERDICT, low_evidence=True))   # what remains is scored, flagged thin
    flip_bytes(good, f("corrupt_stream.mp4"), data.find(b"mdat") + 60, 400)   # frames come out flat
    add(Case("corrupt_stream.mp4", "error", 3, ("corrupt video stream",)))
    corrupt_all = bytearray(data)
    m = data.find(b"mdat") + 100
    corrupt_all[m:len(data) - 1500] = rng.integers(0, 256, len(data) - 1500 - m, dtype=np.uint8).tobytes()
    f("corrupt_all.mp4").write_bytes(bytes(corrupt_all))
    add(Case("corrupt_all.mp4", "error", 3, ("no decodable frames",)))

    # --- too little to judge, or nothing to judge
    encode(f("one_frame.mp4"), clip[:1])
    add(Case("one_frame.mp4", "too_few_faces", 3, ("1 of 1 sampled frames have a face",)))
    encode(f("two_frames.mp4"), clip[:2])
    add(Case("two_frames.mp4", "ok", VERDICT, low_evidence=True))
    encode(f("noise.mp4"), [rng.integers(0, 256, (128, 128, 3), dtype=np.uint8) for _ in range(8)])
    add(Case("noise.mp4", "no_face", 3, ("0 of 8 sampled frames have a face",)))
    encode(f("flat_grey.mp4"), [np.full((128, 128, 3), 120, np.uint8)] * 8)
    add(Case("flat_grey.mp4", "no_face", 3, ("0 of 8 sampled frames have a face",)))

    # --- odd but valid videos
    grey = [np.repeat(cv2.cvtColor(fr, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2) for fr in clip]
    encode(f("grayscale.mkv"), grey, codec="ffv1", pix_fmt="gray")
    add(Case("grayscale.mkv", "ok", VERDICT, low_evidence=False))
    encode(f("portrait.mp4"), face_frames(face, 24, size=(192, 320), seed=2))
    add(Case("portrait.mp4", "ok", VERDICT, low_evidence=False))
    encode(f("rotated.mp4"), [np.ascontiguousarray(np.rot90(fr, 1)) for fr in clip], rotation=-90)
    add(Case("rotated.mp4", "ok", VERDICT, low_evidence=False))   # OpenCV applies the display matrix
    big = []
    for fr in clip[:3]:
        canvas = np.full((2160, 3840, 3), 90, np.uint8)
        canvas[900:1156, 1700:1956] = fr
        big.append(canvas)
    encode(f("uhd_4k.mp4"), big, stream_options={"preset": "ultrafast"})
    add(Case("uhd_4k.mp4", "ok", VERDICT, low_evidence=True))
    long_clip = face_frames(face, 40, seed=3)
    encode(f("long_600_frames.mp4"), [long_clip[i % 40] for i in range(600)], fps=30)
    add(Case("long_600_frames.mp4", "ok", VERDICT, low_evidence=False))
    tb = Fraction(1, 1000)
    encode(f("vfr.mkv"), clip, fps=None, time_base=tb,
           pts=[int(v) for v in np.cumsum([0] + [40, 120, 40, 300, 40, 80, 40, 40, 200, 40, 40, 60] * 2)[:24]])
    add(Case("vfr.mkv", "ok", VERDICT, low_evidence=False))
    encode(f("clip.webm"), clip, codec="libvpx-vp9")
    add(Case("clip.webm", "ok", VERDICT, low_evidence=False))
    encode(f("clip.avi"), clip, codec="mpeg4")
    add(Case("clip.avi", "ok", VERDICT, low_evidence=False))
    encode(f("clip_hevc.mp4"), clip, codec="libx265", stream_options={"x265-params": "log-level=none"})
    add(Case("clip_hevc.mp4", "ok", VERDICT, low_evidence=False))
    from PIL import Image
    Image.fromarray(clip[0]).save(f("animated.gif"), save_all=True, duration=80, loop=0,
                                  append_images=[Image.fromarray(fr) for fr in clip[1:]])
    add(Case("animated.gif", "ok", VERDICT, low_evidence=False))
    two = [np.concatenate([fr, np.ascontiguousarray(fr[:, ::-1])], axis=1) for fr in clip]
    encode(f("two_faces.mp4"), two)
    add(Case("two_faces.mp4", "ok", VERDICT, low_evidence=False))

    # --- odd names
    for name in ("name with spaces.mp4", "ünïcødé 名前.mp4", "new\nline.mp4"):
        (folder / name).write_bytes(data)
        add(Case(name, "ok", VERDICT, low_evidence=False))

    # --- photos
    _imwrite(f("photo.jpg"), face, [cv2.IMWRITE_JPEG_QUALITY, 90])
    add(Case("photo.jpg", "too_few_faces", 3, ("1 of 1 sampled frames have a face", "at least 2")))
    _imwrite(f("photo.png"), face)
    add(Case("photo.png", "too_few_faces", 3, ("1 of 1 sampled frames have a face",)))
    _imwrite(f("photo.webp"), face, [cv2.IMWRITE_WEBP_QUALITY, 90])
    add(Case("photo.webp", "too_few_faces", 3, ("1 of 1 sampled frames have a face",)))
    grey_png = _imwrite(f("photo_grey.png"), np.repeat(cv2.cvtColor(face, cv2.COLOR_RGB2GRAY)[..., None], 3, 2))
    add(Case(grey_png.name, "too_few_faces", 3, ("1 of 1 sampled frames have a face",)))
    png = f("photo.png").read_bytes()
    f("truncated.png").write_bytes(png[: len(png) // 3])
    add(Case("truncated.png", "error", 3, ("not a readable image",)))
    (folder / "video_named.jpg").write_bytes(data)
    add(Case("video_named.jpg", "error", 3, ("not a readable image",)))

    # --- giant images: difffake's pixel limit (faces/limits.py)
    png_by_hand(f("giant_header.png"), 60000, 60000, rows=4)
    add(Case("giant_header.png", "error", 3, ("60000x60000", "limit of 50 MP", "DIFFFAKE_MAX_PIXELS")))
    png_by_hand(f("huge_15000.png"), 15000, 15000)
    add(Case("huge_15000.png", "error", 3, ("15000x15000", "limit of 50 MP")))
    canvas = np.full((7500, 7500, 3), 128, np.uint8)   # 56 MP: above the limit, decoded at 1/2
    canvas[1000:1000 + 3000, 1000:1000 + 3000] = cv2.resize(face[20:300, 90:370], (3000, 3000))
    _imwrite(f("big_56mp.jpg"), canvas, [cv2.IMWRITE_JPEG_QUALITY, 70])
    del canvas
    add(Case("big_56mp.jpg", "too_few_faces", 3, ("1 of 1 sampled frames have a face",)))

    # --- not regular or not readable
    os.mkfifo(f("fifo.mp4"))
    add(Case("fifo.mp4", "error", 3, ("not a regular file", "FIFO")))
    unreadable = f("unreadable.mp4")
    unreadable.write_bytes(data)
    unreadable.chmod(0)
    add(Case("unreadable.mp4", "error", 3, ("permission denied",), needs="unprivileged"))
    return cases
