"""faces.decode_ahead: a file's frames decoded ahead, exactly as iter_frames gives them, in bounded memory."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from difffake.config import FaceConfig
from difffake.errors import MediaError
from difffake.faces.decode_ahead import FramesAhead
from difffake.faces.video import iter_frames


def _wait_decoded(ahead: FramesAhead, timeout: float = 10.0) -> None:
    done = threading.Event()
    ahead.when_decoded(done.set)
    assert done.wait(timeout), "decoding never ended"


def _assert_same_record(record, plain) -> None:
    assert record.num_faces == plain.num_faces > 0
    assert np.array_equal(record.frame_indices, plain.frame_indices)
    assert np.array_equal(record.landmarks, plain.landmarks, equal_nan=True)
    assert all(np.array_equal(a, b) for a, b in zip(record.crops, plain.crops) if a is not None)
    assert record.meta["frame_count"] == plain.meta["frame_count"]


def test_same_frames_order_and_info_as_iter_frames(synthetic_videos):
    video = synthetic_videos / "astro_1.mp4"
    info: dict = {}
    plain = list(iter_frames(video, 7, info))
    ahead = FramesAhead(video, 7)
    got = list(ahead)
    assert [i for i, _ in got] == [i for i, _ in plain] and len(got) == 7
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(got, plain))
    assert ahead.info == info and ahead.info["frame_count"] > 7


def test_the_error_of_an_unreadable_file_reaches_the_caller(tmp_path):
    bad = tmp_path / "not_a_video.mp4"
    bad.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(MediaError) as plain:
        list(iter_frames(bad, 4))
    with pytest.raises(MediaError) as ahead:
        list(FramesAhead(bad, 4))
    assert str(ahead.value) == str(plain.value) and "not_a_video.mp4" in str(ahead.value)


def test_decoded_frames_wait_within_the_byte_budget_and_close_stops_the_thread(synthetic_videos):
    ahead = FramesAhead(synthetic_videos / "astro_0.mp4", 8, max_bytes=1)   # below one frame: one at a time
    time.sleep(0.5)   # every chance to run ahead
    assert ahead.buffered == 1
    first = next(iter(ahead))
    assert first[0] == 0
    ahead.close()
    assert not ahead._thread.is_alive() and ahead.buffered == 0


def test_when_decoded_runs_once_before_the_end_and_at_once_when_registered_late(synthetic_videos):
    ahead = FramesAhead(synthetic_videos / "astro_0.mp4", 5)
    calls = []
    ahead.when_decoded(lambda: calls.append(("early", ahead.buffered)))
    frames = list(ahead)
    assert len(frames) == 5 and len(calls) == 1
    ahead.when_decoded(lambda: calls.append(("late", None)))   # decoding is over: called here and now
    assert calls[1] == ("late", None)


def test_extract_faces_gives_the_same_record_from_frames_decoded_ahead(synthetic_videos, face_detector):
    from difffake.faces.pipeline import extract_faces

    video, cfg = synthetic_videos / "astro_2.mp4", FaceConfig(num_frames=6)
    plain = extract_faces(video, cfg, face_detector)
    ahead = FramesAhead(video, 6)
    _wait_decoded(ahead)
    _assert_same_record(extract_faces(video, cfg, face_detector, frames=ahead), plain)


def test_extract_faces_refuses_frames_of_another_file(synthetic_videos, face_detector):
    from difffake.faces.pipeline import extract_faces

    ahead = FramesAhead(synthetic_videos / "astro_0.mp4", 6)
    try:
        with pytest.raises(ValueError, match="astro_0.mp4"):
            extract_faces(synthetic_videos / "astro_1.mp4", FaceConfig(num_frames=6), face_detector, frames=ahead)
    finally:
        ahead.close()


def test_a_batch_decodes_the_next_file_before_the_current_result_and_scores_as_one_by_one(
        tiny_detector, synthetic_videos, monkeypatch):
    from difffake.faces import decode_ahead
    from difffake.scanning import scan_video
    from difffake.workflows import scan as scan_workflow

    made: list[str] = []
    threads: list = []

    class Recorded(decode_ahead.FramesAhead):
        def __init__(self, path, *a, **k):
            made.append(str(path))
            super().__init__(path, *a, **k)
            threads.append(self.decode_threads)

    monkeypatch.setattr(decode_ahead, "FramesAhead", Recorded)
    jobs = [(str(synthetic_videos / f"astro_{k}.mp4"), f"v{k}") for k in range(3)]
    batch = scan_workflow.scan_files(tiny_detector, jobs)
    first = next(batch)
    assert made[:2] == [jobs[0][0], jobs[1][0]]   # the second file was decoding before the first result
    rest = list(batch)
    assert len(made) == 3
    assert threads == [scan_workflow.BATCH_DECODE_THREADS] * 3 == [1] * 3   # the files overlap: one thread each
    one_by_one = [scan_video(tiny_detector, path, vid) for path, vid in jobs]
    assert [r.score for r in [first, *rest]] == [r.score for r in one_by_one]
    assert all(r.status == "ok" for r in one_by_one)
    list(scan_workflow.scan_files(tiny_detector, jobs[:1]))
    assert threads[-1] is None   # a single file keeps FFmpeg's own threads: nothing overlaps its decoding


def test_one_decoding_thread_gives_the_same_frames(synthetic_videos):
    video = synthetic_videos / "astro_1.mp4"
    plain = list(FramesAhead(video, 7))
    single = FramesAhead(video, 7, decode_threads=1)
    assert single.decode_threads == 1
    got = list(single)
    assert [i for i, _ in got] == [i for i, _ in plain] and len(got) == 7
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(got, plain))


def test_a_batch_stopped_early_leaves_no_decoding_thread(tiny_detector, synthetic_videos):
    from difffake.workflows.scan import scan_files

    jobs = [(str(synthetic_videos / f"astro_{k}.mp4"), f"v{k}") for k in range(3)]
    batch = scan_files(tiny_detector, jobs)
    next(batch)
    batch.close()
    deadline = time.monotonic() + 5
    while any(t.name == "frames-ahead" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.name == "frames-ahead" for t in threading.enumerate())


def test_extracted_faces_are_identical_with_and_without_the_decoding_thread(synthetic_videos, face_detector,
                                                                          monkeypatch):
    from difffake.faces import pipeline

    video = synthetic_videos / "astro_0.mp4"
    with_thread = pipeline.extract_faces(video, FaceConfig(num_frames=8), face_detector)
    monkeypatch.setattr(pipeline, "READ_AHEAD", False)
    _assert_same_record(with_thread, pipeline.extract_faces(video, FaceConfig(num_frames=8), face_detector))


def test_a_search_that_fails_stops_the_decoding_thread_at_once(synthetic_videos, face_detector):
    from difffake.faces.pipeline import extract_faces

    class Breaks:
        name = "breaks"

        def __init__(self):
            self.calls = 0

        def detect(self, rgb, hint_box=None):
            self.calls += 1
            if self.calls == 2:
                raise RuntimeError("detector failed on frame 2")
            return face_detector.detect(rgb, hint_box=hint_box)

    video = synthetic_videos / "astro_0.mp4"
    ahead = FramesAhead(video, 8, max_bytes=1)   # one frame at a time: the thread waits, it cannot end alone
    with pytest.raises(RuntimeError, match="frame 2"):
        extract_faces(video, FaceConfig(num_frames=8), Breaks(), frames=ahead)
    # the traceback above still holds extract_faces' frame: the thread must be gone all the same
    assert not ahead._thread.is_alive()


def test_a_failing_callback_does_not_hold_back_the_frames(synthetic_videos):
    ahead = FramesAhead(synthetic_videos / "astro_0.mp4", 5, max_bytes=1)   # still decoding when registered

    def breaks():
        raise OSError("cannot start the next file")

    ahead.when_decoded(breaks)
    errors = []
    previous, threading.excepthook = threading.excepthook, errors.append   # the thread reports it, as usual
    frames: list = []
    reader = threading.Thread(target=lambda: frames.extend(ahead))
    try:
        reader.start()
        reader.join(10)
    finally:
        threading.excepthook = previous
    assert not reader.is_alive(), "the frames never ended"
    assert len(frames) == 5
    assert [type(e.exc_value) for e in errors] == [OSError]


@pytest.fixture
def opened_captures(monkeypatch) -> list:
    """The extra arguments of every cv2.VideoCapture the frame reader opens (real captures)."""
    import cv2

    from difffake.faces import video

    real, opened = cv2.VideoCapture, []

    def capture(path, *args):
        opened.append(args)
        return real(path, *args)

    monkeypatch.setattr(video.cv2, "VideoCapture", capture)
    return opened


@pytest.mark.parametrize("read_ahead", [True, False])
def test_extract_faces_decodes_on_the_ffmpeg_threads_asked(synthetic_videos, face_detector, monkeypatch,
                                                             opened_captures, read_ahead):
    import cv2

    from difffake.faces import pipeline

    monkeypatch.setattr(pipeline, "READ_AHEAD", read_ahead)
    video, cfg = synthetic_videos / "astro_2.mp4", FaceConfig(num_frames=6)
    default = pipeline.extract_faces(video, cfg, face_detector)
    assert opened_captures == [()]   # FFmpeg's own count: one per core
    one = pipeline.extract_faces(video, cfg, face_detector, decode_threads=1)
    assert opened_captures[1:] == [(cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])]
    _assert_same_record(one, default)


def test_parallel_workers_decode_each_file_on_one_ffmpeg_thread(synthetic_videos, tmp_path, tiny_detector,
                                                                 face_detector, opened_captures):
    import cv2

    from difffake.distributed.actors import prepare_one, scan_one
    from difffake.faces.pipeline import store_settings
    from difffake.faces.store import FaceStore
    from difffake.workflows.prepare import ExtractionWorker, Job

    cfg = FaceConfig(num_frames=3)
    FaceStore(tmp_path, store_settings(cfg))
    # a pool process (no read-ahead: the pool fills the cores) and the single-process path
    in_pool = ExtractionWorker(str(tmp_path), store_settings(cfg), read_ahead=False)
    alone = ExtractionWorker(str(tmp_path), store_settings(cfg), read_ahead=True)
    assert (in_pool.decode_threads, alone.decode_threads) == (1, None)
    assert in_pool.process(Job(str(synthetic_videos / "astro_0.mp4"), "astro_0.mp4"))["ok"]
    one_thread = (cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
    assert opened_captures == [one_thread]
    row = scan_one(tiny_detector, str(synthetic_videos / "astro_1.mp4"), "astro_1.mp4", decode_threads=1)
    assert row["status"] == "ok" and opened_captures == [one_thread] * 2   # a Ray actor's scan
    row = prepare_one(FaceStore(tmp_path), cfg, face_detector, str(synthetic_videos / "astro_2.mp4"),
                      "astro_2.mp4", decode_threads=1)   # and a Ray actor's prepare
    assert row["status"] == "ok" and opened_captures == [one_thread] * 3
