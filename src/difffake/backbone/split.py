"""Train/validation split by group of videos, never by frame.

`group_key(video_id)` keeps one person's (or one source's) clips together:
1. a known recurring person named in the file name (e.g. Obama appears in
   clips from four repositories, MEAD actor M030 in two): that person;
2. else the source repository, i.e. the first two `__`-separated parts of the
   file name (`filby89__spectre__samples__MEAD__...` -> `filby89__spectre`).
   Grouping by repository is coarse but safe: a repository's samples often
   reuse one speaker.
File names in ../shared/data/real follow `<owner>__<repo>__<path>`.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from pathlib import PurePosixPath

import numpy as np

# Recurring people in ../shared/data/real (extend as the data grows).
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


def group_key(video_id: str) -> str:
    name = PurePosixPath(video_id).name.lower()
    for person, pattern in PERSON_PATTERNS:
        match = pattern.search(name)
        if match:
            return f"person:{person}" + (f":{match.group(1)}" if match.groups() else "")
    parts = name.split("__")
    return "source:" + "__".join(parts[:2]) if len(parts) > 2 else "source:" + name


def _stratum(video_id: str) -> str:
    parts = PurePosixPath(video_id).parts
    return parts[0] if len(parts) > 1 else ""


def split_ids(ids, val_fraction: float, seed: int,
              stratum_fractions: dict | None = None) -> tuple[list[str], list[str]]:
    """Whole groups go to validation (shuffled by `seed`) until each top folder
    (e.g. videos/, photos/) has >= its fraction of ids there (val_fraction, or
    `stratum_fractions[folder]`), so that a big group of photos cannot stand in
    for the validation videos."""
    ids = sorted(set(ids))
    if not 0 < val_fraction < 1 or len(ids) < 2:
        raise ValueError(f"cannot split {len(ids)} ids with val_fraction={val_fraction}")
    groups: dict[str, list[str]] = defaultdict(list)
    for vid in ids:
        groups[group_key(vid)].append(vid)
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
                 stratum_fractions: dict | None = None) -> tuple[list[str], list[str]]:
    """Add `new_ids` to an existing split without moving any old id.

    A new id whose group already has a validation member goes to validation, one
    whose group has only training members goes to training (one person never on
    both sides); the rest are split by `split_ids`. Used when a backbone is
    fine-tuned on a grown pool: its old validation ids must stay unseen.
    """
    old_train, old_val = set(train_ids), set(val_ids)
    if old_train & old_val:
        raise ValueError(f"{len(old_train & old_val)} ids are on both sides of the old split")
    val_groups = {group_key(v) for v in old_val}
    train_groups = {group_key(v) for v in old_train}
    train, val, rest = set(old_train), set(old_val), []
    for vid in sorted(set(new_ids) - old_train - old_val):
        key = group_key(vid)
        if key in val_groups:
            val.add(vid)
        elif key in train_groups:
            train.add(vid)
        else:
            rest.append(vid)
    if len(rest) >= 2:
        more_train, more_val = split_ids(rest, val_fraction, seed, stratum_fractions)
        train.update(more_train)
        val.update(more_val)
    else:
        train.update(rest)
    return sorted(train), sorted(val)
