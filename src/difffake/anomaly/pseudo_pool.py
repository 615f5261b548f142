"""Pseudo-fake twins of a real pool, embedded once: the validation set that needs no deepfake.

Each pool video (store, id) gets one pseudo-fake twin (synthesis.video) made
from its stored crops and landmarks; the twin is embedded by the same backbone
path as every real video. With `degraded`, each pair is also re-captured once
(the same down/up-scaling, JPEG, colour cast or overlay on the real and its
twin, as a stream encodes both): the validation and the calibration then hold
low-quality real footage too. Returns per entry the real and twin embeddings,
per-frame P(fake) and the pool key it came from (its fold), ready for
anomaly.fused_fit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PoolTwins:
    keys: list              # entry id: the pool key, or "degraded/<key>"
    base_keys: list         # the pool key each entry comes from (folds follow it)
    real_embs: list
    real_probs: list
    fake_embs: list
    fake_probs: list
    mask_types: list


def pseudo_twins(backbone, pool: dict, real_embs: dict, seed: int = 0, degraded: bool = False,
                 progress=None) -> PoolTwins:
    """`pool`: key -> (store, video id); `real_embs`: key -> (F, D) embeddings (embed_pool)."""
    from ..embeddings import embed_record
    from ..synthesis.video import DEGRADED_PREFIX, degraded_record, pseudo_fake_record

    keys = sorted(pool)
    out = PoolTwins([], [], [], [], [], [], [])
    for n, key in enumerate(keys):
        store, vid = pool[key]
        record = store.load(vid)
        twin = pseudo_fake_record(record, seed=seed)
        _add(out, backbone, key, key, np.asarray(real_embs[key]), embed_record(backbone, twin), twin)
        if degraded:
            real_d = degraded_record(record, seed=seed, salt=vid)
            twin_d = degraded_record(twin, seed=seed, salt=vid)
            _add(out, backbone, DEGRADED_PREFIX + key, key, embed_record(backbone, real_d),
                 embed_record(backbone, twin_d), twin)
        if progress:
            progress(n + 1, len(keys))
    return out


def _add(out: PoolTwins, backbone, key, base, real, fake, twin) -> None:
    from ..embeddings import frame_fake_prob

    out.keys.append(key)
    out.base_keys.append(base)
    out.real_embs.append(real)
    out.real_probs.append(frame_fake_prob(backbone, real))
    out.fake_embs.append(fake)
    out.fake_probs.append(frame_fake_prob(backbone, fake))
    out.mask_types.append(twin.meta["pseudo_fake"]["mask_type"])
