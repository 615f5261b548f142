"""ScanResult: the outcome of scanning one file, as `scan --json` writes it."""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field

from .fileio import json_default


@dataclass
class ScanResult:
    """Outcome of one file. score: higher = more fake (None unless status 'ok').

    status: 'ok' | 'no_face' | 'too_few_faces' (fewer face frames than the model
    needs, e.g. a photo; see `error` for the count) | 'error' (the file could not
    be read; `error` says why).
    verdict: 'fake' | 'real' at the stored threshold, 'unknown' unless status 'ok'.
    frame_indices: the sampled frames (video frame numbers); has_face beside them.
    pairs: (frame a, frame b) video frame numbers per pair score; for the
    single-frame model a == b.
    classifier_score: the backbone's own mean per-frame fake probability (an
    SBI-style auxiliary signal, not the DiffFake score), None without a head.
    basis: which score the verdict uses ('fused' | 'differential' | 'classifier');
    score, p_value_real, threshold and verdict are that score's.
    differential_score: the DiffFake pair score, always reported.
    components: every score of the video, [{name, label, score, p_value_real,
    threshold}], the basis first; threshold and p-value against calibration reals.
    """
    path: str
    video_id: str
    status: str
    score: float | None = None
    p_value_real: float | None = None
    verdict: str = "unknown"
    threshold: float | None = None
    n_frames: int = 0
    n_faces: int = 0
    n_pairs: int = 0
    pair_scores: list = field(default_factory=list)
    pairs: list = field(default_factory=list)
    frame_indices: list = field(default_factory=list)
    has_face: list = field(default_factory=list)
    frame_fake_prob: list = field(default_factory=list)
    classifier_score: float | None = None
    basis: str = "differential"
    differential_score: float | None = None
    components: list = field(default_factory=list)
    reference_score: float | None = None      # scan --reference: suspect frames vs the trusted reference
    reference_pair_scores: list = field(default_factory=list)
    # scan with a reference: identity check (dlib face-recognition descriptors; see difffake.identity)
    identity_distance: float | None = None     # robust mean distance to the nearest reference face
    identity_verdict: str | None = None        # "same" | "different" | "unknown"; None without a reference
    identity_reason: str | None = None         # why "unknown"
    identity_frame_distances: list = field(default_factory=list)
    identity_frames: list = field(default_factory=list)        # their video frame numbers
    identity_frame_times: list = field(default_factory=list)   # their times in seconds
    identity_nearest_reference: list = field(default_factory=list)
    identity_threshold: float | None = None    # middle of the band (for plots)
    identity_band: list = field(default_factory=list)  # [same below, different above]
    identity_error_rates: dict = field(default_factory=dict)  # measured on real videos (identity.json)
    timings: dict = field(default_factory=dict)
    error: str | None = None
    segments: int = 1   # persons the face track saw; only the main one's frames are scored (faces/identity_switch.py)
    # "low" when far fewer pairs were scored than the detector was calibrated on (anomaly/evidence_level.py)
    evidence_level: str | None = None    # "normal" | "low"; None unless status 'ok'
    pairs_expected: int = 0              # pairs a video at the calibrated frame count gives (n_pairs: used)
    evidence_note: str | None = None     # why the evidence is low
    # Attachments for reports (scan --report, serve), never in to_dict / --json: set when the
    # scan is asked to keep them (workflows.scan keep_records, scanning.scan_video keep_record).
    record: object | None = field(default=None, repr=False, compare=False)   # the FaceRecord scanned
    identity_reference: object | None = field(default=None, repr=False, compare=False)  # its faces are shown
    evidence: object | None = field(default=None, repr=False, compare=False)  # evidence.Evidence of the file

    def to_dict(self) -> dict:
        plain = dataclasses.replace(self, **dict.fromkeys(ATTACHMENTS))   # asdict would deep-copy the crops
        out = dataclasses.asdict(plain)
        for name in ATTACHMENTS:
            del out[name]
        return json.loads(json.dumps(out, default=json_default))


ATTACHMENTS = ("record", "identity_reference", "evidence")
