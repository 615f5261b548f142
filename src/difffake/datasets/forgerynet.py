"""ForgeryNet video-level lists: lines "relative/path.mp4 1" or
"relative/path.mp4,1" (1 = fake, 0 = real), paths relative to the root. Extra
columns are allowed; a third column (ForgeryNet's manipulation type) becomes
the method. A header line without a 0/1 label is skipped.
"""
from __future__ import annotations

from pathlib import Path

from .records import (
    DatasetError,
    VideoRecord,
    finish,
    log,
    normalise_split,
    numbered_lines,
    require_dir,
)

DEFAULT_LISTS = ("video_list.txt", "Validation/video_list.txt", "val_video_list.txt",
                 "test_video_list.txt", "video_list.csv")


def find_list(root: Path) -> Path | None:
    for name in DEFAULT_LISTS:
        if (root / name).is_file():
            return root / name
    return None


def read_forgerynet(root, list_file=None, split: str | None = "test", check_exists: bool = True,
                    dataset: str = "forgerynet") -> list[VideoRecord]:
    """`split` is the split the list describes (ForgeryNet's public lists are validation/test)."""
    root = require_dir(root, "ForgeryNet root")
    list_path = Path(list_file) if list_file is not None else find_list(root)
    if list_path is None:
        raise DatasetError(root, f"no video list found (looked for {', '.join(DEFAULT_LISTS)}); pass list_file=")
    if not list_path.is_absolute() and not list_path.exists():
        list_path = root / list_path
    split = normalise_split(split, list_path)
    records, missing = [], 0
    for index, (number, line) in enumerate(numbered_lines(list_path)):
        parts = [p.strip() for p in (line.split(",") if "," in line else line.split())]
        if len(parts) < 2 or parts[1] not in ("0", "1"):
            if index == 0:
                continue  # header
            raise DatasetError(list_path, f"line {number}: expected '<path> <0 real|1 fake>', got {line!r}")
        video_id = Path(parts[0]).as_posix().lstrip("/")
        path = root / video_id
        if check_exists and not path.is_file():
            missing += 1
            continue
        label = "fake" if parts[1] == "1" else "real"
        method = "real" if label == "real" else (f"type-{parts[2]}" if len(parts) > 2 and parts[2] else "fake")
        records.append(VideoRecord(path=path, video_id=video_id, label=label, method=method,
                                   dataset=dataset, split=split))
    if missing:
        log.warning("ForgeryNet: %d videos of %s are missing on disk, skipped", missing, list_path)
    return finish(records, list_path)
