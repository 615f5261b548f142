"""The backbone of an unfinished training run: its best checkpoint so far, else its latest state.

A run exports backbone.safetensors + backbone.json only when its last epoch
ends; a run stopped before (Ctrl-C, a time limit) still holds the best epochs'
checkpoints (checkpoints/epoch_XXX.safetensors, listed in last.json "best")
and the latest state (last.safetensors, "model.*" tensors). Both are
safetensors; the architecture and preprocessing come from the run's
config.json (resolved when the run started).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..config import BackboneConfig, ConfigError, section_from_dict
from ..errors import FileError


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise FileError(path, f"unreadable ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, dict):
        raise FileError(path, "expected a JSON object")
    return data


def find_checkpoint(run_dir) -> tuple[Path, str, dict] | None:
    """(file, 'best' | 'latest', facts) of an unfinished run folder; None when it holds none."""
    run_dir = Path(run_dir)
    last = run_dir / "last.json"
    if not last.is_file() or not (run_dir / "config.json").is_file():
        return None
    state = _read_json(last)
    facts = {"step": state.get("step"), "epochs_done": len(state.get("history") or [])}
    for entry in state.get("best") or []:
        path = run_dir / str(entry.get("path", ""))
        if path.is_file() and path.resolve().parent == (run_dir / "checkpoints").resolve():
            return path, "best", {**facts, "epoch": entry.get("epoch"), "val_auc": entry.get("val_auc")}
    weights = run_dir / "last.safetensors"
    return (weights, "latest", facts) if weights.is_file() else None


def describe(path: Path, kind: str, facts: dict) -> str:
    if kind == "best":
        return (f"its best checkpoint {path} (epoch {facts['epoch']}, validation AUC "
                f"{facts['val_auc']:.4f}; {facts['epochs_done']} epochs, step {facts['step']})")
    return (f"its latest state {path} (step {facts['step']}, {facts['epochs_done']} epochs done: "
            f"no validated checkpoint yet)")


def load_checkpoint_backbone(run_dir, path: Path, kind: str, facts: dict):
    """A Backbone with the checkpoint's weights, `info` saying where they came from."""
    import safetensors.torch

    from .model import Backbone

    run_dir = Path(run_dir)
    saved = _read_json(run_dir / "config.json").get("backbone")
    names = {f.name for f in dataclasses.fields(BackboneConfig)}
    if not isinstance(saved, dict) or not names <= set(saved):
        raise FileError(run_dir / "config.json", "no complete 'backbone' settings")
    try:
        cfg = section_from_dict(BackboneConfig, saved, "backbone")
    except ConfigError as exc:
        raise FileError(run_dir / "config.json", str(exc)) from exc
    origin = cfg.pretrained
    cfg = dataclasses.replace(cfg, pretrained="none")
    model = Backbone(cfg, load_weights=False)
    try:
        tensors = safetensors.torch.load_file(str(path), device="cpu")
        if kind == "latest":   # model.* beside the optimizer's opt.* tensors
            tensors = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
        model.load_state_dict(tensors, strict=True)
    except Exception as exc:   # a damaged file, or weights of another architecture
        raise FileError(path, f"cannot load as a {cfg.name} backbone ({type(exc).__name__}: {exc})") from exc
    model.cfg = dataclasses.replace(model.cfg, pretrained=origin)
    model.info = {"run_dir": str(run_dir), "unfinished_run": True, "checkpoint": str(path),
                  "checkpoint_kind": kind, **facts}
    return model.eval()
