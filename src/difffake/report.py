"""Reports of a scan: one JSON object per video, and a self-contained HTML page.

The HTML holds everything inline (plots and face crops as base64 PNG), so it
can be mailed or archived as one file.
"""
from __future__ import annotations

import base64
import html
import io
import json
from datetime import datetime, timezone

import numpy as np

from . import __version__

VERDICT_COLOURS = {"fake": "#c0392b", "real": "#1e8449", "unknown": "#7f8c8d"}


def _png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt
    plt.close(fig)
    return buf.getvalue()


def timeline_png(result) -> bytes:
    """Pair scores against time (each pair spans its two frames), with the threshold."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 2.8))
    pairs = np.asarray(result.pairs, dtype=float).reshape(-1, 2)
    scores = np.asarray(result.pair_scores, dtype=float)
    if len(scores):
        for (fa, fb), s in zip(pairs, scores):
            ax.plot([fa, fb], [s, s], color="#95a5a6", lw=1, alpha=0.6)
        mid = pairs.mean(axis=1)
        ax.scatter(mid, scores, s=16, c=scores, cmap="coolwarm", zorder=3, label="frame pair")
    ref = getattr(result, "reference_pair_scores", None)
    if ref:
        face_frames = np.asarray(result.frame_indices)[np.asarray(result.has_face, bool)]
        ax.plot(face_frames[: len(ref)], ref, color="#8e44ad", lw=1.2, marker=".",
                label="frame vs reference")
    if result.threshold is not None:
        ax.axhline(result.threshold, color="#c0392b", ls="--", lw=1, label="threshold")
    if result.score is not None:
        ax.axhline(result.score, color="#2c3e50", lw=1.2, label="video score")
    ax.set_xlabel("frame number (a segment spans the two frames of a pair)")
    ax.set_ylabel("score (higher = more fake)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _figure_png(fig)


def _crop_png(rgb: np.ndarray, size: int = 112) -> bytes:
    import cv2
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                       interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return buf.tobytes()


def top_pairs(result, k: int = 4):
    """The k most anomalous pairs as (score, frame_a, frame_b)."""
    scores = np.asarray(result.pair_scores, dtype=float)
    order = np.argsort(-scores)[:k]
    return [(float(scores[i]), int(result.pairs[i][0]), int(result.pairs[i][1])) for i in order]


def render_html(results, settings: dict, model_info: dict) -> str:
    """One page for one or more scanned videos."""
    sections = [_video_section(r) for r in results]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    settings_rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v))}</td></tr>"
        for k, v in settings.items())
    model_rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(json.dumps(v) if not isinstance(v, str) else v)}</td></tr>"
        for k, v in model_info.items())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>difffake scan report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 980px; color: #222; }}
h1 {{ margin-bottom: 0; }} .sub {{ color: #666; margin-top: .2em; }}
.video {{ border: 1px solid #ddd; border-radius: 8px; padding: 1em 1.4em; margin: 1.5em 0; }}
.verdict {{ display: inline-block; padding: .2em .8em; border-radius: 4px; color: #fff; font-weight: bold; }}
table {{ border-collapse: collapse; }} th, td {{ text-align: left; padding: .15em .8em .15em 0; vertical-align: top; }}
th {{ color: #555; font-weight: 600; }} .pairs img {{ border-radius: 4px; margin-right: 2px; }}
.pair {{ display: inline-block; margin: 0 1.2em .8em 0; text-align: center; font-size: .85em; color: #444; }}
.summary {{ width: 100%; table-layout: fixed; }} .summary th:first-child {{ width: 55%; }}
.summary td, .summary th {{ border-bottom: 1px solid #eee; padding: .3em .8em .3em 0; overflow-wrap: anywhere; }}
h2 {{ overflow-wrap: anywhere; }}
.note {{ color: #666; font-size: .9em; }} details {{ margin-top: 1em; }}
</style></head><body>
<h1>difffake scan report</h1>
<p class="sub">{when} · difffake {html.escape(__version__)} · {len(results)} video(s)</p>
<p class="note">Score: how unnatural the change between frames of the same face is, under a model of
natural change learned from real videos only (higher = more likely fake). p(real): share of
calibration real videos that scored at least as high. A verdict is a screening aid, not proof.</p>
{summary_table(results) if len(results) > 1 else ""}
{''.join(sections)}
<details><summary>Settings and model</summary>
<h3>Settings</h3><table>{settings_rows}</table>
<h3>Model</h3><table>{model_rows}</table></details>
</body></html>"""


def _fmt(v, spec=".3f"):
    return "–" if v is None else format(v, spec)


STATUS_BADGES = {"error": "unreadable", "no_face": "no face", "too_few_faces": "too few faces"}


def _badge(r) -> str:
    return r.verdict if r.status == "ok" else STATUS_BADGES.get(r.status, r.status)


def summary_table(results) -> str:
    """One row per video, so a batch can be read at a glance."""
    rows = "".join(
        f"<tr><td>{html.escape(r.video_id)}</td>"
        f"<td><span class='verdict' style='background:{VERDICT_COLOURS.get(r.verdict, '#7f8c8d')}'>"
        f"{html.escape(_badge(r).upper())}</span></td>"
        f"<td>{_fmt(r.score)}</td><td>{_fmt(r.p_value_real)}</td><td>{r.n_faces} / {r.n_frames}</td></tr>"
        for r in results)
    return ("<table class='summary'><tr><th>video</th><th>verdict</th><th>fake score</th>"
            f"<th>p(real)</th><th>faces</th></tr>{rows}</table>")


def _video_section(r) -> str:
    colour = VERDICT_COLOURS.get(r.verdict, "#7f8c8d")
    rows = [
        ("file", html.escape(str(r.path))),
        ("fake score", _fmt(r.score)),
        ("threshold", _fmt(r.threshold)),
        ("p-value that it is real", _fmt(r.p_value_real)),
        ("frames with a face", f"{r.n_faces} / {r.n_frames}"),
        ("frame pairs scored", str(r.n_pairs)),
        ("time", " · ".join(f"{k} {v:.2f} s" for k, v in (r.timings or {}).items())),
    ]
    if r.classifier_score is not None:
        rows.insert(2, ("frame classifier (mean fake probability)", _fmt(r.classifier_score)))
    if getattr(r, "reference_score", None) is not None:
        rows.insert(2, ("score against the reference (compare with the fake score)",
                        _fmt(r.reference_score)))
    if r.error:
        rows.append(("error", html.escape(r.error)))
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
    body = ""
    if r.status == "ok" and len(r.pair_scores):
        body += f'<h3>Pair scores over time</h3><img alt="timeline" src="{_png_data_uri(timeline_png(r))}">'
        record = getattr(r, "record", None)
        if record is not None:
            cells = []
            for score, fa, fb in top_pairs(r):
                ca, cb = _frame_crop(record, fa), _frame_crop(record, fb)
                if ca is None or cb is None:
                    continue
                cells.append(
                    f'<div class="pair"><img src="{_png_data_uri(_crop_png(ca))}">'
                    f'<img src="{_png_data_uri(_crop_png(cb))}"><br>frames {fa} &amp; {fb} · score {score:.3f}</div>')
            if cells:
                body += "<h3>Most anomalous pairs</h3><div class='pairs'>" + "".join(cells) + "</div>"
    from .identity.report import identity_section  # scan --reference: its own fragment
    body += identity_section(r)
    return f"""<div class="video"><h2>{html.escape(r.video_id)}
<span class="verdict" style="background:{colour}">{html.escape(_badge(r).upper())}</span></h2>
<table>{table}</table>{body}</div>"""


def _frame_crop(record, frame: int):
    """The face crop of a video frame number, or None."""
    hits = np.flatnonzero(np.asarray(record.frame_indices) == frame)
    return record.crops[int(hits[0])] if len(hits) else None
