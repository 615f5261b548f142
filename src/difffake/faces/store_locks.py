"""Locks and interrupt-safe writes that let several writers share one face store.

A store may be filled by two `prepare` runs at once (two terminals, two machines on
one shared folder, Ray actors beside a local run). What holds:

- settings.json is created exactly once. Under STORE/.locks/settings.lock it is
  written to a fixed temporary name and hard-linked into place (a link fails when
  the name exists: an exclusive create of a complete file), so of two openers with
  different settings exactly one makes the store and the other gets SettingsMismatch.
- Each entry has its own lock, STORE/.locks/faces/<id>.lock, held while that entry
  is extracted and written. A run that finds an entry locked leaves it to the
  holder and comes back for it at the end (waiting for the lock), so two runs split
  the work, each entry is made once, and a run that ends has every input it was
  given in the store or in its failures.
- failures.json is read, merged and rewritten under STORE/.locks/failures.lock.

The locks are flock(2) locks (the `filelock` package): the kernel drops them when
their holder dies, even by SIGKILL, so a killed run leaves no stale lock. Lock
files are empty and stay: deleting a lock file that another process waits on would
let two processes each hold "the" lock.

A write under a lock goes to a fixed temporary name beside its target
(`.<name>.tmp`) and is renamed into place, so readers never see half a file and a
write cut short by a kill is overwritten by the next writer instead of left behind.
"""
from __future__ import annotations

import os
from pathlib import Path

LOCKS = ".locks"


def _lock(path: Path):
    # imported here: readers (scan, fit) never take a lock, and filelock costs ~70 ms to import
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    # One lock object per file in a process (is_singleton), re-entrant across threads:
    # `prepare` holds an entry's lock and FaceStore.save takes it again.
    return FileLock(path, is_singleton=True, thread_local=False)


def entry_lock(root, video_id: str):
    """The lock of one store entry (held while it is extracted and written)."""
    return _lock(Path(root) / LOCKS / "faces" / (video_id + ".lock"))


def store_lock(root, name: str):
    """A lock guarding one store-wide file (settings.json, failures.json)."""
    return _lock(Path(root) / LOCKS / (name + ".lock"))


def temp_for(path) -> Path:
    """The fixed temporary name of `path`: only the holder of its lock writes it."""
    path = Path(path)
    return path.with_name("." + path.name + ".tmp")


def replace_locked(path, writer) -> None:
    """writer(tmp) on `path`'s temporary name, then rename it over `path`.

    The caller holds the lock that guards `path`. A failing writer leaves no temporary.
    """
    tmp = temp_for(path)
    try:
        writer(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def create_exclusive(path, data: bytes) -> bool:
    """Create `path` holding `data` unless it exists; True when this call created it.

    The caller holds the lock that guards `path`; the exclusive create also keeps out a
    writer that does not take the lock. Readers see no file or the whole file.
    """
    path = Path(path)
    tmp = temp_for(path)
    tmp.write_bytes(data)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    except OSError:   # a filesystem without hard links: an exclusive open, written under the lock
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return True
    finally:
        tmp.unlink(missing_ok=True)
