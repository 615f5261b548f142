"""Which engine runs a detector's backbone: ONNX Runtime (base install) or torch (`train` extra).

"auto" takes ONNX Runtime when the detector folder lists `backbone.onnx` in its
model.json checksums and the device is the CPU, else torch. A stale ONNX file
that model.json does not list is never used (it may belong to an older backbone).
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

from .backbone.onnx_engine import ONNX_FILE
from .errors import FileError, MissingExtra

ENGINES = ("auto", "onnx", "torch")


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def has_onnx(model_json: dict) -> bool:
    return ONNX_FILE in (model_json.get("checksums") or {})


def choose_engine(requested: str, directory, model_json: dict, device: str = "cpu") -> str:
    """'onnx' or 'torch' for a detector folder whose model.json was already verified."""
    if requested not in ENGINES:
        raise ValueError(f"unknown engine {requested!r}: choose one of {ENGINES}")
    directory = Path(directory)
    onnx_ok = has_onnx(model_json)
    if requested == "auto":
        if onnx_ok and str(device) == "cpu" and installed("onnxruntime"):
            return "onnx"
        if installed("torch"):
            return "torch"
        if not onnx_ok:
            raise MissingExtra(f"{directory}: this detector has no {ONNX_FILE} (make it with "
                               f"`difffake export {directory}`), so scanning with it", "torch")
        if str(device) != "cpu":
            raise MissingExtra(f"--device {device}", "torch")
        raise MissingExtra("scanning", "onnxruntime", extra="")  # pragma: no cover - a base dependency
    if requested == "onnx":
        if not onnx_ok:
            raise FileError(directory / ONNX_FILE, "missing from this detector folder (model.json "
                            f"lists no ONNX file): run `difffake export {directory}`")
        if str(device) != "cpu":
            raise FileError(directory, f"--engine onnx runs on the CPU only, not --device {device}")
        return "onnx"
    if not installed("torch"):
        raise MissingExtra("--engine torch", "torch")
    return "torch"


def load_backbone(directory, model_json: dict, engine: str = "auto", device: str = "cpu",
                  threads: int | None = None):
    """The backbone of a verified detector folder, run by the chosen engine.

    threads limits ONNX Runtime's intra-op pool (torch's is set by the caller with
    torch.set_num_threads): a Ray actor that asked for one CPU must use one.
    """
    engine = choose_engine(engine, directory, model_json, device)
    if engine == "onnx":
        from .backbone.onnx_engine import OnnxBackbone
        return OnnxBackbone.load(directory, threads=threads)
    from .backbone.model import Backbone
    from .devices import check_device
    check_device(str(device))   # from Python too: a device torch cannot use is a UsageError, not a traceback
    return Backbone.load(directory, device=device)
