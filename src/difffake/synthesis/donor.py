"""Other-identity pseudo-fakes: the blend's source is another person's face, aligned and colour-matched.

A self-blend's source is the target itself, so its only traces are the jitter and
the seam. A real swap puts another face inside the mask: skin texture, pores,
ageing and lighting no longer match the outside. Face X-ray blends such donor
faces; we add them as an option beside the self-blend (SynthConfig.p_other_identity):
- donor: the face, among a few random ones from other videos, whose normalised
  landmarks are nearest to the target's (similar pose, so the warp stays mild);
- alignment: the least-squares similarity from the donor's 68 landmarks onto
  the target's;
- colour: Reinhard transfer in Lab inside the target's face hull, as swap tools
  do (DeepFaceLab's "rct"), so colour alone does not give the blend away.
"""
from __future__ import annotations

import cv2
import numpy as np

from .masks import draw_mask


def normalised_shape(landmarks: np.ndarray) -> np.ndarray:
    """(136,) landmarks centred and scaled to unit RMS radius: pose and expression, not place or size."""
    lm = np.asarray(landmarks, np.float64)
    lm = lm - lm.mean(0)
    return (lm / max(float(np.sqrt((lm ** 2).sum(1).mean())), 1e-9)).ravel()


class DonorIndex:
    """Chooses donor faces for items: `pick(i, rng)` -> index of a face from another video, or None."""

    def __init__(self, landmarks, video_ids, candidates: int = 64):
        self.shapes = np.stack([normalised_shape(lm) for lm in landmarks]) if len(landmarks) else np.zeros((0, 136))
        self.video_ids = np.asarray(list(video_ids), dtype=object)
        self.candidates = int(candidates)

    def pick(self, index: int, rng: np.random.Generator) -> int | None:
        n = len(self.video_ids)
        drawn = rng.choice(n, min(self.candidates, n), replace=False) if n else np.zeros(0, int)
        drawn = drawn[self.video_ids[drawn] != self.video_ids[index]]
        if not len(drawn):
            return None
        distances = np.linalg.norm(self.shapes[drawn] - self.shapes[index], axis=1)
        return int(drawn[int(np.argmin(distances))])


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (rotation, uniform scale, shift) taking `src` points onto `dst`.

    Umeyama's closed form over all points. cv2.estimateAffinePartial2D samples
    point subsets (RANSAC / LMedS); every landmark is an inlier here, and the
    plain least-squares fit is what the alignment needs.
    """
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    sign = np.diag([1.0, np.sign(np.linalg.det(u) * np.linalg.det(vt))])
    rot = u @ sign @ vt
    scale = float(np.trace(np.diag(sig) @ sign) / max((s ** 2).sum(1).mean(), 1e-12))
    return np.hstack([scale * rot, (md - scale * rot @ ms)[:, None]]).astype(np.float32)


def align_donor(donor: np.ndarray, donor_landmarks, target_landmarks, shape) -> np.ndarray:
    """The donor crop warped so its landmarks lie on the target's, at the target crop's size."""
    matrix = similarity_matrix(donor_landmarks, target_landmarks)
    h, w = shape[:2]
    return cv2.warpAffine(donor, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def match_colour(source: np.ndarray, target: np.ndarray, landmarks) -> np.ndarray:
    """`source` with its Lab mean and spread inside the target's face hull set to the target's there."""
    region = draw_mask(landmarks, target.shape, "hull").astype(bool)
    if region.sum() < 16:
        return source
    src = cv2.cvtColor(source, cv2.COLOR_RGB2LAB).astype(np.float32)
    dst = cv2.cvtColor(target, cv2.COLOR_RGB2LAB).astype(np.float32)
    s_mean, s_std = src[region].mean(0), src[region].std(0) + 1e-3
    d_mean, d_std = dst[region].mean(0), dst[region].std(0)
    # Bounded gain: a flat donor region (a shadow, a blurred photo) would otherwise blow up.
    out = (src - s_mean) * np.clip(d_std / s_std, 0.5, 2.0) + d_mean
    return cv2.cvtColor(np.clip(np.rint(out), 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)


def donor_source(donor: np.ndarray, donor_landmarks, target: np.ndarray, target_landmarks) -> np.ndarray:
    """The blend source made from a donor face for `target`: aligned, then colour-matched."""
    aligned = align_donor(donor, donor_landmarks, target_landmarks, target.shape)
    return match_colour(aligned, target, target_landmarks)


def donor_video_sources(target, donor) -> dict[int, np.ndarray]:
    """For each face frame of FaceRecord `target`: the blend source made from the frame of FaceRecord
    `donor` whose landmark shape is nearest (one identity for the whole clip, the pose following the
    target's, as a swap does). {} when the donor has no face."""
    positions = donor.face_positions()
    if not len(positions):
        return {}
    shapes = np.stack([normalised_shape(donor.landmarks[j]) for j in positions])
    out = {}
    for i in target.face_positions():
        nearest = np.linalg.norm(shapes - normalised_shape(target.landmarks[i]), axis=1)
        j = int(positions[int(np.argmin(nearest))])
        out[int(i)] = donor_source(donor.crops[j], donor.landmarks[j], target.crops[i], target.landmarks[i])
    return out
