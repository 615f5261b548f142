"""DataLoader workers sized to the cores this process may use."""
from __future__ import annotations

import os


def available_cores() -> int:
    """CPUs this process may run on (its affinity mask, e.g. under taskset or a container)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):   # not Linux
        return max(1, os.cpu_count() or 1)


def capped_workers(requested: int, cores: int | None = None) -> tuple[int, str]:
    """(workers to start, why): at most the cores minus one, which the main process needs.

    Extra workers only compete with the training step for the same cores.
    """
    cores = available_cores() if cores is None else cores
    limit = max(0, cores - 1)
    if requested <= limit:
        return requested, f"DataLoader workers: {requested} ({cores} cores available)"
    return limit, (f"DataLoader workers: {limit}, not the {requested} asked for ({cores} cores available "
                   f"to this process, one kept for the main process)")
