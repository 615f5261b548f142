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


# -- damaged entries the fuzzer (scripts/fuzz/targets/face_store.py) found accepted before --
def _rewrite(path, **changes):
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    for key, value in changes.items():
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("changes, reason", [
    ({"landmarks": np.zeros((2, 68, 2), np.float32)}, "landmarks has shape"),
    ({"scores": np.zeros(5, np.float32)}, "scores has shape"),
    ({"frame_indices": np.array(3)}, "frame_indices has shape"),
    ({"frame_size": np.zeros(3, np.int64)}, "frame_size has shape"),
    ({"has_face": np.ones(3, np.float32)}, "has_face must be a 1-d bool"),
    ({"segment": np.zeros(2, np.int64)}, "segment has shape"),
    ({"boxes": None}, "missing arrays boxes"),
    ({"meta": np.array("[1, 2]")}, "meta must be a JSON object"),
    ({"meta": np.array(json.dumps({"video_id": 5}))}, "video_id must be a string"),
    ({"meta": np.array(json.dumps({"source": 7}))}, "source must be a string"),
])
def test_inconsistent_entry_is_refused_naming_the_file(store, changes, reason):
    path = store.save(record("v.mp4"))
    _rewrite(path, **changes)
    for with_crops in (False, True):
        with pytest.raises(FileError, match=reason) as info:
            store.load("v.mp4", with_crops=with_crops)
        assert info.value.path == str(path) and "re-run `difffake prepare`" in str(info.value)


def test_missing_or_oversized_crop_is_refused(store):
    import struct
    path = store.save(record("c.mp4"))
    _rewrite(path, crop_1=None)
    assert store.load("c.mp4", with_crops=False).num_faces == 3
    with pytest.raises(FileError, match="crop_1 missing"):
        store.load("c.mp4")
    # A PNG header claiming 60000 x 60000 pixels is refused before OpenCV allocates 10 GB.
    png = bytearray(np.load(path)["crop_0"].tobytes())
    png[16:24] = struct.pack(">II", 60000, 60000)
    _rewrite(path, crop_1=np.frombuffer(bytes(png), np.uint8))
    with pytest.raises(FileError, match="claims 60000x60000"):
        store.load("c.mp4")


def test_a_single_npy_or_truncated_archive_is_a_file_error(store):
    path = store.save(record("n.mp4"))
    full = path.read_bytes()
    with open(path, "wb") as fh:
        np.save(fh, np.arange(3))
    with pytest.raises(FileError, match="not an .npz archive"):
        store.load("n.mp4")
    path.write_bytes(full[: len(full) // 2])
    with pytest.raises(FileError, match="not a complete .npz archive"):
        store.load("n.mp4")


@pytest.mark.parametrize("text", ["[" * 100000, "[1, 2]", "\xff\xfe"])
def test_damaged_settings_are_a_file_error(tmp_path, text):
    root = tmp_path / "s"
    root.mkdir()
    (root / "settings.json").write_bytes(text.encode("latin-1"))
    for settings in (None, {"num_frames": 3}):
        with pytest.raises(FileError, match="settings.json"):
            FaceStore(root, settings)


def test_not_a_store_is_a_file_error_naming_it(tmp_path, capsys):
    from difffake.cli import main
    with pytest.raises(FileError, match="not a face store") as info:
        FaceStore(tmp_path / "nothing")
    assert isinstance(info.value, FileNotFoundError) and info.value.path == str(tmp_path / "nothing")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "settings.json").write_text("{ nope")
    assert main(["faces", str(bad), "--out", str(tmp_path / "x.png")]) == 2   # not exit 4 with a traceback
    err = capsys.readouterr().err
    assert str(bad / "settings.json") in err and "Traceback" not in err


@pytest.mark.parametrize("memo", ["[]", "5", '{"a": 3}', '{"a": "short"}', "[" * 100000])
def test_a_damaged_content_cache_memo_costs_only_rehashing(tmp_path, memo):
    from difffake.faces.content_cache import ContentCache, file_sha256
    media = tmp_path / "v.mp4"
    media.write_bytes(b"video bytes")
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "hashes.json").write_text(memo)
    digest = file_sha256(media)
    assert ContentCache(tmp_path / "cache", {"num_frames": 3}).key(media) == f"{digest[:2]}/{digest}"


CRASHES = Path(__file__).resolve().parents[1] / "fuzz_crashes" / "face_store"


@pytest.mark.parametrize("crash", sorted(CRASHES.iterdir()) if CRASHES.is_dir() else [], ids=lambda p: p.name)
def test_face_store_fuzz_crashes_stay_fixed(crash):
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "fuzz_face_store", Path(__file__).resolve().parents[2] / "scripts" / "fuzz" / "targets" / "face_store.py")
    target = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(target)
    target.one_input(crash.read_bytes())   # only DifffakeError may escape, and none does
