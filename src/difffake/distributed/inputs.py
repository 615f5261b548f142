"""The inputs as a stream of (path, id): never a whole list in memory.

- a folder: walked in sorted order, one directory at a time; id = path relative to it
- '@LIST': a text file read line by line; a line is 'path' or 'path<TAB>id'
  (relative paths are relative to the list's folder; id defaults to the path as written)
- any other path: that file, id = the path as given
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ..faces.video import MEDIA_EXTENSIONS


def iter_inputs(inputs, prefix_folders: bool = False) -> Iterator[tuple[str, str, str | None]]:
    """(path, id, problem) per input file; problem is None or why the input is unusable.

    prefix_folders (scan): with several folders, ids start with the folder's name (the
    rule of difffake.faces.listing), so `real/x.mp4` and `fake/x.mp4` are two rows."""
    prefixes = {}
    if prefix_folders:
        from ..faces.listing import folder_prefixes
        prefixes = folder_prefixes([r for r in map(str, inputs) if not r.startswith("@") and os.path.isdir(r)])
    for raw in inputs:
        raw = str(raw)
        if raw.startswith("@"):
            yield from _iter_list(Path(raw[1:]))
            continue
        root = Path(raw)
        if root.is_dir():
            found = False
            prefix = prefixes.get(os.path.abspath(raw))
            for path, vid in _walk(root):
                found = True
                yield str(path), f"{prefix}/{vid}" if prefix else vid, None
            if not found:
                yield str(root), raw, "no video or image files in this folder"
        elif root.exists():
            yield raw, raw, None
        else:
            yield raw, raw, "no such file or folder"


def _walk(root: Path):
    # os.walk with sorted names: deterministic order, one directory's listing in memory at a time
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if Path(name).suffix.lower() in MEDIA_EXTENSIONS:
                path = Path(folder) / name
                yield path, path.relative_to(root).as_posix()


def _iter_list(list_path: Path):
    base = list_path.parent
    try:
        handle = list_path.open(encoding="utf-8")
    except OSError as exc:
        yield str(list_path), f"@{list_path}", f"input list unreadable ({exc})"
        return
    with handle:
        for line in handle:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            path, _, vid = line.partition("\t")
            full = Path(path) if Path(path).is_absolute() else base / path
            yield str(full), vid or path, None


def count_inputs(inputs) -> int:
    """A first streaming pass, for the progress total (O(1) memory)."""
    return sum(1 for _ in iter_inputs(inputs))
