"""Pseudo-fake twins of a real pool, embedded once: the validation set that needs no deepfake.

Each pool video (store, id) gets one pseudo-fake twin (synthesis.video) made
from its stored crops and landmarks; the twin is embedded by the same backbone
path as every real video. With `degraded`, each pair is also re-captured once
(the same down/up-scaling, JPEG, colour cast or overlay on the real and its
twin, as a stream encodes both): the validation and the calibration then hold
low-quality real footage too. With `donors` (choose_donors: a share of the
videos, each given another person's video of the same fold), a twin carries
that person's face instead (synthesis.donor); the donor shares the fold, so no
fold's densities or fusion saw it either.
Returns per entry the real and twin embeddings, per-frame P(fake), the donor
and the pool key it came from (its fold), ready for anomaly.fused_fit.
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
    donors: list            # the donor's video id of an other-identity twin, else None


def choose_donors(keys, groups: dict, folds: dict, share: float, seed: int = 0) -> dict:
    """{key: donor key or None}: `share` of the keys (a stable per-video draw) get a donor from
    another group (person / source) of the same fold; None where the fold has no other group."""
    from ..synthesis.video import video_seed

    donors = {}
    for key in sorted(keys):
        rng = np.random.default_rng(video_seed(key, seed) + [4])
        if share <= 0 or rng.random() >= share:
            donors[key] = None
            continue
        others = [k for k in sorted(keys) if folds[k] == folds[key] and groups[k] != groups[key]]
        donors[key] = others[int(rng.integers(len(others)))] if others else None
    return donors


def pseudo_twins(backbone, pool: dict, real_embs: dict, seed: int = 0, degraded: bool = False,
                 progress=None, donors: dict | None = None) -> PoolTwins:
    """`pool`: key -> (store, video id); `real_embs`: key -> (F, D) embeddings (embed_pool);
    `donors`: key -> the pool key whose face its twin carries (choose_donors), None for a self-blend."""
    from ..embeddings import embed_record
    from ..synthesis.video import DEGRADED_PREFIX, degraded_record, pseudo_fake_record

    keys = sorted(pool)
    donors = donors or {}
    out = PoolTwins([], [], [], [], [], [], [], [])
    for n, key in enumerate(keys):
        store, vid = pool[key]
        record = store.load(vid)
        donor_key = donors.get(key)
        donor = pool[donor_key][0].load(pool[donor_key][1]) if donor_key is not None else None
        twin = pseudo_fake_record(record, seed=seed, donor=donor)
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
    out.donors.append(twin.meta["pseudo_fake"]["donor"])
