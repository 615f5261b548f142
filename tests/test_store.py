"""FaceStore errors name the file; fileio.atomic_write_with; embedding cache vs rewritten store entries."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from difffake.errors import FileError
from difffake.faces.store import FaceRecord, FaceStore
from difffake.fileio import atomic_write_with


def record(video_id: str, n: int = 3, seed: int = 0, has_face=None) -> FaceRecord:
    rng = np.random.default_rng(seed)
    has_face = np.ones(n, bool) if has_face is None else np.asarray(has_face, bool)
    lm = rng.uniform(5, 25, (n, 68, 2)).astype(np.float32)
    crops = [rng.integers(0, 256, (32, 30, 3), dtype=np.uint8) if f else None for f in has_face]
    return FaceRecord(video_id, np.arange(n, dtype=np.int64) * 5, has_face,
                      np.zeros((n, 4), np.float32), lm, np.ones(n, np.float32), crops, (64, 64), {"x": 1})


@pytest.fixture
def store(tmp_path):
    return FaceStore(tmp_path / "store", {"num_frames": 3})


def test_atomic_write_with_renames_or_cleans_up(tmp_path):
    path = tmp_path / "f.bin"
    atomic_write_with(path, lambda tmp: Path(tmp).write_bytes(b"one"))
    assert path.read_bytes() == b"one"

    def broken(tmp):
        Path(tmp).write_bytes(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        atomic_write_with(path, broken)
    assert path.read_bytes() == b"one"                     # the old file survives
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]   # no temporary left


def test_save_is_atomic_npz_and_round_trips(store):
    path = store.save(record("a/b.mp4"))
    assert path.name == "b.mp4.npz" and not list(path.parent.glob("*.tmp*"))
    back = store.load("a/b.mp4")
    assert back.num_faces == 3 and np.array_equal(back.crops[1], record("a/b.mp4").crops[1])


def test_corrupt_entry_raises_file_error_naming_it(store):
    path = store.save(record("v.mp4"))
    path.write_bytes(b"not a zip at all")
    with pytest.raises(FileError, match="v.mp4.npz") as info:
        store.load("v.mp4")
    assert info.value.path == str(path)
    with pytest.raises(FileError, match="v.mp4.npz"):
        store.load("v.mp4", with_crops=False)
    with pytest.raises(FileError, match="missing.mp4.npz"):
        store.load("missing.mp4")


def test_undecodable_png_raises_file_error(store):
    path = store.save(record("p.mp4"))
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["crop_1"] = np.frombuffer(b"\x89PNG garbage", np.uint8)
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)
    assert store.load("p.mp4", with_crops=False).num_faces == 3   # crops not decoded: fine
    with pytest.raises(FileError, match="p.mp4.npz.*PNG"):
        store.load("p.mp4")


def test_unreadable_settings_raise_file_error(store):
    (store.root / "settings.json").write_text("{ nope")
    with pytest.raises(FileError, match="settings.json"):
        FaceStore(store.root)


class CountingBackbone:
    embedding_size = 4

    def __init__(self):
        self.calls = 0

    def embed_crops(self, crops, batch_size=32):
        self.calls += 1
        return np.stack([np.full(4, c.mean(), np.float32) for c in crops])


def test_embed_store_reembeds_a_rewritten_entry(store, tmp_path):
    from difffake.embeddings import embed_store

    store.save(record("a.mp4", seed=1))
    store.save(record("b.mp4", seed=2))
    bb = CountingBackbone()
    kw = {"cache_dir": tmp_path / "cache", "fingerprint": "f" * 64}
    first = embed_store(bb, store, **kw)
    assert bb.calls == 2 and first["a.mp4"].emb.shape == (3, 4)
    embed_store(bb, store, **kw)
    assert bb.calls == 2                      # unchanged entries: served from the cache
    # `prepare` rewrote a.mp4 (other frames, one without a face) after it was cached.
    new = record("a.mp4", n=4, seed=3, has_face=[True, False, True, True])
    store.save(new)
    again = embed_store(bb, store, **kw)
    assert bb.calls == 3                      # a.mp4 only
    assert np.array_equal(again["a.mp4"].frame_indices, new.frame_indices)
    assert np.array_equal(again["a.mp4"].has_face, new.has_face) and again["a.mp4"].emb.shape == (3, 4)
    # Same frame indices, other has_face: stale too.
    store.save(record("b.mp4", seed=2, has_face=[True, True, False]))
    assert embed_store(bb, store, **kw)["b.mp4"].emb.shape == (2, 4) and bb.calls == 4
    embed_store(bb, store, **kw)
    assert bb.calls == 4
    cache = next((tmp_path / "cache").glob("*.npz"))
    with np.load(cache) as data:
        assert json.loads(str(data["meta"]))["ids"] == ["a.mp4", "b.mp4"]


def test_atomic_writes_get_ordinary_file_modes(tmp_path):
    import os
    from difffake.fileio import atomic_write_text
    target = tmp_path / "model.json"
    atomic_write_text(target, "{}")
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask   # readable by others once installed
