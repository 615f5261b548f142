"""Plant a bad detector folder: a copy of the shipped one, one file tampered, every checksum re-written
so that it matches (the loader must then find the bad content itself)."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np

from difffake.detector import DEFAULT_DIR


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def copy_default(dst: Path) -> Path:
    shutil.copytree(DEFAULT_DIR, dst)   # a real copy: tampering never touches the shipped files
    return dst


def rechecksum(folder: Path) -> None:
    """Make backbone.json's and model.json's checksums match the files as they are now."""
    meta_path = folder / "backbone.json"
    try:
        meta = json.loads(meta_path.read_text())
        if isinstance(meta, dict) and (folder / "backbone.safetensors").is_file():
            meta["sha256"] = sha256(folder / "backbone.safetensors")
            meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True))
    except ValueError:
        pass   # backbone.json itself is the tampered file: leave it as planted
    card_path = folder / "model.json"
    try:
        card = json.loads(card_path.read_text())
    except ValueError:
        return   # the card itself is the tampered file
    if not isinstance(card.get("checksums"), dict):
        return   # the card itself is the tampered file
    for name in list(card["checksums"]):
        file = folder / name
        if file.is_file() and not file.is_symlink() and "/" not in name:
            card["checksums"][name] = sha256(file)
    card_path.write_text(json.dumps(card, indent=2, sort_keys=True))


def npz_arrays(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def write_npz(path: Path, arrays: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)   # allow_pickle defaults to True on save: object arrays get pickled
    path.write_bytes(buf.getvalue())


def edit_json(path: Path, edit) -> None:
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))


def edit_npz_meta(path: Path, edit) -> None:
    arrays = npz_arrays(path)
    meta = json.loads(str(arrays["meta"]))
    edit(meta)
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz(path, arrays)
