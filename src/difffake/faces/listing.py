"""The media files named on a command line (files and folders), in input order, one entry each.

Every input gives entries in the order it was named; a folder gives its media
files in sorted path order (sub-folders in place). An entry that cannot be
scanned carries its reason instead of being left out, so every command prints
one line for it: a missing path, a folder without media, a broken symbolic
link, a link that loops onto itself, a named pipe or device, an unreadable folder.

Folder links are followed, except one that leads back to a folder above it
(that would loop forever): it becomes a note, and the files under it are
listed once, through the real folder.

Ids (what a command names a file by):
- ids="name" (prepare: store keys): a folder's file -> its path inside that folder;
  a named file -> its name. Two files under one id: the second is a problem.
- ids="path" (scan): a named file -> the path as given. A folder's file -> its path
  inside that folder, prefixed, when several folders are named, by the folder's
  name (or by its last path parts when names repeat: a/clips, b/clips). The same
  file named twice is listed once (a note); two other files never share an id.
"""
from __future__ import annotations

import errno
import logging
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("difffake.inputs")

ID_RULES = ("name", "path")


@dataclass(frozen=True)
class Entry:
    path: str
    video_id: str
    reason: str | None = None      # why it cannot be scanned; None: scan it

    @property
    def message(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class Listing:
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)   # what was not listed, and why (never a file)

    @property
    def jobs(self) -> list[tuple[str, str]]:
        return [(e.path, e.video_id) for e in self.entries if e.reason is None]

    @property
    def problems(self) -> list[Entry]:
        return [e for e in self.entries if e.reason is not None]


def media_extensions() -> frozenset:
    from .video import MEDIA_EXTENSIONS  # lazily: video imports OpenCV
    return frozenset(MEDIA_EXTENSIONS)


def list_inputs(inputs, ids: str = "path") -> Listing:
    """Entries for `inputs` (paths of files or folders), in input order; see the module doc."""
    if ids not in ID_RULES:
        raise ValueError(f"ids must be one of {ID_RULES}, not {ids!r}")
    raws = [str(r) for r in inputs]
    listing = Listing()
    taken: dict[str, str] = {}        # id -> path that holds it
    files_seen: dict[tuple, str] = {}  # (device, inode) -> path (ids="path": the same file once)
    folders_seen: dict[str, str] = {}
    prefixes = folder_prefixes([r for r in raws if os.path.isdir(r)]) if ids == "path" else {}

    def add(path: str, vid: str, reason: str | None) -> None:
        if reason is None and ids == "path":
            key = _file_key(path)
            if key in files_seen:
                other = files_seen[key]
                listing.notes.append(f"{path}: listed twice, scanned once" if other == path
                                     else f"{path}: the same file as {other}, scanned once")
                return
            files_seen[key] = path
        if vid in taken:
            if ids == "name":   # a store key: the second file cannot have it
                listing.entries.append(Entry(path, vid, _duplicate_reason(vid, taken[vid])))
                return
            vid = _free_id(path, taken)
        taken[vid] = path
        listing.entries.append(Entry(path, vid, reason))

    for raw in raws:
        own_id = os.path.basename(os.path.normpath(raw)) if ids == "name" else raw
        if os.path.isdir(raw):
            real = os.path.realpath(raw)
            if ids == "path" and real in folders_seen:
                listing.notes.append(f"{raw}: the same folder as {folders_seen[real]}, scanned once")
                continue
            folders_seen.setdefault(real, raw)
            prefix = prefixes.get(_folder_key(raw), "")
            found = False
            for path, reason in walk_media(Path(raw), listing.notes):
                found = True
                if path == Path(raw):   # the folder itself could not be read
                    add(raw, prefix or own_id, reason)
                    continue
                rel = path.relative_to(raw).as_posix()
                add(str(path), f"{prefix}/{rel}" if prefix else rel, reason)
            if not found:
                add(raw, own_id, "no video or image files in this folder")
        elif os.path.lexists(raw):
            add(raw, own_id, _link_problem(raw) if os.path.islink(raw) and not os.path.exists(raw) else None)
        else:
            add(raw, own_id, "no such file or folder")
    return listing


def walk_media(root: Path, notes: list[str], extensions=None,
               recursive: bool = True) -> Iterator[tuple[Path, str | None]]:
    """(path, reason or None) of every media file under `root`, in sorted path order.

    Iterative (a deeply nested tree cannot overflow the stack); a folder link back
    to a folder above it is not followed (a note says so). `extensions`: the
    suffixes that count as media (default: every media extension).
    """
    exts = frozenset(extensions) if extensions is not None else media_extensions()
    st = os.stat(root)
    stack = [_level(Path(root), frozenset({(st.st_dev, st.st_ino)}), exts, notes)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
        elif isinstance(item, _Descend):
            if recursive:
                stack.append(_level(item.path, item.ancestors, exts, notes))
        else:
            yield item


@dataclass(frozen=True)
class _Descend:
    path: Path
    ancestors: frozenset


def _level(folder: Path, ancestors: frozenset, exts, notes):
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield folder, f"folder cannot be read ({exc.strerror or exc})"
        return
    for e in entries:
        path = Path(folder) / e.name
        try:
            st = os.stat(path)           # follows links
        except OSError:
            if os.path.islink(path) and _maybe_media(path, exts):
                yield path, _link_problem(str(path))
            elif not os.path.islink(path) and path.suffix.lower() in exts:
                yield path, "cannot be read (stat failed)"
            continue
        if stat.S_ISDIR(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key in ancestors:
                notes.append(f"{path}: a folder link back to {os.readlink(path) if os.path.islink(path) else path} "
                             f"(a folder above it), not searched again")
                continue
            yield _Descend(path, ancestors | {key})
        elif path.suffix.lower() in exts:
            yield path, None if stat.S_ISREG(st.st_mode) else f"not a regular file ({_kind(st.st_mode)})"


def _maybe_media(link: Path, exts) -> bool:
    """A broken link is worth a line when it or its target looks like media, or like a folder."""
    target = Path(os.readlink(link))
    return any(p.suffix.lower() in exts or not p.suffix for p in (link, target))


def _link_problem(path: str) -> str:
    target = os.readlink(path)
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"symbolic link loop -> {target}"
    return f"broken symbolic link -> {target}"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def _file_key(path: str):
    try:
        st = os.stat(path)
        return (st.st_dev, st.st_ino)
    except OSError:
        return ("path", os.path.abspath(path))


def _folder_key(raw: str) -> str:
    return os.path.abspath(raw)


def folder_prefixes(folders) -> dict[str, str]:
    """abspath -> id prefix: '' for a single folder, else the shortest tail of its
    path (at least its name) that no other named folder shares."""
    seen, distinct = set(), []
    for f in folders:
        real = os.path.realpath(f)
        if real not in seen:
            seen.add(real)
            distinct.append(_folder_key(f))
    if len(distinct) < 2:
        return {}
    parts = {f: Path(f).parts[1:] or ("root",) for f in distinct}
    out = {}
    for f in distinct:
        k = 1
        while k < len(parts[f]) and any(_tail(parts[g], k) == _tail(parts[f], k) for g in distinct if g != f):
            k += 1
        out[f] = _tail(parts[f], k)
    return out


def _tail(parts, k: int) -> str:
    return "/".join(parts[-k:])


def _free_id(path: str, taken: dict) -> str:
    """Another file already has this id (rare: a named file and a folder's file):
    the path itself, which no other file has."""
    for vid in (Path(path).as_posix(), Path(os.path.abspath(path)).as_posix()):
        if vid not in taken:
            return vid
    n = 2
    while f"{path}#{n}" in taken:
        n += 1
    return f"{path}#{n}"


def _duplicate_reason(vid: str, other: str) -> str:
    return (f"duplicate id {vid!r} (also {other}); ids are paths inside each folder: give this folder "
            f"its own store, or give its parent folder instead (ids then start with the folder names)")
