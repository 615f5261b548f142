"""`difffake export DETECTOR`: add backbone.onnx to a detector folder, checksummed in model.json.

The graph is checked against torch on seeded crops before it is accepted; the
measured differences travel in model.json ("onnx"). Needs the `train` extra.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .backbone.onnx_engine import ONNX_FILE
from .detector import MODEL_JSON, read_model_json
from .errors import FileError, require_module
from .fileio import atomic_write_text, json_default, sha256_file

# Accept the graph only if it reproduces torch this closely (float32 noise is ~1e-5).
MAX_ABS_DIFF = 1e-4


def export_detector(directory, opset: int | None = None) -> dict:
    """Write <directory>/backbone.onnx and list it in model.json; returns the "onnx" record."""
    for module in ("torch", "onnx", "onnxruntime"):
        require_module("`difffake export`", module)
    directory = Path(directory)
    model = read_model_json(directory)          # every listed file verified first, before torch loads
    import torch

    from .third_party import onnxruntime as _ort
    onnxruntime = _ort()

    from .backbone.model import Backbone
    from .backbone.onnx_engine import OnnxBackbone
    from .backbone.onnx_graph import OPSET, engine_difference, export_onnx, parity_crops

    backbone = Backbone.load(directory, device="cpu")
    fd, tmp = tempfile.mkstemp(dir=directory, suffix=".onnx.tmp")
    os.close(fd)
    try:
        pads_folded = export_onnx(backbone, tmp, opset=opset or OPSET)
        meta = json.loads((directory / "backbone.json").read_text())
        diff = engine_difference(backbone, OnnxBackbone(tmp, meta), parity_crops())
        worst = max(diff["embedding_max_abs_diff"], diff["probability_max_abs_diff"])
        if worst > MAX_ABS_DIFF:
            raise FileError(directory / ONNX_FILE, f"exported graph differs from torch by {worst:.2e} "
                                                   f"(> {MAX_ABS_DIFF}): not written")
        os.chmod(tmp, 0o644)
        os.replace(tmp, directory / ONNX_FILE)
    finally:
        Path(tmp).unlink(missing_ok=True)
    record = {"file": ONNX_FILE, "opset": opset or OPSET, "inputs": ["image"],
              "outputs": ["embedding", "logits"], "exporter": "torch.onnx (TorchScript, dynamo=False)",
              "pads_folded_into_convs": pads_folded,
              "versions": {"torch": torch.__version__, "onnxruntime": onnxruntime.__version__,
                           "onnx": __import__("onnx").__version__},
              "parity_vs_torch": diff}
    model["checksums"][ONNX_FILE] = sha256_file(directory / ONNX_FILE)
    model["onnx"] = record
    atomic_write_text(directory / MODEL_JSON, json.dumps(model, indent=2, sort_keys=True, default=json_default))
    return record
