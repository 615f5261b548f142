"""A detector folder's files: read from inside the folder only, and refused unless usable.

A matching sha256 (detector.read_model_json) proves only that a file was not changed
after model.json was written, not that it is usable: a folder may be hand-made, or
come from anyone. So, beside the checksums:
- `member`: every name model.json lists must stay inside the folder (no absolute
  path, no '..', no symlink resolving outside); checked before anything is opened;
- `check_card`: the sections of model.json are of the kinds the loader reads;
- `reading(path)`: a decoder's failure while a file is parsed (a pickle-bearing or
  truncated npz, a truncated safetensors, a garbage ONNX graph, bad JSON, missing
  keys) becomes a DetectorFolderError naming that file;
- `probe`: once loaded, three seeded crops go through the backbone and every score,
  so arrays of the wrong shape or dtype, NaN weights or a graph with other outputs
  fail at load time (exit 2), not on a user's video.
"""
from __future__ import annotations

import dataclasses
import math
import sys
import zipfile
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import FileError

MODEL_JSON = "model.json"
FORMAT = "difffake-detector-1"
REQUIRED_FILES = ("backbone.safetensors", "backbone.json", "density.npz")   # anomaly.model.DENSITY_FILE
DEFAULT_DIR = Path(__file__).resolve().parent / "models" / "default"   # the detector shipped in the wheel
SHA256_HEX = frozenset("0123456789abcdef")
PROBE_CROPS = 2          # a differential score needs two face frames
PROBE_SEED = 0


class DetectorFileError(FileError):
    """A detector folder is missing, incomplete or was modified after saving."""


class DetectorFolderError(DetectorFileError):
    """A file of a detector folder passed its checksum but is unusable, or a listed name leaves the folder."""


# ------------------------------------------------------------------ paths
def member(directory, name) -> Path:
    """directory/name for a name a detector folder lists; refused, before any read, if it leaves the folder."""
    directory = Path(directory)
    card = directory / MODEL_JSON
    if not isinstance(name, str) or not name or "\x00" in name:
        raise DetectorFolderError(card, f"lists {name!r}, which is not a file name")
    rel = PurePosixPath(name)
    if rel.is_absolute() or "\\" in name or ".." in rel.parts or (len(name) > 1 and name[1] == ":"):
        raise DetectorFolderError(card, f"lists {name!r}, a path outside the detector folder: refused "
                                        "(only files inside the folder are read)")
    path = directory.joinpath(*rel.parts)
    try:   # resolve() follows symlinks by reading links, never file contents
        root, target = directory.resolve(), path.resolve()
    except (OSError, RuntimeError) as exc:   # a symlink loop
        raise DetectorFolderError(path, f"cannot be resolved ({exc})") from exc
    if target != root and root not in target.parents:
        raise DetectorFolderError(path, f"is a symlink to {target}, outside the detector folder: refused "
                                        "(only files inside the folder are read)")
    return path


# ------------------------------------------------------------------ model.json
def verify_folder(directory, expected_format: str, required) -> dict:
    """model.json of a detector folder after checking every listed file is inside the folder,
    exists and matches its sha256 (the `required` names must be listed)."""
    from .fileio import read_format_json, sha256_file

    directory = Path(directory)
    path = member(directory, MODEL_JSON)   # model.json itself may be a symlink out of the folder
    model = read_format_json(path, expected_format, DetectorFileError)
    check_card(model, path)
    checksums = model["checksums"]
    for name in required:
        if name not in checksums:
            raise DetectorFileError(path, f"no checksum for {name}")
    files = {name: member(directory, name) for name in checksums}   # all refused before any is read
    for name, expected in checksums.items():
        file = files[name]
        if not file.is_file():
            raise DetectorFileError(file, "missing (listed in model.json)")
        actual = sha256_file(file)
        if actual != expected:
            raise DetectorFileError(file, f"checksum mismatch: sha256 {actual[:16]}..., model.json "
                                          f"says {expected[:16]}... (file modified after saving)")
    return model


def check_card(model: dict, path) -> None:
    """The sections of model.json have the kinds Detector.load reads (checksums: name -> sha256)."""
    checksums = model.get("checksums")
    if not isinstance(checksums, dict):
        raise DetectorFolderError(path, f"'checksums' must map file names to sha256, got {type(checksums).__name__}")
    for name, digest in checksums.items():
        if not (isinstance(digest, str) and len(digest) == 64 and set(digest) <= SHA256_HEX):
            raise DetectorFolderError(path, f"checksum of {name!r} is not a sha256 hex digest: {digest!r}"[:300])
    for key in ("calibration", "scorer", "face_config", "info", "fit", "anomaly_config", "onnx"):
        if model.get(key) is not None and not isinstance(model[key], dict):
            raise DetectorFolderError(path, f"'{key}' must be an object, got {type(model[key]).__name__}")
    scorer = model.get("scorer") or {}
    if scorer.get("basis") is not None and not isinstance(scorer["basis"], str):
        raise DetectorFolderError(path, f"scorer.basis must be a name, got {scorer['basis']!r}"[:300])
    for key in ("fusion", "calibrations"):
        if scorer.get(key) is not None and not isinstance(scorer[key], dict):
            raise DetectorFolderError(path, f"scorer.{key} must be an object")
    for name, cal in (scorer.get("calibrations") or {}).items():
        if not isinstance(cal, dict):
            raise DetectorFolderError(path, f"scorer.calibrations.{name} must be an object")


_KINDS = {"int": (int,), "float": (int, float), "bool": (bool,), "str": (str,), "dict": (dict,),
          "tuple": (list, tuple), "list": (list, tuple), "None": (type(None),)}


def check_fields(cls, values, path, section: str) -> None:
    """values (a dict of settings for dataclass `cls`) hold only known fields of the declared kinds."""
    if not isinstance(values, dict):
        raise DetectorFolderError(path, f"{section} must be an object, got {type(values).__name__}")
    for f in dataclasses.fields(cls):
        if f.name not in values:
            continue
        v = values[f.name]
        kinds = tuple(k for part in str(f.type).split("|") for k in _KINDS.get(part.strip(), (object,)))
        ok = isinstance(v, kinds) and not (isinstance(v, bool) and bool not in kinds)
        if ok and isinstance(v, float) and not math.isfinite(v):
            ok = False
        if not ok:
            raise DetectorFolderError(path, f"{section}.{f.name} must be {f.type}, got {v!r}"[:300])


# ------------------------------------------------------------------ parsing
def decoder_errors() -> tuple:
    """What the readers of a detector's files raise on bad content (numpy, zipfile, json, safetensors,
    torch, ONNX Runtime); only libraries already imported can have raised theirs."""
    errors = [ValueError, KeyError, TypeError, IndexError, OSError, EOFError, zipfile.BadZipFile,
              MemoryError, RuntimeError, ArithmeticError]
    if "safetensors" in sys.modules:
        errors.append(sys.modules["safetensors"].SafetensorError)
    state = sys.modules.get("onnxruntime.capi.onnxruntime_pybind11_state")
    if state is not None:
        errors += [v for k, v in vars(state).items()
                   if isinstance(v, type) and issubclass(v, Exception) and k[:1].isupper()]
    return tuple(errors)


@contextmanager
def reading(path, what: str = "content"):
    """Inside: a decoder's failure, or a part's FileError, becomes a DetectorFolderError naming the file."""
    try:
        yield
    except DetectorFileError:
        raise
    except FileError as exc:   # a part's own reader named the file (backbone.json, identity.json...)
        raise DetectorFolderError(exc.path, exc.reason) from exc
    except decoder_errors() as exc:
        raise DetectorFolderError(path, f"unusable {what}: {_reason(exc)}") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc)
    if "allow_pickle" in text:
        return "it holds pickled Python objects, which a detector folder never loads"
    if isinstance(exc, KeyError):
        return f"missing key {text}"
    if isinstance(exc, zipfile.BadZipFile):
        return f"not a complete .npz archive ({text})"
    return f"{type(exc).__name__}: {text}"[:400]


# ------------------------------------------------------------------ probe
def backbone_file(detector) -> Path:
    engine = getattr(detector.backbone, "engine", "torch")
    return detector.path / ("backbone.onnx" if engine == "onnx" else "backbone.safetensors")


def probe(detector, density_file: str, single_file: str) -> None:
    """Seeded crops through the backbone and every score of a loaded detector; DetectorFolderError
    naming the file whose content gives an unusable result."""
    directory = Path(detector.path)
    size = int(detector.backbone.input_size)
    rng = np.random.default_rng(PROBE_SEED)
    crops = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(PROBE_CROPS)]
    weights = backbone_file(detector)
    with reading(weights, "network"), np.errstate(all="ignore"):
        emb, probs = detector.backbone.embed_and_classify(crops, PROBE_CROPS)
    want = (PROBE_CROPS, detector.embedding_size)
    if np.shape(emb) != want or not np.all(np.isfinite(emb)):
        raise DetectorFolderError(weights, f"gives embeddings of shape {np.shape(emb)} (expected {want}) "
                                           "or non-finite values")
    if probs is not None and not (np.shape(probs) == (PROBE_CROPS,) and np.all((probs >= 0) & (probs <= 1))):
        raise DetectorFolderError(weights, "gives fake probabilities that are not in [0, 1]")
    parts = [("differential", detector.anomaly, directory / density_file)]
    if detector.single is not None:
        parts.append(("single", detector.single, directory / single_file))
    for name, model, path in parts:
        with reading(path), np.errstate(all="ignore"):
            score = model.score_video(emb).score
        if not np.isfinite(score):
            raise DetectorFolderError(path, f"gives a non-finite {name} score ({score}) on a test crop")
    card = directory / MODEL_JSON
    if detector.fusion is not None:
        n = len(detector.fusion.components)
        for key in ("centre", "scale", "weights"):
            value = np.asarray(getattr(detector.fusion, key))
            if value.shape != (n,) or value.dtype.kind not in "fiu" or not np.all(np.isfinite(value)):
                raise DetectorFolderError(card, f"scorer.fusion.{key} must be {n} finite numbers, one per component")
    with reading(card, "scorer"), np.errstate(all="ignore"):
        scores = detector.scores(emb, probs)
        for name, cal in detector.calibrations.items():
            check_calibration(cal, card, name)
            cal.p_value_real(scores.get(name, 0.0))
    if detector.fusion is not None and not np.isfinite(scores.get("fused", np.nan)):
        raise DetectorFolderError(card, "scorer.fusion gives a non-finite fused score on a test crop")


def check_calibration(cal, path, name: str) -> None:
    ok = (math.isfinite(cal.threshold) and 0.0 <= cal.target_fpr <= 1.0 and np.ndim(cal.scores) == 1
          and np.all(np.isfinite(cal.scores)))
    if not ok:
        raise DetectorFolderError(path, f"calibration {name!r} needs a finite threshold, a target_fpr in "
                                        "[0, 1] and finite scores")


def check_identity(cal, path) -> None:
    """identity.json's cuts are finite and ordered; its frame counts are positive."""
    check_fields(type(cal), {k: getattr(cal, k) for k in ("same_max", "different_min", "min_faces",
                                                                    "min_face_px", "suspect_frames",
                                                                    "reference_frames", "trim", "measured",
                                                                    "info")}, path, "identity")
    if not cal.same_max <= cal.different_min:
        raise DetectorFolderError(path, f"same_max {cal.same_max} is above different_min {cal.different_min}")
    if min(cal.min_faces, cal.suspect_frames, cal.reference_frames) < 1 or not 0 <= cal.trim < 0.5:
        raise DetectorFolderError(path, "min_faces, suspect_frames and reference_frames must be >= 1 and "
                                        "trim in [0, 0.5)")


def read_model_json(directory) -> dict:
    """model.json after checking every listed file is inside the folder, exists and matches its sha256."""
    return verify_folder(directory, FORMAT, REQUIRED_FILES)
