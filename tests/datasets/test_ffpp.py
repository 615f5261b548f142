"""difffake.datasets.ffpp: the official FaceForensics++ tree, its compressions, methods and the
[target, source] pair split files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_layout_support import touch

from difffake.datasets.ffpp import (
    ALL_METHODS,
    STANDARD_METHODS,
    _target_of,
    default_splits,
    load_splits,
    read_ffpp,
    read_split_file,
)
from difffake.datasets.records import DatasetError


@pytest.fixture
def ffpp(tmp_path) -> Path:
    root = tmp_path / "FF++"
    touch(root, "original_sequences/youtube/raw/videos/071.mp4", "original_sequences/youtube/raw/videos/054.mp4",
          "manipulated_sequences/Deepfakes/raw/videos/071_054.mp4",
          "manipulated_sequences/FaceShifter/raw/videos/054_071.mp4",
          "original_sequences/actors/raw/videos/01__exit_phone_room.mp4",
          "manipulated_sequences/DeepFakeDetection/raw/videos/01_02__exit_phone_room__YVGY8LOK.mp4",
          "original_sequences/youtube/c23/videos/071.mp4")
    return root


def rows(records):
    return [(r.video_id, r.label, r.method, r.compression, r.group, r.split) for r in records]


def test_method_lists():
    assert STANDARD_METHODS == ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")
    assert ALL_METHODS == STANDARD_METHODS + ("FaceShifter", "DeepFakeDetection")


def test_raw_asked_as_c0_with_every_method_and_the_actors_originals(ffpp):
    records = read_ffpp(ffpp, compression="c0", methods="all")
    assert rows(records) == [
        ("manipulated_sequences/DeepFakeDetection/raw/videos/01_02__exit_phone_room__YVGY8LOK.mp4", "fake",
         "DeepFakeDetection", "c0", "01__exit_phone_room", None),
        ("manipulated_sequences/Deepfakes/raw/videos/071_054.mp4", "fake", "Deepfakes", "c0", "071", None),
        ("manipulated_sequences/FaceShifter/raw/videos/054_071.mp4", "fake", "FaceShifter", "c0", "054", None),
        ("original_sequences/actors/raw/videos/01__exit_phone_room.mp4", "real", "real", "c0",
         "01__exit_phone_room", None),
        ("original_sequences/youtube/raw/videos/054.mp4", "real", "real", "c0", "054", None),
        ("original_sequences/youtube/raw/videos/071.mp4", "real", "real", "c0", "071", None),
    ]
    # the standard four leave out FaceShifter, DeepFakeDetection and the actors' originals
    assert [r.video_id for r in read_ffpp(ffpp, compression="raw")] == [
        "manipulated_sequences/Deepfakes/raw/videos/071_054.mp4",
        "original_sequences/youtube/raw/videos/054.mp4", "original_sequences/youtube/raw/videos/071.mp4"]


def test_methods_as_cli_strings_and_originals_left_out(ffpp):
    picked = read_ffpp(ffpp, compression="raw", methods="Deepfakes+FaceShifter", include_originals=False,
                       dataset="ff")
    assert [(r.method, r.dataset) for r in picked] == [("Deepfakes", "ff"), ("FaceShifter", "ff")]
    assert [r.method for r in read_ffpp(ffpp, compression="raw", methods="FaceShifter, Deepfakes",
                                        include_originals=False)] == ["Deepfakes", "FaceShifter"]
    with pytest.raises(ValueError, match=r"unknown FF\+\+ methods \['DeepFake'\]"):
        read_ffpp(ffpp, methods="DeepFake")
    with pytest.raises(ValueError, match=r"unknown FF\+\+ compression 'c30': choose c0/raw, c23 or c40"):
        read_ffpp(ffpp, compression="c30")


def test_target_of_a_fake():
    assert _target_of("071_054") == "071"
    assert _target_of("01_02__exit_phone_room__YVGY8LOK") == "01__exit_phone_room"


def test_split_files_take_both_fake_directions(ffpp, tmp_path):
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "val.json").write_text(json.dumps([[71, 54]]))   # int ids are read as strings: "71", not "071"
    (splits / "test.json").write_text(json.dumps([["071", "054"]]))
    assert load_splits(splits) == {"val": {("71", "54")}, "test": {("071", "054")}}
    records = read_ffpp(ffpp, compression="raw", methods="all", splits=splits)
    assert {r.video_id: r.split for r in records} == {
        "manipulated_sequences/DeepFakeDetection/raw/videos/01_02__exit_phone_room__YVGY8LOK.mp4": None,
        "manipulated_sequences/Deepfakes/raw/videos/071_054.mp4": "test",
        "manipulated_sequences/FaceShifter/raw/videos/054_071.mp4": "test",
        "original_sequences/actors/raw/videos/01__exit_phone_room.mp4": None,
        "original_sequences/youtube/raw/videos/054.mp4": "test",
        "original_sequences/youtube/raw/videos/071.mp4": "test"}
    one = read_ffpp(ffpp, compression="raw", splits=splits / "test.json", split="test")
    assert len(one) == 3 and {r.split for r in one} == {"test"}
    by_dict = read_ffpp(ffpp, compression="raw", splits={"train": splits / "test.json"})
    assert {r.split for r in by_dict} == {"train"}


def test_default_split_folders_in_order(ffpp):
    (ffpp / "dataset/splits").mkdir(parents=True)
    (ffpp / "dataset/splits/test.json").write_text(json.dumps([["071", "054"]]))
    assert default_splits(ffpp, "test") == ffpp / "dataset/splits"
    (ffpp / "test.json").write_text("[]")
    assert default_splits(ffpp, "test") == ffpp / "dataset/splits"   # before "."
    (ffpp / "splits").mkdir()
    (ffpp / "splits/test.json").write_text(json.dumps([["054", "071"]]))
    assert default_splits(ffpp, "test") == ffpp / "splits"
    assert len(read_ffpp(ffpp, compression="raw", split="test")) == 3
    with pytest.raises(DatasetError) as err:
        default_splits(ffpp, "val")
    assert str(err.value).startswith(f"{ffpp}: split='val' needs FF++'s official split files: pass splits=DIR")


def test_broken_split_files_name_the_file(tmp_path):
    bad = tmp_path / "train.json"
    bad.write_text(json.dumps({"pairs": []}))
    with pytest.raises(DatasetError) as err:
        read_split_file(bad)
    assert str(err.value) == f"{bad}: expected a JSON list of [target, source] id pairs"
    bad.write_text(json.dumps([["071", "054"], ["071", None]]))
    with pytest.raises(DatasetError) as err:
        read_split_file(bad)
    assert str(err.value) == f'{bad}: pair 2 is ["071", null], expected [target, source] ids'
    with pytest.raises(DatasetError) as err:
        read_split_file(tmp_path / "gone.json")
    assert str(err.value) == f"{tmp_path / 'gone.json'}: split file not found"
    with pytest.raises(DatasetError) as err:
        load_splits(tmp_path / "no_such_dir")
    assert str(err.value) == (f"{tmp_path / 'no_such_dir'}: splits path not found "
                              f"(expected a folder with train/val/test.json or a .json file)")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError) as err:
        load_splits(tmp_path / "empty")
    assert str(err.value) == f"{tmp_path / 'empty'}: no train.json, val.json or test.json in the splits folder"


def test_a_missing_compression_is_no_videos_found(ffpp):
    with pytest.raises(DatasetError) as err:
        read_ffpp(ffpp, compression="c40")
    assert str(err.value) == f"{ffpp.resolve()}: no videos found"
