"""glibc malloc tuning for CPU training/inference.

With the defaults, glibc returns big freed blocks (activations) to the OS and
maps them again on the next step: page faults halved B4@224 throughput here
(11 vs 23 img/s, FINDINGS.md; see benchmarks/results/backbone.md). The
`difffake` command sets the same two parameters as `MALLOC_MMAP_MAX_=0
MALLOC_TRIM_THRESHOLD_=...` would, with mallopt(3) in its own process at start,
before torch allocates, and exports them to the environment so that the
processes it starts (Ray workers, child commands) begin tuned. It gets nearly all
of the variables' gain, within this machine's noise (benchmarks/results/backbone_mallopt.md),
with no restart: the command used to re-exec itself for this (~0.1 s).

Skipped where a user set the variable (glibc already applied their value), with
DIFFFAKE_NO_MALLOC_TUNING=1, and off Linux glibc. Memory freed is then kept by
the process, so only commands that run torch get it (`pays_off`): a scan on ONNX
Runtime (its own arena allocator) gained nothing measurable from it
(benchmarks/results/cold_scan.md).
"""
from __future__ import annotations

import ctypes
import os
import platform
import sys

# The environment variables and the mallopt parameter (glibc's malloc.h) each stands for.
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4
MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736"}
PARAMETER = {"MALLOC_MMAP_MAX_": M_MMAP_MAX, "MALLOC_TRIM_THRESHOLD_": M_TRIM_THRESHOLD}
OPT_OUT = "DIFFFAKE_NO_MALLOC_TUNING"
INT_MAX = 2**31 - 1   # mallopt takes a C int: the 64 GiB trim threshold becomes 2 GiB, as good as never


def to_tune(environ=None) -> dict:
    """{variable: value} this process should still apply; empty when no tuning is wanted."""
    environ = os.environ if environ is None else environ
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc" or environ.get(OPT_OUT):
        return {}
    return {k: v for k, v in MALLOC_ENV.items() if k not in environ}   # a value the user set wins


def tune_in_process(environ=None) -> list[str]:
    """Apply the tuning to this process with mallopt(3) and export it for child processes.

    Returns the variables applied (empty: nothing to do, or not glibc). Call it before the
    big allocations (torch's first batch): blocks already mapped stay mapped."""
    environ = os.environ if environ is None else environ
    wanted = to_tune(environ)
    if not wanted:
        return []
    libc = ctypes.CDLL(None)   # the C library this interpreter already uses
    applied = []
    for name, value in wanted.items():
        if libc.mallopt(PARAMETER[name], min(int(value), INT_MAX)) == 1:   # 1 = success
            environ[name] = value
            applied.append(name)
    return applied


# Commands whose work is torch training or inference.
TORCH_COMMANDS = {"train", "fit", "evaluate", "export"}


def pays_off(args) -> bool:
    """Whether the tuning helps this command line (see module doc)."""
    words = [a for a in args if not a.startswith("-")]
    command = words[0] if words else ""
    if command in TORCH_COMMANDS:
        return True
    if command != "scan":
        return False
    joined = " ".join(args)
    return ("--engine torch" in joined or "--engine=torch" in joined
            or any(a.startswith(("--device=cuda", "cuda")) for a in args))
