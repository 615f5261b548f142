"""DFDC and the DFDC preview.

DFDC: every part folder holds a metadata.json
    {"abc.mp4": {"label": "FAKE", "split": "train", "original": "xyz.mp4"}}
(the test set's metadata may use "is_fake": 0/1 instead of "label").
Preview: one <root>/dataset.json whose keys are root-relative paths
    {"method_A/.../00190.mp4": {"label": "fake", "set": "test"}, ...}
"""
from __future__ import annotations

import json
from pathlib import Path

from .records import DatasetError, VideoRecord, finish, normalise_split, require_dir

METADATA = "metadata.json"
PREVIEW_INDEX = "dataset.json"


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(path, "file not found") from None
    except (OSError, ValueError) as exc:
        raise DatasetError(path, f"unreadable JSON ({exc})") from None
    if not isinstance(data, dict):
        raise DatasetError(path, "expected a JSON object keyed by video file name")
    return data


def _label(entry: dict, source: Path, key: str) -> str:
    if not isinstance(entry, dict):
        raise DatasetError(source, f"{key}: entry is not an object")
    if "label" in entry:
        label = str(entry["label"]).strip().lower()
    elif "is_fake" in entry:
        label = "fake" if int(entry["is_fake"]) == 1 else "real"
    else:
        raise DatasetError(source, f"{key}: no 'label' or 'is_fake'")
    if label not in ("real", "fake"):
        raise DatasetError(source, f"{key}: label {entry.get('label')!r} is neither REAL nor FAKE")
    return label


def _read_full(root: Path, dataset: str) -> list[VideoRecord]:
    metas = sorted(root.rglob(METADATA))
    if not metas:
        raise DatasetError(root, f"no {METADATA} or {PREVIEW_INDEX} found")
    records = []
    for meta in metas:
        folder = meta.parent
        for name, entry in _read_json(meta).items():
            label = _label(entry, meta, name)
            path = folder / name
            original = entry.get("original") if label == "fake" else name
            records.append(VideoRecord(
                path=path, video_id=path.relative_to(root).as_posix(), label=label,
                method="real" if label == "real" else "DFDC", dataset=dataset,
                split=normalise_split(entry.get("split"), meta),
                # group = id of the real video a fake was made from
                group=(folder / original).relative_to(root).as_posix() if original else None))
    return records


def _read_preview(root: Path, dataset: str) -> list[VideoRecord]:
    index = root / PREVIEW_INDEX
    records = []
    for key, entry in _read_json(index).items():
        label = _label(entry, index, key)
        video_id = Path(key).as_posix().lstrip("/")
        records.append(VideoRecord(
            path=root / video_id, video_id=video_id, label=label,
            method="real" if label == "real" else video_id.split("/")[0], dataset=dataset,
            split=normalise_split(entry.get("set"), index)))
    return records


def read_dfdc(root, split: str | None = None, dataset: str | None = None) -> list[VideoRecord]:
    """A DFDC root (metadata.json per part folder) or a DFDC-preview root (dataset.json)."""
    root = require_dir(root, "DFDC root")
    if (root / PREVIEW_INDEX).is_file():
        records = _read_preview(root, dataset or "dfdc-preview")
    else:
        records = _read_full(root, dataset or "dfdc")
    return finish(records, root, split)
