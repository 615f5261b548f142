"""The train/validation split of the built-in detector's backbone (v2), from sources.csv.

v1 was trained on the real media as it stood then: the first 88 videos and 311
photos listed in real/sources.csv (the list is append-only), split by
`split_ids(ids, 0.4, seed 0)`; its 52 validation videos are the ones its
model.json lists as the density pool, which this script checks. v2 fine-tunes
v1 on the grown pool: `extend_split` keeps every v1 id on its side and splits
the added ids (videos 0.4, photos 0.1, whole person/source groups).

    python scripts/make_default_split.py REAL_DIR STORE OUT_DIR
writes OUT_DIR/split_v1.json and OUT_DIR/split_v2.json ({"train": [...], "val": [...]}).

Both were made when the library's group key also knew the recurring people of
../shared/data/real by name (Obama in clips of four repositories, MEAD actors in
two). That knowledge belongs to this data, not to the library, so it lives here,
as the groups the splitter is given (difffake.splits.Groups): the splits are
reproduced exactly.
"""
from __future__ import annotations

import csv
import json
import re
import sys
from pathlib import Path, PurePosixPath

from difffake.faces.store import FaceStore
from difffake.splits import Groups, extend_split, split_ids

V1_VIDEOS, V1_PHOTOS = 88, 311

# Recurring people in ../shared/data/real when v1 and v2 were split.
PERSON_PATTERNS = [
    ("obama", re.compile(r"obama")),
    ("biden", re.compile(r"biden")),
    ("trump", re.compile(r"trump")),
    ("kit_harington", re.compile(r"kit_")),
    ("rose_leslie", re.compile(r"rose_leslie|with_rose")),
    ("john_simm", re.compile(r"john_simm|johns__")),
    # MEAD speaker codes (M003, W023 ...) recur across repositories.
    ("mead", re.compile(r"(?<![a-z0-9])([mw]0\d\d)(?![0-9])")),
]


def people(ids) -> Groups:
    """The ids whose file name names a recurring person -> that person; the rest keep
    the library's default (their source repository)."""
    given = {}
    for vid in ids:
        name = PurePosixPath(vid).name.lower()
        for person, pattern in PERSON_PATTERNS:
            match = pattern.search(name)
            if match:
                given[vid] = f"person:{person}" + (f":{match.group(1)}" if match.groups() else "")
                break
    return Groups(given, source="make_default_split.PERSON_PATTERNS")


def main(real_dir: str, store: str, out: str) -> int:
    with open(Path(real_dir) / "sources.csv", newline="") as f:
        paths = [row["path"].removeprefix("real/") for row in csv.DictReader(f)]
    videos = [p for p in paths if p.startswith("videos/")]
    photos = [p for p in paths if p.startswith("photos/")]
    store_ids = FaceStore(store).ids()
    groups = people(videos + photos + store_ids)
    v1_train, v1_val = split_ids(videos[:V1_VIDEOS] + photos[:V1_PHOTOS], 0.4, 0, by=groups)
    train, val = extend_split(v1_train, v1_val, store_ids, 0.4, 0, {"photos": 0.1}, by=groups)
    note = ("v1's split (first 88 videos + 311 photos of sources.csv, split_ids 0.4, seed 0) extended "
            "by extend_split (videos 0.4, photos 0.1, seed 0); validation ids were never trained on")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "split_v1.json").write_text(json.dumps({"train": v1_train, "val": v1_val}, indent=1))
    (out / "split_v2.json").write_text(json.dumps({"train": train, "val": val, "note": note}, indent=1))
    print(f"{out}: v1 {len(v1_train)} train / {len(v1_val)} validation ids; v2 {len(train)} train / "
          f"{len(val)} validation ids ({sum(v.startswith('videos/') for v in val)} videos)")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
