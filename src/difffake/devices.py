"""`--device`: refused at once (exit 2) when torch cannot use it here, with the fix in the message.

Called by the commands before any work, so `--device cuda` on a machine without a GPU
is a one-line usage error, not a traceback from deep inside model loading. "cpu" never
imports torch (a scan with ONNX Runtime does not need it).
"""
from __future__ import annotations

from .errors import UsageError, require_module

FIX = "use --device cpu"


def check_device(name: str, allow_auto: bool = False) -> str:
    """`name` unchanged when torch can run on it here; UsageError naming the device and the fix otherwise."""
    if name == "cpu" or (allow_auto and name == "auto"):
        return name
    require_module(f"--device {name}", "torch")
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, ValueError, TypeError) as exc:
        raise UsageError(f"--device {name}: not a device torch knows ({exc}); {FIX}") from exc
    if device.type == "cpu":
        return name
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this torch build has no CUDA support" if torch.version.cuda is None
                   else "no CUDA GPU is visible here (driver, CUDA_VISIBLE_DEVICES)")
            raise UsageError(f"--device {name}: {why}; {FIX}")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise UsageError(f"--device {name}: this machine has {count} CUDA GPU(s), numbered from 0; "
                             f"use --device cuda:0 or --device cpu")
        return name
    try:   # mps, xpu, ...: the cheapest honest test is one tensor there
        torch.empty(1, device=device)
    except (RuntimeError, AssertionError, ValueError) as exc:
        first = (str(exc).splitlines() or [""])[0][:200]   # torch's backend messages run to pages
        raise UsageError(f"--device {name}: torch cannot use it here ({type(exc).__name__}: {first}); {FIX}") from exc
    return name
