"""Face store entries keyed by file content + face settings, so that the same
video is never prepared twice, whatever its id, root or report folder.

    <cache>/<settings hash>/              a FaceStore whose ids are content hashes
        settings.json
        faces/<sha[:2]>/<sha256>.npz
    <cache>/hashes.json                   (resolved path, size, mtime) -> sha256 memo

`evaluate` copies a cached entry into a dataset's store before extracting, and
adds what it extracted afterwards. The default cache folder is
$DIFFFAKE_FACE_CACHE or ~/.cache/difffake/faces.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from pathlib import Path

from ..fileio import atomic_write_text
from .store import FaceStore

log = logging.getLogger("difffake.faces")


def default_cache_dir() -> Path:
    return Path(os.environ.get("DIFFFAKE_FACE_CACHE") or Path.home() / ".cache" / "difffake" / "faces")


def settings_key(settings: dict) -> str:
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


def file_sha256(path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _read_memo(path: Path) -> dict:
    """The (path, size, mtime) -> sha256 memo; a damaged one only costs re-hashing."""
    try:
        memo = json.loads(path.read_text()) if path.exists() else {}
    except (OSError, ValueError, RecursionError):
        return {}
    if not isinstance(memo, dict):
        return {}
    return {k: v for k, v in memo.items() if isinstance(v, str) and len(v) == 64}


class ContentCache:
    def __init__(self, root, settings: dict):
        self.root = Path(root)
        self.store = FaceStore(self.root / settings_key(settings), settings)
        self._memo_path = self.root / "hashes.json"
        self._memo = _read_memo(self._memo_path)
        self._dirty = False

    def key(self, path) -> str | None:
        """sha256 of the file (memoised by path, size and mtime); None if unreadable."""
        try:
            path = Path(path).resolve()
            st = path.stat()
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):   # a FIFO would block the hash: the reader says why
            return None
        memo = f"{path}|{st.st_size}|{st.st_mtime_ns}"
        if memo not in self._memo:
            try:
                self._memo[memo] = file_sha256(path)
            except OSError:
                return None
            self._dirty = True
        digest = self._memo[memo]
        return f"{digest[:2]}/{digest}"

    def fill(self, store: FaceStore, video_id: str, path) -> bool:
        """Copy the cached entry of this file's content into `store` as `video_id`."""
        key = self.key(path)
        if key is None or not self.store.has(key):
            return False
        record = self.store.load(key)
        record.video_id = video_id
        record.meta["source"] = str(Path(path).resolve())   # this copy's file, as prepare records it
        store.save(record)
        return True

    def put(self, store: FaceStore, video_id: str, path) -> None:
        key = self.key(path)
        if key is None or self.store.has(key) or not store.has(video_id):
            return
        record = store.load(video_id)
        record.video_id = key
        self.store.save(record)

    def close(self) -> None:
        if self._dirty:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self._memo_path, json.dumps(self._memo))
            self._dirty = False
