"""Blending masks from 68 iBUG landmarks: four whole-face hulls and three regions.

Each mask is a union of convex hulls of landmark groups, filled with 1.
Hulls are drawn at any resolution from (possibly transformed) landmarks, so the
generator can rasterise the affine-moved mask directly at its small working
size instead of warping a full-size image.

iBUG 68: 0-16 jaw, 17-21 / 22-26 brows, 27-30 nose ridge, 31-35 nose bottom,
36-41 / 42-47 eyes, 48-67 mouth.
"""
from __future__ import annotations

import cv2
import numpy as np

# Whole-face hulls first (chosen with p_global_mask), then the regional ones.
GLOBAL_TYPES = ("dfl_full", "extended", "components", "hull")
REGION_TYPES = ("eyes", "mouth_jaw", "lower_head")
MASK_TYPES = GLOBAL_TYPES + REGION_TYPES

_R = lambda a, b: list(range(a, b + 1))
JAW, RBROW, LBROW = _R(0, 16), _R(17, 21), _R(22, 26)
RIDGE, NOSE_LOW, EYES, MOUTH = _R(27, 30), _R(31, 35), _R(36, 47), _R(48, 67)
CHIN, NOSE_TIP = 8, 30

# Groups of landmark indices; the mask is the union of each group's convex hull.
_GROUPS = {
    # Upper part reaches the jaw tops (0, 16) and the nose (27, 33) so it joins the jaw hull.
    "dfl_full": [JAW + MOUTH, RIDGE + NOSE_LOW, RBROW + LBROW + EYES + [0, 16, 27, 33]],
    "components": [
        _R(0, 8) + [17], _R(8, 16) + [26],                       # jaw halves
        _R(17, 19) + [CHIN], _R(24, 26) + [CHIN],                # cheeks
        _R(19, 24) + [CHIN],                                     # nose ridge up to the brows
        RBROW + [27] + NOSE_LOW + [CHIN], LBROW + [27] + NOSE_LOW + [CHIN],  # eye sides
        RIDGE + NOSE_LOW,                                        # nose
    ],
    "hull": [_R(0, 67)],
    "eyes": [RBROW + LBROW + EYES + [0, 1, 14, 15]],
    "mouth_jaw": [MOUTH + _R(4, 12) + NOSE_LOW],
    "lower_head": [_R(1, 15) + [29, 30]],
}


def extend_brows(landmarks: np.ndarray) -> np.ndarray:
    """Landmarks with the brows pushed halfway up the forehead.

    The forehead is not landmarked; its height is taken as the brow-to-nose-tip
    distance (roughly a third of the face), measured along the chin->brow axis so
    tilted faces extend the right way.
    """
    lm = np.asarray(landmarks, np.float32).copy()
    brows = RBROW + LBROW
    up = lm[brows].mean(0) - lm[CHIN]
    up /= max(float(np.linalg.norm(up)), 1e-6)
    forehead = float(np.dot(lm[brows].mean(0) - lm[NOSE_TIP], up))
    lm[brows] += 0.5 * max(forehead, 0.0) * up
    return lm


def hull_groups(landmarks: np.ndarray, mask_type: str) -> list[np.ndarray]:
    """Landmark point sets whose convex hulls make up `mask_type`."""
    if mask_type == "extended":
        lm = extend_brows(landmarks)
        return [lm[g] for g in _GROUPS["components"]]
    if mask_type not in _GROUPS:
        raise ValueError(f"unknown mask type {mask_type!r}; choose one of {MASK_TYPES}")
    lm = np.asarray(landmarks, np.float32)
    return [lm[g] for g in _GROUPS[mask_type]]


def draw_mask(landmarks: np.ndarray, shape, mask_type: str) -> np.ndarray:
    """uint8 (H, W) mask, 1 inside the union of the type's hulls, 0 elsewhere."""
    mask = np.zeros(tuple(shape[:2]), np.uint8)
    for pts in hull_groups(landmarks, mask_type):
        # Sub-pixel vertices (4 fractional bits) so small working sizes stay accurate.
        hull = cv2.convexHull(np.round(pts * 16).astype(np.int32))
        cv2.fillConvexPoly(mask, hull, 1, lineType=cv2.LINE_8, shift=4)
    return mask


def choose_mask_type(rng: np.random.Generator, p_global: float = 0.5) -> str:
    """A global hull (uniform among four) with p_global, else a region (uniform among three)."""
    if rng.random() < p_global:
        return GLOBAL_TYPES[int(rng.integers(len(GLOBAL_TYPES)))]
    return REGION_TYPES[int(rng.integers(len(REGION_TYPES)))]


def make_mask(landmarks: np.ndarray, shape, mask_type: str | None = None,
              rng: np.random.Generator | None = None) -> np.ndarray:
    """float32 (H, W) binary mask in [0, 1]; `mask_type` None draws one with `rng`."""
    if mask_type is None:
        if rng is None:
            raise ValueError("make_mask: give a mask_type or an rng to draw one")
        mask_type = choose_mask_type(rng)
    return draw_mask(landmarks, shape, mask_type).astype(np.float32)
