"""How much evidence a verdict rests on, against what the detector was calibrated with.

A detector's threshold and p-values were calibrated on videos sampled at
`face_cfg.num_frames` frames, giving a known number of frame pairs. A 2-frame
video (one pair) or a video where faces were found in few frames still gets a
score, but that score is far noisier than the calibration assumed: the verdict
is kept and marked "low" evidence when fewer than LOW_SHARE of the calibrated
pairs were scored.
"""
from __future__ import annotations

from .pairs import expected_pair_count

LOW_SHARE = 0.5


def expected_pairs(cfg, calibrated_frames: int) -> int:
    """Pairs a video sampled at the calibrated frame count (every frame with a face) gives."""
    if cfg.combine == "single":   # single-frame scores: one "pair" per face frame
        return int(calibrated_frames)
    return expected_pair_count(int(calibrated_frames), cfg.pairing, cfg.num_partners, cfg.max_pairs)


def evidence_level(pairs_used: int, pairs_expected: int) -> tuple[str, str | None]:
    """("low" | "normal", a sentence saying why when low)."""
    if pairs_expected > 0 and pairs_used < LOW_SHARE * pairs_expected:
        return "low", (f"low evidence: {pairs_used} frame pair(s) scored, the detector was "
                       f"calibrated on {pairs_expected}; the verdict is much less certain than its p-value says")
    return "normal", None
