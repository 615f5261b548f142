"""The shape contract of one face store entry, checked when it is loaded.

An entry whose arrays disagree (5 frames of landmarks for 4 frames, a float
`has_face`, meta that is not a JSON object) would fail far from its file, in
pairing or scoring; it is refused here instead, with what is wrong.
"""
from __future__ import annotations

import json

import numpy as np

REQUIRED = ("frame_indices", "has_face", "boxes", "landmarks", "scores", "frame_size", "meta")


def _expect(arrays: dict, name: str, kind: str, shape: tuple) -> None:
    a = arrays[name]
    if a.dtype.kind not in kind:
        raise ValueError(f"{name} has dtype {a.dtype}, expected kind {kind!r}")
    if a.shape != shape:
        raise ValueError(f"{name} has shape {a.shape}, expected {shape}")


def check_arrays(arrays: dict) -> dict:
    """Raise ValueError saying what is wrong unless `arrays` form an entry; return its meta dict."""
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ValueError(f"missing arrays {', '.join(missing)}")
    has_face = arrays["has_face"]
    if has_face.dtype != np.bool_ or has_face.ndim != 1:
        raise ValueError(f"has_face must be a 1-d bool array, not {has_face.dtype} {has_face.shape}")
    n = len(has_face)
    _expect(arrays, "frame_indices", "iu", (n,))
    _expect(arrays, "boxes", "f", (n, 4))
    _expect(arrays, "landmarks", "f", (n, 68, 2))
    _expect(arrays, "scores", "f", (n,))
    _expect(arrays, "frame_size", "iu", (2,))
    if "segment" in arrays:
        _expect(arrays, "segment", "iu", (n,))
    if arrays["meta"].dtype.kind != "U" or arrays["meta"].shape != ():
        raise ValueError("meta must be one JSON string")
    meta = json.loads(str(arrays["meta"]))
    if not isinstance(meta, dict):
        raise ValueError(f"meta must be a JSON object, not {type(meta).__name__}")
    for key in ("video_id", "source"):   # `prepare` compares source as a path to decide reuse
        if not isinstance(meta.get(key, ""), str):
            raise ValueError(f"meta.{key} must be a string")
    return meta
