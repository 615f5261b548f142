"""FaceStore: a per-video cache of face crops and landmarks.

Layout under the store root:
    settings.json              the FaceConfig (as a dict) that made every entry
    faces/<video id>.npz       one file per video (id = path relative to the dataset root)

Each .npz holds (F = sampled frames, allow_pickle never needed):
    frame_indices (F,) int64   index of the frame in the video
    has_face      (F,) bool
    boxes         (F, 4) f32   crop box x0, y0, x1, y1 in full-frame pixels (NaN: no face)
    landmarks     (F, 68, 2) f32  iBUG 300-W order, in crop pixels (NaN: no face)
    scores        (F,) f32     detector score (NaN: no face)
    frame_size    (2,) int64   full frame height, width
    segment       (F,) int64   person label of each face frame (faces/identity_switch.py),
                               -1 without a face; entries made before it: 0 at every face
    crop_<i>      (n,) uint8   PNG bytes of the RGB crop of frame i (only where has_face)
    meta          ()  str      JSON: video id, source path, number of frames, fps, detector info

Writes go to a temporary file that is renamed into place, so a killed
`prepare` never leaves a half-written entry; finished entries are skipped.
Several writers may share a store: settings.json is created exactly once and each
entry is written under its own lock (faces/store_locks.py says what holds).
An entry that is damaged or inconsistent (wrong shapes, missing crops) is refused
with a FileError naming its file, never half-trusted.
"""
from __future__ import annotations

import json
import struct
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from ..errors import FileError, SettingsMismatch
from . import store_locks
from .store_entry import check_arrays


class NotAFaceStore(FileError, FileNotFoundError):
    """A folder without settings.json (a FileNotFoundError too, as callers caught before)."""


@dataclass
class FaceRecord:
    """Faces of one video: arrays indexed by sampled frame."""

    video_id: str
    frame_indices: np.ndarray
    has_face: np.ndarray
    boxes: np.ndarray
    landmarks: np.ndarray
    scores: np.ndarray
    crops: list  # RGB uint8 arrays, None where no face
    frame_size: tuple = (0, 0)
    meta: dict = field(default_factory=dict)
    segment: np.ndarray | None = None  # person label per frame (-1: no face); None: one person

    def __post_init__(self):
        if self.segment is None:
            self.segment = np.where(np.asarray(self.has_face, bool), 0, -1).astype(np.int64)

    @property
    def num_frames(self) -> int:
        return len(self.frame_indices)

    @property
    def num_faces(self) -> int:
        return int(self.has_face.sum())

    def face_positions(self) -> np.ndarray:
        """Positions (into the sampled frames) that have a face."""
        return np.flatnonzero(self.has_face)


def _encode_png(rgb: np.ndarray) -> np.ndarray:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.reshape(-1)


# Crops are at most FaceConfig.store_max_side on a side; a PNG header claiming far more
# is damage, and decoding it would allocate gigabytes.
MAX_CROP_PIXELS = 4096 * 4096
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _decode_png(buf: np.ndarray) -> np.ndarray:
    head = bytes(buf[:24])
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE):
        raise ValueError("crop is not a PNG")
    width, height = struct.unpack(">II", head[16:24])
    if width * height > MAX_CROP_PIXELS:
        raise ValueError(f"crop PNG claims {width}x{height} pixels")
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:   # imdecode signals corrupt data with None, not an exception
        raise ValueError("PNG crop could not be decoded")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def _savez(tmp, arrays: dict) -> None:
    # Through a file object: given a path not ending in .npz, np.savez would append one.
    with open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


class FaceStore:
    """Directory of FaceRecords made with one set of face settings."""

    SETTINGS = "settings.json"

    def __init__(self, root, settings: dict | None = None):
        """Open a store. With `settings`, create it or check they match the stored ones.

        Of several processes creating one store at once with different settings, exactly
        one creates it; the others get SettingsMismatch naming the store.
        """
        self.root = Path(root)
        path = self.root / self.SETTINGS
        leftover = store_locks.temp_for(path)   # from a creator killed between link and unlink
        if settings is not None and (not path.exists() or leftover.exists()):
            self.root.mkdir(parents=True, exist_ok=True)
            data = json.dumps(settings, indent=2, sort_keys=True).encode()
            with store_locks.store_lock(self.root, "settings"):
                if path.exists():
                    leftover.unlink(missing_ok=True)
                else:
                    store_locks.create_exclusive(path, data)
        if not path.exists():
            raise NotAFaceStore(self.root, f"not a face store (no {self.SETTINGS})")
        stored = self._read_settings(path)
        if settings is not None and _comparable(stored) != _comparable(settings):
            raise SettingsMismatch(
                f"{self.root}: face store was made with settings {stored}, "
                f"not {settings}; use another --store or the same settings")
        self.settings = stored

    @staticmethod
    def _read_settings(path: Path) -> dict:
        try:
            stored = json.loads(path.read_text())
            json.dumps(stored)   # compared and shown later: nesting too deep to write back is damage
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise FileError(path, f"face store settings unreadable ({type(exc).__name__}: {exc})") from exc
        if not isinstance(stored, dict):
            raise FileError(path, f"face store settings must be a JSON object, not {type(stored).__name__}")
        return with_legacy(stored)

    def entry_lock(self, video_id: str):
        """The lock held while `video_id` is extracted and written (a filelock.FileLock)."""
        return store_locks.entry_lock(self.root, video_id)

    def path_for(self, video_id: str) -> Path:
        return self.root / "faces" / (video_id + ".npz")

    def has(self, video_id: str) -> bool:
        return self.path_for(video_id).exists()

    def ids(self) -> list[str]:
        base = self.root / "faces"
        if not base.exists():
            return []
        return sorted(str(p.relative_to(base))[: -len(".npz")] for p in base.rglob("*.npz"))

    def save(self, record: FaceRecord) -> Path:
        arrays = {
            "frame_indices": np.asarray(record.frame_indices, np.int64),
            "has_face": np.asarray(record.has_face, bool),
            "boxes": np.asarray(record.boxes, np.float32),
            "landmarks": np.asarray(record.landmarks, np.float32),
            "scores": np.asarray(record.scores, np.float32),
            "frame_size": np.asarray(record.frame_size, np.int64),
            "segment": np.asarray(record.segment, np.int64),
            "meta": np.array(json.dumps({"video_id": record.video_id, **record.meta})),
        }
        for i, crop in enumerate(record.crops):
            if crop is not None:
                arrays[f"crop_{i}"] = _encode_png(crop)
        path = self.path_for(record.video_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.entry_lock(record.video_id):   # re-entrant: `prepare` may hold it already
            store_locks.replace_locked(path, lambda tmp: _savez(tmp, arrays))
        return path

    def load(self, video_id: str, with_crops: bool = True) -> FaceRecord:
        """The record of `video_id`; a missing or damaged entry raises FileError naming its file."""
        path = self.path_for(video_id)
        try:
            return self._read(path, video_id, with_crops)
        except FileError:
            raise
        except FileNotFoundError as exc:
            raise FileError(path, "no such face store entry") from exc
        except zipfile.BadZipFile as exc:
            raise FileError(path, f"damaged face store entry (not a complete .npz archive: {exc}); "
                                  "delete it and re-run `difffake prepare`") from exc
        except Exception as exc:   # KeyError (missing array), bad JSON, undecodable PNG, MemoryError ...
            raise FileError(path, f"damaged face store entry ({type(exc).__name__}: {exc}); "
                                  "delete it and re-run `difffake prepare`") from exc

    @staticmethod
    def _read(path: Path, video_id: str, with_crops: bool) -> FaceRecord:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with data:
            arrays = {k: data[k] for k in data.files if not k.startswith("crop_")}
            meta = check_arrays(arrays)
            has_face = arrays["has_face"]
            crops = [None] * len(has_face)
            if with_crops:
                for i in np.flatnonzero(has_face):
                    crop = data[f"crop_{i}"] if f"crop_{i}" in data.files else None
                    if crop is None or crop.dtype != np.uint8 or crop.ndim != 1:
                        raise ValueError(f"crop_{i} missing or not PNG bytes (frame {i} has a face)")
                    crops[i] = _decode_png(crop)
        return FaceRecord(
            video_id=meta.pop("video_id", video_id),
            frame_indices=arrays["frame_indices"], has_face=has_face,
            boxes=arrays["boxes"], landmarks=arrays["landmarks"], scores=arrays["scores"],
            crops=crops, frame_size=tuple(int(v) for v in arrays["frame_size"]), meta=meta,
            segment=arrays.get("segment"))

    def __iter__(self):
        for video_id in self.ids():
            yield self.load(video_id)

    def __len__(self) -> int:
        return len(self.ids())


def made_from(source, path) -> bool:
    """Whether an entry's meta["source"] names the file `path` (the rule for reusing an entry).

    A source that is no usable path (empty, a NUL byte, too long) names no file: the entry is remade.
    """
    if not isinstance(source, str) or not source:
        return False
    try:
        return Path(source).resolve() == Path(path).resolve()
    except (OSError, ValueError, RuntimeError):   # RuntimeError: a symlink loop on older Pythons
        return False


# Face settings added after stores existed, with the value that the entries of a
# store made before them were in effect made with (the stored file is not changed).
LEGACY_SETTINGS = {"fallback": "none", "split_identity": False, "roi_search": False}


def with_legacy(stored: dict) -> dict:
    """Stored settings with the settings added since filled in as they were in effect."""
    if "policy" not in stored:   # not a FaceConfig dict (e.g. hand-made for a test): leave it
        return stored
    return {**LEGACY_SETTINGS, **stored}


def _comparable(settings: dict) -> dict:
    # JSON turns tuples into lists; compare in that form.
    return json.loads(json.dumps(settings, sort_keys=True))
