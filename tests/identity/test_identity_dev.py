"""The identity check on dev DeepFaceLive twins (needs ../shared/data; evaluation only, nothing fitted).

Reference = the real twin's frames before 2 s; suspects = its frames from 2 s on,
and the same frames of the fake (the twins are frame-aligned). The cuts are the
shipped ones (real videos only). Every 5th twin keeps the test short; the full
25 are in benchmarks/bench_identity.py.
"""
import numpy as np
import pytest

from difffake.config import FaceConfig

pytestmark = pytest.mark.shared_data


def _split_descriptors(record, desc, split_s=2.0):
    faces = record.face_positions()
    t = np.asarray(record.frame_indices)[faces] / float(record.meta["fps"])
    ok = np.isfinite(desc).all(axis=1)
    return desc[ok & (t < split_s)], desc[ok & (t >= split_s)]


def test_dev_twins_fake_is_not_the_reference_person(shared_data, face_detector):
    from difffake.detector import Detector
    from difffake.embeddings import make_embedder
    from difffake.faces.pipeline import extract_faces
    from difffake.identity.compare import video_distance
    from difffake.identity.embedder import spread_positions

    cal = Detector.load().identity_calibration
    embedder = make_embedder("dlib-face-id", max_frames=None, min_face_px=cal.min_face_px)
    cfg = FaceConfig(num_frames=24)
    names = sorted(p.name for p in (shared_data / "dev" / "real").glob("dfl_*.mp4"))[::5]
    assert len(names) == 5
    verdicts = {"real": [], "fake": []}
    distances = {"real": [], "fake": []}
    for name in names:
        real = extract_faces(shared_data / "dev" / "real" / name, cfg, face_detector)
        fake = extract_faces(shared_data / "dev" / "fake" / name, cfg, face_detector)
        ref, real_rest = _split_descriptors(real, embedder.embed_record(real))
        _, fake_rest = _split_descriptors(fake, embedder.embed_record(fake))
        assert len(ref) >= 2 and len(real_rest) >= cal.min_faces, name
        pick = lambda d: d[spread_positions(len(d), cal.suspect_frames)]
        d_real = video_distance(pick(real_rest), ref, cal.trim)
        d_fake = video_distance(pick(fake_rest), ref, cal.trim)
        distances["real"].append(d_real)
        distances["fake"].append(d_fake)
        verdicts["real"].append(cal.verdict(d_real)[0])
        verdicts["fake"].append(cal.verdict(d_fake)[0])
    # every fake farther from the reference than every real (AUC 1 on these five)
    assert max(distances["real"]) < min(distances["fake"]), distances
    assert verdicts["real"] == ["same"] * len(names), verdicts
    # one of these swaps (dfl_Dean_Wiesel_0) lands just under the cut in the full benchmark:
    # the >= 90 % target is measured on all 25 twins there, not asserted on five here
    assert verdicts["fake"].count("different") >= len(names) - 1, verdicts
