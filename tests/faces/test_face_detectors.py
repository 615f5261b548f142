"""The face-detector registry: one contract, built from the FaceConfig, crops unchanged."""
import numpy as np
import pytest

from difffake.config import FaceConfig
from difffake.faces.detect import DlibDetector, Face
from difffake.faces.detectors import (
    FACE_DETECTORS,
    detector_class,
    face_detector_names,
    fallback_names,
    make_detector,
)
from difffake.faces.mmod import MmodDetector
from difffake.faces.pipeline import detector_for, extract_faces
from difffake.faces.roi import RoiTracker


@pytest.mark.parametrize("name", sorted(FACE_DETECTORS))
def test_every_registered_detector_keeps_the_contract(name, astronaut_rgb):
    detector = make_detector(FaceConfig(detector=name, fallback="none"))
    assert isinstance(detector, FACE_DETECTORS[name]) and detector.name == name
    faces = detector.detect(astronaut_rgb, hint_box=None)
    assert len(faces) == 1 and isinstance(faces[0], Face)
    assert faces[0].landmarks.shape == (68, 2) and faces[0].area > 0
    assert detector.settings()["name"] == name


def test_unknown_names_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown face detector 'retinaface'") as info:
        detector_class("retinaface")
    for name in face_detector_names():
        assert name in str(info.value)
    with pytest.raises(ValueError, match="unknown face fallback 'yunet'.*dlib-mmod"):
        make_detector(FaceConfig(fallback="yunet"))
    assert fallback_names() == ("none", "dlib-mmod")


def test_from_config_reads_the_face_settings():
    det = make_detector(FaceConfig(max_side=640, upsample_max=1, fallback="dlib-mmod"))
    assert (det.max_side, det.upsample_max) == (640, 1)
    assert isinstance(det.fallback, MmodDetector)
    assert make_detector(FaceConfig(fallback="none")).fallback is None


def test_crops_are_byte_identical_to_the_hand_built_detector(synthetic_videos):
    # what pipeline.py built before the registry: HOG with the config's sizes + the CNN fallback,
    # searched near the previous face first (the track policy's default)
    cfg = FaceConfig(num_frames=6)
    by_hand = RoiTracker(DlibDetector(max_side=cfg.max_side, upsample_max=cfg.upsample_max,
                                      fallback=MmodDetector()))
    video = min(synthetic_videos.glob("*.mp4"))
    a = extract_faces(video, cfg, detector_for(cfg))
    b = extract_faces(video, cfg, by_hand)
    assert a.num_faces == b.num_faces > 0
    np.testing.assert_array_equal(a.boxes, b.boxes)
    np.testing.assert_array_equal(a.landmarks, b.landmarks)
    for x, y in zip(a.crops, b.crops):
        assert (x is None and y is None) or x.tobytes() == y.tobytes()
    assert a.meta["detector_settings"] == b.meta["detector_settings"]
