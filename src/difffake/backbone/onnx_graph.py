"""Torch `Backbone` -> ONNX graph (embedding + classifier logits), checked against torch.

Uses torch's TorchScript-based exporter (`dynamo=False`): it needs only the
`onnx` package, and for this fixed-size CNN it gives a plain graph that ONNX
Runtime optimises well once the run-time "same" Pads are folded into their Convs
(backbone.onnx_pad_fold). Needs the `train` extra (torch, onnx) and onnxruntime.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .onnx_engine import INPUT, OUTPUTS, softmax_fake

OPSET = 17


class _EmbedAndClassify(nn.Module):
    """forward(x) -> (embedding, logits): both outputs of one graph, as the scan needs."""

    def __init__(self, backbone):
        super().__init__()
        self.backbone = backbone

    def forward(self, x):
        emb = self.backbone.embed(x)
        return emb, self.backbone.head(emb)


def export_onnx(backbone, path, opset: int = OPSET) -> int:
    """Write `backbone` (on CPU, eval mode) as ONNX with a dynamic batch axis, for its input size;
    returns how many run-time "same" Pads were folded into their Convs (backbone.onnx_pad_fold)."""
    import io
    import warnings

    import onnx

    from .onnx_pad_fold import fold_pads_into_convs

    model = _EmbedAndClassify(backbone).to("cpu").eval()
    example = torch.zeros((2, 3, backbone.input_size, backbone.input_size), dtype=torch.float32)
    axes = {name: {0: "batch"} for name in (INPUT, *OUTPUTS)}
    written = io.BytesIO()   # folded before it reaches the file: one write
    with warnings.catch_warnings():   # the legacy exporter announces its own deprecation
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (example,), written, input_names=[INPUT], output_names=list(OUTPUTS),
                          dynamic_axes=axes, opset_version=opset, do_constant_folding=True,
                          dynamo=False)
    graph = onnx.load_from_string(written.getvalue())
    folded = fold_pads_into_convs(graph)
    onnx.save(graph, str(path))
    return folded


def parity_crops(n: int = 8, seed: int = 0) -> list[np.ndarray]:
    """Seeded face-sized RGB crops of smooth random texture (sizes vary, as real crops do)."""
    import cv2

    rng = np.random.default_rng(seed)
    crops = []
    for _ in range(n):
        side = int(rng.integers(96, 300))
        small = rng.integers(0, 256, (12, 12, 3), dtype=np.uint8)
        crops.append(cv2.resize(small, (side, side + int(rng.integers(-10, 10))),
                                interpolation=cv2.INTER_CUBIC))
    return crops


def engine_difference(backbone, onnx_backbone, crops) -> dict:
    """Max abs differences between the torch and ONNX engines on the same crops."""
    emb_t = backbone.embed_crops(crops)
    prob_t = backbone.fake_probability(crops)
    emb_o, prob_o = onnx_backbone.embed_and_classify(crops)
    return {"n_crops": len(crops),
            "embedding_max_abs_diff": float(np.max(np.abs(emb_t - emb_o))),
            "probability_max_abs_diff": float(np.max(np.abs(prob_t - prob_o))),
            "embedding_max_abs": float(np.max(np.abs(emb_t)))}


__all__ = ["OPSET", "engine_difference", "export_onnx", "parity_crops", "softmax_fake"]
