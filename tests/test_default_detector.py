"""The detector shipped inside the package: loads offline, is small, says how it was made."""
import json
from pathlib import Path

import pytest

import difffake
from difffake.detector import DEFAULT_DIR

pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "model.json").exists(),
                                reason="no default detector built into this checkout")


def test_default_detector_is_small_and_never_pickled():
    files = {p.name: p.stat().st_size for p in DEFAULT_DIR.iterdir() if p.is_file()}
    assert {"backbone.safetensors", "backbone.json", "backbone.onnx", "density.npz", "model.json"} <= set(files)
    # backbone.onnx repeats the weights (13 MB) so that a scan needs no torch
    assert sum(files.values()) < 30 * 2**20
    assert not [n for n in files if n.endswith((".pt", ".pth", ".pkl", ".pickle"))]


def test_default_detector_was_made_from_real_media_only():
    card = json.loads((DEFAULT_DIR / "model.json").read_text())
    info = card["info"]
    assert info["fit_ids"] and info["cal_ids"]
    # fitted and calibrated on real clips of the real/ store only, never on dev/ or fakes
    assert all(i.removeprefix("degraded/").startswith("videos/") for i in info["fit_ids"] + info["cal_ids"])
    assert "build_default_detector.sh" in json.dumps(card)
    assert card["calibration"]["threshold"] is not None


def test_default_detector_scans_offline(synthetic_videos, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    det = difffake.Detector.load()
    res = det.scan(Path(synthetic_videos) / "astro_0.mp4")
    assert res.status == "ok" and res.verdict in ("real", "fake")
    assert res.n_faces == res.n_frames
    assert 0 < res.p_value_real <= 1


def test_default_detector_on_dev_pair(shared_data):
    """One frame-aligned DeepFaceLive twin pair from dev (evaluation only): both scored."""
    det = difffake.Detector.load()
    real = det.scan(shared_data / "dev" / "real" / "dfl_Keanu_Reeves_0.mp4")
    fake = det.scan(shared_data / "dev" / "fake" / "dfl_Keanu_Reeves_0.mp4")
    assert real.status == fake.status == "ok"
    assert real.n_faces >= 30 and fake.n_faces >= 30
    assert real.score != fake.score
