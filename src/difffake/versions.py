"""Library versions recorded beside every saved model (density npz, backbone.json, model.json).

Read from the installed distributions' metadata, without importing them: a scan
must not pay for importing scikit-learn or torch just to write their versions,
and the base install has neither.
"""
from __future__ import annotations

import platform
import sys
from importlib.metadata import PackageNotFoundError, version

# key in the record -> distribution name
DISTRIBUTIONS = {"numpy": "numpy", "sklearn": "scikit-learn", "scipy": "scipy", "torch": "torch",
                 "timm": "timm", "safetensors": "safetensors"}


def _of(name: str, dist: str) -> str | None:
    # An imported module knows its build tag (torch's "+cu130"), the metadata may not.
    module = sys.modules.get(name)
    if module is not None and isinstance(getattr(module, "__version__", None), str):
        return module.__version__
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def versions(*names: str) -> dict:
    """{"difffake": ..., "python": ..., name: version or None} for `names` (default: all known)."""
    from . import __version__

    unknown = [n for n in names if n not in DISTRIBUTIONS]
    if unknown:
        raise ValueError(f"unknown library {unknown[0]!r}: known are {', '.join(DISTRIBUTIONS)}")
    out = {"difffake": __version__, "python": platform.python_version()}
    out.update({n: _of(n, DISTRIBUTIONS[n]) for n in (names or DISTRIBUTIONS)})
    return out
