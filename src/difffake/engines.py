"""Which engine runs a detector's backbone: ONNX Runtime (base install) or torch (`train` extra).

The engines are registered embedders (EMBEDDERS, name -> "module:Class", imported on
use so that the base install never imports torch). Each class has one contract:
`embed_and_classify(crops, batch_size) -> ((N, D) embeddings, (N,) P(fake))`,
`input_size`, `engine` (its name), `fingerprint()` (the embedding cache's key:
difffake.embeddings.embed_store caches either engine's embeddings, never sharing an
entry between them), and `load_verified(directory, model_json, device, threads)` for a
detector folder whose checksums were checked. Adding one is one new
file plus a line here (and a rule in choose_engine when "auto" should pick it).

"auto" takes ONNX Runtime when the detector folder lists `backbone.onnx` in its
model.json checksums and the device is the CPU, else torch. A stale ONNX file
that model.json does not list is never used (it may belong to an older backbone).
"""
from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from .backbone.onnx_engine import ONNX_FILE
from .errors import FileError, MissingExtra

EMBEDDERS = {
    "onnx": "difffake.backbone.onnx_engine:OnnxBackbone",
    "torch": "difffake.backbone.model:Backbone",
}
ENGINES = ("auto", *EMBEDDERS)


def embedder_class(name: str) -> type:
    """The registered embedder class (imports its module: torch for 'torch')."""
    if name not in EMBEDDERS:
        raise ValueError(f"unknown engine {name!r}: choose one of {', '.join(EMBEDDERS)}")
    module, cls = EMBEDDERS[name].split(":")
    return getattr(importlib.import_module(module), cls)


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
    return embedder_class(engine).load_verified(directory, model_json, device=device, threads=threads)
