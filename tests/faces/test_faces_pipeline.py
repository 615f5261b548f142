"""extract_faces end to end: records, odd inputs, and the FaceStore round trip."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from difffake.config import FaceConfig
from difffake.errors import MediaError
from difffake.faces.pipeline import extract_faces, store_settings
from difffake.faces.store import FaceStore

SYNTH_VIDEO_FRAMES = 12  # conftest's tiny_store videos


def write_rgb(path, rgb):
    assert cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return path


def check_consistent(record, index=0):
    """Crop box, crop size and landmarks agree with each other."""
    crop, lm, box = record.crops[index], record.landmarks[index], record.boxes[index]
    h, w = crop.shape[:2]
    assert crop.dtype == np.uint8 and crop.ndim == 3 and crop.shape[2] == 3
    assert max(h, w) <= FaceConfig().store_max_side
    assert (lm >= -2).all() and (lm[:, 0] <= w + 2).all() and (lm[:, 1] <= h + 2).all()
    x0, y0, x1, y1 = box
    fh, fw = record.frame_size
    assert 0 <= x0 < x1 <= fw and 0 <= y0 < y1 <= fh
    # the crop keeps the face box's aspect (square unless clipped by the frame)
    assert abs((x1 - x0) / (y1 - y0) - w / h) < 0.05


def test_astronaut_record(astronaut_face):
    rec = astronaut_face
    assert rec.num_frames == 1 and rec.num_faces == 1 and rec.frame_size == (512, 512)
    check_consistent(rec)
    lm = rec.landmarks[0]
    assert lm[36:48, 1].mean() < lm[48:68, 1].mean()  # eyes above mouth
    assert rec.meta["kind"] == "image" and rec.meta["policy"] == "track"
    assert rec.scores[0] > 0


def test_tiny_store(tiny_store):
    assert tiny_store.ids() == ["astro_0.mp4", "astro_1.mp4", "astro_2.mp4"]
    for vid in tiny_store.ids():
        rec = tiny_store.load(vid)
        assert rec.num_frames == SYNTH_VIDEO_FRAMES and rec.num_faces == SYNTH_VIDEO_FRAMES
        assert list(rec.frame_indices) == list(range(SYNTH_VIDEO_FRAMES))
        for i in range(rec.num_frames):
            check_consistent(rec, i)
        # the face drifts slowly: consecutive crop boxes overlap almost entirely
        centres = (rec.boxes[:, :2] + rec.boxes[:, 2:]) / 2
        assert np.abs(np.diff(centres, axis=0)).max() < 15


def test_store_round_trip(astronaut_face, tmp_path):
    store = FaceStore(tmp_path / "s", store_settings(FaceConfig()))
    store.save(astronaut_face)
    back = store.load("astronaut.png")
    assert np.array_equal(back.crops[0], astronaut_face.crops[0])  # PNG: lossless
    assert np.array_equal(back.landmarks, astronaut_face.landmarks)
    assert back.meta["source"] == astronaut_face.meta["source"]


def test_video_without_face_is_recorded_not_dropped(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "noise.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (160, 120))
    for _ in range(10):
        writer.write(rng.integers(0, 255, (120, 160, 3), dtype=np.uint8))
    writer.release()
    cfg = FaceConfig(num_frames=4, upsample_max=1)
    rec = extract_faces(path, cfg)
    assert rec.num_frames == 4 and rec.num_faces == 0
    assert rec.crops == [None] * 4
    assert np.isnan(rec.landmarks).all() and np.isnan(rec.scores).all()
    store = FaceStore(tmp_path / "s", store_settings(cfg))
    store.save(rec)
    assert store.load("noise.mp4").num_faces == 0


def test_one_frame_video(tmp_path, astronaut_rgb, face_detector, face_video_writer):
    path = face_video_writer(tmp_path / "one.mp4", astronaut_rgb, 1, seed=0)
    rec = extract_faces(path, FaceConfig(), face_detector)
    assert rec.num_frames == 1 and rec.num_faces == 1 and rec.video_id == "one.mp4"


def test_grayscale_and_portrait_images(tmp_path, astronaut_rgb, face_detector):
    gray = cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY)
    rec = extract_faces(write_rgb(tmp_path / "gray.png", np.dstack([gray] * 3)[..., :1].repeat(3, 2)),
                        FaceConfig(), face_detector)
    assert rec.num_faces == 1 and rec.crops[0].shape[2] == 3
    assert cv2.imwrite(str(tmp_path / "gray1.png"), gray)  # a true one-channel file
    assert extract_faces(tmp_path / "gray1.png", FaceConfig(), face_detector).num_faces == 1
    portrait = np.full((900, 400, 3), 30, np.uint8)
    portrait[200:600, 0:400] = cv2.resize(astronaut_rgb, (400, 400))
    rec = extract_faces(write_rgb(tmp_path / "portrait.jpg", portrait), FaceConfig(), face_detector)
    assert rec.frame_size == (900, 400) and rec.num_faces == 1
    check_consistent(rec)
    assert 200 < rec.boxes[0][1] < 400  # box in full-frame pixels


def test_8k_photo_gives_small_crop_in_full_frame_pixels(tmp_path, astronaut_rgb, face_detector):
    frame = np.full((4320, 7680, 3), 90, np.uint8)
    frame[1500:1500 + 1536, 3000:3000 + 1536] = cv2.resize(astronaut_rgb, (1536, 1536))
    rec = extract_faces(write_rgb(tmp_path / "8k.jpg", frame), FaceConfig(), face_detector)
    assert rec.frame_size == (4320, 7680) and rec.num_faces == 1
    check_consistent(rec)
    x0, y0, x1, y1 = rec.boxes[0]
    assert 3000 < x0 < 3000 + 225 * 3 < x1 and 1500 < y0 < 1500 + 127 * 3 < y1
    assert max(rec.crops[0].shape[:2]) == FaceConfig().store_max_side  # shrunk from ~400 px


def test_bad_file_raises_media_error(tmp_path):
    path = tmp_path / "fake.mov"
    path.write_text("not a movie")
    with pytest.raises(MediaError, match="fake.mov"):
        extract_faces(path, FaceConfig())


def test_real_gif(shared_data, face_detector):
    path = shared_data / "real" / "videos" / "dlib__dlib__test__ffmpeg_data__elon-musk-smoke.gif"
    rec = extract_faces(path, FaceConfig(num_frames=8), face_detector)
    assert rec.meta["kind"] == "gif" and rec.num_frames == 8
    assert rec.num_faces >= 6


def test_real_face_items(real_face_items):
    assert len(real_face_items) == 12
    for crop, lm, source in real_face_items:
        assert crop.ndim == 3 and lm.shape == (68, 2) and source.startswith("photos/")
        assert lm[36:48, 1].mean() < lm[48:68, 1].mean()
