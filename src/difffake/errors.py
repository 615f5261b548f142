"""Errors that name the file and the reason, with documented exit codes."""
from __future__ import annotations

# Exit codes of the `difffake` command (documented in the README).
EXIT_OK = 0            # every input processed, nothing flagged
EXIT_FLAGGED = 1       # scan: at least one video judged fake
EXIT_USAGE = 2         # bad arguments (argparse's own code)
EXIT_INPUT_ERROR = 3   # at least one input could not be read; the others were processed
EXIT_INTERNAL = 4      # unexpected failure


class DifffakeError(Exception):
    """Base class: every message names the file and the reason."""


class FileError(DifffakeError):
    """A file (or folder) is unusable; the message is 'path: reason'."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class MediaError(FileError):
    """A file could not be decoded as a video or image."""


class UsageError(DifffakeError):
    """What was asked cannot be done with these inputs (exit 2): the message says what would."""


class SettingsMismatch(DifffakeError):
    """A cache or model was made with other settings than the ones asked for."""
