"""Is a calibration set large enough to resolve its target false-positive rate?

With n real calibration scores, a threshold can only allow floor(target * n)
of them above it. When that is 0 the threshold lands just above the largest
real score: the stored "5 % FPR" is really "the largest real seen", and its
achieved rate reads 0.0 %. Such a calibration is refused by `fit` (or flagged).
"""
from __future__ import annotations

import math


def videos_needed(target_fpr: float) -> int:
    """Smallest n with floor(target_fpr * n) >= 1."""
    if not 0 < target_fpr < 1:
        raise ValueError(f"target_fpr must be in (0, 1), got {target_fpr}")
    return math.ceil(1.0 / target_fpr - 1e-9)


def check_calibration_size(cal) -> str | None:
    """None when `cal` (a Calibration) resolves its target FPR, else the reason in words."""
    if cal.target_fpr <= 0:
        return None
    need = videos_needed(cal.target_fpr)
    if cal.n >= need:
        return None
    return (f"{cal.n} calibration real videos cannot resolve a {cal.target_fpr:.1%} false-positive rate "
            f"(the threshold would sit at the largest real score); it needs at least {need}")
