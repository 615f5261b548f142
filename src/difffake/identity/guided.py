"""With a reference, follow the reference's person when a frame shows several faces.

The face pipeline keeps one face per frame ('track' follows the face it started
on, which is the largest one of the first frame). In a clip with two people that
may be the other person, so the identity check would compare the reference with
someone else and call a real video "not the same person". Given a reference,
the choice among several faces is made by identity instead: the face whose
descriptor is nearest to the reference's. With 'track' this happens only where
the track starts or is lost (a face overlapping the previous one keeps it), so
a clip with one face, or one already being followed, costs no descriptor.
"""
from __future__ import annotations

import numpy as np

from ..faces.detect import iou

TRACK_IOU = 0.2   # faces.detect.pick_face keeps a face overlapping the previous one this much


class ReferenceGuidedDetector:
    """Wraps a FaceDetector: of several faces, only the one nearest the reference is passed on."""

    def __init__(self, inner, embedder, reference_desc: np.ndarray, policy: str):
        self._inner = inner
        self._embedder = embedder
        self._reference = np.asarray(reference_desc, np.float64)
        self._policy = policy
        self.choices = 0   # frames where identity chose among several faces

    def _distance(self, rgb: np.ndarray, face) -> float:
        height = float(face.landmarks[:, 1].max() - face.landmarks[:, 1].min())
        if height < self._embedder.min_face_px:   # too small for a trustworthy descriptor
            return np.inf
        desc = self._embedder.descriptor(rgb, face.landmarks).astype(np.float64)
        return float(np.linalg.norm(self._reference - desc, axis=1).min())

    def detect(self, rgb: np.ndarray, hint_box=None):
        faces = self._inner.detect(rgb, hint_box=hint_box)
        if len(faces) < 2:
            return faces
        if (self._policy == "track" and hint_box is not None
                and max(iou(f.box, hint_box) for f in faces) > TRACK_IOU):
            return faces   # the track goes on with the person it already follows
        self.choices += 1
        distances = [self._distance(rgb, f) for f in faces]
        if not np.isfinite(min(distances)):
            return faces   # no face big enough to tell: the policy decides as without a reference
        return [faces[int(np.argmin(distances))]]

    def __getattr__(self, name):   # name, settings, ... of the real detector
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def guided_face_detector(detector, reference):
    """The detector's face detector, guided by `reference` (an IdentityReference) when it has faces."""
    from .check import identity_embedder

    faces = detector.face_detector()
    if reference is None or len(getattr(reference, "descriptors", ())) == 0:
        return faces
    return ReferenceGuidedDetector(faces, identity_embedder(detector), reference.descriptors,
                                   detector.face_cfg.policy)
