"""Scan files: a ScanResult per listed input, in input order (`difffake scan`).

    from difffake.workflows.scan import scan
    run = scan(["clips/", "x.mp4"], frames=16)      # the default detector, 16 frames per video
    for r in run.results: print(r.verdict, r.score, r.path)

The detector is never changed: `frames` and `basis` make a view of it
(Detector.scanning_with). One unreadable file never stops the batch: it is an
'error' result in its place. The per-file work (faces, embedding, scoring, the
blind reference score) is difffake.scanning.scan_video, shared with `difffake serve`.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import MediaError, UsageError
from ..scan_result import ScanResult

if TYPE_CHECKING:   # annotations only: importing the detector loads torch
    from ..detector import Detector

log = logging.getLogger("difffake.scan")
BATCH_DECODE_THREADS = 1   # FFmpeg threads per file when scan_files has several (see there)


@dataclass
class Reference:
    """A trusted reference of `scan --reference`: the identity check's faces and, unless the
    detector scores single frames, the embeddings of the blind reference score."""
    identity: object                      # identity.compare.IdentityReference
    embeddings: object | None             # (N, D) float32 or None
    notes: list = field(default_factory=list)   # warnings to show, e.g. "reference x.jpg: no face"


@dataclass
class ScanRun:
    results: list[ScanResult]     # one per listed entry, in input order
    detector: Detector            # the detector (view) that scanned: report it with this one
    notes: list = field(default_factory=list)   # warnings about the inputs, the frames and the reference


def scan(inputs, detector=None, *, frames: int | None = None, basis: str | None = None,
         reference=None, keep_records: bool = False, device: str = "cpu", engine: str = "auto",
         on_result=None) -> ScanRun:
    """Scan `inputs` (files and folders, listed as `difffake scan` lists them). `detector`: a
    Detector, a detector folder, or None for the shipped one; `reference`: trusted photo /
    video paths (adds the identity check). `on_result(result)` is called as each file ends.
    Raises FileError when the reference cannot be read."""
    from ..detector import Detector
    from ..faces.listing import list_inputs

    listing = list_inputs(inputs, ids="path")
    if not isinstance(detector, Detector):
        detector = Detector.load(detector, device=device, engine=engine)
    view, notes = detector_for_scan(detector, frames, basis)
    ref = load_reference(view, reference) if reference is not None else None
    notes = list(listing.notes) + notes + (ref.notes if ref else [])
    results = []
    for result in scan_entries(view, listing.entries, ref, keep_records=keep_records):
        results.append(result)
        if on_result is not None:
            on_result(result)
    return ScanRun(results, view, notes)


def detector_for_scan(detector, frames: int | None = None, basis: str | None = None):
    """(the detector sampling `frames` and giving `basis`'s verdict, warnings): a view, so the
    loaded detector keeps its own settings. Raises DetectorFileError for a basis the detector
    has no calibration for, then UsageError for frames < 2."""
    view = detector.scanning_with(basis=basis)
    if frames is not None and frames < 2:
        raise UsageError("--frames must be at least 2 (pairs need two frames)")
    view = view.scanning_with(frames=frames)
    notes = []
    if frames is not None and frames != detector.face_cfg.num_frames:
        # the threshold and p-values were calibrated on videos sampled at the detector's count
        notes.append(f"the detector was calibrated with {detector.face_cfg.num_frames} frames per video; "
                     f"with --frames {frames} its threshold and p-values are approximate")
    return view, notes


def load_reference(detector, paths) -> Reference:
    """The trusted reference of `paths`, built once for the whole scan. Raises FileError."""
    identity = detector.reference(paths)
    notes = [f"reference {problem}" for problem in identity.problems]
    embeddings = None
    if detector.anomaly.cfg.combine == "single":  # the blind view pairs frames: identity only
        notes.append("this detector scores single frames: no blind reference score, identity check only")
    else:
        import numpy as np
        embeddings = np.concatenate([detector.embed_record(r) for r in identity.records])
    return Reference(identity, embeddings, notes)


def scan_entries(detector, entries, reference: Reference | None = None,
                 keep_records: bool = False) -> Iterator[ScanResult]:
    """A ScanResult per listed entry (faces.listing), in input order: an unusable entry is an
    error result in place."""
    ref_emb = reference.embeddings if reference is not None else None
    identity = reference.identity if reference is not None else None
    usable = scan_files(detector, [(e.path, e.video_id) for e in entries if e.reason is None], ref_emb,
                        keep_records=keep_records, identity_reference=identity)
    for e in entries:
        yield error_result(e.path, e.video_id, e.message) if e.reason is not None else next(usable)


def scan_files(detector, jobs: Iterable, reference_emb=None, keep_records: bool = False,
               identity_reference=None) -> Iterator[ScanResult]:
    """Yield a ScanResult per (path, video_id); the face record is attached when asked.

    The next file's frames start decoding once the current file's are all decoded
    (faces.decode_ahead), one file ahead at most: its search then finds them ready.
    With several files each decodes on one FFmpeg thread: the files' overlap keeps both cores
    busy, and one thread decodes the same frames for ~18 % less CPU than FFmpeg's frame threads
    (benchmarks/results/scan_cpu.md). A single file keeps them: its decoding can be the slowest part."""
    from ..faces.decode_ahead import FramesAhead
    from ..scanning import scan_video

    jobs = list(jobs)
    num_frames = detector.face_cfg.num_frames
    threads = BATCH_DECODE_THREADS if len(jobs) > 1 else None
    started: dict[int, FramesAhead] = {}   # filled from the decoding thread of the file before

    def start(k: int) -> None:
        if k < len(jobs) and k not in started:
            started[k] = FramesAhead(jobs[k][0], num_frames, decode_threads=threads)

    try:
        for k, (path, vid) in enumerate(jobs):
            start(k)   # the first file, or one whose predecessor failed before decoding
            frames = started.pop(k)
            frames.when_decoded(lambda k=k: start(k + 1))
            try:
                yield scan_video(detector, path, vid, reference_emb, keep_record=keep_records,
                                 with_evidence=keep_records, identity_reference=identity_reference,
                                 frames=frames)
            except MediaError as exc:
                yield error_result(path, vid, str(exc))
            except Exception as exc:  # one odd file never stops the batch
                log.exception("%s: unexpected failure", path)
                yield error_result(path, vid, f"{path}: unexpected {type(exc).__name__}: {exc}")
            finally:
                frames.close()
    finally:   # the caller stopped early: no decoding thread is left behind
        for frames in started.values():
            frames.close()


def error_result(path, vid, message) -> ScanResult:
    return ScanResult(path=str(path), video_id=vid, status="error", error=message)
