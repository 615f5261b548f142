"""Scan one file with progress by stage: the one workflow `difffake scan` and `difffake serve` share.

Stages, in order: "decode" (hash and probe the container: the file evidence),
"faces" (sampled frames decoded and searched for a face, one tick per frame),
"embed" (face crops through the backbone), "score" (density model and verdict).
`progress(stage, done, total)` is called at each tick; it must be cheap.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from .errors import MediaError

STAGES = ("decode", "faces", "embed", "score")
Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


class _CountingDetector:
    """Wraps a face detector so every searched frame ticks the "faces" stage. The detector is
    made on the first frame (`make_inner`): a file refused before decoding never loads dlib's models."""

    def __init__(self, make_inner, total: int, progress: Progress):
        self._make, self._inner = make_inner, None
        self._total, self._progress, self._done = total, progress, 0

    def _get(self):
        if self._inner is None:
            self._inner = self._make()
        return self._inner

    def detect(self, *args, **kwargs):
        faces = self._get().detect(*args, **kwargs)
        self._done += 1
        self._progress("faces", min(self._done, self._total), self._total)
        return faces

    def __getattr__(self, name):  # name, settings, ... of the real detector
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)


def scan_video(detector, path, video_id: str, reference_emb=None, keep_record: bool = False,
               evidence=None, with_evidence: bool = False, progress: Progress | None = None,
               identity_reference=None, frames=None):
    """ScanResult of one file; the face record and file evidence are attached when asked.

    `frames`: the file's frames already decoding (faces.decode_ahead.FramesAhead).

    `identity_reference`: a Detector.reference(...) of trusted faces: adds the identity check.
    `evidence`: an Evidence already probed (the server's content check) so the
    file is not hashed twice. Raises MediaError for an unreadable file.
    """
    from .embed_ahead import embed_ahead_for
    from .evidence import evidence_or_none
    from .faces.pipeline import extract_faces
    from .identity.guided import guided_face_detector
    from .identity.prefetch import prefetch_for
    from .reference import score_against_reference

    progress = progress or _quiet
    progress("decode", 0, 1)
    if evidence is None and with_evidence:
        evidence = evidence_or_none(path)
    progress("decode", 1, 1)
    total = detector.face_cfg.num_frames
    progress("faces", 0, total)
    t0 = time.perf_counter()
    make_faces = ((lambda: guided_face_detector(detector, identity_reference)) if identity_reference is not None
                  else detector.face_detector)
    faces = _CountingDetector(make_faces, total, progress)
    prefetch = prefetch_for(detector, identity_reference)   # identity descriptors while faces are found
    ahead = embed_ahead_for(detector)   # the network embeds the first faces while later ones are found
    hooks = [h.on_face for h in (prefetch, ahead) if h is not None]
    try:
        record = extract_faces(path, detector.face_cfg, faces, video_id=video_id, frames=frames,
                               on_face=(lambda *face: [hook(*face) for hook in hooks]) if hooks else None)
    except BaseException:
        if ahead is not None:
            ahead.close()
        raise
    faces_s = time.perf_counter() - t0
    progress("embed", 0, 1)
    t1 = time.perf_counter()
    # once: the scan and the reference view share it
    emb, probs = ahead.result(record) if ahead is not None else detector.embed_and_classify(record)
    embed_s = time.perf_counter() - t1   # what was left to embed once the faces were found
    progress("embed", 1, 1)
    progress("score", 0, 1)
    result = detector.scan(path, video_id, record=record, embeddings=emb, probs=probs,
                           reference=identity_reference, identity_prefetch=prefetch)
    result.timings.update(faces=faces_s, embed=embed_s + result.timings.get("embed", 0.0))
    result.timings.pop("decode", None)  # decoding is interleaved with detection
    if reference_emb is not None and result.status == "ok":
        ref = score_against_reference(detector.anomaly, emb, reference_emb)
        result.reference_score = float(ref.score)
        result.reference_pair_scores = [float(v) for v in ref.pair_scores]
    progress("score", 1, 1)
    if keep_record:
        result.record = record
        result.identity_reference = identity_reference   # the report shows its faces
    if evidence is not None:
        result.evidence = evidence
    return result


__all__ = ["STAGES", "MediaError", "scan_video"]
