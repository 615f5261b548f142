"""The track is split where it becomes another person; only the main person is scored."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from difffake.config import FaceConfig
from difffake.faces.identity_switch import IdentitySplitter, descriptor
from difffake.faces.pipeline import extract_faces


@pytest.fixture(scope="module")
def hopper_rgb():
    """A second real person that ships with a package: matplotlib's Grace Hopper photo."""
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.exists():
        pytest.skip(f"{path}: matplotlib's sample photo is not installed")
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def _frame(rgb, shift, size=(384, 384)):
    """A square window over the photo, its face near the middle, moved by `shift` px."""
    h, w = rgb.shape[:2]
    side = min(h, w)
    crop = rgb[:side, (w - side) // 2: (w - side) // 2 + side]
    frame = cv2.resize(crop, size, interpolation=cv2.INTER_AREA)
    return np.roll(frame, shift, axis=1)


def _video(path, parts):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (384, 384))
    assert writer.isOpened(), f"{path}: OpenCV cannot write mp4v"
    for rgb, n in parts:
        for i in range(n):
            writer.write(cv2.cvtColor(_frame(rgb, 2 * i), cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def test_descriptors_tell_two_people_apart(astronaut_face, hopper_rgb, tmp_path):
    path = tmp_path / "hopper.png"
    cv2.imwrite(str(path), cv2.cvtColor(hopper_rgb, cv2.COLOR_RGB2BGR))
    hopper = extract_faces(path, FaceConfig(num_frames=1), video_id="hopper.png")
    assert hopper.has_face[0]
    a = descriptor(astronaut_face.crops[0], astronaut_face.landmarks[0])
    b = descriptor(hopper.crops[0], hopper.landmarks[0])
    flipped = descriptor(astronaut_face.crops[0][:, ::-1].copy(),
                         np.c_[astronaut_face.crops[0].shape[1] - 1 - astronaut_face.landmarks[0][:, 0],
                               astronaut_face.landmarks[0][:, 1]][_MIRROR_68])
    assert a.shape == (128,)
    assert np.linalg.norm(a - b) > 0.6          # two people
    assert np.linalg.norm(a - flipped) < 0.6    # one person, mirrored


# iBUG 68-point order mirrored left <-> right (jaw, brows, nose, eyes, mouth)
_MIRROR_68 = np.array(
    list(range(16, -1, -1)) + list(range(26, 16, -1)) + list(range(27, 31)) + [35, 34, 33, 32, 31]
    + [45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40]
    + [54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55, 64, 63, 62, 61, 60, 67, 66, 65])


def test_track_split_at_a_cut_between_two_people(astronaut_rgb, hopper_rgb, tmp_path):
    video = _video(tmp_path / "cut.mp4", [(astronaut_rgb, 7), (hopper_rgb, 5)])
    split = extract_faces(video, FaceConfig(num_frames=12), video_id="cut.mp4")
    assert split.meta["segments"] == 2
    assert list(split.segment) == [0] * 7 + [1] * 5
    assert list(split.has_face) == [True] * 7 + [False] * 5    # only the main person is scored
    assert split.meta["stages"]["other_person"] == 5
    assert all(c is None for c in split.crops[7:]) and np.isnan(split.boxes[7:]).all()
    assert 2 <= split.meta["identity_checks"] <= 4              # descriptors only at the cut
    whole = extract_faces(video, FaceConfig(num_frames=12, split_identity=False), video_id="cut.mp4")
    assert whole.num_faces == 12 and "segments" not in whole.meta


def test_same_person_moving_is_one_segment(astronaut_rgb):
    # a big jump of one person's box (a reframed shot): checked, and kept as one person
    frames = [_frame(astronaut_rgb, 0), _frame(astronaut_rgb, 0), _frame(astronaut_rgb, 150)]
    from difffake.faces.crop import box_of, crop_face, union_box
    from difffake.faces.detectors import make_detector

    det = make_detector("dlib-hog")
    boxes, crops, lms = [], [], []
    for f in frames:
        face = det.detect(f)[0]
        crop, cb, lm = crop_face(f, union_box(face.box, box_of(face.landmarks)), 1.3, landmarks=face.landmarks)
        boxes.append(np.array(cb, np.float32)), crops.append(crop), lms.append(lm)
    label, checks = IdentitySplitter().labels(np.stack(boxes), crops, np.stack(lms), np.ones(3, bool))
    assert list(label) == [0, 0, 0] and checks == 2


def test_person_coming_back_gets_their_label(astronaut_rgb, hopper_rgb, tmp_path):
    video = _video(tmp_path / "abab.mp4", [(astronaut_rgb, 4), (hopper_rgb, 3), (astronaut_rgb, 4)])
    rec = extract_faces(video, FaceConfig(num_frames=11), video_id="abab.mp4")
    assert list(rec.segment) == [0] * 4 + [1] * 3 + [0] * 4
    assert rec.num_faces == 8 and rec.meta["segments"] == 2


def test_store_keeps_segments_and_old_stores_read_as_before(astronaut_rgb, hopper_rgb, tmp_path):
    import json

    from difffake.errors import SettingsMismatch
    from difffake.faces.pipeline import store_settings
    from difffake.faces.store import FaceStore

    video = _video(tmp_path / "cut.mp4", [(astronaut_rgb, 3), (hopper_rgb, 2)])
    cfg = FaceConfig(num_frames=5)
    store = FaceStore(tmp_path / "store", store_settings(cfg))
    store.save(extract_faces(video, cfg, video_id="cut.mp4"))
    back = store.load("cut.mp4")
    assert list(back.segment) == [0, 0, 0, 1, 1] and back.num_faces == 3
    # a store made before the fallback and the identity split: read with those off
    old = {k: v for k, v in store_settings(cfg).items() if k not in ("fallback", "split_identity")}
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "settings.json").write_text(json.dumps(old))
    legacy = FaceConfig(num_frames=5, fallback="none", split_identity=False)
    opened = FaceStore(tmp_path / "old", store_settings(legacy))
    assert opened.settings["fallback"] == "none" and opened.settings["split_identity"] is False
    with pytest.raises(SettingsMismatch):
        FaceStore(tmp_path / "old", store_settings(cfg))
