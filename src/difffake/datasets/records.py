"""VideoRecord, the one row every dataset reader returns, and shared helpers.

A record never holds decoded media: readers only walk folders and read lists.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import FileError
from ..faces.video import (
    MEDIA_EXTENSIONS,  # the one list (folder.py imports it from here)
)

log = logging.getLogger("difffake.datasets")

VIDEO_EXTENSIONS = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".gif"})
IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})

LABELS = ("real", "fake")
SPLITS = ("train", "val", "test")
_SPLIT_ALIASES = {"train": "train", "training": "train", "val": "val", "valid": "val",
                  "validation": "val", "dev": "val", "test": "test", "testing": "test"}


class DatasetError(FileError):
    """A dataset root or list file is missing or malformed: the user's input, so
    `difffake` exits 2 with 'path: reason' (a FileError)."""


@dataclass(frozen=True)
class VideoRecord:
    path: Path                 # absolute path of the media file
    video_id: str              # posix path relative to the dataset root (unique within a dataset)
    label: str                 # "real" | "fake"
    method: str                # manipulation name; "real" for originals
    dataset: str
    split: str | None = None   # "train" | "val" | "test" | None
    compression: str | None = None
    group: str | None = None   # pair / source id (e.g. the FF++ target video)

    @property
    def is_fake(self) -> int:
        """1 for fakes, 0 for reals: the label convention of difffake.metrics."""
        return int(self.label == "fake")


def relative_id(path: Path, root: Path) -> str:
    # by name first: a file that is a link to elsewhere keeps the name it has in the dataset
    try:
        return Path(os.path.abspath(path)).relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        return path.resolve().relative_to(root.resolve()).as_posix()


def require_dir(path: Path, what: str) -> Path:
    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetError(path, f"{what} is not a folder (missing or not a directory)")
    return path.resolve()


def numbered_lines(path: Path) -> list[tuple[int, str]]:
    """(line number in the file, stripped text) of the non-empty, non-comment
    lines of a list file, so that errors can name the real line; errors name the file."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(path, "list file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(path, f"list file unreadable ({exc})") from None
    return [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)
            if line.strip() and not line.lstrip().startswith("#")]


def read_lines(path: Path) -> list[str]:
    """Non-empty, stripped lines of a text list file; errors name the file."""
    return [line for _, line in numbered_lines(path)]


def normalise_split(value, source) -> str | None:
    if value is None or str(value).strip() == "":
        return None
    split = _SPLIT_ALIASES.get(str(value).strip().lower())
    if split is None:
        raise DatasetError(source, f"unknown split {value!r} (expected one of {SPLITS})")
    return split


def media_files(folder: Path, extensions=MEDIA_EXTENSIONS, recursive: bool = False) -> list[Path]:
    """Media files in `folder` (sorted; folder links followed unless they loop back).
    A broken link or a named pipe is logged by name and left out, never skipped unsaid."""
    from ..faces.listing import walk_media

    notes: list[str] = []
    paths = []
    for path, reason in walk_media(folder, notes, extensions, recursive):
        if reason is None:
            paths.append(path)
        else:
            log.warning("%s: %s; left out of the dataset", path, reason)
    for note in notes:
        log.warning("%s", note)
    return sorted(paths)


def finish(records: Iterable[VideoRecord], source, split: str | None = None) -> list[VideoRecord]:
    """Filter by split, check ids are distinct, sort by id; an empty result is an error."""
    records = list(records)
    if split is not None:
        wanted = normalise_split(split, source)
        records = [r for r in records if r.split == wanted]
    ids = [r.video_id for r in records]
    if len(set(ids)) != len(ids):
        dupes = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise DatasetError(source, f"duplicate video ids {dupes}")
    if not records:
        raise DatasetError(source, "no videos found" + (f" in split {split!r}" if split else ""))
    return sorted(records, key=lambda r: r.video_id)
