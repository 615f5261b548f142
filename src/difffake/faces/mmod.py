"""dlib's CNN face detector (mmod), on a frame reduced to a pixel budget.

Its weights, `mmod_human_face_detector.dat`, ship in the same registry wheel as
the 68-point model (face-recognition-models), so nothing is downloaded. It sees
dark, blurred and half-turned faces that HOG misses, but on this CPU it costs
~1 us per pixel (~2 s for a 1080p frame), so the frame is resized to hold at
most `pixel_budget` pixels (upscaled, to at most `max_zoom`, when smaller:
the CNN's smallest face is ~40 px). Dark frames are brightened with CLAHE first
(the CNN was trained on well-lit photos). Used as DlibDetector's last fallback
or on its own (FaceConfig.detector = "dlib-mmod").

With a hint (where the face was in the previous sampled frame) the CNN first
looks at a window of `near_window` x that face's side, scaled so the face is
`near_face_px` high: ~60k pixels instead of the budget's 262k, so ~5x less
time (1.4 s -> 0.25 s per call on dev clips here). At that face size its boxes
are close to the whole-frame ones (the CNN's boxes shift a little with the
face's size in pixels). When the window holds no face, the whole frame is
searched as without a hint.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

from .detect import LANDMARKS_68, Landmarks68, models_dir

MMOD = "mmod_human_face_detector.dat"


class MmodDetector(Landmarks68):
    name = "dlib-mmod"

    def __init__(self, pixel_budget: int = 262_144, max_zoom: float = 2.0,
                 min_confidence: float = 0.3, dark_mean: float = 70.0,
                 near_window: float = 2.5, near_face_px: int = 100):
        import dlib  # imported here so that `difffake --help` stays fast

        folder = models_dir()
        if not (folder / MMOD).exists():
            raise FileNotFoundError(f"{folder / MMOD}: CNN face model missing from face-recognition-models")
        self._dlib = dlib
        self._cnn = dlib.cnn_face_detection_model_v1(str(folder / MMOD))
        self._shape = dlib.shape_predictor(str(folder / LANDMARKS_68))
        self._clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))
        self.pixel_budget = pixel_budget
        self.max_zoom = max_zoom
        self.min_confidence = min_confidence
        self.dark_mean = dark_mean
        self.near_window = near_window   # 0: no window, always the whole frame
        self.near_face_px = near_face_px

    @classmethod
    def from_config(cls, cfg) -> MmodDetector:
        return cls()   # FaceConfig's sizes are HOG's; the CNN has its own pixel budget

    def settings(self) -> dict:
        return dict(name=self.name, pixel_budget=self.pixel_budget, max_zoom=self.max_zoom,
                    min_confidence=self.min_confidence, dark_mean=self.dark_mean,
                    near_window=self.near_window, near_face_px=self.near_face_px)

    def _brightened(self, img: np.ndarray) -> np.ndarray:
        if cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).mean() < self.dark_mean:
            lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)   # brighten the lightness only: colours stay
            lab[..., 0] = self._clahe.apply(lab[..., 0])
            img = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        return np.ascontiguousarray(img)

    @staticmethod
    def _resized(img: np.ndarray, scale: float) -> np.ndarray:
        if scale == 1:
            return img
        h, w = img.shape[:2]
        return cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))),
                          interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)

    def _prepared(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = rgb.shape[:2]
        scale = min(self.max_zoom, math.sqrt(self.pixel_budget / max(1, h * w)))
        return self._brightened(self._resized(rgb, scale)), scale

    def _near_window(self, shape, hint_box) -> tuple[tuple[int, int, int, int], float] | None:
        """(x0, y0, x1, y1) of the window around the hinted face and the scale it is run at."""
        h, w = shape[:2]
        x0, y0, x1, y1 = (float(v) for v in hint_box)
        side = max(x1 - x0, y1 - y0)
        if not side > 0:
            return None
        half = self.near_window * side / 2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx0, ry0 = int(max(0, cx - half)), int(max(0, cy - half))
        rx1, ry1 = int(min(w, cx + half)), int(min(h, cy + half))
        if rx1 - rx0 < 8 or ry1 - ry0 < 8:
            return None
        return (rx0, ry0, rx1, ry1), min(self.max_zoom, self.near_face_px / side)

    def _cnn_boxes(self, img: np.ndarray, scale: float, dx: float = 0.0, dy: float = 0.0) -> list:
        found = []
        for d in self._cnn(img, 0):
            if d.confidence < self.min_confidence:
                continue
            r = d.rect
            found.append(((r.left() / scale + dx, r.top() / scale + dy,
                           r.right() / scale + dx, r.bottom() / scale + dy), float(d.confidence)))
        return found

    def detect_boxes(self, rgb: np.ndarray, hint_box=None) -> tuple[list, str]:
        """Boxes (full-frame pixels) with confidences, and the stage: 'mmod_near' (found in the
        window around the hint), 'mmod' (the whole frame) or 'none'."""
        window = self._near_window(rgb.shape, hint_box) if hint_box is not None and self.near_window > 0 else None
        if window is not None:
            (rx0, ry0, rx1, ry1), scale = window
            region = self._brightened(self._resized(rgb[ry0:ry1, rx0:rx1], scale))
            found = self._cnn_boxes(region, scale, rx0, ry0)
            if found:
                return found, "mmod_near"
        img, scale = self._prepared(rgb)
        found = self._cnn_boxes(img, scale)
        return found, ("mmod" if found else "none")
