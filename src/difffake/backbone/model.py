"""Backbone: a thin timm wrapper giving per-frame embeddings and a real/fake head."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import timm
import torch
from torch import nn

from ..config import BackboneConfig
from .preprocess import preprocess_batch
from .weights import create_timm_model, default_norm


class Backbone(nn.Module):
    engine = "torch"   # beside backbone.onnx_engine.OnnxBackbone
    """`embed(x)` -> (N, D) pooled features; `forward(x)` -> (N, 2) logits (1 = fake).

    `cfg` is resolved on construction: mean/std/input_size that were None are
    filled from the weights' own convention, so `self.cfg` fully describes the
    preprocessing. `load_weights=False` builds the architecture only (used when
    a saved state dict follows, so nothing is ever downloaded on load).
    """

    def __init__(self, cfg: BackboneConfig | None = None, *, load_weights: bool = True,
                 head_seed: int = 0):
        super().__init__()
        cfg = cfg or BackboneConfig()
        self.encoder = create_timm_model(cfg.name, cfg.pretrained if load_weights else "none",
                                         num_classes=0)
        self.embedding_size = int(self.encoder.num_features)
        self.head = nn.Linear(self.embedding_size, 2)
        # Own generator: building a model must not depend on global RNG state.
        gen = torch.Generator().manual_seed(head_seed)
        nn.init.normal_(self.head.weight, std=0.01, generator=gen)
        nn.init.zeros_(self.head.bias)

        mean, std = default_norm(cfg.name, cfg.pretrained, self.encoder)
        input_size = cfg.input_size or timm.data.resolve_model_data_config(self.encoder)["input_size"][-1]
        self.cfg = dataclasses.replace(
            cfg, input_size=int(input_size),
            mean=tuple(float(v) for v in (cfg.mean or mean)),
            std=tuple(float(v) for v in (cfg.std or std)))
        self.info: dict = {}   # training-run info, travels into backbone.json

    @property
    def input_size(self) -> int:
        return self.cfg.input_size

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        feats = self.encoder.forward_features(x)
        return self.encoder.forward_head(feats, pre_logits=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))

    def preprocess(self, crops) -> torch.Tensor:
        """RGB uint8 crops (any size) -> normalised (N, 3, S, S) float32 tensor on CPU.

        Same function as the training/validation dataset's non-augmented view
        (backbone.preprocess), so inference sees what validation saw; the ONNX
        engine calls the same `preprocess_batch`.
        """
        return torch.from_numpy(preprocess_batch(crops, self.input_size, self.cfg.mean, self.cfg.std))

    @torch.inference_mode()
    def _batched(self, crops, batch_size: int, fn) -> np.ndarray:
        was_training = self.training
        self.eval()
        try:
            parts = [fn(self.preprocess(crops[i:i + batch_size]).to(self.device)).float().cpu().numpy()
                     for i in range(0, len(crops), batch_size)]
        finally:
            self.train(was_training)
        if not parts:
            return np.zeros((0, self.embedding_size), np.float32)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def embed_crops(self, crops, batch_size: int = 32) -> np.ndarray:
        """(N, D) float32 embeddings of RGB uint8 crops, in eval mode."""
        return self._batched(list(crops), batch_size, self.embed)

    def embed_and_classify(self, crops, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """((N, D) embeddings, (N,) P(fake)) in one pass, as the ONNX engine returns them."""
        def both(x):
            emb = self.embed(x)
            return torch.cat([emb, torch.softmax(self.head(emb), dim=1)[:, 1:]], dim=1)

        out = self._batched(list(crops), batch_size, both)
        if not len(out):
            return np.zeros((0, self.embedding_size), np.float32), np.zeros(0, np.float32)
        return np.ascontiguousarray(out[:, :-1]), np.ascontiguousarray(out[:, -1])

    def fake_probability(self, crops, batch_size: int = 32) -> np.ndarray:
        """(N,) classifier probability of 'pseudo-fake' (the SBI-style single-frame score)."""
        out = self._batched(list(crops), batch_size, lambda x: torch.softmax(self(x), dim=1))
        return out[:, 1] if len(out) else np.zeros(0, np.float32)

    def save(self, directory, info: dict | None = None) -> Path:
        from .export import save_backbone
        return save_backbone(self, directory, info=info)

    @classmethod
    def load(cls, directory, device: str | torch.device = "cpu") -> Backbone:
        from .export import load_backbone
        return load_backbone(directory, device=device)
