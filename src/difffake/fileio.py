"""Small file helpers shared by the stores and model folders: checksums and atomic writes."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np


def sha256_file(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write_with(path, writer) -> None:
    """Call writer(tmp_path) on a temporary file beside `path`, then rename it into place.

    Readers never see half a file; the temporary file is removed if `writer` fails.
    For writers that take a path (safetensors, np.savez) as well as raw bytes.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        writer(tmp)
        # mkstemp makes 0600 files; give the result the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, data: bytes) -> None:
    """Write to a temporary file beside `path`, then rename: readers never see half a file."""
    atomic_write_with(path, lambda tmp: Path(tmp).write_bytes(data))


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def json_default(value):
    """json.dumps(default=...) for numpy scalars/arrays and paths."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_format_json(path, expected_format, error=None) -> dict:
    """A JSON file whose "format" must be `expected_format`; `error(path, reason)` (a FileError
    class, by default FileError itself) names the file when it is unreadable or of another format."""
    import json

    from .errors import FileError

    error = error or FileError
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError, RecursionError) as exc:   # ValueError: bad JSON or not UTF-8
        raise error(path, f"unreadable ({exc})") from exc
    if not isinstance(data, dict) or data.get("format") != expected_format:
        found = data.get("format") if isinstance(data, dict) else None
        raise error(path, f"unknown format {found!r} (expected {expected_format})")
    return data
