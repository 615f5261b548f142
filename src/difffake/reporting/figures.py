"""Report pictures as PNG bytes: the timeline in seconds, where a score sits among the
calibration reals, and the most anomalous pairs with landmarks and a difference view."""
from __future__ import annotations

import io

import cv2
import numpy as np

from ..faces.contact_sheet import draw_landmarks

TILE = 160


def _figure_png(fig) -> bytes:
    import matplotlib.pyplot as plt
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _plt():
    from ..third_party import pyplot  # Agg, and no config or font cache under $HOME
    return pyplot()


def timeline_png(result, fps: float | None) -> bytes:
    """Pair scores over time: a segment spans the two frames of a pair, x in seconds when fps is known."""
    plt = _plt()
    scale = (1.0 / fps) if fps else 1.0
    fig, ax = plt.subplots(figsize=(8, 2.8))
    pairs = np.asarray(result.pairs, dtype=float).reshape(-1, 2) * scale
    scores = np.asarray(result.pair_scores, dtype=float)
    if len(scores):
        for (ta, tb), s in zip(pairs, scores):
            ax.plot([ta, tb], [s, s], color="#95a5a6", lw=1, alpha=0.6)
        ax.scatter(pairs.mean(axis=1), scores, s=16, c=scores, cmap="coolwarm", zorder=3,
                   label="frame pair (midpoint)")
    ref = getattr(result, "reference_pair_scores", None)
    if ref:
        face_frames = np.asarray(result.frame_indices)[np.asarray(result.has_face, bool)] * scale
        ax.plot(face_frames[: len(ref)], ref, color="#8e44ad", lw=1.2, marker=".", label="frame vs reference")
    if result.threshold is not None:
        ax.axhline(result.threshold, color="#c0392b", ls="--", lw=1, label="video threshold")
    if result.score is not None:
        ax.axhline(result.score, color="#2c3e50", lw=1.2, label="video score (mean of pairs)")
    ax.set_xlabel("time in the video (s)" if fps else "frame number (frame rate unknown)")
    ax.set_ylabel("pair score (higher = less natural)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return _figure_png(fig)


def calibration_png(score: float, calibration) -> bytes:
    """The video's score against the scores of the calibration real videos, threshold marked."""
    plt = _plt()
    cal = np.asarray(calibration.scores, float)
    fig, ax = plt.subplots(figsize=(8, 1.5))
    rng = np.random.default_rng(0)  # fixed jitter: the same report every time
    ax.scatter(cal, rng.uniform(-0.3, 0.3, len(cal)), s=14, color="#7f8c8d", alpha=0.7,
               label=f"calibration real videos ({len(cal)})")
    ax.axvline(calibration.threshold, color="#c0392b", ls="--", lw=1, label="threshold")
    ax.scatter([score], [0], marker="v", s=120, color="#2c3e50", zorder=4, label="this video")
    ax.set_yticks([])
    ax.set_ylim(-0.6, 0.6)
    ax.set_xlabel("differential score (higher = more likely fake)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.45), ncol=3, fontsize=8, frameon=False)
    return _figure_png(fig)


def _png(rgb: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise ValueError("PNG encoding failed")
    return buf.tobytes()


def difference_view(crop_a, lm_a, crop_b, lm_b, size: int = TILE) -> np.ndarray:
    """|a - b| after aligning b onto a by the similarity that best maps b's landmarks to a's.

    Aligning first means the view shows how the face itself changed, not that the head moved.
    """
    ok = np.isfinite(lm_a).all(axis=1) & np.isfinite(lm_b).all(axis=1)
    m = None
    if ok.sum() >= 3:
        m, _ = cv2.estimateAffinePartial2D(lm_b[ok].astype(np.float32), lm_a[ok].astype(np.float32))
    h, w = crop_a.shape[:2]
    warped = (cv2.warpAffine(crop_b, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
              if m is not None else cv2.resize(crop_b, (w, h)))
    diff = cv2.absdiff(cv2.cvtColor(crop_a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY))
    diff = np.clip(diff.astype(np.float32) * 4.0, 0, 255).astype(np.uint8)  # x4: small changes visible
    heat = cv2.cvtColor(cv2.applyColorMap(diff, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)
    return draw_landmarks(heat, np.full((68, 2), np.nan), size)


def top_pairs(result, k: int = 4):
    """The k most anomalous pairs as (score, frame_a, frame_b), highest first."""
    scores = np.asarray(result.pair_scores, dtype=float)
    order = np.argsort(-scores, kind="stable")[:k]
    return [(float(scores[i]), int(result.pairs[i][0]), int(result.pairs[i][1])) for i in order]


def _face(record, frame: int):
    hits = np.flatnonzero(np.asarray(record.frame_indices) == frame)
    if not len(hits) or record.crops[int(hits[0])] is None:
        return None, None
    i = int(hits[0])
    return record.crops[i], np.asarray(record.landmarks[i], np.float32)


def pair_pngs(result, record, k: int = 4) -> list[dict]:
    """For each top pair: PNGs of both crops with landmarks and of the aligned difference."""
    out = []
    for score, fa, fb in top_pairs(result, k):
        (ca, la), (cb, lb) = _face(record, fa), _face(record, fb)
        if ca is None or cb is None:
            continue
        out.append({"score": score, "frame_a": fa, "frame_b": fb,
                    "a": _png(draw_landmarks(ca, la, TILE)), "b": _png(draw_landmarks(cb, lb, TILE)),
                    "diff": _png(difference_view(ca, la, cb, lb))})
    return out
