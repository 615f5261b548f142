"""backbone.json, read and checked without torch (both engines read it).

A file whose checksum matches may still be hand-made or damaged: every value the
engines use is checked here, so a bad one is a FileError naming backbone.json,
not a KeyError or a 30 GB probe crop later.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..errors import FileError

META = "backbone.json"
FORMAT = 1
MAX_INPUT_SIZE = 2048     # pixels a side; EfficientNets run at 160-600


def read_backbone_json(path) -> dict:
    """The parsed backbone.json; FileError(path, reason) when a value the engines need is unusable."""
    path = Path(path)
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise FileError(path, f"not valid JSON ({type(exc).__name__}: {exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise FileError(path, f"unknown format {found!r} (expected {FORMAT})")
    problems = []
    if not isinstance(meta.get("timm_name"), str) or not meta["timm_name"]:
        problems.append("timm_name must be a model name")
    size, emb = meta.get("input_size"), meta.get("embedding_size")
    if not _int(size) or not 8 <= size <= MAX_INPUT_SIZE:
        problems.append(f"input_size must be an integer in [8, {MAX_INPUT_SIZE}], got {size!r}")
    if not _int(emb) or emb < 1:
        problems.append(f"embedding_size must be a positive integer, got {emb!r}")
    for key in ("mean", "std"):
        v = meta.get(key)
        if not (isinstance(v, list) and len(v) == 3 and all(_number(x) for x in v)):
            problems.append(f"{key} must be 3 finite numbers, got {v!r}"[:200])
        elif key == "std" and any(x == 0 for x in v):
            problems.append("std must not be 0")
    for key in ("training", "config", "versions"):
        if key in meta and not isinstance(meta[key], dict):
            problems.append(f"{key} must be an object")
    for key in ("weights_origin", "sha256"):
        if key in meta and not isinstance(meta[key], str):
            problems.append(f"{key} must be a string")
    if problems:
        raise FileError(path, "; ".join(problems))
    return meta


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
