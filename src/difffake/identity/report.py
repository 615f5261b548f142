"""The identity section of the scan report: one escaped, self-contained HTML fragment.

Kept apart from difffake/report.py (which only calls `identity_section`) so
the page's template can change without touching this.
"""
from __future__ import annotations

import base64
import html
import io

import numpy as np

VERDICT_TEXT = {"same": ("SAME PERSON", "#1e8449"), "different": ("NOT THE SAME PERSON", "#c0392b"),
                "unknown": ("CANNOT TELL", "#7f8c8d")}
LIMITS = ("Reenactment and lip-sync keep the person's identity, so \"same person\" does not mean "
          "\"not manipulated\": it only rules out a face swap to another person. The blind fake "
          "score (no reference) stays the judge of other manipulations.")


def _uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _crop_png(rgb: np.ndarray, size: int = 96) -> bytes:
    import cv2
    h, w = rgb.shape[:2]
    s = size / max(h, w)
    small = cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".png", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
    return buf.tobytes() if ok else b""


def curve_png(r) -> bytes:
    """Identity distance per frame against time (s), with the cut(s)."""
    from ..third_party import pyplot
    plt = pyplot()

    fig, ax = plt.subplots(figsize=(8, 2.6))
    t, d = np.asarray(r.identity_frame_times, float), np.asarray(r.identity_frame_distances, float)
    ax.plot(t, d, marker="o", ms=4, color="#8e44ad", lw=1.2, label="frame: distance to nearest reference face")
    band = r.identity_band or []
    if len(band) == 2 and band[1] > band[0]:
        ax.axhspan(band[0], band[1], color="#bdc3c7", alpha=0.5, label="uncertain band")
    if r.identity_threshold is not None:
        ax.axhline(r.identity_threshold, color="#c0392b", ls="--", lw=1, label="same / different threshold")
    if r.identity_distance is not None:
        ax.axhline(r.identity_distance, color="#2c3e50", lw=1.2, label="video distance (trimmed mean)")
    ax.set_ylim(0, max(1.0, float(np.nanmax(d)) + 0.05) if len(d) else 1.0)  # 0 = identical faces
    ax.set_xlabel("time (s)")
    ax.set_ylabel("identity distance")
    ax.legend(loc="best", fontsize=7)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _frame_crop(record, frame: int):
    hits = np.flatnonzero(np.asarray(record.frame_indices) == frame)
    return record.crops[int(hits[0])] if len(hits) else None


def _faces_html(r) -> str:
    """Reference faces, then the suspect's closest and farthest frames beside their nearest reference face."""
    ref = r.identity_reference
    record = r.record
    if ref is None or not ref.crops:
        return ""
    picks = np.linspace(0, len(ref.crops) - 1, min(6, len(ref.crops))).round().astype(int)
    out = ["<h4>Reference faces</h4><div>"]
    out += [f'<img alt="reference face" src="{_uri(_crop_png(ref.crops[i]))}"> ' for i in sorted(set(picks))]
    out.append("</div>")
    d = np.asarray(r.identity_frame_distances, float)
    if record is not None and len(d):
        cells = []
        for label, k in (("closest", int(d.argmin())), ("farthest", int(d.argmax()))):
            crop = _frame_crop(record, r.identity_frames[k])
            near = r.identity_nearest_reference[k] if k < len(r.identity_nearest_reference) else None
            if crop is None or near is None or near >= len(ref.crops):
                continue
            cells.append(
                f'<div class="pair"><img alt="suspect frame" src="{_uri(_crop_png(crop))}">'
                f'<img alt="nearest reference face" src="{_uri(_crop_png(ref.crops[near]))}"><br>'
                f'{label}: {r.identity_frame_times[k]:.2f} s (frame {r.identity_frames[k]}) · '
                f'distance {d[k]:.3f}</div>')
        if cells:
            out.append("<h4>Suspect frames beside their nearest reference face</h4><div class='pairs'>"
                       + "".join(cells) + "</div>")
    return "".join(out)


def _rates_html(r) -> str:
    m = r.identity_error_rates or {}
    if not m:
        return "no calibration: no measured error rates"
    def share(k, n):
        return "–" if m.get(n) in (None, 0) else f"{m[k]} of {m[n]} ({m[k] / m[n]:.1%})"
    return (f"on real videos: another clip of the same person called \"not the same\" "
            f"{share('n_false_different', 'n_same_pairs')}, \"cannot tell\" "
            f"{share('n_unknown_same', 'n_same_pairs')}; two different people called \"same\" "
            f"{share('n_false_same', 'n_different_pairs')}")


def identity_section(r) -> str:
    """The fragment for one ScanResult; '' when it was scanned without a reference."""
    if getattr(r, "identity_verdict", None) is None:
        return ""
    text, colour = VERDICT_TEXT.get(r.identity_verdict, VERDICT_TEXT["unknown"])
    dist = "–" if r.identity_distance is None else f"{r.identity_distance:.3f}"
    band = r.identity_band or []
    cut = (f"same below {band[0]:.3f}, not the same above {band[1]:.3f}" if len(band) == 2 else "none")
    blind = "–" if r.score is None else f"{r.score:.3f} ({r.verdict})"
    rows = [("identity distance (trimmed mean over frames)", dist),
            ("frames compared", str(len(r.identity_frame_distances))),
            ("thresholds (calibrated on real videos only)", cut),
            ("measured error rates", _rates_html(r)),
            ("blind fake score, no reference (beside it, not replaced)", blind)]
    if r.identity_reason:
        rows.insert(1, ("why", r.identity_reason))
    table = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    curve = ""
    if len(r.identity_frame_distances):
        curve = f'<h4>Identity distance over time</h4><img alt="identity distance curve" src="{_uri(curve_png(r))}">'
    return (f'<div class="identity"><h3>Identity check against the reference '
            f'<span class="verdict" style="background:{colour}">{html.escape(text)}</span></h3>'
            f'<table>{table}</table><p class="note">{html.escape(LIMITS)}</p>{curve}{_faces_html(r)}</div>')
