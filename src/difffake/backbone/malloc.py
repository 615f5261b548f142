"""glibc malloc tuning for CPU training/inference.

With the defaults, glibc returns big freed blocks (activations) to the OS and
maps them again on the next step: page faults halved B4@224 throughput here
(11 vs 23 img/s, FINDINGS.md; see benchmarks/results/backbone.md). The
settings are read once at process start, so the `difffake` command re-execs
itself once with them (guarded by DIFFFAKE_MALLOC_TUNED) unless they are set,
DIFFFAKE_NO_MALLOC_TUNING=1 is set, or this is not Linux glibc. Cost: one
extra interpreter start (~50 ms); memory freed is kept by the process.

Only commands that run torch pay it back (`pays_off`): a scan on ONNX Runtime
(its own arena allocator) gained nothing measurable from it
(benchmarks/results/cold_scan.md), so `scan` re-execs only with `--engine torch`
or a GPU device. The restart is `python -P -m difffake`: -P keeps the current
folder off sys.path, so a folder named `difffake` there is never imported
instead of the installed package (Python 3.10 has no -P: no restart there).
"""
from __future__ import annotations

import os
import platform
import sys

MALLOC_ENV = {"MALLOC_MMAP_MAX_": "0", "MALLOC_TRIM_THRESHOLD_": "68719476736"}
GUARD = "DIFFFAKE_MALLOC_TUNED"
OPT_OUT = "DIFFFAKE_NO_MALLOC_TUNING"


def tuned_env(environ=None) -> dict | None:
    """The environment to re-exec with, or None when no re-exec is wanted."""
    environ = dict(os.environ if environ is None else environ)
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return None
    if environ.get(GUARD) or environ.get(OPT_OUT):
        return None
    if all(k in environ for k in MALLOC_ENV):
        return None
    return {**MALLOC_ENV, **environ, GUARD: "1"}   # a value the user set wins


# Commands whose work is torch training or inference.
TORCH_COMMANDS = {"train", "fit", "evaluate", "export"}


def pays_off(args) -> bool:
    """Whether the tuning is worth a restart for this command line (see module doc)."""
    words = [a for a in args if not a.startswith("-")]
    command = words[0] if words else ""
    if command in TORCH_COMMANDS:
        return True
    if command != "scan":
        return False
    joined = " ".join(args)
    return ("--engine torch" in joined or "--engine=torch" in joined
            or any(a.startswith(("--device=cuda", "cuda")) for a in args))


def reexec_with_malloc_tuning() -> None:
    """Replace this process by `python -P -m difffake <same args>` with the tuning; no-op when not needed.

    Call it first thing in cli.main, only for a real command line (argv None).
    """
    env = tuned_env()
    if env is None or sys.version_info < (3, 11) or not pays_off(sys.argv[1:]):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(sys.executable, [sys.executable, "-P", "-m", "difffake", *sys.argv[1:]], env)
    except OSError as exc:
        # Untuned runs are slower, not wrong: say so and go on.
        print(f"difffake: note: could not restart with malloc tuning ({exc}); running untuned",
              file=sys.stderr)
