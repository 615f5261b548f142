"""difffake.datasets.folder: <root>/real/** and <root>/fake/**, any media file, fake/<method>/ naming
the method."""
from __future__ import annotations

import pytest
from dataset_layout_support import touch

from difffake.datasets.folder import read_folder
from difffake.datasets.records import DatasetError


def test_records_of_a_plain_folder(tmp_path):
    root = tmp_path / "my_set"
    touch(root, "real/b.mp4", "real/people/ann/a.JPG", "real/readme.md", "fake/x.webm",
          "fake/SimSwap/deeper/y.png", "fake/SimSwap/z.mkv", "other/ignored.mp4")
    records = read_folder(root)
    assert [(r.video_id, r.label, r.method, r.dataset, r.split, r.group) for r in records] == [
        ("fake/SimSwap/deeper/y.png", "fake", "SimSwap", "my_set", None, None),
        ("fake/SimSwap/z.mkv", "fake", "SimSwap", "my_set", None, None),
        ("fake/x.webm", "fake", "fake", "my_set", None, None),
        ("real/b.mp4", "real", "real", "my_set", None, None),
        ("real/people/ann/a.JPG", "real", "real", "my_set", None, None),   # a real's subfolder is no method
    ]
    assert records[3].path == root.resolve() / "real/b.mp4"
    assert {r.dataset for r in read_folder(root, dataset="named")} == {"named"}


def test_only_one_of_the_two_folders(tmp_path):
    touch(tmp_path / "reals_only", "real/a.mp4")
    assert [(r.video_id, r.label) for r in read_folder(tmp_path / "reals_only")] == [("real/a.mp4", "real")]
    touch(tmp_path / "fakes_only", "fake/a.mp4")
    assert [(r.video_id, r.label) for r in read_folder(tmp_path / "fakes_only")] == [("fake/a.mp4", "fake")]


def test_broken_layouts_name_the_folder(tmp_path):
    touch(tmp_path / "flat", "a.mp4")
    with pytest.raises(DatasetError) as err:
        read_folder(tmp_path / "flat")
    assert str(err.value) == f"{(tmp_path / 'flat').resolve()}: neither real/ nor fake/ subfolder found"
    touch(tmp_path / "text", "real/a.txt", "fake/b.csv")
    with pytest.raises(DatasetError) as err:
        read_folder(tmp_path / "text")
    assert str(err.value) == f"{(tmp_path / 'text').resolve()}: no videos found"
    with pytest.raises(DatasetError) as err:
        read_folder(tmp_path / "flat" / "a.mp4")
    assert str(err.value) == f"{tmp_path / 'flat' / 'a.mp4'}: dataset folder is not a folder (missing or not a directory)"
