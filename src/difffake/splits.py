"""The one group-aware splitter: no person's (or source's) videos on both sides of a split.

Every split of video ids (the backbone's train / validation, `fit`'s cross-fitting
folds and its calibration hold-out) goes through a `Groups`: the group of an id is

1. the group a user gave for it: a groups file of `path,group` lines (`--groups`;
   a CSV with a `group` or `source_repo` column also works, e.g. real/sources.csv),
   or the `group` of dataset records (the CSV reader's `group` column, FF++ pairs);
   paths match an id exactly or by their last path parts ("real/videos/x.mp4"
   gives the group of "videos/x.mp4" and of "degraded/videos/x.mp4");
2. else `default_group(id)`: the folders the file sits in (a person's folder:
   "alice/clip1.mp4" and "bob/clip1.mp4" are two groups), leaving out layout
   folders such as videos/ or degraded/; with none, the source repository of a
   `<owner>__<repo>__<path>` name (this project's real media), else the file name.

Splitting is sklearn's: GroupKFold (balanced; the seed orders equal groups) for folds,
GroupShuffleSplit for a hold-out. `split_ids` / `extend_split` (the backbone's
validation split) keep their own loop: they fill a share PER top folder
(videos 0.4, photos 0.1), which no sklearn splitter offers, and the shipped
backbone's split (scripts/make_default_split.py) must stay reproducible.
"""
from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import numpy as np

# Folders that say what a file is, not whose it is (dataset layouts, degraded copies).
LAYOUT_FOLDERS = frozenset({"videos", "video", "photos", "images", "frames", "degraded", "real", "fake",
                            "original", "originals", "manipulated", "clips"})
_STORE_PREFIX = re.compile(r"^\d+:")   # pool keys of a second store sharing ids ("1:videos/x.mp4")


class GroupsFileError(ValueError):
    """A groups file that cannot be read as path,group lines."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def default_group(video_id: str) -> str:
    """The group of an id without a user's groups (see the module docstring)."""
    parts = PurePosixPath(_STORE_PREFIX.sub("", str(video_id))).parts
    folders = [p for p in parts[:-1] if p.lower() not in LAYOUT_FOLDERS]
    if folders:
        return "folder:" + "/".join(folders)
    name = parts[-1].lower() if parts else ""
    pieces = name.split("__")
    return "source:" + ("__".join(pieces[:2]) if len(pieces) > 2 else name)


class Groups:
    """id -> group: the user's (a mapping of paths) first, else `default_group`; per_video: one each."""

    def __init__(self, mapping: Mapping[str, str] | None = None, *, per_video: bool = False,
                 source: str | None = None):
        self.per_video = per_video
        self.source = source
        self._by_suffix: dict[str, str | None] = {}   # None: two groups claim that suffix
        for path, group in (mapping or {}).items():
            parts = PurePosixPath(str(path).replace("\\", "/")).parts
            for i in range(len(parts)):
                suffix = "/".join(parts[i:])
                if self._by_suffix.get(suffix, group) != group:
                    self._by_suffix[suffix] = None
                else:
                    self._by_suffix[suffix] = str(group)
        self.n_given = len(mapping or {})

    @classmethod
    def from_file(cls, path) -> Groups:
        return cls(read_groups_file(path), source=str(path))

    @classmethod
    def from_records(cls, records: Iterable) -> Groups:
        """Groups of dataset records (VideoRecord.group; records without one use the default)."""
        return cls({r.video_id: r.group for r in records if getattr(r, "group", None)}, source="records")

    def key(self, video_id: str) -> str:
        if self.per_video:
            return f"video:{video_id}"
        parts = PurePosixPath(_STORE_PREFIX.sub("", str(video_id))).parts
        for i in range(len(parts)):           # the longest matching suffix wins
            group = self._by_suffix.get("/".join(parts[i:]))
            if group is not None:
                return f"given:{group}"
        return default_group(video_id)

    def keys(self, ids) -> list[str]:
        return [self.key(v) for v in ids]

    def members(self, ids) -> dict[str, list[str]]:
        """{group: sorted ids}."""
        out: dict[str, list[str]] = {}
        for vid in sorted(ids):
            out.setdefault(self.key(vid), []).append(vid)
        return out

    def describe(self) -> str:
        if self.per_video:
            return "videos"
        given = f"groups from {self.source}, else " if self.n_given else ""
        return f"{given}person-folder / source groups (difffake.splits.default_group)"


def as_groups(by) -> Groups:
    """'group' (default keys), 'video' (one group per id) or a Groups."""
    if isinstance(by, Groups):
        return by
    if by == "group":
        return Groups()
    if by == "video":
        return Groups(per_video=True)
    raise ValueError(f"unknown grouping {by!r}: 'group', 'video' or a difffake.splits.Groups")


def grouping(by: str = "group", groups_file=None) -> Groups:
    """What `--split-by` and `--groups FILE` ask for."""
    if groups_file and by == "video":
        raise ValueError("--groups gives groups, --split-by video asks for none: choose one")
    return Groups.from_file(groups_file) if groups_file else as_groups(by)


def read_groups_file(path) -> dict[str, str]:
    """{path: group} of a CSV: `path,group` lines, or a header naming `path` and `group`
    (or `source_repo`, as in real/sources.csv). '#' lines and blank lines are skipped."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GroupsFileError(path, f"groups file unreadable ({type(exc).__name__}: {exc})") from None
    rows = [r for r in csv.reader(line for line in text.splitlines()
                                  if line.strip() and not line.lstrip().startswith("#"))]
    if not rows:
        raise GroupsFileError(path, "groups file has no lines (expected path,group)")
    header = [c.strip().lower() for c in rows[0]]
    if "path" in header:
        column = next((c for c in ("group", "source_repo") if c in header), None)
        if column is None:
            raise GroupsFileError(path, f"header {header} has no 'group' (or 'source_repo') column")
        p, g, rows = header.index("path"), header.index(column), rows[1:]
    else:
        p, g = 0, 1
    out: dict[str, str] = {}
    for number, row in enumerate(rows, 2 if "path" in header else 1):
        if len(row) <= max(p, g) or not row[p].strip() or not row[g].strip():
            raise GroupsFileError(path, f"line {number}: expected path,group, got {','.join(row)!r}")
        out[row[p].strip()] = row[g].strip()
    return out


# ------------------------------------------------------------ splitters
def group_videos(ids, by="group") -> dict[str, list[str]]:
    """{group: sorted ids} (by: 'group', 'video' or a Groups)."""
    return as_groups(by).members(ids)


def assign_folds(ids, k: int, seed: int, by="group") -> dict[str, int]:
    """{id: fold in 0..K'-1}, K' = min(k, number of groups) >= 2; whole groups per fold,
    fold sizes balanced (sklearn GroupKFold), equal-sized groups ordered by `seed`."""
    from sklearn.model_selection import GroupKFold

    if k < 2:
        raise ValueError(f"cross-fitting needs >= 2 folds, got {k}")
    ids = sorted(ids)
    keys = as_groups(by).keys(ids)
    n_groups = len(set(keys))
    if n_groups < 2:
        raise ValueError(f"cannot cross-fit: the {len(ids)} pool videos form {n_groups} group(s)")
    k = min(k, n_groups)
    # GroupKFold places the largest groups first, each into the lightest fold (balanced
    # sizes); its own shuffle=True gives up that balance, so the seed goes into the order
    # of equal-sized groups instead: each group is renamed by its rank in a seeded shuffle.
    names = sorted(set(keys))
    rank = dict(zip(names, np.random.default_rng(seed).permutation(len(names)).tolist()))
    ranked = [rank[g] for g in keys]
    fold_of: dict[str, int] = {}
    for f, (_, held) in enumerate(GroupKFold(n_splits=k).split(np.zeros(len(ids)), groups=ranked)):
        fold_of.update({ids[i]: f for i in held})
    return fold_of


def holdout_split(ids, fraction: float, seed: int, by="group") -> tuple[list[str], list[str], dict]:
    """(fit ids, held-out ids, {group: ids}): `fraction` of the GROUPS held out (at least one,
    never all; sklearn GroupShuffleSplit, seed `seed`)."""
    from sklearn.model_selection import GroupShuffleSplit

    ids = sorted(ids)
    groups = as_groups(by)
    members = groups.members(ids)
    if len(members) < 2:
        raise ValueError(f"cannot hold out videos: the {len(ids)} pool videos form {len(members)} group(s)")
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must lie between 0 and 1, got {fraction}")
    n_test = min(max(1, round(fraction * len(members))), len(members) - 1)
    splitter = GroupShuffleSplit(n_splits=1, test_size=n_test, random_state=seed)
    fit, held = next(splitter.split(np.zeros(len(ids)), groups=groups.keys(ids)))
    return [ids[i] for i in fit], [ids[i] for i in held], members


def _stratum(video_id: str) -> str:
    parts = PurePosixPath(video_id).parts
    return parts[0] if len(parts) > 1 else ""


def split_ids(ids, val_fraction: float, seed: int, stratum_fractions: dict | None = None,
              by="group") -> tuple[list[str], list[str]]:
    """(train, validation): whole groups go to validation (shuffled by `seed`) until each top
    folder (e.g. videos/, photos/) has >= its fraction of ids there (val_fraction, or
    `stratum_fractions[folder]`), so that a big group of photos cannot stand in for the
    validation videos."""
    ids = sorted(set(ids))
    if not 0 < val_fraction < 1 or len(ids) < 2:
        raise ValueError(f"cannot split {len(ids)} ids with val_fraction={val_fraction}")
    groups = as_groups(by).members(ids)
    if len(groups) < 2:
        raise ValueError(f"all {len(ids)} ids share one group ({next(iter(groups))}); cannot split by group")
    totals: dict[str, int] = defaultdict(int)
    for vid in ids:
        totals[_stratum(vid)] += 1
    frac = {s: (stratum_fractions or {}).get(s, val_fraction) for s in totals}
    taken: dict[str, int] = defaultdict(int)
    order = sorted(groups)
    np.random.default_rng(seed).shuffle(order)
    val: list[str] = []
    for key in order:
        members = groups[key]
        strata = {_stratum(v) for v in members}
        if all(taken[s] >= frac[s] * totals[s] for s in strata):
            continue
        if len(val) + len(members) > len(ids) - 1:   # never leave training empty
            continue
        counts = Counter(_stratum(v) for v in members)
        if any(taken[s] and taken[s] + n > 1.5 * frac[s] * totals[s] for s, n in counts.items()):
            continue                                   # a big group would overshoot: try smaller ones
        val.extend(members)
        for v in members:
            taken[_stratum(v)] += 1
    if not val:
        raise ValueError(f"no group fits in validation ({len(groups)} groups)")
    val_set = set(val)
    return [v for v in ids if v not in val_set], sorted(val_set)


def extend_split(train_ids, val_ids, new_ids, val_fraction: float, seed: int,
                 stratum_fractions: dict | None = None, by="group") -> tuple[list[str], list[str]]:
    """Add `new_ids` to an existing split without moving any old id.

    A new id whose group already has a validation member goes to validation, one
    whose group has only training members goes to training (one person never on
    both sides); the rest are split by `split_ids`. Used when a backbone is
    fine-tuned on a grown pool: its old validation ids must stay unseen.
    """
    groups = as_groups(by)
    old_train, old_val = set(train_ids), set(val_ids)
    if old_train & old_val:
        raise ValueError(f"{len(old_train & old_val)} ids are on both sides of the old split")
    val_groups = {groups.key(v) for v in old_val}
    train_groups = {groups.key(v) for v in old_train}
    train, val, rest = set(old_train), set(old_val), []
    for vid in sorted(set(new_ids) - old_train - old_val):
        key = groups.key(vid)
        if key in val_groups:
            val.add(vid)
        elif key in train_groups:
            train.add(vid)
        else:
            rest.append(vid)
    if len(rest) >= 2:
        more_train, more_val = split_ids(rest, val_fraction, seed, stratum_fractions, groups)
        train.update(more_train)
        val.update(more_val)
    else:
        train.update(rest)
    return sorted(train), sorted(val)
