"""Detector = face pipeline + backbone + scorer (anomaly models, fusion, calibrations).

On disk a detector is a folder:
    backbone.safetensors, backbone.json   (Backbone.save)
    density.npz, density_single.npz       (Scorer.save; allow_pickle=False)
    model.json                            config, versions, the scorer's calibration, how it
                                          was made, sha256 of every other file
Loading verifies every checksum before reading a file and never unpickles.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import logging
import threading
import time
from pathlib import Path

import numpy as np

from . import __version__
from .anomaly.calibrate import Calibration
from .anomaly.fusion import Fusion
from .anomaly.model import DENSITY_FILE, AnomalyModel, VideoScore
from .anomaly.scorer import BASES, BASIS_COMPONENT, SINGLE_DENSITY_FILE, BasisUnavailable, Scorer
from .config import AnomalyConfig, FaceConfig, section_from_dict
from .detector_folder import (  # MODEL_JSON, FORMAT, DEFAULT_DIR, read_model_json: the folder's own names
    DEFAULT_DIR,
    FORMAT,
    MODEL_JSON,
    REQUIRED_FILES,
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



class Detector:
    """backbone + `scorer` (difffake.anomaly.scorer.Scorer: the differential `anomaly` model and
    its `calibration`; a fused detector's `single`, `fusion` and `calibrations`; the `basis`
    that gives the verdict). Those names read the scorer's parts; the scorer is replaced,
    never changed (scanning_with)."""

    def __init__(self, backbone, anomaly_model: AnomalyModel | Scorer, calibration: Calibration | None = None,
                 face_cfg: FaceConfig | None = None, info: dict | None = None, *,
                 single: AnomalyModel | None = None, fusion: Fusion | None = None,
                 calibrations: dict | None = None, basis: str | None = None):
        self.backbone = backbone
        self.path: Path | None = None
        if isinstance(anomaly_model, Scorer):
            if calibration is not None or single or fusion or calibrations or basis:
                raise TypeError("Detector(backbone, scorer, ...): the scorer holds the calibration, "
                                "single, fusion, calibrations and basis")
            self.scorer = anomaly_model
        else:
            try:
                self.scorer = Scorer(anomaly_model, calibration, single=single, fusion=fusion,
                                     calibrations=calibrations, basis=basis)
            except BasisUnavailable as exc:
                raise DetectorFileError(Path("."), str(exc)) from exc
        self.face_cfg = face_cfg or FaceConfig()
        self.calibrated_frames = self.face_cfg.num_frames   # kept when `scan --frames` changes face_cfg
        self.info = dict(info or {})
        # One face detector per thread: dlib's HOG and CNN detectors keep per-image state inside,
        # and two threads running one at once get wrong boxes or crash (serve workers, callers' threads).
        self._face_detectors = threading.local()
        self.batch_size = 32
        self.identity_calibration = None   # identity.json of the folder (difffake.identity)

    # ------------------------------------------------------------ save / load
    def save(self, directory) -> Path:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / MODEL_JSON).unlink(missing_ok=True)  # never leave a stale, valid-looking card
        (directory / "backbone.onnx").unlink(missing_ok=True)  # of an older backbone: `difffake export` remakes it
        self.backbone.save(directory)
        scorer_files, scorer_sections = self.scorer.save(directory)
        files = [name for name in REQUIRED_FILES if name not in scorer_files] + scorer_files
        model = {
            "format": FORMAT,
            **scorer_sections,   # anomaly_config, calibration, scorer, fit
            "face_config": dataclasses.asdict(self.face_cfg),
            "backbone_config": dataclasses.asdict(self.backbone.cfg),
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
        try:
            scorer = Scorer.load(directory, model, reading,
                                 lambda values, path: check_fields(AnomalyConfig, values, path, "anomaly_config"))
        except BasisUnavailable as exc:
            raise DetectorFileError(card, str(exc)) from exc
        # Settings added since the detector was made are filled in as they were then
        # (faces.store.with_legacy): a detector scans the way it was calibrated.
        from .faces.store import with_legacy
        check_fields(FaceConfig, model.get("face_config", {}), card, "face_config")
        with reading(card):
            face_cfg = section_from_dict(FaceConfig, with_legacy(model.get("face_config", {})), "face_config")
            det = cls(backbone, scorer, None, face_cfg, paths_resolved(model.get("info") or {}, directory))
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
            self.check_basis(basis)
            view.scorer = self.scorer.with_basis(basis)
        if frames is not None:
            if frames < 2:
                raise ValueError(f"frames must be at least 2 (pairs need two frames), got {frames}")
            view.face_cfg = dataclasses.replace(self.face_cfg, num_frames=frames)
        return view

    # --------------------------------------------------------------- scoring
    # The scorer's parts, read-only: a detector with other parts is a new Detector (or scanning_with).
    anomaly = property(lambda self: self.scorer.differential, doc="the differential AnomalyModel")
    calibration = property(lambda self: self.scorer.calibration, doc="the differential score's Calibration")
    calibrations = property(lambda self: self.scorer.calibrations, doc="{score name: Calibration}")
    single = property(lambda self: self.scorer.single, doc="the single-frame AnomalyModel (fused detectors)")
    fusion = property(lambda self: self.scorer.fusion, doc="the Fusion of the components (fused detectors)")
    basis = property(lambda self: self.scorer.basis, doc="which score gives the verdict")

    @property
    def embedding_size(self) -> int:
        return int(getattr(self.backbone, "embedding_size", 0))

    def embed_record(self, record) -> np.ndarray:
        """(F_face, D) float32: one embedding per sampled frame that has a face, in order."""
        return embed_record(self.backbone, record, self.batch_size)

    def embed_store(self, store, ids=None, cache_dir=None) -> dict:
        """Embeddings of a FaceStore's videos by this detector's engine, cached by its fingerprint
        (embeddings.embed_store): a second call embeds only what changed."""
        from .embeddings import embed_store
        return embed_store(self.backbone, store, ids, cache_dir, self.batch_size)

    def score_record(self, record) -> VideoScore:
        return self.anomaly.score_video(self.embed_record(record))

    def embed_and_classify(self, record):
        """(embeddings, per-frame P(fake) or None) of a record's face frames, in one network pass."""
        return embed_record_and_prob(self.backbone, record, self.batch_size)

    def frame_fake_prob(self, emb: np.ndarray) -> np.ndarray | None:
        return frame_fake_prob(self.backbone, emb)

    def available_bases(self) -> list[str]:
        return self.scorer.available_bases()

    def check_basis(self, basis: str) -> None:
        """ValueError for an unknown basis; DetectorFileError for one this detector cannot give."""
        try:
            self.scorer.check_basis(basis)
        except BasisUnavailable as exc:
            raise DetectorFileError(self.path or Path("."), str(exc)) from exc

    def scores(self, emb: np.ndarray, probs, differential_score=None) -> dict[str, float]:
        """Every score of one video's face-frame embeddings: components and the fused score."""
        return self.scorer.scores(emb, probs, differential_score)

    def close(self) -> None:
        """End what scans started beside the detector: the identity helper process of reference
        scans (also ended when the detector is garbage-collected, and at exit). Still usable after."""
        pool = self.__dict__.pop("_identity_pool", None)
        if pool is not None:
            pool.close()

    def face_detector(self):
        """This thread's face detector (made on first use in each thread)."""
        made = getattr(self._face_detectors, "detector", None)
        if made is None:
            from .faces.pipeline import detector_for
            made = self._face_detectors.detector = detector_for(self.face_cfg)
        return made

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
        judged = self.scorer.judge(scores)
        res.components.extend(judged.components)
        res.basis = judged.basis
        res.score = judged.score
        if judged.threshold is not None:   # else ScanResult's defaults: no threshold, verdict 'unknown'
            res.threshold, res.p_value_real, res.verdict = judged.threshold, judged.p_value_real, judged.verdict
        return res


__all__ = [
    "BASES",
    "BASIS_COMPONENT",
    "DEFAULT_DIR",
    "Detector",
    "DetectorFileError",
    "DetectorFolderError",
    "ScanResult",
    "Scorer",
    "__version__",
    "read_model_json",
]
