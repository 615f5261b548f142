"""Pseudo-fake VIDEOS: a whole real video blended frame by frame, as a face swap would be.

Validation without deepfakes needs video-level fakes, because the detector
scores videos (pairs of frames, means over frames). A face swap keeps one
look for the whole clip and flickers a little from frame to frame, so:
- one generator draw per video: every frame's pseudo-fake is made from the
  same seed, hence the same mask type, source jitter, affine shift, blend
  ratio, blurs and elastic field; only the landmarks (the mask follows the
  face) change between frames;
- a small per-frame flicker of the blend strength (multiplier ~ N(1, sd));
- optionally another video's face as the source (one donor per clip, its
  frame nearest in pose per target frame), as an identity swap would be.
The output is a FaceRecord with the same frames, boxes and landmarks as the
real one, so it goes through the same store, embedder and scorer.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ..config import SynthConfig
from ..faces.store import FaceRecord
from .blend import PseudoFakeGenerator
from .donor import donor_video_sources
from .masks import MASK_TYPES, choose_mask_type

PSEUDO_PREFIX = "pseudo/"
DEGRADED_PREFIX = "degraded/"


def video_seed(video_id: str, seed: int) -> list[int]:
    """A stable per-video seed (Python's hash() is salted per process)."""
    digest = hashlib.sha256(video_id.encode()).digest()
    return [int(seed), int.from_bytes(digest[:8], "little")]


def pseudo_fake_record(record: FaceRecord, seed: int = 0, cfg: SynthConfig | None = None,
                       flicker: float = 0.05, mask_type: str | None = None,
                       donor: FaceRecord | None = None) -> FaceRecord:
    """The pseudo-fake twin of a real FaceRecord (id prefixed with 'pseudo/'). With `donor` (another
    video's record) the blend source is the donor's face (synthesis.donor), not the frame itself."""
    cfg = cfg or SynthConfig()
    sources = donor_video_sources(record, donor) if donor is not None else {}
    generator = PseudoFakeGenerator(cfg)
    key = video_seed(record.video_id, seed)
    if mask_type is None:
        mask_type = choose_mask_type(np.random.default_rng(key + [1]), cfg.p_global_mask)
    elif mask_type not in MASK_TYPES:
        raise ValueError(f"unknown mask type {mask_type!r}; choose one of {MASK_TYPES}")
    flick = np.random.default_rng(key + [2])
    crops = list(record.crops)
    for i in record.face_positions():
        sample = generator.gen(record.crops[i], record.landmarks[i], np.random.default_rng(key), mask_type,
                               source=sources.get(int(i)))
        gain = max(0.0, 1.0 + flicker * flick.standard_normal())
        # Only the blend differs from the real frame: outside the mask the pixels are the
        # real twin's own (a jittered target would otherwise tint the whole frame).
        blend = sample.fake.astype(np.float32) - sample.real.astype(np.float32)
        fake = record.crops[i].astype(np.float32) + gain * blend
        crops[i] = np.clip(np.rint(fake), 0, 255).astype(np.uint8)
    meta = {**record.meta, "pseudo_fake": {"of": record.video_id, "seed": int(seed),
                                           "mask_type": mask_type, "flicker": float(flicker),
                                           "donor": donor.video_id if sources else None}}
    return FaceRecord(video_id=PSEUDO_PREFIX + record.video_id, frame_indices=record.frame_indices,
                      has_face=record.has_face, boxes=record.boxes, landmarks=record.landmarks,
                      scores=record.scores, crops=crops, frame_size=record.frame_size, meta=meta)


def degraded_record(record: FaceRecord, seed: int = 0, cfg: SynthConfig | None = None,
                    salt: str = "") -> FaceRecord:
    """The record re-captured: one capture degradation (synthesis.domain, drawn once per video
    from the id, `salt` and `seed`) applied to every crop. The degradation of a real and of its
    pseudo-fake twin is the same when both are called with the real's id as `salt`."""
    from dataclasses import replace

    from .domain import apply_ops, draw_degradation

    cfg = replace(cfg or SynthConfig(), p_domain=1.0)
    ops = draw_degradation(np.random.default_rng(video_seed(salt or record.video_id, seed) + [3]), cfg)
    crops = [None if c is None else apply_ops(ops, c) for c in record.crops]
    meta = {**record.meta, "degraded": {"seed": int(seed), "ops": len(ops)}}
    return FaceRecord(video_id=DEGRADED_PREFIX + record.video_id, frame_indices=record.frame_indices,
                      has_face=record.has_face, boxes=record.boxes, landmarks=record.landmarks,
                      scores=record.scores, crops=crops, frame_size=record.frame_size, meta=meta)
