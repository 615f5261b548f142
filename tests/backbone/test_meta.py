"""backbone.meta: backbone.json read and checked (without torch); a bad value is a FileError naming it."""
import json

import pytest

from difffake.backbone.meta import FORMAT, MAX_INPUT_SIZE, META, read_backbone_json
from difffake.detector import DEFAULT_DIR
from difffake.errors import FileError

GOOD = {"format": 1, "timm_name": "tf_efficientnet_lite0", "input_size": 160, "embedding_size": 1280,
        "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}


def _write(tmp_path, meta, raw=None):
    path = tmp_path / META
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(json.dumps(meta))
    return path


def test_the_shipped_backbone_json_reads():
    meta = read_backbone_json(DEFAULT_DIR / META)
    assert meta["format"] == FORMAT == 1 and META == "backbone.json"
    assert meta["timm_name"] == "tf_efficientnet_lite0" and meta["embedding_size"] == 1280
    assert meta == json.loads((DEFAULT_DIR / META).read_text())


def test_a_minimal_file_reads_unchanged_with_optional_objects(tmp_path):
    meta = {**GOOD, "training": {"epochs": 3}, "config": {}, "versions": {"torch": "2"},
            "weights_origin": "none", "sha256": "ab" * 32, "mean": [0, 0.5, 1]}
    assert read_backbone_json(_write(tmp_path, meta)) == meta
    for size in (8, MAX_INPUT_SIZE):
        assert read_backbone_json(_write(tmp_path, {**GOOD, "input_size": size}))["input_size"] == size


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "not valid JSON (JSONDecodeError: "),
    (b"\xff\xfe\x00garbage", "not valid JSON (UnicodeDecodeError: "),
    (b"[" * 100000 + b"]" * 100000, "not valid JSON (RecursionError: "),
    (b'{"format": 2}', "unknown format 2 (expected 1)"),
    (b'{"timm_name": "x"}', "unknown format None (expected 1)"),
    (b"[1, 2]", "unknown format 'list' (expected 1)"),
])
def test_unreadable_or_foreign_files_name_the_file(tmp_path, raw, reason):
    path = _write(tmp_path, None, raw)
    with pytest.raises(FileError) as info:
        read_backbone_json(path)
    assert info.value.path == str(path) and info.value.reason.startswith(reason), info.value.reason
    assert str(info.value).startswith(f"{path}: ")


def test_a_missing_file_is_a_file_error(tmp_path):
    with pytest.raises(FileError, match=r"backbone.json: not valid JSON \(FileNotFoundError"):
        read_backbone_json(tmp_path / META)


@pytest.mark.parametrize("change, reason", [
    ({"timm_name": ""}, "timm_name must be a model name"),
    ({"timm_name": 3}, "timm_name must be a model name"),
    ({"input_size": 7}, f"input_size must be an integer in [8, {MAX_INPUT_SIZE}], got 7"),
    ({"input_size": MAX_INPUT_SIZE + 1}, f"input_size must be an integer in [8, {MAX_INPUT_SIZE}], got 2049"),
    ({"input_size": 160.0}, "input_size must be an integer in [8, 2048], got 160.0"),
    ({"input_size": True}, "input_size must be an integer in [8, 2048], got True"),
    ({"embedding_size": 0}, "embedding_size must be a positive integer, got 0"),
    ({"embedding_size": "1280"}, "embedding_size must be a positive integer, got '1280'"),
    ({"mean": [0.5, 0.5]}, "mean must be 3 finite numbers, got [0.5, 0.5]"),
    ({"mean": [0.5, 0.5, True]}, "mean must be 3 finite numbers, got [0.5, 0.5, True]"),
    ({"std": [0.5, 0.5, 1e999]}, "std must be 3 finite numbers, got [0.5, 0.5, inf]"),
    ({"std": [0.5, 0, 0.5]}, "std must not be 0"),
    ({"training": []}, "training must be an object"),
    ({"versions": "2.1"}, "versions must be an object"),
    ({"sha256": 12}, "sha256 must be a string"),
    ({"weights_origin": None}, "weights_origin must be a string"),
])
def test_each_unusable_value_is_named(tmp_path, change, reason):
    path = _write(tmp_path, {**GOOD, **change})
    with pytest.raises(FileError) as info:
        read_backbone_json(path)
    assert info.value.reason == reason and info.value.path == str(path)


def test_every_problem_is_reported_at_once(tmp_path):
    path = _write(tmp_path, {"format": 1, "std": [1, 1, 0]})
    with pytest.raises(FileError) as info:
        read_backbone_json(path)
    assert info.value.reason == ("timm_name must be a model name; "
                                 "input_size must be an integer in [8, 2048], got None; "
                                 "embedding_size must be a positive integer, got None; "
                                 "mean must be 3 finite numbers, got None; std must not be 0")


def test_a_long_bad_value_is_cut_in_the_message(tmp_path):
    path = _write(tmp_path, {**GOOD, "mean": ["x" * 1000]})
    with pytest.raises(FileError) as info:
        read_backbone_json(path)
    assert len(info.value.reason) == 200 and info.value.reason.startswith("mean must be 3 finite numbers, got ['xxx")
