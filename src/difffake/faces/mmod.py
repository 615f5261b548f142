"""dlib's CNN face detector (mmod), on a frame reduced to a pixel budget.

Its weights, `mmod_human_face_detector.dat`, ship in the same registry wheel as
the 68-point model (face-recognition-models), so nothing is downloaded. It sees
dark, blurred and half-turned faces that HOG misses, but on this CPU it costs
~1 us per pixel (~2 s for a 1080p frame), so the frame is resized to hold at
most `pixel_budget` pixels (upscaled, to at most `max_zoom`, when smaller:
the CNN's smallest face is ~40 px). Dark frames are brightened with CLAHE first
(the CNN was trained on well-lit photos). Used as DlibDetector's last fallback
or on its own (FaceConfig.detector = "dlib-mmod").
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
                 min_confidence: float = 0.3, dark_mean: float = 70.0):
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

    @classmethod
    def from_config(cls, cfg) -> MmodDetector:
        return cls()   # FaceConfig's sizes are HOG's; the CNN has its own pixel budget

    def settings(self) -> dict:
        return dict(name=self.name, pixel_budget=self.pixel_budget, max_zoom=self.max_zoom,
                    min_confidence=self.min_confidence, dark_mean=self.dark_mean)

    def _prepared(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        h, w = rgb.shape[:2]
        scale = min(self.max_zoom, math.sqrt(self.pixel_budget / max(1, h * w)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        img = rgb if scale == 1 else cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                interpolation=interp)
        if cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).mean() < self.dark_mean:
            lab = cv2.cvtColor(img, cv2.COLOR_RGB2LAB)   # brighten the lightness only: colours stay
            lab[..., 0] = self._clahe.apply(lab[..., 0])
            img = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
        return np.ascontiguousarray(img), scale

    def detect_boxes(self, rgb: np.ndarray, hint_box=None) -> tuple[list, str]:
        """Boxes (full-frame pixels) with confidences, and the stage name 'mmod'."""
        img, scale = self._prepared(rgb)
        found = []
        for d in self._cnn(img, 0):
            if d.confidence < self.min_confidence:
                continue
            r = d.rect
            found.append(((r.left() / scale, r.top() / scale, r.right() / scale, r.bottom() / scale),
                          float(d.confidence)))
        return found, ("mmod" if found else "none")

