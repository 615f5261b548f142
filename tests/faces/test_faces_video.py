"""Frame sampling: even spacing, one sequential pass, wrong frame counts, GIF, images."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from difffake.errors import MediaError
from difffake.faces import video
from difffake.faces.video import even_indices, sample_frames


def numbered_frame(i, size=(64, 48)):
    """A frame that shows its own index as 8 black/white bars (survives lossy codecs)."""
    w, h = size
    bits = [(i >> b) & 1 for b in range(8)]
    bars = np.repeat(np.array(bits, np.uint8) * 255, w // 8)
    return np.repeat(np.tile(bars[None, :], (h, 1))[..., None], 3, axis=2)


def write_numbered_video(path, n, size=(64, 48)):
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (w, h))
    for i in range(n):
        writer.write(numbered_frame(i, size))
    writer.release()
    return path


def frame_number(rgb):
    w = rgb.shape[1]
    levels = rgb[:, :, 1].reshape(rgb.shape[0], 8, w // 8).mean(axis=(0, 2))
    return int(sum(1 << b for b, v in enumerate(levels) if v > 127))


@pytest.mark.parametrize("total,n", [(100, 32), (10, 32), (1, 5), (33, 32), (2, 2)])
def test_even_indices_cover_first_and_last(total, n):
    idx = even_indices(total, n)
    assert len(idx) == min(total, n)
    assert idx[0] == 0 and idx[-1] == total - 1
    assert np.all(np.diff(idx) > 0)


def test_sampled_frames_are_the_indexed_frames(tmp_path):
    path = write_numbered_video(tmp_path / "numbered.mp4", 40)
    frames, idx, info = sample_frames(path, 8)
    assert list(idx) == list(even_indices(40, 8))
    assert [frame_number(f) for f in frames] == list(idx)
    assert frames[0].shape == (48, 64, 3) and frames[0].dtype == np.uint8
    assert info["frame_count"] == 40 and info["kind"] == "video"


def test_sequential_pass_matches_seeking(tmp_path):
    path = write_numbered_video(tmp_path / "numbered.mp4", 30)
    frames, idx, _ = sample_frames(path, 5)
    cap = cv2.VideoCapture(str(path))
    for f, i in zip(frames, idx):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, bgr = cap.read()
        assert ok
        assert np.array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), f)
    cap.release()


def test_more_frames_asked_than_the_video_has(tmp_path):
    path = write_numbered_video(tmp_path / "short.mp4", 6)
    frames, idx, _ = sample_frames(path, 32)
    assert list(idx) == list(range(6))
    assert [frame_number(f) for f in frames] == list(range(6))


class _CountLie:
    """Wraps a VideoCapture so its header reports `count` frames (0: no count)."""

    def __init__(self, cap, count):
        self._cap, self._count = cap, count

    def get(self, prop):
        return float(self._count) if prop == cv2.CAP_PROP_FRAME_COUNT else self._cap.get(prop)

    def __getattr__(self, name):
        return getattr(self._cap, name)


@pytest.mark.parametrize("reported", [55, 0, 33])
def test_wrong_reported_frame_count(tmp_path, monkeypatch, reported):
    """Header says 55 (too many), nothing, or 33 (too few) for a 40-frame video."""
    path = write_numbered_video(tmp_path / "numbered.mp4", 40)
    real = cv2.VideoCapture
    monkeypatch.setattr(video.cv2, "VideoCapture", lambda p: _CountLie(real(p), reported))
    frames, idx, info = sample_frames(path, 8)
    assert len(frames) == 8 and len(set(idx.tolist())) == 8
    assert [frame_number(f) for f in frames] == list(idx)
    if reported != 33:  # too few: the tail beyond the header's count is not visited
        assert info["frame_count"] == 40
        assert idx.max() >= 35, "the tail of the video must still be sampled"


@pytest.mark.parametrize("reported", [None, 55])
def test_one_decoding_thread_reads_the_same_frames_on_every_pass(tmp_path, monkeypatch, reported):
    """decode_threads=1 opens each capture (also the second pass after a wrong count) on one thread."""
    path = write_numbered_video(tmp_path / "numbered.mp4", 40)
    real, opened = cv2.VideoCapture, []

    def capture(p, *args):
        opened.append(args)
        cap = real(p, *args)
        return _CountLie(cap, reported) if reported else cap

    monkeypatch.setattr(video.cv2, "VideoCapture", capture)
    default = list(video.iter_frames(path, 8))
    assert opened and all(args == () for args in opened)   # FFmpeg's own threads
    opened.clear()
    single = list(video.iter_frames(path, 8, decode_threads=1))
    assert [i for i, _ in single] == [i for i, _ in default]
    assert [frame_number(f) for _, f in single] == [i for i, _ in single]
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(single, default))
    assert opened and all(args == (cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1]) for args in opened)
    assert len(opened) == (2 if reported else 1)


def test_gif_frames(tmp_path):
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(numbered_frame(i)) for i in range(10)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)
    got, idx, info = sample_frames(path, 4)
    assert list(idx) == list(even_indices(10, 4))
    assert [frame_number(f) for f in got] == list(idx)
    assert info["kind"] == "gif"


def test_gif_falls_back_to_pil_when_opencv_cannot(tmp_path, monkeypatch):
    path = tmp_path / "anim.gif"
    frames = [Image.fromarray(numbered_frame(i)) for i in range(6)]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50, loop=0)

    def refuse(p, n, info, limit=None, threads=None):
        raise MediaError(p, "opencv refuses")
        yield  # pragma: no cover  (makes this a generator like the real one)

    monkeypatch.setattr(video, "_iter_video", refuse)
    got, idx, info = sample_frames(path, 3)
    assert info["decoder"] == "pil"
    assert [frame_number(f) for f in got] == list(idx) == list(even_indices(6, 3))


def test_grayscale_image_becomes_rgb(tmp_path, astronaut_rgb):
    path = tmp_path / "gray.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2GRAY))
    frames, idx, info = sample_frames(path, 32)
    assert len(frames) == 1 and list(idx) == [0]
    assert frames[0].shape == (512, 512, 3)
    assert info["kind"] == "image"


def test_image_colour_order_is_rgb(tmp_path):
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 0] = 200  # red
    path = tmp_path / "red.png"
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    frames, _, _ = sample_frames(path, 1)
    assert frames[0][0, 0].tolist() == [200, 0, 0]


@pytest.mark.parametrize("name,content,reason", [
    ("empty.mp4", b"", "empty file"),
    ("text.mp4", b"this is not a video\n" * 50, "cannot be opened as a video"),
    ("broken.jpg", bytes(range(256)) * 4, "not a readable image"),
    ("broken.gif", b"GIF89a" + b"\x00" * 10, "not a readable GIF"),
])
def test_bad_files_raise_media_error_naming_file(tmp_path, name, content, reason):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(MediaError) as err:
        sample_frames(path, 4)
    assert name in str(err.value) and reason in str(err.value)
    assert "\n" not in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(MediaError, match="no such file"):
        sample_frames(tmp_path / "nope.mp4", 4)


def test_truncated_mp4(tmp_path):
    path = write_numbered_video(tmp_path / "full.mp4", 30)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # mp4v puts its index at the end
    with pytest.raises(MediaError, match="cut.mp4"):
        sample_frames(cut, 4)


@pytest.mark.parametrize("ext,fourcc", [("avi", "MJPG"), ("mov", "mp4v"), ("webm", "VP80"), ("mkv", "mp4v")])
def test_containers(tmp_path, ext, fourcc):
    path = tmp_path / f"numbered.{ext}"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 10, (64, 48))
    if not writer.isOpened():
        pytest.skip(f"this OpenCV build cannot write {ext}/{fourcc}")
    for i in range(12):
        writer.write(numbered_frame(i))
    writer.release()
    frames, idx, info = sample_frames(path, 4)
    assert list(idx) == list(even_indices(12, 4))
    assert [frame_number(f) for f in frames] == list(idx)
