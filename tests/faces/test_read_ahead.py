"""faces.read_ahead: the frames, their order and errors are those of the plain generator."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from difffake.errors import MediaError
from difffake.faces.read_ahead import read_ahead


def test_same_items_in_order_and_the_error_at_its_place():
    def frames():
        yield from range(5)
        raise MediaError("clip.mp4", "corrupt stream after frame 4")

    got = []
    with pytest.raises(MediaError, match="clip.mp4: corrupt stream"):
        for item in read_ahead(frames()):
            got.append(item)
    assert got == [0, 1, 2, 3, 4]


def test_stays_at_most_depth_ahead_and_cleans_up_when_the_caller_stops():
    produced, closed = [], threading.Event()

    def frames():
        try:
            for i in range(1000):
                produced.append(i)
                yield i
        finally:
            closed.set()   # e.g. the video capture released

    it = read_ahead(frames(), depth=1)
    assert next(it) == 0
    time.sleep(0.3)   # give the reader every chance to run ahead
    # one handed out, one waiting in the queue, one decoded and waiting to be queued
    assert len(produced) <= 3
    it.close()
    assert closed.wait(2) and len(produced) <= 4
    assert threading.active_count() < 50 and not any(t.name == "frame-reader" for t in threading.enumerate())


def test_extracted_faces_are_identical_with_and_without_read_ahead(synthetic_videos, face_detector, monkeypatch):
    from difffake.config import FaceConfig
    from difffake.faces import pipeline

    video = synthetic_videos / "astro_0.mp4"
    with_thread = pipeline.extract_faces(video, FaceConfig(num_frames=8), face_detector)
    monkeypatch.setattr(pipeline, "READ_AHEAD", False)
    plain = pipeline.extract_faces(video, FaceConfig(num_frames=8), face_detector)
    assert with_thread.num_faces == plain.num_faces > 0
    assert np.array_equal(with_thread.frame_indices, plain.frame_indices)
    assert np.array_equal(with_thread.landmarks, plain.landmarks, equal_nan=True)
    assert all(np.array_equal(a, b) for a, b in zip(with_thread.crops, plain.crops) if a is not None)
