"""False-positive rate at the stored threshold, per source group of the real pool.

A threshold that holds on average can still flag most videos of one kind of
footage (a webcam, a TV encode); the model card lists the rate per group
(difffake.splits.default_group: the person folder, else the source repository).
"""
from __future__ import annotations

import numpy as np

from ..splits import default_group


def fpr_by_group(ids, scores, threshold: float) -> dict[str, dict]:
    """{group: {"n", "flagged", "fpr"}} over the finite scores, groups sorted by name."""
    out: dict[str, dict] = {}
    for vid, s in zip(ids, np.asarray(scores, np.float64)):
        if not np.isfinite(s):
            continue
        g = out.setdefault(default_group(vid), {"n": 0, "flagged": 0})
        g["n"] += 1
        g["flagged"] += int(s >= threshold)
    for g in out.values():
        g["fpr"] = g["flagged"] / g["n"]
    return dict(sorted(out.items()))
