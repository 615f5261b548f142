"""Video or photo -> FaceRecord: sample frames, detect, pick one face, crop, shrink.

Frames are processed as they are decoded, in a second thread that holds at most
64 MB of them (faces.decode_ahead), so a long 8K video never holds more than two
full frames in memory. Frames without a face stay in the record with
has_face=False (never dropped silently).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..config import FaceConfig
from ..errors import MediaError
from .crop import box_of, crop_face, shrink, union_box
from .decode_ahead import FramesAhead
from .detect import FaceDetector, pick_face
from .detectors import make_detector
from .identity_switch import split_by_identity
from .roi import with_roi_tracking
from .store import FaceRecord
from .video import iter_frames

READ_AHEAD = True   # decode the sampled frames in a second thread (faces.decode_ahead)


def detector_for(cfg: FaceConfig) -> FaceDetector:
    """The configured detector (and its fallback); with `roi_search` and the track policy it
    first looks near the previous face (faces.roi)."""
    detector = make_detector(cfg)
    return with_roi_tracking(detector, cfg.policy) if cfg.roi_search else detector


def store_settings(cfg: FaceConfig) -> dict:
    """What a FaceStore records: the FaceConfig (policy included)."""
    return dataclasses.asdict(cfg)


def extract_faces(path, cfg: FaceConfig | None = None, detector: FaceDetector | None = None,
                  video_id: str | None = None, on_face=None, frames: FramesAhead | None = None,
                  decode_threads: int | None = None) -> FaceRecord:
    """Faces of `cfg.num_frames` evenly spaced frames of a video (a photo: one frame).

    `on_face(frame_index, crop, landmarks)` is called for each face as soon as it is
    cropped (the identity check starts describing faces while later frames decode).
    `frames`: this file's frames already decoding (faces.decode_ahead, as a batch scan
    starts the next file); else they are decoded here, ahead of the search (READ_AHEAD), on
    `decode_threads` FFmpeg threads (None: one per core; 1 where files already run in parallel).

    Raises difffake.errors.MediaError (file + reason) when the file cannot be decoded.
    """
    cfg = cfg or FaceConfig()
    detector = detector or detector_for(cfg)
    path = Path(path)
    t0 = time.perf_counter()
    if frames is not None and (frames.path != path or frames.num_frames != cfg.num_frames):
        raise ValueError(f"frames decoded for {frames.path} ({frames.num_frames} frames), "
                         f"not {path} ({cfg.num_frames} frames)")
    if frames is None and READ_AHEAD:   # decoding overlaps detection
        frames = FramesAhead(path, cfg.num_frames, decode_threads=decode_threads)
    info: dict = frames.info if frames is not None else {}
    # a FramesAhead stops its thread when its iterator ends, also when the search fails
    source = frames if frames is not None else iter_frames(path, cfg.num_frames, info,
                                                           decode_threads=decode_threads)
    indices, has_face, boxes, lms, scores, crops, stages = [], [], [], [], [], [], []
    frame_size = (0, 0)
    hint = None  # previous face's detector box: lets the detector track small faces
    for index, rgb in source:
        frame_size = rgb.shape[:2]
        face = pick_face(detector.detect(rgb, hint_box=hint), cfg.policy, previous_box=hint)
        indices.append(index)
        if face is None:
            has_face.append(False)
            boxes.append(np.full(4, np.nan, np.float32))
            lms.append(np.full((68, 2), np.nan, np.float32))
            scores.append(np.nan)
            crops.append(None)
            stages.append("none")
            continue
        hint = face.box
        region = union_box(face.box, box_of(face.landmarks))
        crop, cb, lm = crop_face(rgb, region, cfg.crop_scale, landmarks=face.landmarks)
        crop, lm = shrink(crop, lm, cfg.store_max_side)
        has_face.append(True)
        boxes.append(np.array(cb, np.float32))
        lms.append(lm)
        scores.append(face.score)
        crops.append(crop)
        stages.append(face.stage)
        if on_face is not None:
            on_face(index, crop, lm)
    if not any(has_face) and info.get("kind") in ("video", "gif"):
        # "no face" only for frames that decoded cleanly: a corrupt stream is an unreadable file
        from .stream_check import undecodable_reason
        why = undecodable_reason(path, info)
        if why is not None:
            raise MediaError(path, why)
    order = np.argsort(indices, kind="stable")  # a re-planned tail may come out of order
    pick = lambda seq: [seq[i] for i in order]
    stage_counts = {s: stages.count(s) for s in sorted(set(stages))}
    meta = dict(source=str(path), kind=info.get("kind", ""), fps=info.get("fps", 0.0),
                frame_count=info.get("frame_count", 0),
                reported_frame_count=info.get("reported_frame_count", 0),
                detector=getattr(detector, "name", type(detector).__name__),
                detector_settings=getattr(detector, "settings", dict)(),
                policy=cfg.policy, stages=stage_counts,
                seconds=round(time.perf_counter() - t0, 3))
    record = FaceRecord(
        video_id=video_id if video_id is not None else path.name,
        frame_indices=np.array(pick(indices), np.int64),
        has_face=np.array(pick(has_face), bool),
        boxes=np.stack(pick(boxes)).astype(np.float32) if boxes else np.zeros((0, 4), np.float32),
        landmarks=np.stack(pick(lms)).astype(np.float32) if lms else np.zeros((0, 68, 2), np.float32),
        scores=np.array(pick(scores), np.float32),
        crops=pick(crops),
        frame_size=tuple(int(v) for v in frame_size),
        meta=meta,
    )
    if cfg.split_identity and cfg.policy == "track":   # 'largest' stays the paper's
        split_by_identity(record)
    return record
