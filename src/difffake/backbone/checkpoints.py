"""Training checkpoints without pickle: tensors in safetensors, the rest in JSON."""
from __future__ import annotations

import json
from pathlib import Path

import safetensors
import safetensors.torch
import torch

from .export import atomic_save_safetensors, atomic_write_text, state_to_cpu

# The counters travel inside the safetensors header too: the two files are each
# replaced atomically, but not together, and a kill between the two renames must
# not pair new weights with old counters (last.json is the readable copy).
STATE_KEY = "difffake_training_state"


def optimizer_to_flat(state: dict) -> tuple[dict, dict]:
    """Split an optimizer state_dict into tensors ('opt.<param>.<key>') and JSON."""
    tensors, scalars = {}, {}
    for idx, per_param in state["state"].items():
        for key, value in per_param.items():
            if torch.is_tensor(value):
                tensors[f"opt.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def optimizer_from_flat(tensors: dict, meta: dict) -> dict:
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("opt."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for idx, values in meta.get("scalars", {}).items():
        state.setdefault(int(idx), {}).update(values)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_training_state(path: Path, model, optimizer, meta: dict) -> None:
    """<path>.safetensors (model.* + opt.*, counters in its header) and <path>.json (counters,
    history, optimizer groups: the same, readable)."""
    opt_tensors, opt_meta = optimizer_to_flat(optimizer.state_dict())
    tensors = {f"model.{k}": v for k, v in state_to_cpu(model.state_dict()).items()}
    tensors.update(state_to_cpu(opt_tensors))
    text = json.dumps({**meta, "optimizer": opt_meta}, indent=1)
    atomic_save_safetensors(tensors, path.with_suffix(".safetensors"), metadata={STATE_KEY: text})
    atomic_write_text(path.with_suffix(".json"), text)


def load_training_state(path: Path, model, optimizer, device) -> dict:
    weights = str(path.with_suffix(".safetensors"))
    with safetensors.safe_open(weights, framework="pt") as f:
        header = (f.metadata() or {}).get(STATE_KEY)
    # Runs saved before the counters were in the header: last.json.
    meta = json.loads(header if header is not None else path.with_suffix(".json").read_text())
    tensors = safetensors.torch.load_file(weights, device="cpu")
    model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")}, strict=True)
    opt_state = optimizer_from_flat({k: v.to(device) for k, v in tensors.items() if k.startswith("opt.")},
                                    meta["optimizer"])
    optimizer.load_state_dict(opt_state)
    return meta


def save_model_state(path: Path, model, metadata: dict) -> None:
    atomic_save_safetensors(state_to_cpu(model.state_dict()), path,
                            metadata={k: str(v) for k, v in metadata.items()})


def load_model_state(path: Path, model) -> None:
    model.load_state_dict(safetensors.torch.load_file(str(path), device="cpu"), strict=True)
