"""difffake.datasets.csv_list: a labels CSV (path,label[,method,group,split]) relative to its folder."""
from __future__ import annotations

from pathlib import Path

import pytest

from difffake.datasets.csv_list import DEFAULT_NAME, read_csv_list
from difffake.datasets.records import DatasetError


def write(path: Path, text: str, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def error_of(csv_path) -> str:
    with pytest.raises(DatasetError) as err:
        read_csv_list(csv_path)
    return str(err.value)


def test_a_folder_means_its_labels_csv_and_names_the_dataset(tmp_path):
    root = tmp_path / "mine"
    write(root / DEFAULT_NAME, "path,label,method,group,split\n"
                               "clips/b.mp4,1,FaceSwap,p1,validation\n"
                               "clips/a.mp4,REAL,ignored,p1,train\n")
    records = read_csv_list(root)
    assert DEFAULT_NAME == "labels.csv"
    assert [(r.video_id, r.label, r.method, r.group, r.split, r.dataset) for r in records] == [
        ("clips/a.mp4", "real", "real", "p1", "train", "mine"),   # a real's method is always "real"
        ("clips/b.mp4", "fake", "FaceSwap", "p1", "val", "mine"),
    ]
    assert records[1].path == root.resolve() / "clips/b.mp4"
    assert [r.video_id for r in read_csv_list(root, split="val", dataset="x")] == ["clips/b.mp4"]
    assert read_csv_list(root, dataset="x")[0].dataset == "x"


def test_filename_column_bom_extra_cells_and_header_case(tmp_path):
    # DFDC's labels.csv says "filename"; Excel writes a BOM; a row may hold more cells than the header
    csv_path = write(tmp_path / "d" / "list.csv", "Filename,LABEL,Notes\nv1.mp4,0,ok\nv2.mp4,fake,x,surplus\n",
                     encoding="utf-8-sig")
    records = read_csv_list(csv_path)
    assert [(r.video_id, r.label, r.method, r.group, r.split) for r in records] == [
        ("v1.mp4", "real", "real", None, None), ("v2.mp4", "fake", "fake", None, None)]


def test_absolute_paths_inside_the_folder_become_relative_ids(tmp_path):
    root = tmp_path / "abs"
    csv_path = write(root / "labels.csv", f"path,label\n{root / 'sub' / 'x.mp4'},1\n")
    [record] = read_csv_list(csv_path)
    assert record.video_id == "sub/x.mp4" and record.path == root.resolve() / "sub/x.mp4"


def test_paths_outside_the_folder_are_refused_with_the_line(tmp_path):
    root = tmp_path / "out"
    outside = tmp_path / "elsewhere.mp4"
    csv_path = write(root / "labels.csv", f"path,label\nok.mp4,0\n{outside},1\n")
    assert error_of(csv_path) == f"{csv_path.resolve()}: line 3: {outside} lies outside the CSV's folder"
    write(csv_path, "path,label\n\n../up.mp4,0\n")      # blank line 2 still counts
    assert error_of(csv_path) == f"{csv_path.resolve()}: line 3: path '../up.mp4' must stay inside the CSV's folder"
    write(csv_path, "path,label\n,0\n")
    assert error_of(csv_path) == f"{csv_path.resolve()}: line 2: path '' must stay inside the CSV's folder"


def test_bad_label_and_bad_split_name_the_file(tmp_path):
    csv_path = write(tmp_path / "labels.csv", "path,label,split\na.mp4,0,train\nb.mp4,maybe,test\n")
    assert error_of(csv_path) == f"{csv_path.resolve()}: line 3: label 'maybe' is not real/fake/0/1"
    write(csv_path, "path,label,split\na.mp4,0,holdout\n")
    assert error_of(csv_path) == (f"{csv_path.resolve()}: unknown split 'holdout' "
                                  f"(expected one of ('train', 'val', 'test'))")


def test_header_and_empty_files(tmp_path):
    csv_path = write(tmp_path / "labels.csv", "file,kind\na.mp4,real\n")
    assert error_of(csv_path) == (f"{csv_path.resolve()}: header needs 'path' (or 'filename') and 'label' "
                                  f"columns, got ['file', 'kind']")
    write(csv_path, "path,label\n")
    assert error_of(csv_path) == f"{csv_path.resolve()}: CSV list has no rows"
    (tmp_path / "no_list").mkdir()
    assert error_of(tmp_path / "no_list") == f"{(tmp_path / 'no_list' / 'labels.csv').resolve()}: CSV list not found"
    assert error_of(tmp_path / "gone.csv") == f"{(tmp_path / 'gone.csv').resolve()}: CSV list not found"
    csv_path.write_bytes(b"path,label\n\xff\xfe.mp4,0\n")
    assert error_of(csv_path).startswith(f"{csv_path.resolve()}: CSV list unreadable ('utf-8' codec")


def test_a_split_nobody_has_and_duplicate_ids(tmp_path):
    csv_path = write(tmp_path / "labels.csv", "path,label,split\na.mp4,0,train\n")
    with pytest.raises(DatasetError) as err:
        read_csv_list(csv_path, split="test")
    assert str(err.value) == f"{csv_path.resolve()}: no videos found in split 'test'"
    write(csv_path, "path,label\na.mp4,0\n./a.mp4,1\n")
    assert error_of(csv_path) == f"{csv_path.resolve()}: duplicate video ids ['a.mp4']"
