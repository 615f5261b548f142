"""Face crops: a square box enlarged 1.3x around its centre, landmarks moved into it.

Box choice: the union of dlib's detector box and the landmarks' bounding box.
dlib's HOG box is tight (brows to chin) and the landmarks miss the forehead, so
the union, enlarged 1.3x as in the paper, keeps forehead, jaw and some
background: the blending masks of the pseudo-fake synthesis need that margin.
The box is made square (longest side) so resizing to the network's square input
never distorts the face, then clipped to the frame (so border faces give
non-square crops).
"""
from __future__ import annotations

import cv2
import numpy as np


def box_of(landmarks_or_box) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of a 4-sequence box or the bounding box of (N, 2) points."""
    arr = np.asarray(landmarks_or_box, np.float64)
    if arr.shape == (4,):
        return tuple(float(v) for v in arr)
    if arr.ndim == 2 and arr.shape[1] == 2 and len(arr):
        return (float(arr[:, 0].min()), float(arr[:, 1].min()),
                float(arr[:, 0].max()), float(arr[:, 1].max()))
    raise ValueError(f"expected a box (4,) or points (N, 2), got shape {arr.shape}")


def union_box(a, b) -> tuple[float, float, float, float]:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def crop_box(box, frame_shape, scale: float = 1.3, square: bool = True) -> tuple[int, int, int, int]:
    """Integer box enlarged `scale`x around its centre (square if asked), clipped to the frame."""
    h, w = frame_shape[:2]
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    bw, bh = (x1 - x0) * scale, (y1 - y0) * scale
    if square:
        bw = bh = max(bw, bh)
    nx0 = int(np.clip(np.floor(cx - bw / 2), 0, w - 1))
    ny0 = int(np.clip(np.floor(cy - bh / 2), 0, h - 1))
    nx1 = int(np.clip(np.ceil(cx + bw / 2), nx0 + 1, w))
    ny1 = int(np.clip(np.ceil(cy + bh / 2), ny0 + 1, h))
    return nx0, ny0, nx1, ny1


def crop_face(rgb: np.ndarray, landmarks_or_box, scale: float = 1.3, landmarks=None,
              square: bool = True):
    """Crop a face: (crop RGB, crop_box in frame pixels, landmarks in crop pixels or None).

    `landmarks_or_box`: (68, 2) landmarks (box = their bounding box) or a box.
    `landmarks`: points to move into the crop when a box is given.
    """
    arr = np.asarray(landmarks_or_box)
    if landmarks is None and arr.ndim == 2:
        landmarks = arr
    cb = crop_box(box_of(landmarks_or_box), rgb.shape, scale, square)
    x0, y0, x1, y1 = cb
    crop = np.ascontiguousarray(rgb[y0:y1, x0:x1])
    moved = None
    if landmarks is not None:
        moved = (np.asarray(landmarks, np.float32) - np.array([x0, y0], np.float32)).astype(np.float32)
    return crop, cb, moved


def shrink(crop: np.ndarray, landmarks, max_side: int):
    """Downscale a crop so its longest side is <= max_side; landmarks follow."""
    h, w = crop.shape[:2]
    if max_side <= 0 or max(h, w) <= max_side:
        return crop, landmarks
    f = max_side / max(h, w)
    nw, nh = max(1, round(w * f)), max(1, round(h * f))
    small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
    if landmarks is not None:
        # Pixel-centre convention: x_small = (x + 0.5) * f - 0.5, per axis.
        fx, fy = nw / w, nh / h
        landmarks = ((np.asarray(landmarks, np.float32) + 0.5) * np.array([fx, fy], np.float32)
                     - 0.5).astype(np.float32)
    return small, landmarks
