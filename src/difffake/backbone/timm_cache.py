"""timm's pretrained weights from the local caches only: never a download.

`timm.create_model(..., pretrained=True)` fetches from the Hugging Face hub
when the weights are not cached, and offline it retries five times, then
fails with a long traceback. Here the files are looked up where timm would
have stored them (the Hugging Face hub cache, then torch hub's checkpoints
folder for timm's legacy URLs) and nothing else; the caller loads the file
found with its own pickle-free reader (backbone.weights).
"""
from __future__ import annotations

import os
from pathlib import Path

# The file names timm's hub loader tries, best first.
HUB_FILES = ("model.safetensors", "pytorch_model.bin")


def _hub_cache_dir() -> Path:
    # Read at call time (HF_HUB_CACHE / HF_HOME), as huggingface_hub does at import.
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(home) / "hub"


def candidate_files(name: str) -> tuple[list[Path], list[str]]:
    """(files found, places looked) for timm's pretrained weights of model `name`."""
    from timm.models import get_pretrained_cfg

    cfg = get_pretrained_cfg(name)
    if cfg is None:
        return [], [f"timm has no pretrained weights for {name!r}"]
    found, looked = [], []
    hub_id = getattr(cfg, "hf_hub_id", None)
    if hub_id:
        repo, _, revision = hub_id.partition("@")
        cache = _hub_cache_dir()
        try:
            from huggingface_hub import try_to_load_from_cache
        except ImportError:   # pragma: no cover - a dependency of timm
            try_to_load_from_cache = None
        for filename in HUB_FILES:
            folder = cache / f"models--{repo.replace('/', '--')}"
            looked.append(str(folder / "snapshots" / (revision or "<main>") / filename))
            if try_to_load_from_cache is None:
                continue
            hit = try_to_load_from_cache(repo, filename, cache_dir=str(cache), revision=revision or None)
            if isinstance(hit, str) and Path(hit).is_file():
                found.append(Path(hit))
    url = getattr(cfg, "url", None)
    if url:
        import torch.hub

        legacy = Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1]
        looked.append(str(legacy))
        if legacy.is_file():
            found.append(legacy)
    return found, looked
