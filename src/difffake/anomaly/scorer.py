"""Scorer: the fitted scoring chain of a detector, one object that travels whole.

pairs -> combine -> density (the differential AnomalyModel, the paper's score), optionally
a single-frame AnomalyModel and the Fusion of every component, then one Calibration per
score name (threshold + conformal p-values from real videos) and the `basis` whose
calibration gives the verdict. Like anomalib's post-processor inside its exported model,
the threshold and calibration are fitted parts of the scorer, saved and loaded with it:

    density.npz, density_single.npz     AnomalyModel.save (allow_pickle=False)
    model.json sections                 "anomaly_config", "fit", "calibration", "scorer"

A Scorer is never changed after it is made: `with_basis` returns a copy.
"""
from __future__ import annotations

import copy
import dataclasses
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import UsageError
from .calibrate import Calibration
from .fusion import LABELS, Fusion, component_scores
from .model import DENSITY_FILE, AnomalyModel

SINGLE_DENSITY_FILE = "density_single.npz"   # the single-frame density (a fused detector's component)
BASES = ("fused", "differential", "classifier")
BASIS_COMPONENT = {"fused": "fused", "differential": "differential", "classifier": "classifier_mean"}


class BasisUnavailable(UsageError):
    """A known basis this scorer has no calibrated score for (Detector names its folder).
    Not a ValueError: a folder's decoding errors are those (detector_folder.reading)."""


@dataclass(frozen=True)
class Judgement:
    """Every score of one video against its calibration, the basis's first, and the verdict.

    components: [{name, label, score, p_value_real, threshold}]; score / threshold /
    p_value_real / verdict are the basis score's (None / 'unknown' when it has none)."""
    basis: str
    components: list = field(default_factory=list)
    score: float | None = None
    threshold: float | None = None
    p_value_real: float | None = None
    verdict: str = "unknown"


class Scorer:
    """`differential` + `calibration`: the differential score (the paper's). A fused scorer also
    has `single` (single-frame density), `fusion` and `calibrations` (one per score name:
    'fused', 'differential', 'single', 'classifier_mean', 'classifier_q90'); `basis` says
    which score gives the verdict."""

    def __init__(self, differential: AnomalyModel, calibration: Calibration | None = None, *,
                 single: AnomalyModel | None = None, fusion: Fusion | None = None,
                 calibrations: dict | None = None, basis: str | None = None):
        self.differential = differential
        self.calibration = calibration
        self.single = single
        self.fusion = fusion
        self.calibrations = dict(calibrations or {})
        if calibration is not None:
            self.calibrations.setdefault("differential", calibration)
        self.basis = basis or ("fused" if fusion is not None else "differential")
        self.check_basis(self.basis)

    # ------------------------------------------------------------ bases
    def available_bases(self) -> list[str]:
        out = ["differential"] if self.calibrations.get("differential") else []
        if "classifier_mean" in self.calibrations:
            out.append("classifier")
        if self.fusion is not None and "fused" in self.calibrations:
            out.insert(0, "fused")
        return out

    def check_basis(self, basis: str) -> None:
        """ValueError for a name that is no basis; BasisUnavailable for one this scorer cannot give."""
        if basis not in BASES:
            raise ValueError(f"unknown score basis {basis!r}: choose one of {', '.join(BASES)}")
        if (self.calibrations or self.calibration) and basis not in self.available_bases():
            raise BasisUnavailable(f"this detector cannot give a {basis!r} verdict "
                                   f"(it has {', '.join(self.available_bases()) or 'no calibrated score'})")

    def with_basis(self, basis: str) -> Scorer:
        """A copy giving `basis`'s verdict (the fitted parts are shared, this scorer is unchanged)."""
        self.check_basis(basis)
        view = copy.copy(self)
        view.basis = basis
        return view

    @property
    def min_faces(self) -> int:
        return self.differential.min_faces

    # ------------------------------------------------------------ scoring
    def scores(self, emb: np.ndarray, probs, differential_score=None) -> dict[str, float]:
        """Every score of one video's face-frame embeddings: components and the fused score."""
        out = component_scores(emb, probs, self.differential, self.single, differential_score)
        if self.fusion is not None:
            out["fused"] = self.fusion.score(out)
        return out

    def judge(self, scores: dict[str, float]) -> Judgement:
        """The components (basis first, then fused and the LABELS order) with their thresholds
        and p-values, and the basis score's verdict at its stored threshold."""
        basis_name = BASIS_COMPONENT[self.basis]
        order = [basis_name] + [k for k in ("fused", *LABELS) if k != basis_name]
        components = []
        for name in dict.fromkeys(order):
            if name not in scores:
                continue
            value, cal = scores[name], self.calibrations.get(name)
            ok = cal is not None and np.isfinite(value)
            components.append({
                "name": name, "label": LABELS.get(name, name),
                "score": float(value) if np.isfinite(value) else None,
                "p_value_real": float(cal.p_value_real(value)) if ok else None,
                "threshold": float(cal.threshold) if cal is not None else None})
        first = components[0] if components and components[0]["name"] == basis_name else None
        score = first["score"] if first else None
        cal = self.calibrations.get(basis_name)
        if cal is None or score is None:
            return Judgement(self.basis, components, score)
        return Judgement(self.basis, components, score, float(cal.threshold),
                         float(cal.p_value_real(score)), cal.verdict(score))

    # ------------------------------------------------------------ save / load
    def save(self, directory) -> tuple[list[str], dict]:
        """Write the density files into `directory`; (their names, the model.json sections)."""
        directory = Path(directory)
        self.differential.save(directory)
        files = [DENSITY_FILE]
        if self.single is not None:
            self.single.save(directory, SINGLE_DENSITY_FILE)
            files.append(SINGLE_DENSITY_FILE)
        sections = {
            "anomaly_config": dataclasses.asdict(self.differential.cfg),
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "scorer": {"basis": self.basis,
                       "fusion": self.fusion.to_dict() if self.fusion is not None else None,
                       "calibrations": {k: c.to_dict() for k, c in self.calibrations.items()}},
            "fit": self.differential.info,
        }
        return files, sections

    @classmethod
    def load(cls, directory, model: dict, reading=None, check_config=None) -> Scorer:
        """The scorer of a detector folder whose model.json (`model`, checksums verified) is read.

        reading(path): a context that names `path` when its content cannot be decoded
        (detector_folder.reading); check_config(values, path): refuses an anomaly_config of
        the wrong kinds. Both default to letting the decoder's own error through."""
        directory = Path(directory)
        reading = reading or (lambda path: nullcontext())
        check_config = check_config or (lambda values, path: None)
        densities = {}
        for name in (DENSITY_FILE, SINGLE_DENSITY_FILE):
            if name == DENSITY_FILE or name in model["checksums"]:
                with reading(directory / name):
                    densities[name] = AnomalyModel.load(directory / name)
                    check_config(dataclasses.asdict(densities[name].cfg), directory / name)
        with reading(directory / "model.json"):
            calibration = Calibration.from_dict(model["calibration"]) if model.get("calibration") else None
            scorer = model.get("scorer") or {}
            fusion = Fusion.from_dict(scorer["fusion"]) if scorer.get("fusion") else None
            calibrations = {k: Calibration.from_dict(v) for k, v in (scorer.get("calibrations") or {}).items()}
            return cls(densities[DENSITY_FILE], calibration, single=densities.get(SINGLE_DENSITY_FILE),
                       fusion=fusion, calibrations=calibrations, basis=scorer.get("basis"))

