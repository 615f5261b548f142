"""backbone.safetensors + backbone.json: a checksummed, pickle-free model folder."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import safetensors
import safetensors.torch

from ..config import BackboneConfig
from ..errors import FileError
from ..fileio import atomic_write_text, atomic_write_with, sha256_file
from ..versions import versions
from .meta import read_backbone_json

WEIGHTS = "backbone.safetensors"
META = "backbone.json"
FORMAT = 1


class BackboneFileError(FileError):
    """A backbone folder is missing, incomplete or was modified after saving."""


def state_to_cpu(state: dict) -> dict:
    # safetensors refuses shared or non-contiguous storage.
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def atomic_save_safetensors(tensors: dict, path: Path, metadata: dict | None = None) -> None:
    atomic_write_with(path, lambda tmp: safetensors.torch.save_file(tensors, tmp, metadata=metadata))


def save_backbone(model, directory, info: dict | None = None) -> Path:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    weights = directory / WEIGHTS
    atomic_save_safetensors(state_to_cpu(model.state_dict()), weights)
    cfg = dataclasses.asdict(model.cfg)
    meta = {
        "format": FORMAT,
        "timm_name": model.cfg.name,
        "weights_origin": model.cfg.pretrained,   # the init the training started from
        "input_size": model.cfg.input_size,
        "mean": list(model.cfg.mean),
        "std": list(model.cfg.std),
        "embedding_size": model.embedding_size,
        "config": cfg,
        "training": {**model.info, **(info or {})},
        "sha256": sha256_file(weights),
        "versions": versions("torch", "timm", "safetensors", "numpy"),
    }
    atomic_write_text(directory / META, json.dumps(meta, indent=2, sort_keys=True))
    return directory


def load_backbone(directory, device="cpu"):
    from .model import Backbone

    directory = Path(directory)
    meta_path, weights = directory / META, directory / WEIGHTS
    for path in (meta_path, weights):
        if not path.is_file():
            raise BackboneFileError(path, "missing (a backbone folder holds backbone.json and backbone.safetensors)")
    try:
        meta = read_backbone_json(meta_path)
    except FileError as exc:
        raise BackboneFileError(meta_path, exc.reason) from exc
    actual = sha256_file(weights)
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
