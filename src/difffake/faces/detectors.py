"""Registered face detectors, found by name (FaceConfig.detector, FaceConfig.fallback).

Each is a class with the faces.detect.FaceDetector contract: `from_config(cfg)`,
`detect(rgb, hint_box=None) -> list[Face]`, `settings()`. Adding one is one new
file plus a line in FACE_DETECTORS. A detector that can serve as HOG's last
fallback also has `detect_boxes(rgb, hint_box)` (boxes without landmarks).
"""
from __future__ import annotations

from ..config import FaceConfig
from .detect import DlibDetector, FaceDetector
from .mmod import MmodDetector

FACE_DETECTORS: dict[str, type] = {
    "dlib-hog": DlibDetector,
    "dlib-mmod": MmodDetector,
}


def face_detector_names() -> tuple[str, ...]:
    return tuple(FACE_DETECTORS)


def fallback_names() -> tuple[str, ...]:
    """'none' and the registered detectors that give bare boxes (detect_boxes)."""
    return ("none", *(n for n, cls in FACE_DETECTORS.items()
                      if hasattr(cls, "detect_boxes") and n != "dlib-hog"))


def detector_class(name: str) -> type:
    try:
        return FACE_DETECTORS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown face detector {name!r}: choose one of "
                         f"{', '.join(FACE_DETECTORS)}") from None


def make_fallback(cfg: FaceConfig):
    """The second detector cfg.fallback names, or None for 'none'."""
    if cfg.fallback not in fallback_names():
        raise ValueError(f"unknown face fallback {cfg.fallback!r}: choose one of {', '.join(fallback_names())}")
    if cfg.fallback == "none":
        return None
    return detector_class(cfg.fallback).from_config(cfg)


def make_detector(cfg: FaceConfig | str | None = None, fallback: str = "none", **settings) -> FaceDetector:
    """The detector a FaceConfig names, built by its own from_config.

    make_detector("dlib-hog", fallback="none", upsample_max=0) is short for a FaceConfig
    with those fields (the others at their defaults)."""
    if cfg is None or isinstance(cfg, str):
        cfg = FaceConfig(detector=cfg or "dlib-hog", fallback=fallback, **settings)
    elif settings or fallback != "none":
        raise TypeError("give either a FaceConfig or a detector name with settings, not both")
    if cfg.fallback not in fallback_names():   # before loading any model
        raise ValueError(f"unknown face fallback {cfg.fallback!r}: choose one of {', '.join(fallback_names())}")
    return detector_class(cfg.detector).from_config(cfg)


__all__ = ["FACE_DETECTORS", "detector_class", "face_detector_names", "fallback_names", "make_detector"]
