"""A CSV list: header path,label[,method,group,split] (other columns ignored;
"filename" is accepted for "path", as in DFDC's test labels.csv). Paths are
relative to the CSV's folder, which is the dataset root. Labels: real/fake
(any case) or 0/1 with 0 = real.
"""
from __future__ import annotations

import csv
from pathlib import Path

from .records import DatasetError, VideoRecord, finish, normalise_split

DEFAULT_NAME = "labels.csv"
_LABELS = {"real": "real", "0": "real", "fake": "fake", "1": "fake"}


def read_csv_list(csv_path, dataset: str | None = None, split: str | None = None) -> list[VideoRecord]:
    """`csv_path`: the CSV file, or a folder holding labels.csv."""
    csv_path = Path(csv_path).expanduser()
    if csv_path.is_dir():
        csv_path = csv_path / DEFAULT_NAME
    csv_path = csv_path.resolve()
    root = csv_path.parent
    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            # (line in the file, row): DictReader skips blank lines, so count with line_num
            rows = [(reader.line_num, row) for row in reader]
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
    except FileNotFoundError:
        raise DatasetError(csv_path, "CSV list not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(csv_path, f"CSV list unreadable ({exc})") from None
    if not rows:
        raise DatasetError(csv_path, "CSV list has no rows")
    path_key = "path" if "path" in header else "filename" if "filename" in header else None
    if path_key is None or "label" not in header:
        raise DatasetError(csv_path, f"header needs 'path' (or 'filename') and 'label' columns, got {header}")

    records = []
    for line, raw in rows:
        row = {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}  # None: extra cells
        label = _LABELS.get(row["label"].lower())
        if label is None:
            raise DatasetError(csv_path, f"line {line}: label {row['label']!r} is not real/fake/0/1")
        relative = Path(row[path_key])
        if relative.is_absolute():
            try:
                relative = relative.resolve().relative_to(root)
            except ValueError:
                raise DatasetError(csv_path, f"line {line}: {relative} lies outside the CSV's folder") from None
        video_id = relative.as_posix()
        if video_id.startswith("../") or not row[path_key]:
            raise DatasetError(csv_path, f"line {line}: path {row[path_key]!r} must stay inside the CSV's folder")
        records.append(VideoRecord(
            path=root / relative, video_id=video_id, label=label,
            method="real" if label == "real" else (row.get("method") or "fake"),
            dataset=dataset or root.name, split=normalise_split(row.get("split"), csv_path),
            group=row.get("group") or None))
    return finish(records, csv_path, split)
