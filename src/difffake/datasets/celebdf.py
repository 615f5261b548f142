"""Celeb-DF (v2): Celeb-real/, YouTube-real/, Celeb-synthesis/ and the official
List_of_testing_videos.txt, whose lines read "1 YouTube-real/00170.mp4" with
label 1 = REAL and 0 = FAKE (the opposite of difffake's convention).

Videos in the list get split "test", the others "train"; without the list the
split is None.
"""
from __future__ import annotations

from pathlib import Path

from .records import (
    VIDEO_EXTENSIONS,
    DatasetError,
    VideoRecord,
    finish,
    log,
    media_files,
    numbered_lines,
    relative_id,
    require_dir,
)

FOLDERS = {"Celeb-real": "real", "YouTube-real": "real", "Celeb-synthesis": "fake"}
TEST_LIST = "List_of_testing_videos.txt"


def read_test_list(path: Path) -> dict[str, str]:
    """video id -> "real"/"fake" from the official list (1 = real)."""
    listed = {}
    for number, line in numbered_lines(path):
        parts = line.split()
        if len(parts) != 2 or parts[0] not in ("0", "1"):
            raise DatasetError(path, f"line {number}: expected '<1 real|0 fake> <relative path>', got {line!r}")
        video_id = Path(parts[1]).as_posix()
        if video_id in listed:
            raise DatasetError(path, f"line {number}: {video_id} is listed twice")
        listed[video_id] = "real" if parts[0] == "1" else "fake"
    return listed


def _group(stem: str, label: str) -> str:
    # Celeb-synthesis "id0_id16_0003" swaps id16's face into Celeb-real "id0_0003".
    if label == "fake":
        parts = stem.split("_")
        if len(parts) == 3:
            return f"{parts[0]}_{parts[2]}"
    return stem


def read_celebdf(root, test_list=None, split: str | None = None, dataset: str = "celebdf") -> list[VideoRecord]:
    root = require_dir(root, "Celeb-DF root")
    list_path = Path(test_list) if test_list is not None else root / TEST_LIST
    if test_list is not None or list_path.is_file():
        listed = read_test_list(list_path)
    else:
        log.info("Celeb-DF: %s not present, split left empty", list_path)
        listed = None

    records = []
    for folder, label in FOLDERS.items():
        if not (root / folder).is_dir():
            log.info("Celeb-DF: %s not present, skipped", root / folder)
            continue
        for path in media_files(root / folder, VIDEO_EXTENSIONS):
            video_id = relative_id(path, root)
            record_split = None
            if listed is not None:
                record_split = "test" if video_id in listed else "train"
                if video_id in listed and listed[video_id] != label:
                    raise DatasetError(list_path, f"{video_id} listed as {listed[video_id]} but lies in {folder}/")
            records.append(VideoRecord(
                path=path, video_id=video_id, label=label,
                method="real" if label == "real" else "Celeb-synthesis", dataset=dataset,
                split=record_split, group=_group(path.stem, label)))
    if listed is not None:
        missing = set(listed) - {r.video_id for r in records}
        if missing:
            log.warning("Celeb-DF: %d videos of %s are missing on disk (e.g. %s)",
                        len(missing), list_path, sorted(missing)[0])
    return finish(records, root, split)
