"""Decode-level reasons, difffake's pixel limit, FFmpeg's messages and the low-evidence flag
(issue 12, points 3, 4, 6, 7, 10), on small files made here."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_corpus import encode, face_frames, flip_bytes, png_by_hand

from difffake.errors import MediaError, UsageError
from difffake.faces.limits import DEFAULT_MAX_PIXELS, max_pixels, reduce_factor
from difffake.faces.video import iter_frames, sample_frames

REPO = Path(__file__).resolve().parents[2]


def test_giant_png_header_is_refused_with_its_size(tmp_path):
    path = png_by_hand(tmp_path / "giant.png", 60000, 60000, rows=2)
    with pytest.raises(MediaError, match=r"giant.png: image is 60000x60000 pixels \(3600 MP\), above "
                                         r"difffake's limit of 50 MP; set DIFFFAKE_MAX_PIXELS"):
        sample_frames(path, 1)


def test_opencv_assertion_becomes_a_reason(tmp_path):
    """A file Pillow cannot size (Radiance HDR) goes to OpenCV; OpenCV's own size assertion is
    a MediaError with a short reason, not the 'unexpected' path with its assertion text."""
    from difffake.faces import images
    path = tmp_path / "giant.hdr"
    path.write_bytes(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 60000 +X 60000\n" + bytes(100))
    assert images.image_header(path) is None
    with pytest.raises(MediaError, match=r"giant.hdr: not a readable image \(OpenCV refused it: "
                                         r"pixels <= CV_IO_MAX_IMAGE_PIXELS\)$"):
        images.read_image(path, {})


def test_pixel_limit_is_configurable(tmp_path, monkeypatch):
    path = png_by_hand(tmp_path / "wide.png", 3000, 2000)   # 6 MP
    monkeypatch.setenv("DIFFFAKE_MAX_PIXELS", "5e6")
    assert max_pixels() == 5_000_000
    with pytest.raises(MediaError, match="3000x2000 pixels .* limit of 5.0 MP"):
        sample_frames(path, 1)
    got = list(iter_frames(path, 1, max_pixels=7_000_000))   # an explicit limit wins
    assert got[0][1].shape == (2000, 3000, 3)
    monkeypatch.setenv("DIFFFAKE_MAX_PIXELS", "lots")
    with pytest.raises(UsageError, match="DIFFFAKE_MAX_PIXELS='lots' is not a number"):
        max_pixels()
    monkeypatch.delenv("DIFFFAKE_MAX_PIXELS")
    assert max_pixels() == DEFAULT_MAX_PIXELS == 50_000_000


def test_large_jpeg_is_decoded_reduced(tmp_path, astronaut_rgb):
    canvas = np.full((2400, 3000, 3), 100, np.uint8)
    canvas[:512, :512] = astronaut_rgb
    path = tmp_path / "big.jpg"
    assert cv2.imwrite(str(path), cv2.cvtColor(canvas, cv2.COLOR_RGB2BGR))
    info: dict = {}
    [(_, rgb)] = list(iter_frames(path, 1, info, max_pixels=2_000_000))   # 7.2 MP: 1/2 is 1.8 MP
    assert rgb.shape == (1200, 1500, 3) and info["reduced"] == 2
    full = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    small = cv2.resize(full, (1500, 1200), interpolation=cv2.INTER_AREA)
    assert np.abs(rgb.astype(int) - small.astype(int)).mean() < 3   # the same picture, reduced
    assert reduce_factor(15000, 15000, DEFAULT_MAX_PIXELS) == 4
    assert reduce_factor(60000, 60000, DEFAULT_MAX_PIXELS) is None


def test_video_frames_above_the_limit_are_refused(tmp_path, astronaut_rgb):
    path = encode(tmp_path / "clip.mp4", face_frames(astronaut_rgb, 3))
    with pytest.raises(MediaError, match=r"video frame is 256x256 pixels .* limit"):
        list(iter_frames(path, 3, max_pixels=60_000))
    assert len(list(iter_frames(path, 3))) == 3


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    outcome = {}

    def read():
        try:
            sample_frames(fifo, 4)
        except MediaError as exc:
            outcome["error"] = str(exc)

    t = threading.Thread(target=read, daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():   # unblock the reader before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert outcome["error"] == f"{fifo}: not a regular file: a FIFO (named pipe); copy its content to a file first"


def test_fifo_evidence_probe_does_not_block(tmp_path):
    from difffake.evidence import evidence_or_none, probe_media
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    with pytest.raises(MediaError, match="not a regular file"):
        probe_media(fifo)
    assert evidence_or_none(fifo) is None


def test_permission_denied_is_said(tmp_path):
    from difffake.faces.file_checks import check_readable
    path = tmp_path / "locked.mp4"
    path.write_bytes(b"\0" * 64)
    path.chmod(0)
    code = ("import sys; from difffake.faces.file_checks import check_readable\n"
            "from difffake.errors import MediaError\n"
            "try: check_readable(sys.argv[1])\nexcept MediaError as e: print(e)")
    prefix = []
    if os.geteuid() == 0:   # root reads anything: drop the two capabilities that allow it
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all"]
        try:
            subprocess.run(prefix + ["true"], check=True)
        except (OSError, subprocess.CalledProcessError):
            pytest.skip("running as root and setpriv cannot drop CAP_DAC_OVERRIDE here")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    done = subprocess.run(prefix + [sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, env=env, timeout=60)
    assert done.stdout.strip() == f"{path}: permission denied (no read permission for this user)", done.stderr
    path.chmod(0o600)
    assert check_readable(path) == 64


def test_corrupt_stream_is_an_error_not_no_face(tmp_path, astronaut_rgb):
    from difffake.config import FaceConfig
    from difffake.faces.pipeline import extract_faces
    pytest.importorskip("av")
    good = encode(tmp_path / "good.mp4", face_frames(astronaut_rgb, 24))
    bad = flip_bytes(good, tmp_path / "bad.mp4", good.read_bytes().find(b"mdat") + 60, 400)
    frames, _, _ = sample_frames(bad, 8)
    assert len(frames) == 8   # OpenCV "decodes" every frame (concealed damage)...
    with pytest.raises(MediaError, match=r"bad.mp4: corrupt video stream: FFmpeg rejected \d+ of 24 "
                                         r"packets and reported \d+ decoding error"):
        extract_faces(bad, FaceConfig(num_frames=8))   # ... but it is unreadable, not "no face"
    flat = encode(tmp_path / "flat.mp4", [np.full((128, 128, 3), 90, np.uint8)] * 6)
    record = extract_faces(flat, FaceConfig(num_frames=6))   # decoded cleanly: truly no face
    assert record.num_faces == 0 and record.num_frames == 6


def test_ffmpeg_reason_is_kept(tmp_path, astronaut_rgb):
    pytest.importorskip("av")
    good = encode(tmp_path / "good.mp4", face_frames(astronaut_rgb, 4)).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(good[: good.rfind(b"moov") - 4])
    with pytest.raises(MediaError, match=r"cut.mp4: cannot be opened as a video .*FFmpeg: \[mov,mp4.*\] "
                                         r"moov atom not found"):
        sample_frames(cut, 4)
    with pytest.raises(MediaError, match="moov atom not found"):   # FFmpeg says it only once: asked again
        sample_frames(cut, 4)


def test_gif_keeps_ffmpeg_reason_beside_pils(tmp_path):
    path = tmp_path / "broken.gif"
    path.write_bytes(b"GIF89a" + b"\x00" * 40)
    with pytest.raises(MediaError, match=r"broken.gif: not a readable GIF \(FFmpeg: .+; PIL: .+\)"):
        sample_frames(path, 4)


def test_no_raw_ffmpeg_or_opencv_lines_on_stderr(tmp_path, astronaut_rgb):
    """Before: '[mov,mp4,...] moov atom not found' and '[ WARN:0@..] ... PNG input buffer is
    incomplete' reached stderr. With -v the FFmpeg lines come back prefixed, on our logger."""
    good = encode(tmp_path / "good.mp4", face_frames(astronaut_rgb, 4)).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(good[: good.rfind(b"moov") - 4])
    ok, png = cv2.imencode(".png", astronaut_rgb)
    (tmp_path / "cut.png").write_bytes(png.tobytes()[:5000])
    code = ("import logging, sys\nlogging.basicConfig(level=sys.argv[1], format='difffake: %(name)s %(message)s')\n"
            "from difffake.faces.video import sample_frames\nfrom difffake.errors import MediaError\n"
            "for p in sys.argv[2:]:\n    try: sample_frames(p, 4)\n    except MediaError as e: print(e)")
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    for level in ("INFO", "DEBUG"):
        done = subprocess.run([sys.executable, "-c", code, level, "cut.mp4", "cut.png"], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=120)
        assert done.stdout.count("\n") == 2, done.stdout
        stray = [ln for ln in done.stderr.splitlines() if ln.strip() and not ln.startswith("difffake: ")]
        assert stray == [], stray
        if level == "DEBUG" and _has_av():
            assert "difffake: difffake.ffmpeg ffmpeg [mov,mp4,m4a,3gp,3g2,mj2] moov atom not found" in done.stderr


def _has_av() -> bool:
    try:
        import av  # noqa: F401
        return True
    except ImportError:
        return False


def test_low_evidence_flag(tiny_detector, astronaut_rgb, tmp_path):
    """The tiny detector was calibrated on 6 frames (3 pairs with the paper's pairing): a
    2-frame video gives 1 pair: verdict kept, marked low; a 6-frame one is normal."""
    from difffake.anomaly.evidence_level import expected_pairs
    expected = expected_pairs(tiny_detector.anomaly.cfg, 6)
    assert expected >= 3
    two = encode(tmp_path / "two.mp4", face_frames(astronaut_rgb, 2))
    six = encode(tmp_path / "six.mp4", face_frames(astronaut_rgb, 6, seed=4))
    thin, full = tiny_detector.scan(two), tiny_detector.scan(six)
    assert thin.status == full.status == "ok"
    assert thin.verdict in ("real", "fake") and thin.score is not None   # the verdict stands
    assert (thin.evidence_level, thin.n_pairs, thin.pairs_expected) == ("low", 1, expected)
    assert "1 frame pair(s) scored, the detector was calibrated on" in thin.evidence_note
    assert (full.evidence_level, full.pairs_expected, full.evidence_note) == ("normal", expected, None)
    assert thin.to_dict()["evidence_level"] == "low"


def test_low_evidence_in_text_line_and_report(tiny_detector, astronaut_rgb, tmp_path):
    from difffake.commands.scan import _line
    from difffake.report import write_report
    two = encode(tmp_path / "two.mp4", face_frames(astronaut_rgb, 2))
    thin = tiny_detector.scan(two)
    assert f"LOW-EVIDENCE(1/{thin.pairs_expected} pairs)" in _line(thin)
    out = write_report(tmp_path / "r.html", [thin], tiny_detector) or tmp_path / "r.html"
    html = Path(out).read_text()
    assert 'id="low-evidence"' in html and "Only 1 frame pair(s) were scored" in html


FUZZ_CRASHES = REPO / "tests" / "fuzz_crashes" / "media_reader"


@pytest.mark.parametrize("crash", sorted(p.name for p in FUZZ_CRASHES.glob("*")) if FUZZ_CRASHES.is_dir() else [])
def test_media_reader_fuzz_crash_is_fixed(crash):
    """Every input atheris found that crashed the reader now ends in a MediaError or frames."""
    sys.path.insert(0, str(REPO / "scripts" / "fuzz" / "targets"))
    try:
        import media_reader
    finally:
        sys.path.pop(0)
    media_reader.one_input((FUZZ_CRASHES / crash).read_bytes())   # raises on anything but DifffakeError


def test_gif_frame_errors_are_reasons(tmp_path):
    """Fuzzing found Pillow raising IndexError (n_frames of a cut GIF) and DecompressionBombError
    (a later frame declaring 8.5 G pixels): both are the file's reason now."""
    data = (FUZZ_CRASHES / "gif_n_frames_indexerror").read_bytes()[1:]
    path = tmp_path / "cut.gif"
    path.write_bytes(data)
    with pytest.raises(MediaError, match=r"cut.gif: not a readable GIF \(FFmpeg: .*; PIL: IndexError"):
        sample_frames(path, 4)


def test_content_cache_never_hashes_a_fifo(tmp_path):
    from difffake.faces.content_cache import ContentCache
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    cache = ContentCache(tmp_path / "cache", {"k": 1})
    box = {}
    t = threading.Thread(target=lambda: box.setdefault("key", cache.key(fifo)), daemon=True)
    t.start()
    t.join(10)
    if t.is_alive():
        with open(fifo, "wb"):
            pass
        pytest.fail("hashing a FIFO blocked")
    assert box["key"] is None


def test_bad_pixel_limit_setting_is_a_usage_error(tmp_path):
    png = png_by_hand(tmp_path / "small.png", 8, 8)
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), DIFFFAKE_MAX_PIXELS="lots")
    done = subprocess.run([sys.executable, "-m", "difffake", "scan", str(png)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == ("difffake: error: DIFFFAKE_MAX_PIXELS='lots' is not a number of "
                                   "pixels (e.g. 80000000)")
    assert done.stdout == ""
