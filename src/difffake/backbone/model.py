"""Backbone: a thin timm wrapper giving per-frame embeddings and a real/fake head."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import safetensors
import safetensors.torch
import timm
import torch
from torch import nn

from ..config import BackboneConfig
from ..errors import FileError
from ..faces.preprocess import preprocess_batch
from ..fileio import sha256_file
from .export import META, WEIGHTS, BackboneFileError, save_backbone
from .meta import read_backbone_json
from .weights import create_timm_model, default_norm


def fake_prob(logits: torch.Tensor) -> torch.Tensor:
    """P(class 1 = fake) of (N, 2) logits (backbone.onnx_engine.softmax_fake is its numpy twin)."""
    return torch.softmax(logits.float(), dim=1)[:, 1]


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

    def fingerprint(self) -> str:
        """The embedding cache key: sha256 of the preprocessing and every weight (backbone.fingerprint)."""
        from .fingerprint import weights_fingerprint
        return weights_fingerprint(self.cfg, self.state_dict())

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
        (faces.preprocess), so inference sees what validation saw; the ONNX
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

    def fake_prob_of(self, emb: torch.Tensor) -> torch.Tensor:
        """(N,) P(fake) of (N, D) embeddings: the head, then softmax's class 1 (the one place)."""
        return fake_prob(self.head(emb))

    def embed_and_classify(self, crops, batch_size: int = 32) -> tuple[np.ndarray, np.ndarray]:
        """((N, D) embeddings, (N,) P(fake)) in one pass, as the ONNX engine returns them."""
        def both(x):
            emb = self.embed(x)
            return torch.cat([emb, self.fake_prob_of(emb)[:, None]], dim=1)

        out = self._batched(list(crops), batch_size, both)
        if not len(out):
            return np.zeros((0, self.embedding_size), np.float32), np.zeros(0, np.float32)
        return np.ascontiguousarray(out[:, :-1]), np.ascontiguousarray(out[:, -1])

    def fake_probability(self, crops, batch_size: int = 32) -> np.ndarray:
        """(N,) classifier probability of 'pseudo-fake' (the SBI-style single-frame score)."""
        out = self._batched(list(crops), batch_size, lambda x: self.fake_prob_of(self.embed(x))[:, None])
        return out[:, 0] if len(out) else np.zeros(0, np.float32)

    def save(self, directory, info: dict | None = None) -> Path:
        return save_backbone(self, directory, info=info)

    @classmethod
    def load(cls, directory, device: str | torch.device = "cpu", known_sha256: str | None = None) -> Backbone:
        """known_sha256: the weights' digest the caller has just checked (not hashed again)."""
        return load_backbone(directory, device=device, known_sha256=known_sha256)

    @classmethod
    def load_verified(cls, directory, model_json: dict, device: str = "cpu",
                      threads: int | None = None) -> Backbone:
        """The embedder contract (difffake.engines); threads: the caller sets torch's."""
        from ..devices import check_device
        check_device(str(device))   # from Python too: a device torch cannot use is a UsageError
        return cls.load(directory, device=device, known_sha256=(model_json.get("checksums") or {}).get(WEIGHTS))


def load_backbone(directory, device="cpu", known_sha256: str | None = None) -> Backbone:
    """A Backbone from a folder written by backbone.export.save_backbone, checksum checked.
    known_sha256: the digest of the weights file a caller has just verified (a detector
    folder's model.json checksum), so the file is not hashed a second time."""
    directory = Path(directory)
    meta_path, weights = directory / META, directory / WEIGHTS
    for path in (meta_path, weights):
        if not path.is_file():
            raise BackboneFileError(path, "missing (a backbone folder holds backbone.json and backbone.safetensors)")
    try:
        meta = read_backbone_json(meta_path)
    except FileError as exc:
        raise BackboneFileError(meta_path, exc.reason) from exc
    actual = known_sha256 or sha256_file(weights)
    if actual != meta.get("sha256"):
        raise BackboneFileError(weights, f"checksum mismatch (sha256 {actual}, backbone.json says {meta.get('sha256')})")
    cfg = BackboneConfig(name=meta["timm_name"], pretrained="none", input_size=int(meta["input_size"]),
                         mean=tuple(meta["mean"]), std=tuple(meta["std"]))
    try:
        model = Backbone(cfg, load_weights=False)
    except RuntimeError as exc:   # timm: "Unknown model"
        raise BackboneFileError(meta_path, f"timm_name {cfg.name!r}: {exc}") from exc
    try:
        state = safetensors.torch.load_file(str(weights), device="cpu")
    except (safetensors.SafetensorError, OSError, ValueError, MemoryError) as exc:   # truncated, garbage
        raise BackboneFileError(weights, f"not a readable safetensors file ({type(exc).__name__}: {exc})") from exc
    if int(model.embedding_size) != int(meta["embedding_size"]):
        raise BackboneFileError(meta_path, f"embedding_size {meta['embedding_size']} but {cfg.name} gives "
                                           f"{model.embedding_size}")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise BackboneFileError(weights, f"does not fit {cfg.name}: {exc}") from exc
    # Keep the provenance: the weights were initialised from this origin.
    model.cfg = dataclasses.replace(model.cfg, pretrained=meta.get("weights_origin", "none"))
    model.info = dict(meta.get("training", {}))
    return model.to(device).eval()
