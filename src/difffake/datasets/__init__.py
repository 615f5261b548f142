"""Benchmark readers: a dataset root -> a sorted list of VideoRecord.

    load_dataset("ffpp", root, compression="c23", splits="splits/")
    load_dataset(detect_layout(root), root)

No reader decodes media; they walk folders and read list files only.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .celebdf import read_celebdf
from .csv_list import read_csv_list
from .deeperforensics import read_deeperforensics
from .dfdc import read_dfdc
from .ffpp import read_ffpp
from .folder import read_folder
from .forgerynet import find_list, read_forgerynet
from .options import OPTIONS, options_help
from .records import DatasetError, VideoRecord

READERS: dict[str, Callable[..., list[VideoRecord]]] = {
    "ffpp": read_ffpp,
    "celebdf": read_celebdf,
    "dfo": read_deeperforensics,
    "deeperforensics": read_deeperforensics,
    "forgerynet": read_forgerynet,
    "dfdc": read_dfdc,
    "folder": read_folder,
    "csv": read_csv_list,
}
KINDS = tuple(READERS)


def load_dataset(kind: str, root, **options) -> list[VideoRecord]:
    """Records of `root` read as layout `kind` (one of KINDS); options go to the reader."""
    reader = READERS.get(kind.lower())
    if reader is None:
        raise ValueError(f"unknown dataset kind {kind!r}: choose from {', '.join(KINDS)}")
    unknown = sorted(set(options) - set(OPTIONS[kind.lower()]))
    if unknown:   # a ValueError naming the valid ones, not the reader's TypeError
        raise ValueError(f"dataset {kind!r}: unknown option {unknown[0]!r}; valid options: "
                         f"{', '.join(OPTIONS[kind.lower()])}")
    return reader(root, **options)


def detect_layout(root) -> str | None:
    """Guess the layout from the tree (no file is decoded). A labels.csv at the
    root wins over a real/ fake/ folder pair: an explicit list is the authority."""
    root = Path(root).expanduser()
    if root.is_file():
        return "csv" if root.suffix.lower() == ".csv" else None
    if not root.is_dir():
        return None
    if (root / "original_sequences").is_dir() or (root / "manipulated_sequences").is_dir():
        return "ffpp"
    if any((root / name).exists() for name in ("Celeb-synthesis", "Celeb-real", "List_of_testing_videos.txt")):
        return "celebdf"
    if (root / "manipulated_videos").is_dir():
        return "deeperforensics"
    if (root / "dataset.json").is_file() or (root / "metadata.json").is_file() \
            or any(root.glob("*/metadata.json")):
        return "dfdc"
    if (root / "labels.csv").is_file():
        return "csv"
    if (root / "real").is_dir() or (root / "fake").is_dir():
        return "folder"
    if find_list(root) is not None:
        return "forgerynet"
    return None


__all__ = [
    "KINDS",
    "OPTIONS",
    "READERS",
    "DatasetError",
    "VideoRecord",
    "detect_layout",
    "load_dataset",
    "options_help",
    "read_celebdf",
    "read_csv_list",
    "read_deeperforensics",
    "read_dfdc",
    "read_ffpp",
    "read_folder",
    "read_forgerynet",
]
