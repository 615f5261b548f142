"""model.json holds no absolute paths: info paths are relative to the detector folder on disk
and absolute again once loaded."""
import json
import shutil
from pathlib import Path

from difffake.detector import DEFAULT_DIR, Detector
from difffake.pool import paths_relative, paths_resolved


def _strings(v):
    if isinstance(v, dict):
        for x in v.values():
            yield from _strings(x)
    elif isinstance(v, list):
        for x in v:
            yield from _strings(x)
    elif isinstance(v, str):
        yield v


def test_shipped_model_json_has_no_absolute_paths():
    card = json.loads((DEFAULT_DIR / "model.json").read_text())
    assert not [s for s in _strings(card) if s.startswith("/")]


def test_loaded_info_paths_are_absolute_and_point_where_they_did():
    det = Detector.load(DEFAULT_DIR)
    info = det.info
    assert all(Path(s).is_absolute() for s in info["stores"])
    assert Path(info["backbone_dir"]).is_absolute() and Path(info["backbone_training"]["run_dir"]).is_absolute()
    sources = [e["source"] for e in info["pool"].values()]
    assert all(Path(s).is_absolute() for s in sources)
    assert all(s.endswith(e["id"].split("/")[-1]) for s, e in zip(sources, info["pool"].values()))


def test_round_trip_relative_then_resolved(tmp_path):
    folder = tmp_path / "det"
    store = tmp_path / "stores" / "real"
    info = {"stores": [str(store)], "backbone_dir": str(tmp_path / "run"),
            "pool": {"a.mp4": {"store": 0, "id": "a.mp4", "source": str(tmp_path / "media" / "a.mp4")},
                     "b.mp4": {"store": 0, "id": "b.mp4", "source": None}},
            "backbone_training": {"run_dir": str(tmp_path / "run"), "stores": [str(store)], "seed": 0},
            "note": "/not/a/path/field"}
    on_disk = paths_relative(info, folder)
    assert on_disk["stores"] == ["../stores/real"] and on_disk["backbone_dir"] == "../run"
    assert on_disk["pool"]["a.mp4"]["source"] == "../media/a.mp4" and on_disk["pool"]["b.mp4"]["source"] is None
    assert on_disk["note"] == info["note"]                     # only the path fields
    back = paths_resolved(on_disk, folder)
    assert back == {**info, "stores": [str(store.resolve())], "backbone_dir": str((tmp_path / "run").resolve()),
                    "pool": {**info["pool"], "a.mp4": {**info["pool"]["a.mp4"],
                                                       "source": str((tmp_path / "media" / "a.mp4").resolve())}},
                    "backbone_training": {**info["backbone_training"],
                                          "run_dir": str((tmp_path / "run").resolve()),
                                          "stores": [str(store.resolve())]}}
    # detectors made before keep their absolute paths
    assert paths_resolved(info, folder)["stores"] == info["stores"]


def test_saved_detector_writes_relative_paths(tmp_path):
    det = Detector.load(DEFAULT_DIR, engine="torch")   # saving needs the torch backbone
    out = tmp_path / "copy"
    det.save(out)
    card = json.loads((out / "model.json").read_text())
    assert not [s for s in _strings(card["info"]) if s.startswith("/")]
    again = Detector.load(out)
    assert again.info["stores"] == det.info["stores"]
    assert again.info["pool"] == det.info["pool"]
    shutil.rmtree(out)
