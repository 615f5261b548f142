"""Reference set and suspect comparison: per-frame distance to the nearest reference face.

A reference is one or several photos or videos of the trusted person (a folder
of photos works too). Each suspect frame's distance is the Euclidean distance
of its descriptor to the NEAREST reference descriptor (the reference may show
several poses); the video's distance is a trimmed mean of those, so a few bad
frames (blur, a hand over the face) do not decide the verdict.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import FileError, MediaError

log = logging.getLogger("difffake.identity")


@dataclass
class IdentityReference:
    sources: list                 # reference files used
    records: list                 # their FaceRecords (the blind backbone view embeds these)
    descriptors: np.ndarray       # (R, 128), finite rows only
    crops: list                   # RGB face crops of the rows of `descriptors`
    problems: list = field(default_factory=list)   # "file: reason" of references that gave nothing
    seconds: float = 0.0          # time spent building it (once per run)


@dataclass
class IdentityResult:
    distance: float | None
    verdict: str                  # "same" | "different" | "unknown"
    reason: str | None
    frame_distances: list         # per suspect face frame with a descriptor
    frames: list                  # their video frame numbers
    times: list                   # their times in seconds
    nearest_reference: list       # index into reference.crops of each frame's nearest face
    n_usable: int = 0


def reference_files(paths) -> tuple[list[str], list[str]]:
    """Media files named by `paths` (files or folders); problems as 'path: reason'."""
    from ..faces.video import collect_media

    jobs, problems = collect_media([str(p) for p in paths], explicit_id="path")
    return [p for p, _ in jobs], [f"{p['path']}: {p['reason']}" for p in problems]


def build_reference(paths, face_cfg, face_detector, embedder, reference_frames: int = 16) -> IdentityReference:
    """Faces and descriptors of every reference file; FileError when none gives a usable face."""
    from ..faces.pipeline import extract_faces

    if isinstance(paths, (str, Path)):
        paths = [paths]
    t0 = time.perf_counter()
    files, problems = reference_files(paths)
    records, descs, crops, sources = [], [], [], []
    for path in files:
        try:
            rec = extract_faces(path, face_cfg, face_detector, video_id=Path(path).name)
        except MediaError as exc:
            problems.append(str(exc))
            continue
        if rec.num_faces == 0:
            problems.append(f"{path}: no face found")
            continue
        d = embedder.embed_record(rec, max_frames=reference_frames)
        ok = np.flatnonzero(np.isfinite(d).all(axis=1))
        records.append(rec)
        sources.append(str(path))
        if len(ok) == 0:
            problems.append(f"{path}: faces too small for identity (under {embedder.min_face_px:g} px)")
            continue
        faces = rec.face_positions()
        descs.append(d[ok])
        crops.extend(rec.crops[faces[r]] for r in ok)
    if not records:
        raise FileError(", ".join(str(p) for p in paths),
                        "no face found in the reference" + (f" ({'; '.join(problems)})" if problems else ""))
    for p in problems:
        log.warning("reference %s", p)
    desc = np.concatenate(descs) if descs else np.zeros((0, embedder.embedding_size), np.float32)
    return IdentityReference(sources, records, desc, crops, problems, time.perf_counter() - t0)


def nearest_distances(suspect: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each suspect row: Euclidean distance to the nearest reference row, and that row."""
    if len(reference) == 0 or len(suspect) == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    d = np.linalg.norm(suspect[:, None, :].astype(np.float64) - reference[None, :, :], axis=2)
    nearest = d.argmin(axis=1)
    return d[np.arange(len(suspect)), nearest], nearest


def robust_mean(values, trim: float) -> float:
    from scipy.stats import trim_mean
    return float(trim_mean(np.asarray(values, np.float64), trim))


def video_distance(suspect_desc: np.ndarray, reference_desc: np.ndarray, trim: float) -> float | None:
    """The video-level identity distance (None without a usable descriptor on either side)."""
    ok = np.isfinite(suspect_desc).all(axis=1) if len(suspect_desc) else np.zeros(0, bool)
    dist, _ = nearest_distances(suspect_desc[ok], reference_desc)
    return robust_mean(dist, trim) if len(dist) else None


def identify(record, suspect_desc: np.ndarray, reference: IdentityReference, calibration) -> IdentityResult:
    """Per-frame distances, the video distance and the verdict of one suspect record.

    `suspect_desc`: the identity embedder's rows (one per face frame, NaN = no descriptor).
    `calibration`: an IdentityCalibration, or None (distance only, verdict "unknown").
    """
    faces = record.face_positions()
    ok = np.flatnonzero(np.isfinite(suspect_desc).all(axis=1)) if len(suspect_desc) else np.zeros(0, np.int64)
    dist, nearest = nearest_distances(suspect_desc[ok], reference.descriptors)
    frames = np.asarray(record.frame_indices)[faces[ok]]
    fps = float(record.meta.get("fps") or 0.0)
    times = frames / fps if fps > 0 else np.zeros(len(frames))
    res = IdentityResult(None, "unknown", None, [float(v) for v in dist], [int(v) for v in frames],
                         [float(v) for v in times], [int(v) for v in nearest], len(dist))
    trim = calibration.trim if calibration is not None else 0.2
    if len(dist):
        res.distance = robust_mean(dist, trim)
    min_faces = calibration.min_faces if calibration is not None else 1
    need = max(1, min(min_faces, record.num_frames))
    if len(reference.descriptors) == 0:
        res.reason = "the reference has no face big enough for identity"
    elif record.num_faces == 0:
        res.reason = "no face in the suspect"
    elif len(dist) == 0:
        res.reason = "faces too small for identity"
    elif len(dist) < need:
        res.reason = f"too few faces for identity ({len(dist)} usable; needs {need})"
    elif calibration is None:
        res.reason = "no identity calibration in this detector"
    else:
        res.verdict, res.reason = calibration.verdict(res.distance)
    return res
