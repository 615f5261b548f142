"""Same / different thresholds for identity distances, fitted on REAL videos only.

Input: video-level identity distances between different clips of the same person
(`same`) and between clips of different people (`different`). Two cuts:
    distance < same_max        -> "same"
    distance > different_min   -> "different"
    otherwise                  -> "unknown" (the uncertain band)
`different_min` is the lowest cut that calls at most `max_false_different` of the
same-person distances "different"; `same_max` the highest that calls at most
`max_false_same` of the different-person distances "same". When the two pools
overlap, the band between the cuts is "unknown"; when they do not, both cuts
meet half-way (no band).

Stored in the detector folder as identity.json and listed in model.json's
checksums, so loading verifies it like every other file there.
"""
from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FileError
from ..fileio import atomic_write_text, json_default, read_format_json, sha256_file

log = logging.getLogger("difffake.identity")

IDENTITY_JSON = "identity.json"
FORMAT = "difffake-identity-1"


@dataclass
class IdentityCalibration:
    same_max: float
    different_min: float
    min_faces: int = 3            # usable suspect face frames needed for a verdict (a photo: 1)
    min_face_px: float = 40.0     # faces smaller (brows to chin, source pixels) get no descriptor
    suspect_frames: int = 8       # descriptors per suspect video (evenly spread face frames)
    reference_frames: int = 16    # descriptors per reference video
    trim: float = 0.2             # video distance = mean of frame distances, this share cut at each end
    measured: dict = field(default_factory=dict)   # error rates with counts on the calibration pool
    info: dict = field(default_factory=dict)       # how and on what it was made
    source: str | None = None     # the file it was read from (not stored)

    def verdict(self, distance: float | None) -> tuple[str, str | None]:
        """("same" | "different" | "unknown", reason when unknown) for a video distance."""
        if distance is None or not np.isfinite(distance):
            return "unknown", "no identity distance"
        if distance < self.same_max:
            return "same", None
        if distance > self.different_min:
            return "different", None
        return "unknown", (f"distance {distance:.3f} is in the uncertain band "
                           f"[{self.same_max:.3f}, {self.different_min:.3f}]")

    @property
    def threshold(self) -> float:
        """One number for plots and tables: the middle of the band."""
        return 0.5 * (self.same_max + self.different_min)

    def error_rates(self, same, different) -> dict:
        """Verdict counts and rates of the two pools under these cuts."""
        out = {}
        for name, values in (("same_person", same), ("different_people", different)):
            v = np.asarray(values, np.float64)
            counts = {k: 0 for k in ("same", "different", "unknown")}
            for d in v:
                counts[self.verdict(float(d))[0]] += 1
            out[name] = {"n": len(v), **{f"n_{k}": c for k, c in counts.items()},
                         **{f"rate_{k}": (c / len(v) if len(v) else None) for k, c in counts.items()}}
        out["false_different_rate"] = out["same_person"]["rate_different"]
        out["false_same_rate"] = out["different_people"]["rate_same"]
        return out

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d.pop("source")
        return d


def fit_calibration(same, different, max_false_different: float = 0.05, max_false_same: float = 0.01,
                    **settings) -> IdentityCalibration:
    """Cuts from same-person and different-people video distances (see module doc)."""
    s = np.sort(np.asarray(same, np.float64))
    d = np.sort(np.asarray(different, np.float64))
    if len(s) < 5 or len(d) < 5:
        raise ValueError(f"too few distances to calibrate ({len(s)} same-person, {len(d)} different)")
    k = int(np.floor(max_false_different * len(s)))   # same-person distances allowed above the cut
    different_min = float(s[len(s) - 1 - k])           # "different" is strictly above it
    j = int(np.floor(max_false_same * len(d)))         # different-people distances allowed below
    same_max = float(d[j])                              # "same" is strictly below it
    if same_max > different_min:                        # separated: one cut half-way
        same_max = different_min = 0.5 * (same_max + different_min)
    cal = IdentityCalibration(same_max=same_max, different_min=different_min, **settings)
    cal.measured = {"targets": {"max_false_different": max_false_different,
                                "max_false_same": max_false_same},
                    **cal.error_rates(s, d)}
    return cal


def read_identity_json(directory, model: dict | None = None) -> IdentityCalibration | None:
    """The calibration of a detector folder; None if it has none.

    Only a file listed in model.json's checksums counts (read_model_json has
    verified it); an unlisted identity.json is ignored with a warning.
    """
    directory = Path(directory)
    path = directory / IDENTITY_JSON
    listed = model is None or IDENTITY_JSON in (model.get("checksums") or {})
    if not path.is_file():
        return None
    if not listed:
        log.warning("%s: not listed in model.json's checksums; ignored", path)
        return None
    data = read_format_json(path, FORMAT)
    names = {f.name for f in dataclasses.fields(IdentityCalibration)} - {"source"}
    missing = {"same_max", "different_min"} - set(data)
    if missing:
        raise FileError(path, f"missing {sorted(missing)}")
    return IdentityCalibration(**{k: v for k, v in data.items() if k in names}, source=str(path))


def write_identity_json(directory, calibration: IdentityCalibration) -> Path:
    """Write identity.json into a detector folder and add its sha256 to model.json's checksums."""
    from ..detector_folder import MODEL_JSON

    directory = Path(directory)
    card_path = directory / MODEL_JSON
    try:
        card = json.loads(card_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FileError(card_path, f"not a detector card ({exc})") from exc
    path = directory / IDENTITY_JSON
    atomic_write_text(path, json.dumps({"format": FORMAT, **calibration.to_dict()}, indent=2,
                                       sort_keys=True, default=json_default))
    card.setdefault("checksums", {})[IDENTITY_JSON] = sha256_file(path)
    atomic_write_text(card_path, json.dumps(card, indent=2, sort_keys=True, default=json_default))
    calibration.source = str(path)
    return path
