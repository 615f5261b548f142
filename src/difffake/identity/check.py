"""The identity check as a detector runs it: reference once per run, then one call per suspect."""
from __future__ import annotations

import logging
import time

from .calibration import IdentityCalibration, read_identity_json
from .compare import IdentityReference, build_reference, identify

log = logging.getLogger("difffake.identity")


def calibration_for(detector) -> IdentityCalibration | None:
    """The detector's identity calibration, else the packaged default detector's.

    The calibration depends on dlib's model and the face settings, not on the
    backbone, so a detector made by `difffake fit` (which writes none) borrows
    the shipped one; `source` says which file it came from.
    """
    cal = getattr(detector, "identity_calibration", None)
    if cal is not None:
        return cal
    looked = getattr(detector, "_identity_fallback", False)
    if looked is not False:
        return looked
    from ..detector_folder import DEFAULT_DIR, read_model_json
    cal = None
    if (DEFAULT_DIR / "model.json").is_file():
        cal = read_identity_json(DEFAULT_DIR, read_model_json(DEFAULT_DIR))
        if cal is not None:
            log.info("identity calibration borrowed from %s", cal.source)
    detector._identity_fallback = cal   # look once
    return cal


def identity_embedder(detector):
    emb = getattr(detector, "_identity_embedder", None)
    if emb is None:
        from ..embeddings import make_embedder
        cal = calibration_for(detector)
        defaults = cal or IdentityCalibration(same_max=0.0, different_min=0.0)
        emb = make_embedder("dlib-face-id", max_frames=defaults.suspect_frames,
                            min_face_px=defaults.min_face_px)
        detector._identity_embedder = emb
    return emb


def make_reference(detector, paths) -> IdentityReference:
    """Faces + descriptors of the trusted reference files (photos, videos or folders of photos)."""
    from .prefetch import descriptor_pool
    cal = calibration_for(detector)
    frames = cal.reference_frames if cal is not None else 16
    descriptor_pool(detector)   # the helper process starts while the reference is built
    return build_reference(paths, detector.face_cfg, detector.face_detector(),
                           identity_embedder(detector), reference_frames=frames)


def add_identity(detector, result, record, reference, prefetch=None) -> None:
    """Fill the identity fields of a ScanResult (and timings['identity']) from its face record.

    `prefetch`: an identity.prefetch.VideoPrefetch begun while the faces were extracted.
    """
    if not isinstance(reference, IdentityReference):
        reference = make_reference(detector, reference)
    t0 = time.perf_counter()
    desc = (prefetch.descriptors(record) if prefetch is not None
            else identity_embedder(detector).embed_record(record))
    cal = calibration_for(detector)
    ident = identify(record, desc, reference, cal)
    result.identity_distance = ident.distance
    result.identity_verdict = ident.verdict
    result.identity_reason = ident.reason
    result.identity_frame_distances = ident.frame_distances
    result.identity_frames = ident.frames
    result.identity_frame_times = ident.times
    result.identity_nearest_reference = ident.nearest_reference
    if cal is not None:
        result.identity_threshold = cal.threshold
        result.identity_band = [cal.same_max, cal.different_min]
        result.identity_error_rates = error_summary(cal)
    result.timings["identity"] = time.perf_counter() - t0


def error_summary(cal: IdentityCalibration) -> dict:
    """The calibration's measured error counts, flat (for JSON and the report)."""
    m = cal.measured or {}
    same, diff = m.get("same_person", {}), m.get("different_people", {})
    return {"n_same_pairs": same.get("n"), "n_false_different": same.get("n_different"),
            "n_unknown_same": same.get("n_unknown"), "false_different_rate": same.get("rate_different"),
            "n_different_pairs": diff.get("n"), "n_false_same": diff.get("n_same"),
            "n_unknown_different": diff.get("n_unknown"), "false_same_rate": diff.get("rate_same"),
            "calibration": cal.source}
