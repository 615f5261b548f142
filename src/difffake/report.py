"""Reports of a scan: a self-contained HTML page (the templates live in difffake/templates/).

The rendering is in difffake.reporting; this module is the entry point the
commands use.
"""
from __future__ import annotations

from .reporting.figures import timeline_png, top_pairs  # noqa: F401  (kept for callers)
from .reporting.render import render_report


def write_report(path, results, detector, reference=None, identity_html=None) -> None:
    """`scan --report`: the report of `results` written to `path` (folders made as needed).
    `reference`: the trusted file(s) of `scan --reference`; each video's identity check is
    rendered by difffake.identity.report unless `identity_html` is given."""
    from pathlib import Path

    from .fileio import atomic_write_text
    from .identity.report import identity_section
    from .reporting.render import reference_label

    if identity_html is None:
        identity_html = {r.video_id: identity_section(r) for r in results}
    refs = reference if isinstance(reference, (list, tuple)) else [reference] if reference else []
    label = ", ".join(reference_label(r) for r in refs) or None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, render_report(results, detector, label,
                                          identity_html=identity_html))
