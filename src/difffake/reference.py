"""Scoring a suspect video against a trusted reference of the same person.

Besides the within-video pairs, each suspect face frame is paired with a
reference face frame (round robin) and scored by the same density model. The
density was fitted on within-video change, so cross-video pairs score higher
than within-video ones even for the same real person (lighting, pose, camera):
read the reference score by comparison, not against the video threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anomaly.combine import combine


@dataclass
class ReferenceScore:
    score: float                 # reduced like a video score (higher = more unlike the reference)
    pair_scores: np.ndarray      # one per suspect face frame
    reference_positions: np.ndarray  # which reference face frame each suspect frame met


def score_against_reference(anomaly, suspect_emb: np.ndarray, reference_emb: np.ndarray) -> ReferenceScore:
    """Pairs (reference frame, suspect frame) scored by the detector's density model."""
    if anomaly.cfg.combine == "single":
        raise ValueError("the single-frame baseline has no pairs: a reference cannot be compared")
    if len(reference_emb) == 0 or len(suspect_emb) == 0:
        raise ValueError("the reference and the suspect both need at least one face")
    ref_pos = np.arange(len(suspect_emb)) % len(reference_emb)
    feats = combine(reference_emb[ref_pos], suspect_emb, anomaly.cfg.combine)
    scores = anomaly.density.score(feats)
    return ReferenceScore(anomaly.reduce(scores), scores, ref_pos)
