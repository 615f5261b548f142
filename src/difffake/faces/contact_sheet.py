"""Contact sheet: stored crops with their 68 landmarks drawn, one row per video.

For checking alignment by eye: landmarks are coloured by region, each row is
labelled with the video id, and sampled frames without a face show as grey
"no face" tiles (so detection gaps are visible too).
"""
from __future__ import annotations

import cv2
import numpy as np

from .video import even_indices

# iBUG 300-W regions -> RGB colour.
REGIONS = {
    "jaw": (range(17), (255, 255, 0)),
    "brows": (range(17, 27), (255, 128, 0)),
    "nose": (range(27, 36), (0, 255, 255)),
    "eyes": (range(36, 48), (0, 255, 0)),
    "mouth": (range(48, 68), (255, 0, 255)),
}
LABEL_H = 18


def draw_landmarks(crop: np.ndarray, landmarks: np.ndarray, size: int) -> np.ndarray:
    """The crop letterboxed into a size x size tile with coloured landmark dots."""
    h, w = crop.shape[:2]
    f = size / max(h, w)
    nw, nh = max(1, round(w * f)), max(1, round(h * f))
    tile = np.zeros((size, size, 3), np.uint8)
    ox, oy = (size - nw) // 2, (size - nh) // 2
    tile[oy:oy + nh, ox:ox + nw] = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
    radius = max(1, size // 100)
    for idx, colour in REGIONS.values():
        for i in idx:
            x, y = landmarks[i]
            if np.isfinite(x) and np.isfinite(y):
                cv2.circle(tile, (int(round(ox + (x + 0.5) * f - 0.5)), int(round(oy + (y + 0.5) * f - 0.5))),
                           radius, colour, -1, lineType=cv2.LINE_AA)
    return tile


def _blank(size: int, text: str) -> np.ndarray:
    tile = np.full((size, size, 3), 60, np.uint8)
    cv2.putText(tile, text, (6, size // 2), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (220, 220, 220), 1, cv2.LINE_AA)
    return tile


def _label(text: str, width: int) -> np.ndarray:
    strip = np.full((LABEL_H, width, 3), 255, np.uint8)
    max_chars = max(4, width // 7)
    if len(text) > max_chars:
        text = "..." + text[-(max_chars - 3):]  # the tail of an id is the informative part
    cv2.putText(strip, text, (3, LABEL_H - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def contact_sheet(records, per_video: int = 6, tile: int = 128) -> np.ndarray:
    """RGB image: one labelled row per FaceRecord, `per_video` evenly spaced sampled frames."""
    rows = []
    width = per_video * tile
    for rec in records:
        picks = even_indices(rec.num_frames, per_video)
        tiles = []
        for i in picks:
            if rec.has_face[i] and rec.crops[i] is not None:
                tiles.append(draw_landmarks(rec.crops[i], rec.landmarks[i], tile))
            else:   # a face of another person than the scored one (identity_switch) is no face here
                other = rec.segment is not None and rec.segment[i] >= 0
                tiles.append(_blank(tile, f"person {rec.segment[i]}" if other else "no face"))
        tiles += [np.zeros((tile, tile, 3), np.uint8)] * (per_video - len(tiles))
        rate = f"{rec.num_faces}/{rec.num_frames} faces"
        if rec.meta.get("segments", 1) > 1:
            rate += f", {rec.meta['segments']} people: only person {rec.meta.get('segment_kept', 0)} scored"
        rows.append(_label(f"{rec.video_id}  ({rate})", width))
        rows.append(np.concatenate(tiles, axis=1))
    if not rows:
        raise ValueError("no records to draw")
    return np.concatenate(rows, axis=0)


def save_png(rgb: np.ndarray, path) -> None:
    """A PNG at `path` whatever its extension (cv2.imwrite picks the format by it and raises
    cv2.error on none it knows); OSError when it cannot be written there."""
    ok, buf = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"{path}: could not encode PNG")
    with open(path, "wb") as fh:
        fh.write(buf.tobytes())
