"""DFDC and the DFDC preview.

DFDC: every part folder holds a metadata.json
    {"abc.mp4": {"label": "FAKE", "split": "train", "original": "xyz.mp4"}}
(the test set's metadata may use "is_fake": 0/1 instead of "label").
Public test and validation sets: a labels.csv "filename,label" (1 = FAKE) in
the folder of the videos (or of its videos/ subfolder); their split is the
folder's name when it names one (test/, validation/). A folder with a
metadata.json ignores a labels.csv beside it.
Preview: one <root>/dataset.json whose keys are root-relative paths
    {"method_A/.../00190.mp4": {"label": "fake", "set": "test"}, ...}
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

from .records import (
    _SPLIT_ALIASES,
    DatasetError,
    VideoRecord,
    finish,
    normalise_split,
    require_dir,
)

METADATA = "metadata.json"
PREVIEW_INDEX = "dataset.json"
LABEL_LISTS = ("labels.csv", "label.csv")   # the dataset's docs use both names


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
        label = {"1": "fake", "0": "real", "true": "fake", "false": "real"}.get(str(entry["is_fake"]).lower(), "")
        if not label:
            raise DatasetError(source, f"{key}: is_fake {entry['is_fake']!r} is neither 0 nor 1")
    else:
        raise DatasetError(source, f"{key}: no 'label' or 'is_fake'")
    if label not in ("real", "fake"):
        raise DatasetError(source, f"{key}: label {entry.get('label')!r} is neither REAL nor FAKE")
    return label


def _read_label_csv(path: Path, root: Path, dataset: str) -> list[VideoRecord]:
    """A public test/validation labels.csv: filename,label with 1 = FAKE."""
    folder = path.parent / "videos" if (path.parent / "videos").is_dir() else path.parent
    split = _SPLIT_ALIASES.get(path.parent.name.lower())
    records = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            for row in reader:
                if not row or (reader.line_num == 1 and row[0].strip().lower() in ("filename", "path")):
                    continue
                if len(row) < 2 or row[1].strip() not in ("0", "1") or not row[0].strip():
                    raise DatasetError(path, f"line {reader.line_num}: expected '<file name>,<0 real|1 fake>', "
                                             f"got {','.join(row)!r}")
                video = folder / row[0].strip()
                label = "fake" if row[1].strip() == "1" else "real"
                records.append(VideoRecord(path=video, video_id=video.relative_to(root).as_posix(), label=label,
                                           method="real" if label == "real" else "DFDC", dataset=dataset,
                                           split=split))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(path, f"labels list unreadable ({exc})") from None
    return records


def _read_full(root: Path, dataset: str) -> list[VideoRecord]:
    metas = sorted(root.rglob(METADATA))
    with_meta = {m.parent for m in metas}
    label_lists = sorted(p for name in LABEL_LISTS for p in root.rglob(name) if p.parent not in with_meta)
    if not metas and not label_lists:
        raise DatasetError(root, f"no {METADATA}, {' or '.join(LABEL_LISTS)} or {PREVIEW_INDEX} found")
    records = [r for path in label_lists for r in _read_label_csv(path, root, dataset)]
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
