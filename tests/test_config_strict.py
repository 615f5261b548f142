"""One config-from-dict: unknown keys are refused by name, old detector folders still load."""
import json

import pytest

from difffake.config import (
    AnomalyConfig,
    Config,
    ConfigError,
    FaceConfig,
    preset,
    section_from_dict,
)
from difffake.detector import DEFAULT_DIR


def test_round_trip_is_exact():
    for name in ("cpu", "paper"):
        cfg = preset(name)
        assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_unknown_key_names_key_and_section():
    data = Config().to_dict()
    data["anomaly"]["gmm_componets"] = 4            # a typo must not be dropped silently
    with pytest.raises(ConfigError, match=r"'gmm_componets' in anomaly"):
        Config.from_dict(data)


def test_unknown_section_is_named():
    with pytest.raises(ConfigError, match=r"section 'anomally'.*anomaly"):
        Config.from_dict({"anomally": {}})


def test_section_must_be_an_object():
    with pytest.raises(ConfigError, match="faces must be an object"):
        Config.from_dict({"faces": [1, 2]})


def test_missing_keys_take_defaults_and_lists_become_tuples():
    cfg = section_from_dict(AnomalyConfig, {"knn_k": 9}, "anomaly")
    assert cfg.knn_k == 9 and cfg.gmm_components == AnomalyConfig().gmm_components
    synth = Config.from_dict({"synth": {"blend_ratios": [0.5, 1.0]}}).synth
    assert synth.blend_ratios == (0.5, 1.0)


def test_drop_is_explicit():
    got = section_from_dict(FaceConfig, {"num_frames": 8, "written_by": "x"}, "store", unknown="drop")
    assert got.num_frames == 8
    with pytest.raises(ConfigError, match="'written_by' in store"):
        section_from_dict(FaceConfig, {"num_frames": 8, "written_by": "x"}, "store")


def test_shipped_model_json_sections_are_all_known():
    card = json.loads((DEFAULT_DIR / "model.json").read_text())
    section_from_dict(AnomalyConfig, card["anomaly_config"], "anomaly_config")
    section_from_dict(FaceConfig, card["face_config"], "face_config")


def test_detector_folder_with_unknown_setting_is_refused(tmp_path):
    import shutil

    from difffake.detector import Detector
    from difffake.detector_folder import DetectorFolderError

    folder = tmp_path / "det"
    shutil.copytree(DEFAULT_DIR, folder)
    card = json.loads((folder / "model.json").read_text())
    card["face_config"]["num_frame"] = 8            # model.json is not under its own checksum
    (folder / "model.json").write_text(json.dumps(card))
    with pytest.raises(DetectorFolderError, match="num_frame"):
        Detector.load(folder)
