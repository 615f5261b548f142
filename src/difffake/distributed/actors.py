"""What one Ray actor does, as plain classes (ray.remote wraps them at run time,
so this module imports without Ray). Each loads its model once, in __init__."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..errors import MediaError

STATUS = {"ok": "ok", "no_face": "no_face", "too_few_faces": "no_face", "error": "error"}


def scan_row(result, path: str, video_id: str, seconds: float | None = None) -> dict:
    """One output row of a ScanResult: id, path, status (ok/no_face/error), reason, result."""
    detail = result.to_dict()
    timings = detail.pop("timings", {}) or {}
    for key in ("path", "video_id"):
        detail.pop(key, None)
    status = STATUS.get(result.status, "error")
    return {"id": video_id, "path": str(path), "status": status,
            "reason": None if status == "ok" else (result.error or result.status),
            "result": detail,
            "seconds": round(seconds if seconds is not None else sum(v for v in timings.values() if v), 3)}


def error_row(path: str, video_id: str, reason: str) -> dict:
    return {"id": video_id, "path": str(path), "status": "error", "reason": reason}


def dry_row(path: str, video_id: str) -> dict:
    """--dry-run: the pipeline up to the file, no decoding (checks paths and the driver's memory)."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        return error_row(path, video_id, f"{path}: {exc.strerror}")
    return {"id": video_id, "path": str(path), "status": "ok", "reason": "dry run: not decoded", "bytes": size}


class ScanWorker:
    """Loads the detector once; scans one file per call."""

    def __init__(self, detector_dir: str | None, frames: int | None, device: str = "cpu",
                 threads: int = 1, dry_run: bool = False):
        import cv2
        import torch

        # one core per actor: torch, OpenCV, FFmpeg (cv2.setNumThreads does not reach it) and ONNX
        # Runtime would each start a thread per core otherwise, and the face pipeline a decode thread
        from ..faces import pipeline
        torch.set_num_threads(max(1, threads))
        cv2.setNumThreads(max(1, threads))
        pipeline.READ_AHEAD = threads > 1
        self.decode_threads = max(1, threads)
        self.dry_run = dry_run
        self.detector = None
        if not dry_run:
            from ..detector import Detector
            self.detector = Detector.load(detector_dir, device=device, threads=max(1, threads))
            if frames:
                self.detector.face_cfg.num_frames = frames

    def pid(self) -> int:
        return os.getpid()

    def run(self, path: str, video_id: str) -> dict:
        if self.dry_run:
            return dry_row(path, video_id)
        return scan_one(self.detector, path, video_id, decode_threads=self.decode_threads)


def scan_one(detector, path: str, video_id: str, decode_threads: int | None = None) -> dict:
    """The row of one file, as `difffake scan` scores it (faces, embeddings once, score);
    `decode_threads`: FFmpeg's (faces.video.iter_frames)."""
    from ..detector import ScanResult
    from ..faces.pipeline import extract_faces

    t0, c0 = time.perf_counter(), time.process_time()
    try:
        record = extract_faces(path, detector.face_cfg, detector.face_detector(), video_id=video_id,
                               decode_threads=decode_threads)
        emb = detector.embed_record(record)
        result = detector.scan(path, video_id, record=record, embeddings=emb)
    except MediaError as exc:
        result = ScanResult(path=str(path), video_id=video_id, status="error", error=str(exc))
    except Exception as exc:  # one odd file never stops the batch: its row says why
        result = ScanResult(path=str(path), video_id=video_id, status="error",
                            error=f"{path}: unexpected {type(exc).__name__}: {exc}")
    row = scan_row(result, path, video_id, time.perf_counter() - t0)
    row["cpu_seconds"] = round(time.process_time() - c0, 3)   # this process's CPU, threads included
    return row


class FaceWorker:
    """Loads the face pipeline once; extracts one file's faces into the shared store per call."""

    def __init__(self, store_root: str, cfg_dict: dict, dry_run: bool = False):
        import cv2

        from ..config import FaceConfig
        from ..faces import pipeline
        from ..faces.pipeline import detector_for
        from ..faces.store import FaceStore
        cv2.setNumThreads(1)   # one core per actor (FFmpeg's decoding too: prepare_one)
        pipeline.READ_AHEAD = False
        self.cfg = FaceConfig(**cfg_dict)
        self.dry_run = dry_run
        self.detector = None if dry_run else detector_for(self.cfg)
        self.store = FaceStore(store_root)

    def pid(self) -> int:
        return os.getpid()

    def run(self, path: str, video_id: str) -> dict:
        if self.dry_run:
            return dry_row(path, video_id)
        return prepare_one(self.store, self.cfg, self.detector, path, video_id, decode_threads=1)


def prepare_one(store, cfg, detector, path: str, video_id: str, decode_threads: int | None = None) -> dict:
    """Extract and store one file's faces exactly as `difffake prepare` does."""
    from ..faces.pipeline import extract_faces
    from .workflows import (
        _stored_from,  # the driver's reuse rule, checked again under the lock
    )

    t0 = time.perf_counter()
    try:
        with store.entry_lock(video_id):   # as prepare: a local run on the same store skips it meanwhile
            if (row := _stored_from(store, path, video_id)) is not None:   # written while this waited
                return row
            record = extract_faces(path, cfg, detector, video_id=video_id, decode_threads=decode_threads)
            record.meta["source"] = str(Path(path).resolve())   # as prepare records it
            record.meta.pop("seconds", None)   # as prepare: the timing is in the row, not the entry
            store.save(record)
    except MediaError as exc:
        return error_row(path, video_id, f"{path}: {exc.reason}")
    except Exception as exc:
        return error_row(path, video_id, f"{path}: unexpected {type(exc).__name__}: {exc}")
    return {"id": video_id, "path": str(path), "status": "ok" if record.num_faces else "no_face",
            "reason": None if record.num_faces else "no face in any sampled frame",
            "frames": record.num_frames, "faces": record.num_faces,
            "seconds": round(time.perf_counter() - t0, 3)}
