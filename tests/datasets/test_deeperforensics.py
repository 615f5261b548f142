"""difffake.datasets.deeperforensics: fakes under manipulated_videos/<perturbation>/, split lists,
and the reals taken from an FF++ root."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_layout_support import touch

from difffake.datasets.deeperforensics import REAL_PREFIX, SPLIT_DIR, read_deeperforensics
from difffake.datasets.records import DatasetError


@pytest.fixture
def dfo(tmp_path) -> Path:
    root = tmp_path / "DeeperForensics-1.0"
    touch(root, "manipulated_videos/end_to_end/000_M101.mp4", "manipulated_videos/end_to_end/001_W102.mp4",
          "manipulated_videos/end_to_end/002_M103.mp4", "manipulated_videos/end_to_end_level_3/000_M101.mp4")
    lists = root / SPLIT_DIR
    lists.mkdir(parents=True)
    # list lines may carry folders and extra columns: only the file name counts
    (lists / "train.txt").write_text("end_to_end/000_M101.mp4 extra\n")
    (lists / "test.txt").write_text("# comment\n001_W102.mp4\n")
    return root


@pytest.fixture
def ffpp(tmp_path) -> Path:
    root = tmp_path / "FF++"
    for comp in ("c23", "c40"):
        touch(root, *(f"original_sequences/youtube/{comp}/videos/{i}.mp4" for i in ("000", "001")))
    (tmp_path / "ffpp_splits").mkdir()
    (tmp_path / "ffpp_splits" / "test.json").write_text(json.dumps([["001", "999"]]))
    return root


def test_fakes_with_splits_from_the_default_lists(dfo):
    assert SPLIT_DIR == Path("lists/splits")
    records = read_deeperforensics(dfo)
    assert [(r.video_id, r.label, r.method, r.split, r.group, r.dataset) for r in records] == [
        ("manipulated_videos/end_to_end/000_M101.mp4", "fake", "DeeperForensics/end_to_end", "train", "000",
         "deeperforensics"),
        ("manipulated_videos/end_to_end/001_W102.mp4", "fake", "DeeperForensics/end_to_end", "test", "001",
         "deeperforensics"),
        ("manipulated_videos/end_to_end/002_M103.mp4", "fake", "DeeperForensics/end_to_end", None, "002",
         "deeperforensics"),
    ]
    level3 = read_deeperforensics(dfo, perturbation="end_to_end_level_3", dataset="dfo-l3")
    assert [(r.video_id, r.method, r.split, r.dataset) for r in level3] == [
        ("manipulated_videos/end_to_end_level_3/000_M101.mp4", "DeeperForensics/end_to_end_level_3", "train",
         "dfo-l3")]


def test_reals_come_from_ffpp_with_prefixed_ids_compression_and_split(dfo, ffpp, tmp_path):
    records = read_deeperforensics(dfo, ffpp_root=ffpp, compression="c40", ffpp_splits=tmp_path / "ffpp_splits")
    reals = [r for r in records if r.label == "real"]
    assert REAL_PREFIX == "ffpp/"
    assert [(r.video_id, r.method, r.split, r.compression, r.group, r.dataset) for r in reals] == [
        ("ffpp/original_sequences/youtube/c40/videos/000.mp4", "real", None, "c40", "000", "deeperforensics"),
        ("ffpp/original_sequences/youtube/c40/videos/001.mp4", "real", "test", "c40", "001", "deeperforensics"),
    ]
    assert reals[1].path == (ffpp / "original_sequences/youtube/c40/videos/001.mp4").resolve()
    test = read_deeperforensics(dfo, ffpp_root=ffpp, ffpp_splits=tmp_path / "ffpp_splits", split="test")
    assert [r.video_id for r in test] == ["ffpp/original_sequences/youtube/c23/videos/001.mp4",
                                          "manipulated_videos/end_to_end/001_W102.mp4"]


def test_without_ffpp_only_fakes_are_listed_with_a_warning(dfo, caplog):
    with caplog.at_level("WARNING", logger="difffake.datasets"):
        records = read_deeperforensics(dfo)
    assert {r.label for r in records} == {"fake"}
    assert "DeeperForensics: no FF++ root given, only fakes are listed" in caplog.text


def test_split_lists_as_a_dict_or_a_folder(dfo, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "val.txt").write_text("002_M103.mp4\n")
    by_folder = read_deeperforensics(dfo, split_lists=mine)
    assert [r.split for r in by_folder] == [None, None, "val"]
    by_dict = read_deeperforensics(dfo, split_lists={"test": mine / "val.txt"})
    assert [r.split for r in by_dict] == [None, None, "test"]
    no_lists = tmp_path / "no_lists"
    no_lists.mkdir()
    assert {r.split for r in read_deeperforensics(dfo, split_lists=no_lists)} == {None}


def test_broken_layouts_name_the_file(dfo, tmp_path):
    with pytest.raises(DatasetError) as err:
        read_deeperforensics(dfo, perturbation="blur")
    assert str(err.value) == f"{dfo.resolve() / 'manipulated_videos/blur'}: perturbation folder 'blur' not found"
    with pytest.raises(DatasetError) as err:
        read_deeperforensics(dfo, split_lists=tmp_path / "nope")
    assert str(err.value) == (f"{tmp_path / 'nope'}: split_lists folder not found "
                              f"(expected train.txt/val.txt/test.txt)")
    (dfo / SPLIT_DIR / "val.txt").write_text("\n000_M101.mp4\n")     # already in train.txt
    with pytest.raises(DatasetError) as err:
        read_deeperforensics(dfo)
    assert str(err.value) == f"{dfo.resolve() / SPLIT_DIR / 'val.txt'}: line 2: 000_M101.mp4 is already in train.txt line 1"
    with pytest.raises(DatasetError) as err:
        read_deeperforensics(dfo, split="test", split_lists={"test": tmp_path / "gone.txt"})
    assert str(err.value) == f"{tmp_path / 'gone.txt'}: list file not found"
    with pytest.raises(DatasetError) as err:
        read_deeperforensics(tmp_path / "absent")
    assert str(err.value) == f"{tmp_path / 'absent'}: DeeperForensics root is not a folder (missing or not a directory)"
