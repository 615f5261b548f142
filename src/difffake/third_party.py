"""Third-party libraries that write under $HOME when imported, imported so that they do not.

- matplotlib writes its config folder and font cache (~/.config/matplotlib,
  ~/.cache/matplotlib) at import: it gets a private temporary MPLCONFIGDIR, removed
  at exit (a fresh font cache costs ~0.1 s), and the non-interactive Agg backend,
  set here once. An MPLCONFIGDIR the user set is kept.
- onnxruntime (1.29+, POSIX) writes a telemetry device id under
  ~/.cache/Microsoft/DeveloperTools at import and may send usage events: opted out
  with ORT_DISABLE_TELEMETRY=1, unless the user set that variable.

Both are set in os.environ before the import (the libraries read them then), so
child processes inherit the same choices.
"""
from __future__ import annotations

import atexit
import functools
import os
import shutil
import sys
import tempfile


@functools.cache   # configured once per process; the one place that calls matplotlib.use
def pyplot():
    """matplotlib.pyplot on the Agg backend, its config and cache kept out of $HOME."""
    if "matplotlib" not in sys.modules and not os.environ.get("MPLCONFIGDIR"):
        folder = tempfile.mkdtemp(prefix="difffake-matplotlib-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        os.environ["MPLCONFIGDIR"] = folder
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def onnxruntime():
    """The onnxruntime module, imported with its telemetry (and the device-id file) off."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime as ort
    return ort
