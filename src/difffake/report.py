"""Reports of a scan: a self-contained HTML page (the templates live in difffake/templates/).

The rendering is in difffake.reporting; this module is the entry point the
commands use.
"""
from __future__ import annotations

from .reporting.figures import timeline_png, top_pairs  # noqa: F401  (kept for callers)
from .reporting.render import render_report  # noqa: F401


def write_report(path, results, detector, reference=None, identity_html=None) -> None:
    """`scan --report`: the report of `results` written to `path` (folders made as needed)."""
    from pathlib import Path

    from .fileio import atomic_write_text
    from .reporting.render import reference_label

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_report(results, detector, reference_label(reference),
                                          identity_html=identity_html))
