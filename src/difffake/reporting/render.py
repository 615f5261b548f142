"""jinja2 rendering of the scan report (autoescaped), shared by `scan --report` and `serve`.

The page is self-contained: every picture is an inline data: URI, no script, no
external stylesheet, so it can be mailed or archived as one file.
"""
from __future__ import annotations

import base64
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from .. import __version__
from . import figures, words

VERDICT_COLOURS = {"fake": "#c0392b", "real": "#1e8449", "unknown": "#7f8c8d"}
STATUS_BADGES = {"error": "unreadable", "no_face": "no face", "too_few_faces": "too few faces"}


@lru_cache(maxsize=1)
def environment():
    import jinja2
    return jinja2.Environment(loader=jinja2.PackageLoader("difffake", "templates"),
                              autoescape=True, trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def badge(r) -> str:
    return r.verdict if r.status == "ok" else STATUS_BADGES.get(r.status, r.status)


def _fps(r) -> float | None:
    ev = r.evidence
    if ev is not None and ev.fps:
        return float(ev.fps)
    record = r.record
    fps = (record.meta or {}).get("fps") if record is not None else None
    return float(fps) if fps else None


def seconds(frame: int, fps: float | None) -> str:
    return f"{frame / fps:.2f} s" if fps else f"frame {frame}"


def video_context(r, detector, identity_html: str | None, show_path: bool) -> dict:
    cal = getattr(detector, "calibration", None)
    fps = _fps(r)
    ctx = {"r": r, "badge": badge(r), "colour": VERDICT_COLOURS.get(r.verdict, "#7f8c8d"),
           "file": str(r.path) if show_path else None, "fps": fps,
           "basis": words.basis_sentence(r), "basis_name": getattr(r, "basis", None) or "differential",
           "components": words.components_of(r, cal),
           "evidence": r.evidence, "identity_html": identity_html,
           "timeline": None, "calibration_plot": None, "pairs": [],
           "timings": [(k, v) for k, v in (r.timings or {}).items() if v is not None]}
    if r.status == "ok" and r.pair_scores:
        ctx["timeline"] = data_uri(figures.timeline_png(r, fps))
        if cal is not None and r.score is not None:
            ctx["calibration_plot"] = data_uri(figures.calibration_png(r.score, cal))
        record = r.record
        if record is not None:
            for p in figures.pair_pngs(r, record):
                ctx["pairs"].append({**p, "a": data_uri(p["a"]), "b": data_uri(p["b"]),
                                     "diff": data_uri(p["diff"]),
                                     "time_a": seconds(p["frame_a"], fps),
                                     "time_b": seconds(p["frame_b"], fps),
                                     "gap": (f"{abs(p['frame_b'] - p['frame_a']) / fps:.2f} s apart"
                                             if fps else f"{abs(p['frame_b'] - p['frame_a'])} frames apart")})
    return ctx


def render_report(results, detector, reference_name: str | None = None, identity_html=None,
                  show_paths: bool = True, page: bool = False) -> str:
    """HTML of one or more ScanResults.

    identity_html: an HTML fragment (str, trusted: made by difffake) for a single
    video, or a dict video_id -> fragment, shown in each video's identity slot.
    page: the web page's variant (same report, a link back to the upload page).
    """
    per_video = identity_html if isinstance(identity_html, dict) else {}
    videos = [video_context(r, detector, per_video.get(r.video_id) if per_video else identity_html,
                            show_paths) for r in results]
    cal = getattr(detector, "calibration", None)
    return environment().get_template("report.html.j2").render(
        videos=videos, card=words.model_card(detector),
        settings=words.settings_in_words(detector, reference_name),
        when=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), version=__version__,
        calibration=cal, page=page)


def reference_label(path) -> str | None:
    return Path(path).name if path else None
