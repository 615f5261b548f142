"""difffake.faces.stream_check: FFmpeg's own reason a video gave no usable frame, found with PyAV."""
from __future__ import annotations

from pathlib import Path

import pytest
from media_corpus import audio_only, encode, face_frames, flip_bytes

from difffake.faces.stream_check import (
    TRUNCATED_SHARE,
    StreamHealth,
    open_failure_reason,
    stream_health,
    undecodable_reason,
)

pytest.importorskip("av")
MOOV = "[mov,mp4,m4a,3gp,3g2,mj2] moov atom not found"


@pytest.fixture(scope="module")
def media(tmp_path_factory, astronaut_rgb) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream_check")
    good = encode(folder / "good.mp4", face_frames(astronaut_rgb, 24))
    data = good.read_bytes()
    (folder / "text.mp4").write_text("not a video\n")
    return {
        "good": good,
        "corrupt": flip_bytes(good, folder / "corrupt.mp4", data.find(b"mdat") + 60, 400),
        "audio": audio_only(folder / "audio.mp4"),
        "text": folder / "text.mp4",
    }


def test_open_failure_reason(media):
    assert open_failure_reason(media["good"]) is None
    assert open_failure_reason(media["corrupt"]) is None   # opens and gives a frame: not an open failure
    assert open_failure_reason(media["audio"]) == "no video stream (the mov,mp4,m4a,3gp,3g2,mj2 file holds audio)"
    assert open_failure_reason(media["text"]) == f"Invalid data found when processing input; FFmpeg: {MOOV}"


def test_stream_health_counts_packets_and_errors(media):
    assert stream_health(media["good"]) == StreamHealth(24, 0, 0, 0, "")
    assert stream_health(media["good"], max_packets=5) == StreamHealth(5, 0, 0, 0, "")
    assert stream_health(media["audio"]) is None
    assert stream_health(media["text"]) == StreamHealth(0, 1, 0, 1, MOOV)   # the open itself failed
    corrupt = stream_health(media["corrupt"])
    assert (corrupt.packets, corrupt.failed, corrupt.corrupt_frames) == (24, 0, 0)   # concealed damage...
    assert corrupt.errors > 0 and corrupt.first_error.startswith("[h264] ")         # ... that FFmpeg logged


def test_undecodable_reason_of_a_corrupt_stream(media):
    health = stream_health(media["corrupt"])
    assert undecodable_reason(media["corrupt"], {"reported_frame_count": 24, "frame_count": 24}) == (
        f"corrupt video stream: FFmpeg rejected 0 of 24 packets and reported {health.errors} decoding error(s); "
        f"no face in the frames it could decode; FFmpeg: {health.first_error}")


def test_undecodable_reason_of_a_cut_short_stream(media):
    assert TRUNCATED_SHARE == 0.9
    assert undecodable_reason(media["good"], {"reported_frame_count": 24, "frame_count": 21}) == (
        "truncated or corrupt video stream: the header declares 24 frames, only 21 could be decoded, no face in them")
    # 22 of 24 is above 90%: a clean video that truly has no face
    assert undecodable_reason(media["good"], {"reported_frame_count": 24, "frame_count": 22}) is None
    assert undecodable_reason(media["good"], {"reported_frame_count": 1, "frame_count": 0}) is None
    assert undecodable_reason(media["good"], {}) is None
