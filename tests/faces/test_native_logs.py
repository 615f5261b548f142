"""difffake.faces.native_logs: OpenCV's and FFmpeg's own printing silenced, FFmpeg's messages
captured through PyAV and logged on "difffake.ffmpeg"."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from media_corpus import encode, face_frames

from difffake.faces.native_logs import _Messages, ffmpeg_messages

REPO = Path(__file__).resolve().parents[2]
PROBE = ("import os, cv2\n"
         "from difffake.faces.native_logs import quiet_opencv\n"
         "quiet_opencv()\n"
         "first = os.environ.pop('OPENCV_FFMPEG_LOGLEVEL', None)\n"
         "quiet_opencv()   # once per process: the second call sets nothing again\n"
         "print(first, os.environ.get('OPENCV_FFMPEG_LOGLEVEL'), cv2.utils.logging.getLogLevel())\n")


def probe(**env_vars) -> str:
    """quiet_opencv in a fresh process (it acts once per process): what it left set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENCV_")}
    env.update(PYTHONPATH=str(REPO / "src"), **env_vars)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_quiet_opencv_silences_both_unless_the_user_chose():
    # first call: FFmpeg's level -8 (AV_LOG_QUIET), OpenCV's log level 0 (SILENT); the second does nothing
    assert probe() == "-8 None 0"
    # the user's own settings are kept (OpenCV's INFO level is 4)
    assert probe(OPENCV_FFMPEG_LOGLEVEL="24", OPENCV_LOG_LEVEL="INFO") == "24 None 4"


@pytest.fixture(scope="module")
def moov_less(tmp_path_factory, astronaut_rgb) -> Path:
    folder = tmp_path_factory.mktemp("native_logs")
    data = encode(folder / "good.mp4", face_frames(astronaut_rgb, 3)).read_bytes()
    path = folder / "moov_less.mp4"
    path.write_bytes(data[: data.rfind(b"moov") - 4])   # the index cut off
    return path


def test_ffmpeg_messages_are_captured_logged_and_the_level_restored(moov_less, caplog):
    av = pytest.importorskip("av")
    av_logging = pytest.importorskip("av.logging")

    before = (av_logging.get_level(), av_logging.get_skip_repeated())
    with caplog.at_level(logging.DEBUG, logger="difffake.ffmpeg"):
        for _ in range(2):   # the same message again is not swallowed as a repeat
            with ffmpeg_messages() as messages:
                with pytest.raises(av.InvalidDataError):
                    av.open(str(moov_less))
            assert messages == [(16, "mov,mp4,m4a,3gp,3g2,mj2", "moov atom not found")]
            assert messages.errors == ["[mov,mp4,m4a,3gp,3g2,mj2] moov atom not found"]
    logged = [r.getMessage() for r in caplog.records if r.name == "difffake.ffmpeg"]
    assert logged == ["ffmpeg [mov,mp4,m4a,3gp,3g2,mj2] moov atom not found"] * 2
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "difffake.ffmpeg")
    assert (av_logging.get_level(), av_logging.get_skip_repeated()) == before


def test_a_clean_file_logs_nothing(moov_less):
    av = pytest.importorskip("av")
    with ffmpeg_messages() as messages:
        with av.open(str(moov_less.parent / "good.mp4")) as container:
            frames = sum(1 for _ in container.decode(video=0))
    assert frames == 3 and messages == [] and messages.errors == []


def test_errors_keep_error_level_and_worse_with_their_source():
    messages = _Messages([(8, "h264", "fatal thing"), (16, "", "no source"), (24, "mov", "a warning"),
                          (32, "mov", "info")])
    assert messages.errors == ["[h264] fatal thing", "no source"]
