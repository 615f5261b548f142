"""Find the face near where it was: detect in a small window around the previous face first.

A face moves little between two sampled frames, so HOG over a window of
`window` x the previous face's size (a fifth of a 512 x 340 frame for a
124 px face) finds it for a fraction of the cost of the whole frame. The
window is shrunk so the face is at most `face_px` high (HOG finds faces from
~80 px; big faces need no more pixels); faces under `min_face_px` skip it, and the landmarks are then predicted on the full-resolution
frame, so crops and landmarks keep their full quality. When the window holds
no face, the frame goes through the detector's full search (every fallback),
so no face is lost that the full search would have found; after such a miss
the window waits for the full search to find a face again.

Only for the "track" policy: the paper's "largest" must look at the whole frame.
"""
from __future__ import annotations

import cv2
import numpy as np

from .detect import DlibDetector, Face


class RoiTracker:
    """Wraps a DlibDetector (its plain HOG pass `_run` and `landmarks`); same `detect` call."""

    def __init__(self, detector, window: float = 1.8, face_px: int = 100, min_face_px: int = 85):
        self.detector = detector
        self.name = getattr(detector, "name", type(detector).__name__)
        self.window = window
        self.face_px = face_px
        self.min_face_px = min_face_px   # smaller faces need the detector's zoomed track/upsampling
        self.hits = self.misses = 0
        self._missed_hint = None   # a hint whose window held no face: not tried again

    def settings(self) -> dict:
        base = getattr(self.detector, "settings", dict)()
        return {**base, "roi_window": self.window, "roi_face_px": self.face_px,
                "roi_min_face_px": self.min_face_px}

    def _window(self, shape, hint_box):
        h, w = shape[:2]
        x0, y0, x1, y1 = (float(v) for v in hint_box)
        side = max(x1 - x0, y1 - y0, 8.0)
        half = self.window * side / 2
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        rx0, ry0 = int(max(0, cx - half)), int(max(0, cy - half))
        rx1, ry1 = int(min(w, cx + half)), int(min(h, cy + half))
        return (rx0, ry0, rx1, ry1), min(1.0, self.face_px / side)

    def detect(self, rgb: np.ndarray, hint_box=None) -> list[Face]:
        if hint_box is not None and self._worth_trying(hint_box):
            faces = self._detect_near(rgb, hint_box)
            if faces:
                self.hits += 1
                return faces
            self.misses += 1
            self._missed_hint = tuple(hint_box)
        return self.detector.detect(rgb, hint_box=hint_box)

    def _worth_trying(self, hint_box) -> bool:
        x0, y0, x1, y1 = (float(v) for v in hint_box)
        # plain HOG cannot see a small face; a window that just missed is not tried twice
        return max(x1 - x0, y1 - y0) >= self.min_face_px and tuple(hint_box) != self._missed_hint

    def _detect_near(self, rgb, hint_box) -> list[Face]:
        (rx0, ry0, rx1, ry1), scale = self._window(rgb.shape, hint_box)
        region = rgb[ry0:ry1, rx0:rx1]
        if scale < 1.0:
            region = cv2.resize(region, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        gray = cv2.cvtColor(region, cv2.COLOR_RGB2GRAY)
        found = self.detector._run(gray)   # one plain HOG pass: no fallbacks inside the window
        faces = []
        for (bx0, by0, bx1, by1), score in found:
            box = (bx0 / scale + rx0, by0 / scale + ry0, bx1 / scale + rx0, by1 / scale + ry0)
            faces.append(Face(box=box, landmarks=self.detector.landmarks(rgb, box), score=score,
                              stage="roi"))
        return faces


def with_roi_tracking(detector, policy: str):
    """The detector wrapped by RoiTracker where that is safe: the track policy and dlib's HOG
    detector, whose plain pass (`_run` on a grey window) the tracker calls; any other detector
    (dlib's CNN, a plugin) is returned as it is."""
    if policy != "track" or not isinstance(detector, DlibDetector):
        return detector
    return RoiTracker(detector)
