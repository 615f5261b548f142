"""Identity check (scan --reference): dlib descriptors from stored landmarks, calibration, verdicts.

Real faces that ship in registry packages: scikit-image's astronaut (Eileen
Collins) and matplotlib's sample photo of Grace Hopper, two different people.
"""
import json
import re

import numpy as np
import pytest

from difffake.cli import main
from difffake.config import FaceConfig
from difffake.detector import DEFAULT_DIR, Detector, DetectorFileError
from difffake.identity.calibration import (
    IDENTITY_JSON,
    IdentityCalibration,
    fit_calibration,
    read_identity_json,
    write_identity_json,
)
from difffake.identity.compare import identify


@pytest.fixture(scope="module")
def hopper_path():
    import matplotlib.cbook
    return matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


@pytest.fixture(scope="module")
def hopper_face(hopper_path, face_detector):
    from difffake.faces.pipeline import extract_faces
    record = extract_faces(hopper_path, FaceConfig(), face_detector, video_id="grace_hopper.jpg")
    assert record.has_face[0], "dlib found no face in matplotlib's Grace Hopper photo"
    return record


@pytest.fixture(scope="module")
def embedder():
    from difffake.embeddings import make_embedder
    return make_embedder("dlib-face-id", max_frames=8)


@pytest.fixture(scope="module")
def astronaut_png(astronaut_face):
    return astronaut_face.meta["source"]


@pytest.fixture(scope="module", autouse=True)
def _tiny_detector_closed_after(tiny_detector):
    """Reference scans start the session detector's identity helper: end it with this module."""
    yield
    tiny_detector.close()


@pytest.fixture(scope="module")
def saved_detector(tiny_detector, tmp_path_factory):
    return tiny_detector.save(tmp_path_factory.mktemp("detector"))


def test_descriptor_from_stored_landmarks_separates_two_people(embedder, astronaut_face, hopper_face,
                                                               tiny_store):
    a = embedder.embed_record(astronaut_face)
    h = embedder.embed_record(hopper_face)
    assert a.shape == h.shape == (1, 128) and np.isfinite(a).all() and np.isfinite(h).all()
    assert np.array_equal(a, embedder.embed_record(astronaut_face))   # deterministic
    video = embedder.embed_record(tiny_store.load("astro_0.mp4"))
    frames = video[np.isfinite(video).all(axis=1)]
    assert 1 <= len(frames) <= 8
    same = np.linalg.norm(frames - a, axis=1)
    other = np.linalg.norm(frames - h, axis=1)
    # the astronaut's video frames are near her photo and far from another person (dlib's cut: 0.6)
    assert same.max() < 0.4 and other.min() > 0.6, (same, other)


def test_only_max_frames_get_descriptors_and_small_faces_none(astronaut_face, tiny_store):
    from difffake.embeddings import make_embedder
    rec = tiny_store.load("astro_1.mp4")
    four = make_embedder("dlib-face-id", max_frames=4).embed_record(rec)
    assert four.shape == (rec.num_faces, 128)
    assert np.isfinite(four).all(axis=1).sum() == 4
    tiny = make_embedder("dlib-face-id", min_face_px=10_000).embed_record(rec)
    assert np.isnan(tiny).all()


def test_identity_descriptors_are_cached_per_store(tiny_store, tmp_path, monkeypatch):
    from difffake.embeddings import embed_store, make_embedder
    from difffake.identity.embedder import DlibIdentityEmbedder
    emb = make_embedder("dlib-face-id", max_frames=3)
    first = embed_store(emb, tiny_store, cache_dir=tmp_path)
    calls = []
    real = DlibIdentityEmbedder.descriptor
    monkeypatch.setattr(DlibIdentityEmbedder, "descriptor",
                        lambda self, *a: calls.append(1) or real(self, *a))
    again = embed_store(emb, tiny_store, cache_dir=tmp_path)
    assert calls == []   # every descriptor read back from the cache
    for vid in first:
        np.testing.assert_array_equal(first[vid].emb, again[vid].emb)   # NaN rows survive too
    other = embed_store(make_embedder("dlib-face-id", max_frames=2), tiny_store, cache_dir=tmp_path)
    assert calls and all(np.isfinite(v.emb).all(axis=1).sum() <= 2 for v in other.values())


def test_calibration_cuts_meet_the_error_targets():
    rng = np.random.default_rng(0)
    same = rng.normal(0.35, 0.06, 200)
    diff = rng.normal(0.75, 0.06, 2000)
    diff[:40] = rng.uniform(0.3, 0.5, 40)          # an overlapping tail
    cal = fit_calibration(same, diff, 0.05, 0.01)
    assert cal.same_max <= cal.different_min
    m = cal.measured
    assert m["false_different_rate"] <= 0.05 and m["false_same_rate"] <= 0.01
    assert m["same_person"]["n"] == 200 and m["different_people"]["n"] == 2000
    assert sum(m["same_person"][f"n_{k}"] for k in ("same", "different", "unknown")) == 200
    assert cal.verdict(cal.same_max - 1e-6)[0] == "same"
    assert cal.verdict(cal.different_min + 1e-6)[0] == "different"
    if cal.same_max < cal.different_min:
        verdict, reason = cal.verdict(0.5 * (cal.same_max + cal.different_min))
        assert verdict == "unknown" and "uncertain band" in reason
    separated = fit_calibration(rng.normal(0.3, 0.02, 50), rng.normal(0.8, 0.02, 500))
    assert separated.same_max == separated.different_min   # no band: one cut half-way
    assert 0.35 < separated.same_max < 0.75
    with pytest.raises(ValueError, match="too few"):
        fit_calibration([0.1, 0.2], [0.9] * 10)


def test_identity_json_travels_checksummed_in_the_detector_folder(saved_detector, tmp_path):
    import shutil
    folder = tmp_path / "det"
    shutil.copytree(saved_detector, folder)
    cal = fit_calibration(np.linspace(0.2, 0.4, 20), np.linspace(0.5, 0.9, 200))
    write_identity_json(folder, cal)
    card = json.loads((folder / "model.json").read_text())
    assert IDENTITY_JSON in card["checksums"]
    det = Detector.load(folder)
    assert det.identity_calibration.same_max == pytest.approx(cal.same_max)
    assert det.identity_calibration.measured["same_person"]["n"] == 20
    again = det.save(tmp_path / "resaved")          # saving keeps it
    assert Detector.load(again).identity_calibration.different_min == pytest.approx(cal.different_min)
    (folder / IDENTITY_JSON).write_text((folder / IDENTITY_JSON).read_text().replace("0.", "0.0", 1))
    with pytest.raises(DetectorFileError, match="identity.json: checksum mismatch"):
        Detector.load(folder)


def test_shipped_detector_has_a_real_pool_identity_calibration():
    from difffake.detector import read_model_json
    cal = read_identity_json(DEFAULT_DIR, read_model_json(DEFAULT_DIR))
    assert cal is not None, "src/difffake/models/default has no identity.json"
    m = cal.measured
    assert m["same_person"]["n"] >= 20 and m["different_people"]["n"] >= 1000
    assert m["false_different_rate"] <= 0.05 and m["false_same_rate"] <= 0.01
    assert 0.2 < cal.same_max <= cal.different_min < 0.8


def test_api_same_person_and_another_person(tiny_detector, synthetic_videos, astronaut_png, hopper_path):
    video = synthetic_videos / "astro_0.mp4"
    same = tiny_detector.scan(video, reference=tiny_detector.reference([astronaut_png]))
    assert same.status == "ok" and same.score is not None          # the blind score stays
    assert same.identity_verdict == "same", same.identity_reason
    assert same.identity_distance < same.identity_band[0]
    assert len(same.identity_frame_distances) == len(same.identity_frames) == len(same.identity_frame_times)
    assert same.identity_frame_times == sorted(same.identity_frame_times)
    assert same.identity_frame_times[-1] > 0          # seconds, from the video's fps
    assert same.identity_error_rates["n_same_pairs"] >= 20     # borrowed from the shipped calibration
    assert same.identity_error_rates["calibration"].endswith(IDENTITY_JSON)
    assert "identity" in same.timings
    other = tiny_detector.scan(video, reference=[hopper_path])      # paths work too
    assert other.identity_verdict == "different", other.identity_reason
    assert other.identity_distance > other.identity_band[1]
    plain = tiny_detector.scan(video)
    assert plain.identity_verdict is None and plain.identity_distance is None


def test_too_few_or_too_small_faces_cannot_tell(tiny_detector, tiny_store, astronaut_png):
    from difffake.embeddings import make_embedder
    ref = tiny_detector.reference([astronaut_png])
    cal = IdentityCalibration(same_max=0.5, different_min=0.6, min_faces=3)
    rec = tiny_store.load("astro_2.mp4")
    small = identify(rec, make_embedder("dlib-face-id", min_face_px=10_000).embed_record(rec), ref, cal)
    assert small.verdict == "unknown" and small.reason == "faces too small for identity"
    two = identify(rec, make_embedder("dlib-face-id", max_frames=2).embed_record(rec), ref, cal)
    assert two.verdict == "unknown" and "too few faces" in two.reason and two.distance is not None
    four = identify(rec, make_embedder("dlib-face-id", max_frames=4).embed_record(rec), ref, cal)
    assert four.verdict == "same"


def test_cli_json_and_report_with_several_references(saved_detector, synthetic_videos, astronaut_png,
                                                     hopper_path, tmp_path, capsys):
    import shutil
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(astronaut_png, photos / "a.png")
    report = tmp_path / "r.html"
    code = main(["scan", str(synthetic_videos / "astro_0.mp4"), "--detector", str(saved_detector), "--json",
                 "--reference", str(photos), "--reference", str(synthetic_videos / "astro_1.mp4"),
                 "--report", str(report)])
    line = json.loads(capsys.readouterr().out.splitlines()[0])
    assert code in (0, 1)
    assert isinstance(line["identity_distance"], float) and line["identity_verdict"] == "same"
    assert len(line["identity_frame_distances"]) == len(line["identity_frame_times"]) >= 3
    assert isinstance(line["reference_score"], float)      # the blind view beside it
    page = report.read_text()
    assert "Identity check against the reference" in page and "SAME PERSON" in page
    assert "does not mean" in page and "not manipulated" in page
    assert "Identity distance over time" in page and "Reference faces" in page
    assert "closest:" in page and "farthest:" in page
    assert not re.search(r'src="(?!data:)', page)
    main(["scan", str(synthetic_videos / "astro_0.mp4"), "--detector", str(saved_detector),
          "--reference", str(hopper_path)])
    assert re.search(r"identity=DIFFERENT\(0\.\d+\)", capsys.readouterr().out)


def test_reference_follows_its_person_among_several_faces(tiny_detector, astronaut_rgb, astronaut_png,
                                                         hopper_path, tmp_path):
    """Two people in one frame: the pipeline alone takes the larger face; with a reference the
    check compares the reference's own person (a real two-person clip was called 'different')."""
    import cv2

    from difffake.faces.pipeline import extract_faces
    from difffake.identity.guided import ReferenceGuidedDetector, guided_face_detector

    hopper = cv2.cvtColor(cv2.imread(str(hopper_path)), cv2.COLOR_BGR2RGB)
    hopper = cv2.resize(hopper, (int(hopper.shape[1] * 640 / hopper.shape[0]), 640))
    frame = np.zeros((640, hopper.shape[1] + 40 + 512, 3), np.uint8)   # both faces found at this size
    frame[:, : hopper.shape[1]] = hopper
    frame[64:576, hopper.shape[1] + 40:] = astronaut_rgb
    photo = tmp_path / "two_people.png"
    cv2.imwrite(str(photo), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    split_x = hopper.shape[1] + 20

    plain = extract_faces(photo, tiny_detector.face_cfg, tiny_detector.face_detector())
    assert plain.has_face[0] and plain.boxes[0][2] < split_x          # the larger face: Hopper
    reference = tiny_detector.reference([astronaut_png])
    guided = guided_face_detector(tiny_detector, reference)
    assert isinstance(guided, ReferenceGuidedDetector)
    record = extract_faces(photo, tiny_detector.face_cfg, guided)
    assert record.has_face[0] and record.boxes[0][0] > split_x and guided.choices == 1
    res = tiny_detector.scan(photo, reference=reference)
    assert res.identity_verdict == "same", (res.identity_distance, res.identity_reason)
    other = tiny_detector.scan(photo, reference=[hopper_path])        # and the other way round
    assert other.identity_verdict == "same", (other.identity_distance, other.identity_reason)


def test_one_face_frames_cost_no_descriptor(tiny_detector, synthetic_videos, astronaut_png):
    from difffake.faces.pipeline import extract_faces
    from difffake.identity.guided import guided_face_detector

    video = synthetic_videos / "astro_0.mp4"
    guided = guided_face_detector(tiny_detector, tiny_detector.reference([astronaut_png]))
    record = extract_faces(video, tiny_detector.face_cfg, guided)
    plain = extract_faces(video, tiny_detector.face_cfg, tiny_detector.face_detector())
    assert guided.choices == 0 and np.array_equal(record.boxes, plain.boxes, equal_nan=True)


def test_descriptors_begun_during_face_extraction_equal_the_plain_ones(tiny_detector, synthetic_videos,
                                                                     astronaut_png, monkeypatch):
    """The helper process describes the expected face frames while later frames decode; the rows
    (and so the verdict) are byte for byte those of embed_record."""
    from difffake.faces.pipeline import extract_faces
    from difffake.identity.check import identity_embedder
    from difffake.identity.prefetch import prefetch_for

    monkeypatch.setattr("difffake.identity.prefetch.cores", lambda: 2)   # on any runner
    reference = tiny_detector.reference([astronaut_png])
    video = synthetic_videos / "astro_0.mp4"
    prefetch = prefetch_for(tiny_detector, reference)
    assert prefetch is not None
    record = extract_faces(video, tiny_detector.face_cfg, tiny_detector.face_detector(),
                           on_face=prefetch.on_face)
    got = prefetch.descriptors(record)
    want = identity_embedder(tiny_detector).embed_record(record)
    assert got.tobytes() == want.tobytes()
    assert prefetch.prefetched >= 4 and prefetch.prefetched + prefetch.described_here == \
        int(np.isfinite(want).all(axis=1).sum())
    monkeypatch.setenv("DIFFFAKE_IDENTITY_PREFETCH", "0")
    assert prefetch_for(tiny_detector, reference) is None


def test_identity_helper_ends_with_close_and_with_its_detector(tiny_detector, astronaut_png, monkeypatch):
    """The helper process and its two threads live as long as their detector, not until exit."""
    import gc
    import threading

    from difffake.detector import Detector
    from difffake.identity.prefetch import descriptor_pool

    monkeypatch.setattr("difffake.identity.prefetch.cores", lambda: 2)

    def helper_threads():
        return sorted(t.name for t in threading.enumerate() if t.name.startswith("identity-"))

    tiny_detector.close()
    assert helper_threads() == []
    pool = descriptor_pool(tiny_detector)
    process = pool._process._proc
    assert helper_threads() == ["identity-reader", "identity-writer"] and process.poll() is None
    tiny_detector.close()
    assert helper_threads() == [] and process.poll() is not None
    assert descriptor_pool(tiny_detector) is not pool   # usable again: a new helper
    tiny_detector.close()

    det = Detector(tiny_detector.backbone, tiny_detector.scorer, face_cfg=tiny_detector.face_cfg)
    process = descriptor_pool(det)._process._proc
    del det
    gc.collect()
    assert helper_threads() == [] and process.poll() is not None
