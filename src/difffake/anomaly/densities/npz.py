"""A fitted density as one .npz (allow_pickle=False): its arrays plus a JSON `meta` string.

meta = {format, params (kind + parameters), info (fit record), versions} and any
`extra` the owner adds (AnomalyModel: anomaly_config, fit). Reading dispatches on
params.kind through the DENSITIES registry.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from . import all_params, density_class
from .base import FORMAT, Density

META_KEYS = ("format", "params", "info", "versions")   # the density's own; anything else is `extra`
MAX_UNPACKED_BYTES = 1 << 30   # a saved density is ~0.5 MB; a compressed member could unpack to far more


def density_from_arrays(arrays: dict, meta: dict) -> Density:
    """ValueError when the arrays or meta cannot be a fitted density (a file may be hand-made)."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"not a difffake density model (format {found!r})")
    if not isinstance(meta.get("params"), dict) or not isinstance(meta.get("info"), dict):
        raise ValueError("meta needs 'params' and 'info' objects")
    unknown = set(meta["params"]) - all_params()
    if unknown:
        raise ValueError(f"unknown density parameters {sorted(unknown)}")
    return density_class(meta["params"].get("kind", "gmm")).from_arrays(arrays, meta)


def save_density(density: Density, path, extra: dict | None = None) -> Path:
    """One .npz (atomic); `extra`: more JSON metadata kept beside the density's own."""
    from ...fileio import atomic_write_bytes

    path = Path(path)
    arrays, meta = density.to_arrays()
    clash = set(extra or {}) & set(meta)
    if clash:
        raise ValueError(f"extra metadata keys {sorted(clash)} are the density model's own")
    meta.update(extra or {})
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
    atomic_write_bytes(path, buf.getvalue())
    return path


def load_density(path, with_extra: bool = False):
    """The density; with_extra=True: (density, the `extra` dict given to save_density)."""
    _check_unpacked_size(path)
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files or data["meta"].dtype.kind != "U" or data["meta"].ndim != 0:
            raise ValueError("no 'meta' string (the model's parameters)")
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k] for k in data.files if k != "meta"}
    density = density_from_arrays(arrays, meta)
    if not with_extra:
        return density
    return density, {k: v for k, v in meta.items() if k not in META_KEYS}


def _check_unpacked_size(path) -> None:
    """Refuse an .npz whose members would unpack beyond MAX_UNPACKED_BYTES (a zip bomb) before reading them."""
    import zipfile

    with zipfile.ZipFile(path) as zf:
        total = sum(info.file_size for info in zf.infolist())
    if total > MAX_UNPACKED_BYTES:
        raise ValueError(f"its arrays would unpack to {total} bytes (more than {MAX_UNPACKED_BYTES})")
