"""Detection near the previous face: same face and landmarks as the full search, cheaper, never fewer faces."""
from __future__ import annotations

import numpy as np
from test_faces_detect import expected_box, place

from difffake.config import FaceConfig
from difffake.faces.detect import DlibDetector
from difffake.faces.pipeline import detector_for, extract_faces
from difffake.faces.roi import RoiTracker, with_roi_tracking


def test_face_found_in_the_window_matches_the_full_search(face_detector, astronaut_rgb):
    frame = place(astronaut_rgb, 1.0, canvas=(480, 640), at=(150, 40))
    full = getattr(face_detector, "detector", face_detector).detect(frame)
    assert len(full) == 1
    roi = RoiTracker(getattr(face_detector, "detector", face_detector))
    hint = np.asarray(full[0].box) + np.array([10, -8, 10, -8])   # where it was a frame ago
    near = roi.detect(frame, hint_box=hint)
    assert len(near) == 1 and near[0].stage == "roi" and roi.hits == 1
    assert np.allclose(near[0].box, full[0].box, atol=10)
    # landmarks come from the full-resolution frame, in full-frame pixels
    assert np.allclose(near[0].landmarks, full[0].landmarks, atol=6)


def test_large_face_is_searched_in_a_shrunk_window(face_detector, astronaut_rgb):
    big = np.ascontiguousarray(np.kron(astronaut_rgb, np.ones((2, 2, 1), np.uint8)))   # face ~175 px
    full = getattr(face_detector, "detector", face_detector).detect(big)
    assert len(full) == 1
    roi = RoiTracker(getattr(face_detector, "detector", face_detector))
    (_, scale) = roi._window(big.shape, full[0].box)
    assert scale < 0.7                                               # searched at ~100 px face height
    near = roi.detect(big, hint_box=full[0].box)
    assert len(near) == 1 and near[0].stage == "roi"
    # HOG's pyramid steps differ between the two searches: the box may differ by a step (~10 %)
    assert np.allclose(near[0].box, full[0].box, atol=0.12 * (full[0].box[2] - full[0].box[0]))
    assert np.allclose(near[0].landmarks, full[0].landmarks, atol=8)


def test_empty_window_falls_back_to_the_full_search_once(face_detector, astronaut_rgb):
    frame = place(astronaut_rgb, 1.0, canvas=(480, 640), at=(150, 40))
    roi = RoiTracker(getattr(face_detector, "detector", face_detector))
    wrong = (600.0, 400.0, 700.0, 500.0)                             # no face there
    faces = roi.detect(frame, hint_box=wrong)
    assert len(faces) == 1 and faces[0].stage != "roi" and roi.misses == 1
    assert np.allclose(faces[0].box, expected_box(1.0, (150, 40)), atol=8)
    roi.detect(frame, hint_box=wrong)                                # the same empty window: not tried again
    assert roi.misses == 1


def test_only_the_track_policy_is_wrapped():
    assert isinstance(detector_for(FaceConfig(policy="track", roi_search=True)), RoiTracker)
    assert isinstance(detector_for(FaceConfig(policy="track")), RoiTracker)   # on by default
    assert isinstance(detector_for(FaceConfig(policy="track", roi_search=False)), DlibDetector)
    assert not isinstance(detector_for(FaceConfig(detector="dlib-mmod")), RoiTracker)   # no HOG pass to narrow
    assert isinstance(detector_for(FaceConfig(policy="largest", roi_search=True)), DlibDetector)   # the paper looks everywhere
    plain = object()
    assert with_roi_tracking(plain, "track") is plain                # a detector without a HOG pass


def test_video_faces_with_and_without_the_window_agree(synthetic_videos, face_detector):
    cfg = FaceConfig(num_frames=12)
    path = synthetic_videos / "astro_2.mp4"
    plain = extract_faces(path, cfg, getattr(face_detector, "detector", face_detector))
    tracked = extract_faces(path, cfg, RoiTracker(getattr(face_detector, "detector", face_detector)))
    assert tracked.num_faces == plain.num_faces >= 11
    assert tracked.meta["stages"].get("roi", 0) >= 10
    both = plain.has_face & tracked.has_face
    in_frame = lambda r: r.landmarks[both] + r.boxes[both][:, None, :2]
    assert np.allclose(in_frame(tracked), in_frame(plain), atol=8)
