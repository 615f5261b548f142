"""Fingerprints of an embedder: the embedding cache's key (difffake.embeddings.embed_store).

Same key = same embeddings. Each covers the preprocessing (config + PREPROCESS_VERSION:
same weights + new pixels = new embeddings) and what computes the embeddings:
- torch: every tensor of the state dict (the key embeddings caches have always had);
- ONNX: the bytes of backbone.onnx, and the engine's name. ONNX Runtime's float32
  kernels differ from torch's by ~1e-6, so a graph exported from the same weights
  never shares a cache entry with them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

from ..faces import preprocess


def _start(cfg):
    from ..fileio import json_default

    digest = hashlib.sha256()
    digest.update(f"preprocess:{preprocess.PREPROCESS_VERSION}".encode())
    digest.update(json.dumps(dataclasses.asdict(cfg), sort_keys=True, default=json_default).encode())
    return digest


def weights_fingerprint(cfg, state_dict) -> str:
    """sha256 of the preprocessing and every named tensor (torch engine, any nn.Module)."""
    digest = _start(cfg)
    for name, tensor in sorted(state_dict.items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def onnx_fingerprint(cfg, onnx_sha256: str) -> str:
    """sha256 of the preprocessing, the engine and the graph file's sha256 (ONNX engine)."""
    digest = _start(cfg)
    digest.update(f"engine:onnx:{onnx_sha256}".encode())
    return digest.hexdigest()
