"""backbone.safetensors + backbone.json: a checksummed, pickle-free model folder (written here,
read by backbone.model.load_backbone; this module never imports the model: no cycle)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import safetensors
import safetensors.torch

from ..errors import FileError
from ..fileio import atomic_write_text, atomic_write_with, sha256_file
from ..versions import versions

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
