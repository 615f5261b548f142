"""difffake.datasets.celebdf: the Celeb-DF v2 tree and its List_of_testing_videos.txt (1 = REAL)."""
from __future__ import annotations

import logging
from pathlib import Path

import pytest
from dataset_layout_support import touch

from difffake.datasets.celebdf import FOLDERS, TEST_LIST, read_celebdf, read_test_list
from difffake.datasets.records import DatasetError


@pytest.fixture
def celebdf(tmp_path) -> Path:
    root = tmp_path / "Celeb-DF-v2"
    touch(root, "Celeb-real/id0_0003.mp4", "Celeb-real/id16_0001.mp4", "YouTube-real/00170.mp4",
          "Celeb-synthesis/id0_id16_0003.mp4", "Celeb-synthesis/odd_name.mp4",
          "Celeb-real/notes.txt")   # not a video: never listed
    return root


def rows(records):
    return [(r.video_id, r.label, r.method, r.split, r.group, r.dataset) for r in records]


def test_folders_and_list_name_are_the_documented_ones():
    assert FOLDERS == {"Celeb-real": "real", "YouTube-real": "real", "Celeb-synthesis": "fake"}
    assert TEST_LIST == "List_of_testing_videos.txt"


def test_without_the_list_every_record_has_no_split(celebdf):
    records = read_celebdf(celebdf)
    assert rows(records) == [
        ("Celeb-real/id0_0003.mp4", "real", "real", None, "id0_0003", "celebdf"),
        ("Celeb-real/id16_0001.mp4", "real", "real", None, "id16_0001", "celebdf"),
        # "id0_id16_0003" puts id16's face into id0_0003: grouped with that real video
        ("Celeb-synthesis/id0_id16_0003.mp4", "fake", "Celeb-synthesis", None, "id0_0003", "celebdf"),
        ("Celeb-synthesis/odd_name.mp4", "fake", "Celeb-synthesis", None, "odd_name", "celebdf"),
        ("YouTube-real/00170.mp4", "real", "real", None, "00170", "celebdf"),
    ]
    assert records[0].path == (celebdf / "Celeb-real/id0_0003.mp4").resolve()
    assert [r.is_fake for r in records] == [0, 0, 1, 1, 0]


def test_list_gives_test_and_train_and_a_custom_dataset_name(celebdf, tmp_path):
    listing = tmp_path / "my_list.txt"
    listing.write_text("# official test list\n1 YouTube-real/00170.mp4\n\n0 Celeb-synthesis/id0_id16_0003.mp4\n")
    records = read_celebdf(celebdf, test_list=listing, dataset="cdf2")
    assert {r.video_id: r.split for r in records} == {
        "Celeb-real/id0_0003.mp4": "train", "Celeb-real/id16_0001.mp4": "train",
        "Celeb-synthesis/id0_id16_0003.mp4": "test", "Celeb-synthesis/odd_name.mp4": "train",
        "YouTube-real/00170.mp4": "test"}
    assert {r.dataset for r in records} == {"cdf2"}
    train = read_celebdf(celebdf, test_list=listing, split="training")   # split aliases are accepted
    assert [r.video_id for r in train] == ["Celeb-real/id0_0003.mp4", "Celeb-real/id16_0001.mp4",
                                           "Celeb-synthesis/odd_name.mp4"]


def test_read_test_list_maps_ids_to_labels(tmp_path):
    listing = tmp_path / TEST_LIST
    listing.write_text("1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id0_id16_0003.mp4\n")
    assert read_test_list(listing) == {"YouTube-real/00170.mp4": "real",
                                       "Celeb-synthesis/id0_id16_0003.mp4": "fake"}


def test_a_video_listed_twice_names_file_and_line(tmp_path):
    listing = tmp_path / TEST_LIST
    listing.write_text("1 YouTube-real/00170.mp4\n\n1 YouTube-real/00170.mp4\n")
    with pytest.raises(DatasetError) as err:
        read_test_list(listing)
    assert str(err.value) == f"{listing}: line 3: YouTube-real/00170.mp4 is listed twice"


def test_a_line_with_three_fields_names_file_and_line(tmp_path):
    listing = tmp_path / TEST_LIST
    listing.write_text("1 YouTube-real/00170.mp4 extra\n")
    with pytest.raises(DatasetError) as err:
        read_test_list(listing)
    assert str(err.value) == (f"{listing}: line 1: expected '<1 real|0 fake> <relative path>', "
                              f"got '1 YouTube-real/00170.mp4 extra'")


def test_a_listed_video_in_the_wrong_folder_is_refused(celebdf):
    (celebdf / TEST_LIST).write_text("1 Celeb-synthesis/id0_id16_0003.mp4\n")   # 1 = REAL, but a fake
    with pytest.raises(DatasetError) as err:
        read_celebdf(celebdf)
    assert str(err.value) == (f"{celebdf / TEST_LIST}: Celeb-synthesis/id0_id16_0003.mp4 listed as real "
                              f"but lies in Celeb-synthesis/")


def test_listed_videos_missing_on_disk_are_counted_in_a_warning(celebdf, caplog):
    (celebdf / TEST_LIST).write_text("1 YouTube-real/00170.mp4\n1 YouTube-real/00999.mp4\n0 Celeb-synthesis/gone.mp4\n")
    with caplog.at_level(logging.WARNING, logger="difffake.datasets"):
        records = read_celebdf(celebdf)
    assert len(records) == 5
    assert "Celeb-DF: 2 videos of" in caplog.text and "missing on disk (e.g. Celeb-synthesis/gone.mp4)" in caplog.text


def test_missing_folders_are_skipped_and_no_video_is_an_error(tmp_path):
    root = tmp_path / "only_youtube"
    touch(root, "YouTube-real/00001.mp4")
    assert [r.video_id for r in read_celebdf(root)] == ["YouTube-real/00001.mp4"]
    empty = tmp_path / "empty"
    (empty / "Celeb-real").mkdir(parents=True)
    with pytest.raises(DatasetError) as err:
        read_celebdf(empty)
    assert str(err.value) == f"{empty.resolve()}: no videos found"


def test_root_that_is_not_a_folder(tmp_path):
    with pytest.raises(DatasetError) as err:
        read_celebdf(tmp_path / "absent")
    assert str(err.value) == f"{tmp_path / 'absent'}: Celeb-DF root is not a folder (missing or not a directory)"
