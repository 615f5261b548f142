"""Fuzz target: bytes -> a face store file -> the store's loaders.

The first byte picks what the rest becomes:
  0  an entry file faces/v.mp4.npz, loaded with and without crops
  1  settings.json, opened as a reader and as a writer with the cpu preset's settings
  2  an entry built array by array from the bytes (dtypes, shapes, meta, crop PNGs
     chosen by the bytes: reaches the shape checks that raw zip bytes rarely pass)
  3  the content cache's hashes.json memo, then a file looked up through it
Only difffake's own errors (DifffakeError) may escape; a record that loads must be
consistent (every per-frame array of one length, a decoded RGB crop on every face
frame), or the loader let a damaged entry through.

    python scripts/fuzz/targets/face_store.py -max_total_time=60   # atheris directly
"""
from __future__ import annotations

import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from difffake.errors import DifffakeError

_ROOT: Path | None = None
ENTRY = "v.mp4"


def _root() -> Path:
    """One temporary store per process, refilled for each input (fast)."""
    global _ROOT
    if _ROOT is None:
        import atexit
        import shutil

        _ROOT = Path(tempfile.mkdtemp(prefix="fuzz_face_store_"))
        atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
        (_ROOT / "store" / "faces").mkdir(parents=True)
        (_ROOT / "store" / "settings.json").write_text(json.dumps(_settings()))
        (_ROOT / "media.bin").write_bytes(b"some video bytes")
    return _ROOT


def _settings() -> dict:
    from difffake.config import FaceConfig
    from difffake.faces.pipeline import store_settings
    return store_settings(FaceConfig())


def _check_record(rec, with_crops: bool) -> None:
    n = rec.num_frames
    assert rec.has_face.dtype == np.bool_ and rec.has_face.shape == (n,)
    assert rec.boxes.shape == (n, 4) and rec.landmarks.shape == (n, 68, 2) and rec.scores.shape == (n,)
    assert rec.segment.shape == (n,) and len(rec.crops) == n and len(rec.frame_size) == 2
    assert isinstance(rec.meta, dict) and isinstance(rec.video_id, str)
    for i in range(n):
        crop = rec.crops[i]
        if with_crops and rec.has_face[i]:
            assert crop is not None and crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3
        else:
            assert crop is None


def _load_entry(blob: bytes) -> None:
    from difffake.faces.store import FaceStore, made_from

    store_dir = _root() / "store"
    (store_dir / "faces" / (ENTRY + ".npz")).write_bytes(blob)
    store = FaceStore(store_dir)
    for with_crops in (False, True):
        try:
            rec = store.load(ENTRY, with_crops=with_crops)
        except DifffakeError:
            continue
        _check_record(rec, with_crops)
        # the reuse rule of a resumed `prepare` must decide, not raise
        assert made_from(rec.meta.get("source"), _root() / "media.bin") in (True, False)


def _open_settings(blob: bytes) -> None:
    from difffake.faces.store import FaceStore

    root = _root() / "settings_store"
    root.mkdir(exist_ok=True)
    (root / "settings.json").write_bytes(blob)
    for settings in (None, _settings()):
        try:
            FaceStore(root, settings)
        except DifffakeError:
            pass


class _Bytes:
    """Reads choices off the input, deterministically (zeros once it runs out)."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self, lo: int, hi: int) -> int:
        b = self.take(1)
        return lo + (b[0] % (hi - lo + 1) if b else 0)


_DTYPES = (np.bool_, np.int64, np.int32, np.uint8, np.float32, np.float64, np.dtype("<U4"))


def _array(fb: _Bytes, dtype, shape) -> np.ndarray:
    choice = fb.int(0, 7)
    if choice == 1:   # another dtype
        dtype = _DTYPES[fb.int(0, len(_DTYPES) - 1)]
    elif choice == 2:   # another shape
        shape = tuple(fb.int(0, 5) for _ in range(fb.int(0, 3)))
    size = int(np.prod(shape)) if shape else 1
    raw = fb.take(size * np.dtype(dtype).itemsize)
    raw = raw + bytes(size * np.dtype(dtype).itemsize - len(raw))
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _png(fb: _Bytes) -> np.ndarray:
    import cv2

    h, w = fb.int(1, 12), fb.int(1, 12)
    ok, buf = cv2.imencode(".png", np.full((h, w, 3), fb.int(0, 255), np.uint8))
    buf = bytearray(buf.reshape(-1).tobytes())
    choice = fb.int(0, 3)
    if choice == 1:   # cut short
        buf = buf[: fb.int(0, len(buf))]
    elif choice == 2:   # a byte changed (header or data)
        if buf:
            buf[fb.int(0, 255) % len(buf)] = fb.int(0, 255)
    elif choice == 3:   # raw bytes
        buf = bytearray(fb.take(fb.int(0, 64)))
    return np.frombuffer(bytes(buf), np.uint8)


def _built_entry(data: bytes) -> None:
    fb = _Bytes(data)
    n = fb.int(0, 4)
    has_face = np.array([fb.int(0, 1) == 1 for _ in range(n)], bool)
    arrays = {
        "frame_indices": _array(fb, np.int64, (n,)),
        "has_face": has_face if fb.int(0, 3) else _array(fb, np.bool_, (n,)),
        "boxes": _array(fb, np.float32, (n, 4)),
        "landmarks": _array(fb, np.float32, (n, 68, 2)),
        "scores": _array(fb, np.float32, (n,)),
        "frame_size": _array(fb, np.int64, (2,)),
        "segment": _array(fb, np.int64, (n,)),
    }
    meta_choice = fb.int(0, 3)
    if meta_choice == 0:
        arrays["meta"] = np.array(json.dumps({"video_id": ENTRY, "source": "x"}))
    elif meta_choice == 1:
        arrays["meta"] = np.array(fb.take(fb.int(0, 40)).decode("latin-1"))
    else:
        arrays["meta"] = _array(fb, np.dtype("<U8"), ())
    for i in range(max(n, 1) + fb.int(0, 1)):
        if fb.int(0, 5):
            arrays[f"crop_{i}"] = _png(fb)
    for key in list(arrays):
        if fb.int(0, 15) == 0:
            del arrays[key]
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    _load_entry(buf.getvalue())


def _content_cache(blob: bytes) -> None:
    from difffake.faces.content_cache import ContentCache, file_sha256

    root = _root() / "cache"
    root.mkdir(exist_ok=True)
    (root / "hashes.json").write_bytes(blob)
    media = _root() / "media.bin"
    try:
        cache = ContentCache(root, _settings())
        key = cache.key(media)
    except DifffakeError:
        return
    digest = file_sha256(media)
    # A memo is trusted for its (path, size, mtime) line: any other content must not change the key.
    if str(media.resolve()) not in blob.decode("utf-8", "replace"):
        assert key == f"{digest[:2]}/{digest}", key


MODES = (_load_entry, _open_settings, _built_entry, _content_cache)


def one_input(data: bytes) -> None:
    if not data:
        return
    MODES[data[0] % len(MODES)](data[1:])


def seeds() -> list[bytes]:
    """A valid entry, valid settings, a built entry's choices, an empty and a valid memo."""
    from difffake.faces.store import FaceRecord, FaceStore

    rng = np.random.default_rng(0)
    n = 3
    rec = FaceRecord(ENTRY, np.arange(n, dtype=np.int64), np.array([True, False, True]),
                     np.zeros((n, 4), np.float32), rng.uniform(0, 20, (n, 68, 2)).astype(np.float32),
                     np.ones(n, np.float32), [rng.integers(0, 256, (12, 10, 3), dtype=np.uint8), None,
                                              rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)],
                     (64, 64), {"source": "/x/v.mp4"})
    with tempfile.TemporaryDirectory() as tmp:
        entry = FaceStore(Path(tmp) / "s", _settings()).save(rec).read_bytes()
    settings = json.dumps(_settings(), indent=2, sort_keys=True).encode()
    return [b"\x00" + entry, b"\x01" + settings, b"\x02" + bytes(range(64)) * 4,
            b"\x03" + b"{}", b"\x03" + json.dumps({"/a|1|2": "ab" * 32}).encode()]


if __name__ == "__main__":
    import atheris

    with atheris.instrument_imports():
        import difffake.faces.content_cache
        import difffake.faces.store
        import difffake.faces.store_entry  # noqa: F401
    corpus = Path(tempfile.mkdtemp(prefix="fuzz_face_store_seeds_"))
    for k, seed in enumerate(seeds()):
        (corpus / f"seed_{k}").write_bytes(seed)
    atheris.Setup([sys.argv[0], *sys.argv[1:], str(corpus)], one_input)
    atheris.Fuzz()
