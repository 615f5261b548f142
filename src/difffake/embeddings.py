"""Frame embeddings: computed once per face frame, cached per (face store, backbone).

The cache key is a fingerprint of the backbone's weights and preprocessing, so a
retrained backbone never reads stale embeddings, and fit / evaluate / variants
share one embedding pass.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .fileio import atomic_write_bytes, json_default

log = logging.getLogger("difffake.embeddings")

# Embedders by name ("module:Class", imported on use): each turns a FaceRecord into one
# row per face frame. An embedder with its own embed_record / fingerprint (one that needs
# more than the crops) is used through those.
EMBEDDERS = {
    "backbone": "difffake.backbone.model:Backbone",
    "dlib-face-id": "difffake.identity.embedder:DlibIdentityEmbedder",
}


def make_embedder(name: str, **kwargs):
    import importlib
    if name not in EMBEDDERS:
        raise ValueError(f"unknown embedder {name!r}: choose from {sorted(EMBEDDERS)}")
    module, cls = EMBEDDERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)


def embed_record(backbone, record, batch_size: int = 32) -> np.ndarray:
    if hasattr(backbone, "embed_record"):
        return backbone.embed_record(record)
    crops = [record.crops[i] for i in record.face_positions()]
    if any(c is None for c in crops):
        raise ValueError(f"{record.video_id}: record was loaded without crops")
    if not crops:
        return np.zeros((0, int(getattr(backbone, "embedding_size", 0))), np.float32)
    return np.asarray(backbone.embed_crops(crops, batch_size=batch_size), np.float32)


def embed_record_and_prob(backbone, record, batch_size: int = 32):
    """(embeddings (F_face, D) float32, P(fake) (F_face,) float64 or None without a head), one pass."""
    if not hasattr(backbone, "embed_and_classify"):
        emb = embed_record(backbone, record, batch_size)
        return emb, frame_fake_prob(backbone, emb)
    crops = [record.crops[i] for i in record.face_positions()]
    if any(c is None for c in crops):
        raise ValueError(f"{record.video_id}: record was loaded without crops")
    emb, probs = backbone.embed_and_classify(crops, batch_size=batch_size)
    return np.asarray(emb, np.float32), (np.asarray(probs, np.float64) if len(probs) else None)


def frame_fake_prob(backbone, emb: np.ndarray) -> np.ndarray | None:
    """Per-frame P(fake) from the backbone's real/fake head applied to cached embeddings."""
    head = getattr(backbone, "head", None)
    if head is None or len(emb) == 0:
        return None
    import torch
    with torch.inference_mode():
        w = next(head.parameters())
        x = torch.from_numpy(np.asarray(emb, np.float32)).to(w.device, w.dtype)
        return backbone.fake_prob_of(x).cpu().numpy().astype(np.float64)


def backbone_fingerprint(backbone) -> str:
    """The embedding cache key of an embedder: its own fingerprint() (both engines, the
    identity embedder), else, for any torch module with a `cfg`, that of its weights."""
    if hasattr(backbone, "fingerprint"):
        return backbone.fingerprint()
    from .backbone.fingerprint import weights_fingerprint
    return weights_fingerprint(backbone.cfg, backbone.state_dict())


@dataclass
class VideoEmbedding:
    video_id: str
    emb: np.ndarray            # (F_face, D) float32
    frame_indices: np.ndarray  # (F,) sampled frame numbers
    has_face: np.ndarray       # (F,) bool


class EmbeddingCache:
    """One npz per (store, backbone): <cache_dir>/<fingerprint[:16]>_<store key>.npz.

    Keys: meta (JSON: ids, fingerprint, store settings), then per video k:
    emb_k, fi_k, hf_k. Rewritten atomically; safe to interrupt.
    """

    def __init__(self, path, fingerprint: str, store_settings: dict):
        self.path = Path(path)
        self.fingerprint = fingerprint
        self.settings = json.loads(json.dumps(store_settings, sort_keys=True, default=json_default))
        self.items: dict[str, VideoEmbedding] = {}
        if self.path.is_file():
            self._read()

    def _read(self):
        with np.load(self.path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            if meta.get("fingerprint") != self.fingerprint or meta.get("settings") != self.settings:
                log.warning("%s: embedding cache made with another backbone or face settings; ignored",
                            self.path)
                return
            for k, vid in enumerate(meta["ids"]):
                self.items[vid] = VideoEmbedding(vid, data[f"emb_{k}"], data[f"fi_{k}"], data[f"hf_{k}"])

    def write(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        ids = sorted(self.items)
        arrays = {"meta": np.array(json.dumps({"fingerprint": self.fingerprint, "settings": self.settings,
                                                "ids": ids}))}
        for k, vid in enumerate(ids):
            it = self.items[vid]
            arrays.update({f"emb_{k}": it.emb, f"fi_{k}": it.frame_indices, f"hf_{k}": it.has_face})
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(self.path, buf.getvalue())


def _cache_matches(item: VideoEmbedding | None, store, video_id: str) -> bool:
    """A cached item is valid only for the store entry it was made from (cheap: no crops decoded)."""
    if item is None:
        return False
    rec = store.load(video_id, with_crops=False)
    if (np.array_equal(np.asarray(item.frame_indices, np.int64), np.asarray(rec.frame_indices, np.int64))
            and np.array_equal(np.asarray(item.has_face, bool), np.asarray(rec.has_face, bool))):
        return True
    log.info("%s: store entry changed since it was embedded; re-embedding", video_id)
    return False


def embed_store(backbone, store, ids=None, cache_dir=None, batch_size: int = 32,
                fingerprint: str | None = None, save_every: int = 25) -> dict[str, VideoEmbedding]:
    """Embeddings of `ids` (default: all) of a FaceStore, each frame embedded once.

    Cached in `cache_dir` (default: <store>/embeddings/) as <fingerprint>_<store path hash>.npz;
    cached videos are not re-embedded unless their store entry changed (other
    frame indices or has_face than when cached).
    """
    from .progress import bar

    ids = list(store.ids() if ids is None else ids)
    fingerprint = fingerprint or backbone_fingerprint(backbone)
    cache_dir = Path(cache_dir) if cache_dir is not None else Path(store.root) / "embeddings"
    # the store's path is in the name so that stores sharing one --cache dir never collide
    store_key = hashlib.sha256(str(Path(store.root).resolve()).encode()).hexdigest()[:8]
    cache = EmbeddingCache(cache_dir / f"{fingerprint[:16]}_{store_key}.npz", fingerprint, store.settings)
    todo = [v for v in ids if not _cache_matches(cache.items.get(v), store, v)]
    dirty = 0
    for vid in bar(todo, desc=f"embed {Path(store.root).name}", unit="video"):
        rec = store.load(vid)
        cache.items[vid] = VideoEmbedding(vid, embed_record(backbone, rec, batch_size),
                                          np.asarray(rec.frame_indices, np.int64),
                                          np.asarray(rec.has_face, bool))
        dirty += 1
        if dirty >= save_every:
            cache.write()
            dirty = 0
    if dirty or (todo and not cache.path.exists()):
        cache.write()
    return {v: cache.items[v] for v in ids}
