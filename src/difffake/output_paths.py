"""Output files named by an option (`scan --report`, `scan --ray --out`), checked BEFORE any work.

A scan of many files must not run for an hour and then fail to write its
report. The rule for a folder: an existing folder, or a path written with a
trailing slash, gets `default_name` inside it (`--report out/` -> out/report.html).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import UsageError


def output_file(path, option: str, default_name: str) -> Path:
    """The file `option` will write; UsageError (exit 2) naming the path and the reason
    when it cannot be written there. Writes nothing but a probe file it removes."""
    raw = str(path)
    target = Path(raw).expanduser()
    if raw.endswith(("/", os.sep)) or target.is_dir():
        target = target / default_name
    if target.is_dir():
        raise UsageError(f"{option} {target}: is a folder; give a file name")
    if target.exists():
        try:   # opened for update: checks the right to write without truncating it
            with open(target, "r+b"):
                pass
        except OSError as exc:
            raise UsageError(f"{option} {target}: cannot be written ({exc.strerror or exc})") from None
        return target
    folder = _nearest_existing(target.parent)
    if not folder.is_dir():
        raise UsageError(f"{option} {target}: {folder} is a file, not a folder")
    try:   # the folders still to be made would be made inside `folder`: can we write there?
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".difffake-probe-"):
            pass
    except OSError as exc:
        raise UsageError(f"{option} {target}: cannot write in {folder} ({exc.strerror or exc})") from None
    return target


def _nearest_existing(folder: Path) -> Path:
    folder = folder if str(folder) else Path(".")
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder
