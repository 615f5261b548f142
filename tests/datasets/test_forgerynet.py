"""difffake.datasets.forgerynet: video lists 'path label [type]' (1 = fake), paths relative to the root."""
from __future__ import annotations

import logging

import pytest
from dataset_layout_support import touch

from difffake.datasets.forgerynet import DEFAULT_LISTS, find_list, read_forgerynet
from difffake.datasets.records import DatasetError


def rows(records):
    return [(r.video_id, r.label, r.method, r.split, r.dataset) for r in records]


def test_find_list_takes_the_first_documented_name(tmp_path):
    assert DEFAULT_LISTS[0] == "video_list.txt" and "Validation/video_list.txt" in DEFAULT_LISTS
    assert find_list(tmp_path) is None
    touch(tmp_path, "video_list.csv", "Validation/video_list.txt")
    assert find_list(tmp_path) == tmp_path / "Validation/video_list.txt"
    touch(tmp_path, "video_list.txt")
    assert find_list(tmp_path) == tmp_path / "video_list.txt"


def test_records_methods_and_the_split_the_list_describes(tmp_path, caplog):
    root = tmp_path / "ForgeryNet"
    touch(root, "val/a/1.mp4", "val/b/2.mp4", "val/c/3.mp4")
    (root / "Validation").mkdir()
    (root / "Validation/video_list.txt").write_text(
        "video_name,label,type\n/val/a/1.mp4,1,7\nval/b/2.mp4,0,0\nval/c/3.mp4,1,\nval/gone.mp4,1,3\n")
    with caplog.at_level(logging.WARNING, logger="difffake.datasets"):
        records = read_forgerynet(root, split="validation", dataset="fn")
    assert rows(records) == [
        ("val/a/1.mp4", "fake", "type-7", "val", "fn"),   # a leading "/" is still root-relative
        ("val/b/2.mp4", "real", "real", "val", "fn"),
        ("val/c/3.mp4", "fake", "fake", "val", "fn"),     # an empty type column
    ]
    assert records[0].path == root.resolve() / "val/a/1.mp4"
    assert "ForgeryNet: 1 videos of" in caplog.text and "missing on disk, skipped" in caplog.text
    unchecked = read_forgerynet(root, split=None, check_exists=False)
    assert [(r.video_id, r.split, r.dataset) for r in unchecked][-1] == ("val/gone.mp4", None, "forgerynet")
    assert len(unchecked) == 4


def test_list_file_relative_to_the_root(tmp_path):
    root = tmp_path / "fn"
    touch(root, "v/x.mp4")
    (root / "lists").mkdir()
    (root / "lists/mine.txt").write_text("v/x.mp4 1 5 extra\n")
    assert rows(read_forgerynet(root, list_file="lists/mine.txt")) == [("v/x.mp4", "fake", "type-5", "test",
                                                                         "forgerynet")]


def test_broken_lists_name_the_file(tmp_path):
    root = tmp_path / "fn"
    touch(root, "v/x.mp4")
    with pytest.raises(DatasetError) as err:
        read_forgerynet(root)
    assert str(err.value) == (f"{root.resolve()}: no video list found (looked for {', '.join(DEFAULT_LISTS)}); "
                              f"pass list_file=")
    listing = root / "video_list.txt"
    listing.write_text("v/x.mp4 1\nv/x.mp4\n")   # only a FIRST line without a label is a header
    with pytest.raises(DatasetError) as err:
        read_forgerynet(root)
    assert str(err.value) == f"{listing.resolve()}: line 2: expected '<path> <0 real|1 fake>', got 'v/x.mp4'"
    listing.write_text("v/x.mp4 1\n")
    with pytest.raises(DatasetError) as err:
        read_forgerynet(root, split="holdout")
    assert str(err.value) == f"{listing.resolve()}: unknown split 'holdout' (expected one of ('train', 'val', 'test'))"
    listing.write_text("v/missing.mp4 1\n")
    with pytest.raises(DatasetError) as err:
        read_forgerynet(root)
    assert str(err.value) == f"{listing.resolve()}: no videos found"
