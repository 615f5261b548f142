"""Fuzz target: bytes -> a detector folder -> Detector.load.

The folder is a copy of the shipped detector with ONE file mutated as the bytes say
(a JSON value replaced or deleted, an npz array replaced, reshaped, re-typed or
dropped, bytes truncated or overwritten, a checksum entry or symlink pointing out
of the folder), and then every checksum re-written so it matches: the loader's
content checks, not the sha256 check, must catch the damage. Only difffake's own
errors may escape, and a file outside the folder (a sentinel with real detector
bytes, so its checksum could match) must never be opened: an audit hook watches.

Input layout: byte 0 picks the file, byte 1 the mutation, byte 2 flags (bit 0:
torch engine, bit 1: leave the checksums stale); the rest drives the mutation.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

from difffake.detector import DEFAULT_DIR, Detector

FILES = ("model.json", "backbone.json", "identity.json", "density.npz", "density_single.npz",
         "backbone.onnx", "backbone.safetensors", "escape")
JSON_OPS, NPZ_OPS, RAW_OPS, ESCAPE_OPS = 5, 7, 3, 5
DTYPES = ("<f8", "<f4", "<i8", "|u1", "|b1", "<c16", "<U4", "|S3", "<m8[s]")

SEEDS = [bytes([f, op, 0]) + b"\x01\x02\x03\x04seed" for f in range(len(FILES)) for op in range(3)] + [
    b"\x00\x00\x00\x02\x00\x01",       # model.json: replace a value two levels down
    b"\x03\x01\x00\x01\x02\x05\x07",   # density.npz: replace an array
    b"\x07\x02\x00",                  # a symlink out of the folder
]

_state: dict = {}


class Draw:
    """Reads small decisions from the fuzzer's bytes; 0 once they run out (deterministic)."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1] if self.pos <= len(self.data) else 0

    def pick(self, n: int) -> int:
        return self.byte() % n if n > 0 else 0

    def take(self, n: int) -> bytes:
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def rest(self) -> bytes:
        out = self.data[self.pos:]
        self.pos = len(self.data)
        return out

    def fraction(self) -> float:
        return int.from_bytes(self.take(2).ljust(2, b"\0"), "little") / 65536.0


# ------------------------------------------------------------------ the working folder
def _setup() -> dict:
    """Once per process: a pristine copy of the shipped detector and a sentinel outside it."""
    if _state:
        return _state
    root = Path(tempfile.mkdtemp(prefix="fuzz-detector-"))
    folder = root / "det"
    shutil.copytree(DEFAULT_DIR, folder)
    secret = root / "secret"
    secret.mkdir()
    sentinel = secret / "density.npz"   # real density bytes: a checksum naming it could match
    sentinel.write_bytes((folder / "density.npz").read_bytes())
    _state.update(root=root, folder=folder, sentinel=sentinel, opened=[],
                  pristine={p.name: p.read_bytes() for p in folder.iterdir()}, dirty=set())
    watched = {os.path.realpath(sentinel), "/etc/hostname"}

    def hook(event, args):
        if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
            path = os.path.realpath(os.fsdecode(args[0]))
            if path in watched:
                _state["opened"].append(path)
    sys.addaudithook(hook)
    return _state


def _restore(state) -> None:
    folder = state["folder"]
    for p in folder.iterdir():
        if p.name not in state["pristine"] or p.is_symlink():
            p.unlink()
    for name in state["dirty"] | {n for n in state["pristine"] if not (folder / n).exists()}:
        (folder / name).write_bytes(state["pristine"][name])
    state["dirty"] = set()


def _write(state, name: str, data: bytes) -> None:
    path = state["folder"] / name
    if path.is_symlink():
        path.unlink()
    path.write_bytes(data)
    state["dirty"].add(name)


# ------------------------------------------------------------------ mutations
def _value(draw: Draw):
    kind = draw.pick(14)
    if kind < 3:
        return (None, True, False)[kind]
    if kind == 3:
        return int.from_bytes(draw.take(2), "little", signed=True)
    if kind == 4:
        return 10 ** draw.pick(40) * (-1) ** draw.byte()
    if kind == 5:
        return struct.unpack("<d", draw.take(8).ljust(8, b"\0"))[0]   # NaN and infinity included
    if kind == 6:
        return draw.take(draw.pick(12)).decode("latin-1")
    if kind == 7:
        return ["../../etc/hostname", "/etc/hostname", "", ".", "density.npz", "fused", "gmm"][draw.pick(7)]
    if kind == 8:
        return [_value(draw) for _ in range(draw.pick(5))]
    if kind == 9:
        return {draw.take(draw.pick(6)).decode("latin-1"): _value(draw) for _ in range(draw.pick(3))}
    if kind == 10:
        return [float(b) / 7.0 for b in draw.take(draw.pick(40))]
    if kind == 11:
        return "0" * 64
    if kind == 12:
        return 0.0
    return -1


def _edit_json(data, draw: Draw, delete: bool):
    """Replace (or delete) one node, found by walking down as the bytes say."""
    if not isinstance(data, (dict, list)) or not data:
        return _value(draw)
    node, depth = data, 1 + draw.pick(6)
    for _ in range(depth):
        keys = sorted(node) if isinstance(node, dict) else range(len(node))
        key = list(keys)[draw.pick(len(keys))]
        child = node[key]
        if isinstance(child, (dict, list)) and child and draw.byte() % 4:
            node = child
            continue
        if delete:
            del node[key]
        else:
            node[key] = _value(draw)
        return data
    return data


def _raw(original: bytes, draw: Draw, op: int) -> bytes:
    if op == 0:   # truncate
        return original[: int(len(original) * draw.fraction())]
    if op == 1:   # overwrite a few bytes; offsets biased to the headers
        cut = int(min(len(original), 1 << (8 + draw.pick(17))) * draw.fraction())
        patch = draw.take(1 + draw.pick(16))
        return original[:cut] + patch + original[cut + len(patch):]
    return draw.rest()   # wholesale replacement


def _array(draw: Draw, like: np.ndarray) -> np.ndarray:
    dtype = DTYPES[draw.pick(len(DTYPES))]
    choice = draw.pick(4)
    if choice == 0:   # same data, another dtype
        try:
            return like.astype(dtype)
        except (TypeError, ValueError):
            return like
    if choice == 1:   # another shape
        shape = tuple(draw.pick(5) for _ in range(draw.pick(4)))
        return np.resize(like, shape)
    if choice == 2 and like.dtype.kind in "fiub":   # a poisoned element
        out = np.array(like, np.float64, copy=True)
        if out.size:
            out.flat[draw.pick(out.size)] = (np.nan, np.inf, -np.inf, 1e308, 0.0)[draw.pick(5)]
        return out
    raw = draw.take(draw.pick(64))   # fresh bytes
    item = np.dtype(dtype).itemsize
    return np.frombuffer(raw[: len(raw) // item * item], dtype=dtype).copy()


def _npz(original: bytes, draw: Draw, op: int) -> bytes:
    if op >= 4:
        return _raw(original, draw, op - 4)
    with np.load(io.BytesIO(original), allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    names = sorted(arrays)
    name = names[draw.pick(len(names))]
    if op == 0:   # the JSON meta
        meta = json.loads(str(arrays["meta"]))
        arrays["meta"] = np.array(json.dumps(_edit_json(meta, draw, delete=draw.byte() % 3 == 0)))
    elif op == 1:
        arrays[name] = _array(draw, arrays[name])
    elif op == 2:
        del arrays[name]
    else:         # an object array: np.savez pickles it
        arrays[name] = np.array([{"x": 1}, None], dtype=object)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _escape(state, draw: Draw, card: dict) -> None:
    folder, sentinel = state["folder"], state["sentinel"]
    digest = hashlib.sha256(sentinel.read_bytes()).hexdigest()
    op = draw.pick(ESCAPE_OPS)
    names = {0: os.path.relpath(sentinel, folder), 1: str(sentinel), 3: draw.rest().decode("latin-1"),
             4: "density.npz/../" + os.path.relpath(sentinel, folder)}
    if op == 2:   # a listed file replaced by a symlink out of the folder
        victim = ("density.npz", "identity.json", "backbone.json", "model.json")[draw.pick(4)]
        (folder / victim).unlink()
        (folder / victim).symlink_to(sentinel)
        state["dirty"].add(victim)
        return
    card["checksums"][names[op]] = digest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build(data: bytes) -> tuple[Path, str]:
    """Turn the bytes into the working folder; returns (folder, engine)."""
    state = _setup()
    _restore(state)
    draw = Draw(data)
    target, op, flags = FILES[draw.pick(len(FILES))], draw.byte(), draw.byte()
    engine = "torch" if (flags & 1 or target == "backbone.safetensors") else "auto"
    folder, pristine = state["folder"], state["pristine"]
    card = json.loads(pristine["model.json"])
    if target.endswith(".json"):
        op %= JSON_OPS
        if op < 2:
            text = json.dumps(_edit_json(json.loads(pristine[target]), draw, delete=op == 1))
            new = text.encode()
        else:
            new = _raw(pristine[target], draw, op - 2)
        if target == "model.json":
            _write(state, target, new)
            return folder, engine
        _write(state, target, new)
    elif target.endswith(".npz"):
        _write(state, target, _npz(pristine[target], draw, op % NPZ_OPS))
    elif target == "escape":
        _escape(state, draw, card)
    else:
        _write(state, target, _raw(pristine[target], draw, op % RAW_OPS))
    if not flags & 2:   # re-write the checksums so that they match what is there now
        if target == "backbone.safetensors":
            try:
                meta = json.loads(pristine["backbone.json"])
                meta["sha256"] = _sha(folder / target)
                _write(state, "backbone.json", json.dumps(meta).encode())
            except ValueError:
                pass
        for name in list(card["checksums"]):
            path = folder / name
            if name in pristine and path.is_file() and not path.is_symlink():
                card["checksums"][name] = _sha(path)
    if not (folder / "model.json").is_symlink():
        _write(state, "model.json", json.dumps(card).encode())
    return folder, engine


def one_input(data: bytes) -> None:
    folder, engine = build(data)
    state = _state
    state["opened"].clear()
    try:
        Detector.load(folder, engine=engine)
    finally:
        if state["opened"]:
            raise AssertionError(f"a file outside the detector folder was opened: {state['opened']}")
