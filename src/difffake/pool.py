"""The real-video pool of `difffake fit`: keys, their (store, id), and how model.json records them.

A pool key is the video id, or "<store index>:<id>" when an earlier store
already holds that id. model.json keeps, besides the keys, the resolved
store paths ("stores") and per key {"store": index, "id": video id,
"source": media path} ("pool"), so evaluate never has to parse keys back.
On disk those paths (and the other paths of `info`: PATH_FIELDS) are relative
to the detector folder, so model.json holds no build machine's absolute paths;
Detector.load turns them back into absolute ones (`paths_resolved`), so a
loaded detector works from any working directory.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def pool_key(store_index: int, video_id: str, taken) -> str:
    """The video id, prefixed by its store's index when an earlier store has it."""
    return video_id if video_id not in taken else f"{store_index}:{video_id}"


def store_paths(stores) -> list[str]:
    """Resolved absolute roots: model.json must work from any working directory."""
    return [str(Path(s.root).resolve()) for s in stores]


def pool_entries(pool: dict, stores) -> dict[str, dict]:
    """model.json's "pool": key -> {store index, video id, resolved source path or None}."""
    index = {id(s): k for k, s in enumerate(stores)}
    out = {}
    for key, (store, vid) in pool.items():
        source = store.load(vid, with_crops=False).meta.get("source")
        out[key] = {"store": index[id(store)], "id": vid,
                    "source": str(Path(source).resolve()) if source else None}
    return out


# info fields holding a path (or a list of paths); "pool" sources and backbone_training's too.
PATH_FIELDS = ("backbone_dir", "exclude_source", "stores")
TRAINING_PATH_FIELDS = ("run_dir", "stores")


def _map_paths(info: dict, fn) -> dict:
    def one(v):
        return fn(v) if isinstance(v, str) and v else v

    def field(v):
        return [one(x) for x in v] if isinstance(v, list) else one(v)

    out = dict(info)
    for key in PATH_FIELDS:
        if key in out:
            out[key] = field(out[key])
    if isinstance(out.get("backbone_training"), dict):
        out["backbone_training"] = {k: field(v) if k in TRAINING_PATH_FIELDS else v
                                    for k, v in out["backbone_training"].items()}
    if isinstance(out.get("pool"), dict):
        out["pool"] = {k: ({**e, "source": one(e.get("source"))} if isinstance(e, dict) else e)
                       for k, e in out["pool"].items()}
    return out


def paths_relative(info: dict, directory) -> dict:
    """`info` with its paths relative to the detector folder (a relative path is taken as
    relative to the working directory, as given on the command line)."""
    base = Path(directory).resolve()
    return _map_paths(info, lambda v: Path(os.path.relpath(Path(v).resolve(), base)).as_posix())


def paths_resolved(info: dict, directory) -> dict:
    """`info` with its folder-relative paths made absolute again (absolute ones, from detectors
    made before, are kept)."""
    base = Path(directory).resolve()
    return _map_paths(info, lambda v: v if Path(v).is_absolute() else str((base / v).resolve()))


def locate(info: dict, stores) -> dict[str, tuple]:
    """key -> (store, video id) for every key in info["pool"].

    Detectors made before "pool" was recorded: parsed from fit_ids / cal_ids
    ("k:id" or a plain id found in the first store that has it).
    """
    if info.get("pool"):
        return {key: (stores[int(e["store"])], e["id"]) for key, e in info["pool"].items()}
    out = {}
    for key in list(info.get("fit_ids", [])) + list(info.get("cal_ids", [])):
        head, sep, rest = key.partition(":")
        if sep and head.isdigit() and int(head) < len(stores) and stores[int(head)].has(rest):
            out[key] = (stores[int(head)], rest)
            continue
        out[key] = next(((s, key) for s in stores if s.has(key)), (None, key))
    return out


def pool_sources(info: dict) -> set[str]:
    """Resolved media paths of the detector's fit/calibration videos (empty if unknown)."""
    return {e["source"] for e in (info.get("pool") or {}).values() if e.get("source")}


def embed_pool(backbone, entries: dict, cache=None, fingerprint: str | None = None) -> dict[str, np.ndarray]:
    """key -> (F, D) embeddings for entries {key: (store, video id)}; one cache pass per store."""
    from .embeddings import embed_store

    by_store: dict[int, list] = {}
    for key, (store, vid) in entries.items():
        by_store.setdefault(id(store), [store, []])[1].append((key, vid))
    out = {}
    for store, items in by_store.values():
        got = embed_store(backbone, store, [vid for _, vid in items], cache_dir=cache,
                          fingerprint=fingerprint)
        for key, vid in items:
            out[key] = got[vid].emb
    return out
