"""Is this path a readable, non-empty regular file? Checked before any decoder sees it.

A FIFO, socket or device is refused without opening it (opening a FIFO blocks
until a writer comes), and a file the user may not read says "permission
denied" instead of the decoder's generic "cannot be opened".
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import MediaError

_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
            (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def check_readable(path) -> int:
    """Size in bytes of a readable regular file; MediaError (file + reason) otherwise."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        reason = "broken symbolic link" if path.is_symlink() else "no such file"
        raise MediaError(path, reason) from None
    except PermissionError:
        raise MediaError(path, "permission denied (a folder on its path cannot be entered)") from None
    except OSError as exc:
        raise MediaError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if stat.S_ISDIR(st.st_mode):
        raise MediaError(path, "is a folder, not a media file")
    for test, what in _SPECIAL:
        if test(st.st_mode):
            raise MediaError(path, f"not a regular file: {what}; copy its content to a file first")
    if not stat.S_ISREG(st.st_mode):
        raise MediaError(path, "not a regular file")
    try:
        with open(path, "rb") as f:   # the decoders would only say "cannot be opened"
            f.read(1)
    except PermissionError:
        raise MediaError(path, "permission denied (no read permission for this user)") from None
    except OSError as exc:
        raise MediaError(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
    if st.st_size == 0:
        raise MediaError(path, "empty file (0 bytes)")
    return int(st.st_size)
