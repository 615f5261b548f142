"""Detector = face pipeline + backbone + anomaly model + calibration.

On disk a detector is a folder:
    backbone.safetensors, backbone.json   (Backbone.save)
    density.npz                           (AnomalyModel.save; allow_pickle=False)
    model.json                            config, versions, calibration, how it was made,
                                          sha256 of every other file
Loading verifies every checksum before reading a file and never unpickles.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import time
from pathlib import Path

import numpy as np

from . import __version__
from .anomaly.calibrate import Calibration
from .anomaly.fusion import LABELS, Fusion, component_scores
from .anomaly.model import DENSITY_FILE, AnomalyModel, VideoScore
from .config import AnomalyConfig, FaceConfig, section_from_dict
from .detector_folder import (  # MODEL_JSON, FORMAT, DEFAULT_DIR, read_model_json: the folder's own names
    DEFAULT_DIR,
    FORMAT,
    MODEL_JSON,
    DetectorFileError,
    DetectorFolderError,
    check_fields,
    read_model_json,
    reading,
)
from .embeddings import embed_record, embed_record_and_prob, frame_fake_prob
from .errors import MediaError
from .fileio import atomic_write_text, json_default, sha256_file
from .pool import paths_relative, paths_resolved
from .scan_result import ScanResult
from .versions import versions

log = logging.getLogger("difffake.detector")

REQUIRED_FILES = ("backbone.safetensors", "backbone.json", DENSITY_FILE)
SINGLE_DENSITY_FILE = "density_single.npz"   # the single-frame density (a fused detector's component)
BASES = ("fused", "differential", "classifier")
BASIS_COMPONENT = {"fused": "fused", "differential": "differential", "classifier": "classifier_mean"}


class Detector:
    """`anomaly` + `calibration`: the differential score (the paper's). A fused detector also
    has `single` (single-frame density), `fusion` and `calibrations` (one per score name:
    'fused', 'differential', 'single', 'classifier_mean', 'classifier_q90'); `basis` says
    which score gives the verdict."""

    def __init__(self, backbone, anomaly_model: AnomalyModel, calibration: Calibration | None,
                 face_cfg: FaceConfig | None = None, info: dict | None = None, *,
                 single: AnomalyModel | None = None, fusion: Fusion | None = None,
                 calibrations: dict | None = None, basis: str | None = None):
        self.backbone = backbone
        self.anomaly = anomaly_model
        self.calibration = calibration
        self.face_cfg = face_cfg or FaceConfig()
        self.calibrated_frames = self.face_cfg.num_frames   # kept when `scan --frames` changes face_cfg
        self.info = dict(info or {})
        self.single = single
        self.fusion = fusion
        self.calibrations = dict(calibrations or {})
        if calibration is not None:
            self.calibrations.setdefault("differential", calibration)
        self.basis = basis or ("fused" if fusion is not None else "differential")
        self.check_basis(self.basis)
        self.path: Path | None = None
        self._face_detector = None
        self.batch_size = 32
        self.identity_calibration = None   # identity.json of the folder (difffake.identity)

    # ------------------------------------------------------------ save / load
    def save(self, directory) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MODEL_JSON).unlink(missing_ok=True)  # never leave a stale, valid-looking card
        (directory / "backbone.onnx").unlink(missing_ok=True)  # of an older backbone: `difffake export` remakes it
        self.backbone.save(directory)
        self.anomaly.save(directory)
        files = list(REQUIRED_FILES)
        if self.single is not None:
            self.single.save(directory, SINGLE_DENSITY_FILE)
            files.append(SINGLE_DENSITY_FILE)
        model = {
            "format": FORMAT,
            "anomaly_config": dataclasses.asdict(self.anomaly.cfg),
            "face_config": dataclasses.asdict(self.face_cfg),
            "backbone_config": dataclasses.asdict(self.backbone.cfg),
            "calibration": self.calibration.to_dict() if self.calibration else None,
            "scorer": {"basis": self.basis,
                       "fusion": self.fusion.to_dict() if self.fusion is not None else None,
                       "calibrations": {k: c.to_dict() for k, c in self.calibrations.items()}},
            "fit": self.anomaly.info,
            "info": paths_relative(self.info, directory),   # no absolute build-machine paths
            "versions": versions("numpy", "sklearn", "scipy", "torch", "timm"),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "checksums": {name: sha256_file(directory / name) for name in files},
        }
        atomic_write_text(directory / MODEL_JSON,
                           json.dumps(model, indent=2, sort_keys=True, default=json_default))
        if self.identity_calibration is not None:
            from .identity.calibration import write_identity_json
            write_identity_json(directory, self.identity_calibration)
        self.path = directory
        return directory

    @classmethod
    def load(cls, path=None, device: str = "cpu", engine: str = "auto",
             threads: int | None = None) -> Detector:
        """Load a detector folder; None = the packaged default (difffake/models/default).

        engine: "onnx" (ONNX Runtime, no torch), "torch", or "auto" (see difffake.engines).
        threads: ONNX Runtime's intra-op threads (None = its default, one per core).
        """
        directory = Path(path) if path is not None else DEFAULT_DIR
        if not (directory / MODEL_JSON).is_file():
            hint = ("no default detector is bundled with this installation; pass a detector "
                    "folder made by `difffake fit`" if path is None
                    else "not a detector folder (a folder made by `difffake fit` holds model.json)")
            raise DetectorFileError(directory / MODEL_JSON, hint)
        model = read_model_json(directory)
        card = directory / MODEL_JSON
        # a matching checksum does not make a file usable: each is parsed under `reading`, which
        # names it on bad content, and the loaded detector is probed end to end (detector_folder)
        from .engines import choose_engine, load_backbone
        engine = choose_engine(engine, directory, model, device)
        with reading(directory / ("backbone.onnx" if engine == "onnx" else "backbone.safetensors")):
            backbone = load_backbone(directory, model, engine, device, threads=threads)
        with reading(directory / DENSITY_FILE):
            anomaly = AnomalyModel.load(directory)
            check_fields(AnomalyConfig, dataclasses.asdict(anomaly.cfg), directory / DENSITY_FILE,
                         "anomaly_config")
        single = None
        if SINGLE_DENSITY_FILE in model["checksums"]:
            with reading(directory / SINGLE_DENSITY_FILE):
                single = AnomalyModel.load(directory / SINGLE_DENSITY_FILE)
                check_fields(AnomalyConfig, dataclasses.asdict(single.cfg), directory / SINGLE_DENSITY_FILE,
                             "anomaly_config")
        # Settings added since the detector was made are filled in as they were then
        # (faces.store.with_legacy): a detector scans the way it was calibrated.
        from .faces.store import with_legacy
        check_fields(FaceConfig, model.get("face_config", {}), card, "face_config")
        with reading(card):
            calibration = Calibration.from_dict(model["calibration"]) if model.get("calibration") else None
            face_cfg = section_from_dict(FaceConfig, with_legacy(model.get("face_config", {})), "face_config")
            scorer = model.get("scorer") or {}
            fusion = Fusion.from_dict(scorer["fusion"]) if scorer.get("fusion") else None
            calibrations = {k: Calibration.from_dict(v) for k, v in (scorer.get("calibrations") or {}).items()}
            det = cls(backbone, anomaly, calibration, face_cfg, paths_resolved(model.get("info") or {}, directory), single=single,
                      fusion=fusion, calibrations=calibrations, basis=scorer.get("basis"))
        from .detector_folder import check_identity, probe
        from .identity.calibration import IDENTITY_JSON, read_identity_json
        with reading(directory / IDENTITY_JSON):
            det.identity_calibration = read_identity_json(directory, model)
        if det.identity_calibration is not None:
            check_identity(det.identity_calibration, directory / IDENTITY_JSON)
        det.path = directory
        probe(det, DENSITY_FILE, SINGLE_DENSITY_FILE)
        return det

    @classmethod
    def fit(cls, backbone, stores, out, **options) -> Detector:
        """Fit a detector on the REAL videos of face `stores` with a trained `backbone` (run
        folder) and save it in `out`: difffake.fit(...) (difffake.workflows.fit), which also
        returns the calibration summary and validation; `options` are FitRequest's fields."""
        from .workflows.fit import fit
        return fit(backbone, stores, out, **options).detector

    def scanning_with(self, frames: int | None = None, basis: str | None = None) -> Detector:
        """This detector sampling `frames` per video and/or giving `basis`'s verdict, as a view
        that shares the fitted parts: this detector's own settings are left as they are.
        The threshold and p-values stay those calibrated at `calibrated_frames`."""
        if frames is None and basis is None:
            return self
        view = copy.copy(self)
        if basis is not None:
            view.check_basis(basis)
            view.basis = basis
        if frames is not None:
            if frames < 2:
                raise ValueError(f"frames must be at least 2 (pairs need two frames), got {frames}")
            view.face_cfg = dataclasses.replace(self.face_cfg, num_frames=frames)
        return view

    # --------------------------------------------------------------- scoring
    @property
    def embedding_size(self) -> int:
        return int(getattr(self.backbone, "embedding_size", 0))

    def embed_record(self, record) -> np.ndarray:
        """(F_face, D) float32: one embedding per sampled frame that has a face, in order."""
        return embed_record(self.backbone, record, self.batch_size)

    def score_record(self, record) -> VideoScore:
        return self.anomaly.score_video(self.embed_record(record))

    def embed_and_classify(self, record):
        """(embeddings, per-frame P(fake) or None) of a record's face frames, in one network pass."""
        return embed_record_and_prob(self.backbone, record, self.batch_size)

    def frame_fake_prob(self, emb: np.ndarray) -> np.ndarray | None:
        return frame_fake_prob(self.backbone, emb)

    def available_bases(self) -> list[str]:
        out = ["differential"] if self.calibrations.get("differential") else []
        if "classifier_mean" in self.calibrations:
            out.append("classifier")
        if self.fusion is not None and "fused" in self.calibrations:
            out.insert(0, "fused")
        return out

    def check_basis(self, basis: str) -> None:
        if basis not in BASES:
            raise ValueError(f"unknown score basis {basis!r}: choose one of {', '.join(BASES)}")
        if (self.calibrations or self.calibration) and basis not in self.available_bases():
            raise DetectorFileError(self.path or Path("."), f"this detector cannot give a {basis!r} verdict "
                                    f"(it has {', '.join(self.available_bases()) or 'no calibrated score'})")

    def scores(self, emb: np.ndarray, probs, differential_score=None) -> dict[str, float]:
        """Every score of one video's face-frame embeddings: components and the fused score."""
        out = component_scores(emb, probs, self.anomaly, self.single, differential_score)
        if self.fusion is not None:
            out["fused"] = self.fusion.score(out)
        return out

    def face_detector(self):
        if self._face_detector is None:
            from .faces.pipeline import detector_for
            self._face_detector = detector_for(self.face_cfg)
        return self._face_detector

    def reference(self, paths):
        """A trusted reference (photos, videos, a folder of photos) for scan(reference=...): build once."""
        from .identity.check import make_reference
        return make_reference(self, paths)

    def scan(self, path, video_id: str | None = None, record=None, embeddings=None, probs=None,
             reference=None, identity_prefetch=None) -> ScanResult:
        """Score one video or photo file; failures become status 'error', never a made-up score.

        `record`: an already extracted FaceRecord (e.g. from a FaceStore) to skip face extraction;
        `embeddings`: its face frames' embeddings, when the caller already has them (never embed twice),
        with `probs` their P(fake) (`embed_and_classify` gives both).
        `reference`: self.reference(...) or file paths: adds the identity check (identity_* fields).
        `identity_prefetch`: identity descriptors begun while `record` was extracted (scanning.py).
        """
        path = Path(path)
        vid = video_id or path.name
        if reference is not None:
            from .identity.compare import IdentityReference
            if not isinstance(reference, IdentityReference):
                reference = self.reference(reference)   # built first: it guides the choice among faces
        timings = {"decode": None, "faces": 0.0, "embed": 0.0, "score": 0.0}
        # decode is interleaved with detection in the face pipeline: its time is in "faces".
        t0 = time.perf_counter()
        if record is None:
            try:
                from .faces.pipeline import extract_faces
                from .identity.guided import guided_face_detector
                from .identity.prefetch import prefetch_for
                identity_prefetch = prefetch_for(self, reference)
                record = extract_faces(path, self.face_cfg, guided_face_detector(self, reference), video_id=vid,
                                       on_face=identity_prefetch.on_face if identity_prefetch else None)
            except MediaError as exc:
                timings["faces"] = time.perf_counter() - t0
                return ScanResult(path=str(path), video_id=vid, status="error", timings=timings,
                                  error=str(exc))
        timings["faces"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        if embeddings is None or (probs is None and getattr(self.backbone, "engine", "") == "onnx"):
            # ONNX gives P(fake) only with the embeddings (one graph, no head to apply apart)
            emb, probs = self.embed_and_classify(record)
        else:
            emb = embeddings
            probs = self.frame_fake_prob(emb) if probs is None else probs
        if len(emb) != record.num_faces:  # pairs index face frames: a mismatch would mislabel frames
            raise ValueError(f"{path}: {len(emb)} embeddings for {record.num_faces} face frames")
        timings["embed"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        vs = self.anomaly.score_video(emb)
        timings["score"] = time.perf_counter() - t2
        res = self.result(path, vid, record, vs, probs, timings, emb=emb)
        if reference is not None:
            from .identity.check import add_identity
            add_identity(self, res, record, reference, prefetch=identity_prefetch)
        return res

    def result(self, path, video_id, record, vs: VideoScore, probs=None, timings=None,
               emb=None) -> ScanResult:
        """ScanResult from a VideoScore (pair positions mapped to video frame numbers); with the
        embeddings `emb`, every component and the fused score too."""
        face_frames = np.asarray(record.frame_indices)[record.face_positions()]
        res = ScanResult(
            path=str(path), video_id=video_id, status="ok", n_frames=int(record.num_frames),
            n_faces=int(record.num_faces), frame_indices=[int(v) for v in record.frame_indices],
            has_face=[bool(v) for v in record.has_face], timings=dict(timings or {}))
        res.segments = int(record.meta.get("segments", 1))
        if probs is not None and len(probs):
            res.frame_fake_prob = [float(v) for v in probs]
            res.classifier_score = float(np.mean(probs))
        if vs.status != "ok":
            res.status = vs.status  # 'no_face' or 'too_few_faces' (a photo: one frame)
            res.error = (f"{vs.n_frames_with_face} of {record.num_frames} sampled frames have a face; "
                         f"the model needs at least {self.anomaly.min_faces}: no score given")
            return res
        res.differential_score = float(vs.score)
        res.n_pairs = len(vs.pairs)
        res.pair_scores = [float(v) for v in vs.pair_scores]
        res.pairs = [[int(face_frames[a]), int(face_frames[b])] for a, b in vs.pairs]
        from .anomaly.evidence_level import evidence_level, expected_pairs
        res.pairs_expected = expected_pairs(self.anomaly.cfg, self.calibrated_frames)
        res.evidence_level, res.evidence_note = evidence_level(res.n_pairs, res.pairs_expected)
        scores = ({"differential": float(vs.score)} if emb is None
                  else self.scores(emb, probs, differential_score=vs.score))
        basis_name = BASIS_COMPONENT[self.basis]
        order = [basis_name] + [k for k in ("fused", *LABELS) if k != basis_name]
        for name in dict.fromkeys(order):
            if name not in scores:
                continue
            value, cal = scores[name], self.calibrations.get(name)
            ok = cal is not None and np.isfinite(value)
            res.components.append({
                "name": name, "label": LABELS.get(name, name),
                "score": float(value) if np.isfinite(value) else None,
                "p_value_real": float(cal.p_value_real(value)) if ok else None,
                "threshold": float(cal.threshold) if cal is not None else None})
        res.basis = self.basis
        basis = res.components[0] if res.components and res.components[0]["name"] == basis_name else None
        res.score = basis["score"] if basis else None
        cal = self.calibrations.get(basis_name)
        if cal is not None and res.score is not None:
            res.threshold = float(cal.threshold)
            res.p_value_real = float(cal.p_value_real(res.score))
            res.verdict = cal.verdict(res.score)
        return res


# ------------------------------------------------------------ embeddings
def new_anomaly(cfg: AnomalyConfig | None = None, **overrides) -> AnomalyModel:
    """AnomalyModel from a config with fields replaced (used by fit and variants)."""
    return AnomalyModel(dataclasses.replace(cfg or AnomalyConfig(), **overrides))


__all__ = [
    "DEFAULT_DIR",
    "Detector",
    "DetectorFileError",
    "DetectorFolderError",
    "ScanResult",
    "__version__",
    "read_model_json",
]
