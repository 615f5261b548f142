"""difffake.datasets.dfdc: per-part metadata.json, the public test/validation labels.csv (1 = FAKE),
and the preview's dataset.json."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from difffake.datasets.dfdc import LABEL_LISTS, METADATA, PREVIEW_INDEX, read_dfdc
from difffake.datasets.records import DatasetError


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def rows(records):
    return [(r.video_id, r.label, r.method, r.split, r.group, r.dataset) for r in records]


def error_of(root, **options) -> str:
    with pytest.raises(DatasetError) as err:
        read_dfdc(root, **options)
    return str(err.value)


def test_documented_file_names():
    assert (METADATA, PREVIEW_INDEX, LABEL_LISTS) == ("metadata.json", "dataset.json", ("labels.csv", "label.csv"))


def test_labels_csv_in_named_folders_with_a_videos_subfolder(tmp_path):
    root = tmp_path / "dfdc"
    write(root / "validation/labels.csv", "filename,label\n10.mp4,1\n11.mp4,0\n")
    (root / "validation/videos").mkdir()
    write(root / "extra/label.csv", "a.mp4,0\n")          # the other name; no header; a folder naming no split
    records = read_dfdc(root)
    assert rows(records) == [
        ("extra/a.mp4", "real", "real", None, None, "dfdc"),
        ("validation/videos/10.mp4", "fake", "DFDC", "val", None, "dfdc"),
        ("validation/videos/11.mp4", "real", "real", "val", None, "dfdc"),
    ]
    assert records[1].path == root.resolve() / "validation/videos/10.mp4"
    assert [r.video_id for r in read_dfdc(root, split="val", dataset="d")] == [
        "validation/videos/10.mp4", "validation/videos/11.mp4"]


def test_metadata_wins_over_a_labels_csv_beside_it(tmp_path):
    root = tmp_path / "dfdc"
    write(root / "part_0/metadata.json", json.dumps({
        "f.mp4": {"label": "FAKE", "split": "train", "original": "r.mp4"},
        "r.mp4": {"label": "REAL", "split": "train"},
        "t.mp4": {"is_fake": True}, "u.mp4": {"is_fake": "0"}, "n.mp4": {"label": "fake"}}))
    write(root / "part_0/labels.csv", "filename,label\nzzz.mp4,1\n")
    records = read_dfdc(root, dataset="dfdc-train")
    assert rows(records) == [
        ("part_0/f.mp4", "fake", "DFDC", "train", "part_0/r.mp4", "dfdc-train"),
        ("part_0/n.mp4", "fake", "DFDC", None, None, "dfdc-train"),      # a fake without "original"
        ("part_0/r.mp4", "real", "real", "train", "part_0/r.mp4", "dfdc-train"),
        ("part_0/t.mp4", "fake", "DFDC", None, None, "dfdc-train"),
        ("part_0/u.mp4", "real", "real", None, "part_0/u.mp4", "dfdc-train"),
    ]


def test_preview_index_keys_are_root_relative(tmp_path):
    root = tmp_path / "preview"
    write(root / PREVIEW_INDEX, json.dumps({
        "/method_B/1/00001.mp4": {"label": "FAKE", "set": "train"},
        "original_videos/1/00001.mp4": {"label": "real", "set": "dev"}}))
    write(root / "part/metadata.json", "{}")   # the preview index wins: this is never read
    records = read_dfdc(root)
    assert rows(records) == [
        ("method_B/1/00001.mp4", "fake", "method_B", "train", None, "dfdc-preview"),
        ("original_videos/1/00001.mp4", "real", "real", "val", None, "dfdc-preview"),
    ]
    assert records[0].path == root.resolve() / "method_B/1/00001.mp4"


def test_broken_metadata_names_the_file_and_video(tmp_path):
    root = tmp_path / "dfdc"
    meta = root / "p" / METADATA
    for content, reason in [
        ('["a.mp4"]', "expected a JSON object keyed by video file name"),
        ('{"a.mp4": "FAKE"}', "a.mp4: entry is not an object"),
        ('{"a.mp4": {"split": "train"}}', "a.mp4: no 'label' or 'is_fake'"),
        ('{"a.mp4": {"label": "SYNTH"}}', "a.mp4: label 'SYNTH' is neither REAL nor FAKE"),
        ('{"a.mp4": {"is_fake": 2}}', "a.mp4: is_fake 2 is neither 0 nor 1"),
        ('{"a.mp4": {"label": "REAL", "split": "heldout"}}',
         "unknown split 'heldout' (expected one of ('train', 'val', 'test'))"),
    ]:
        write(meta, content)
        assert error_of(root) == f"{meta.resolve()}: {reason}"
    write(meta, '{"a.mp4": ')
    assert error_of(root).startswith(f"{meta.resolve()}: unreadable JSON (Expecting value: line 1")


def test_broken_labels_csv_and_empty_roots(tmp_path):
    root = tmp_path / "dfdc"
    labels = write(root / "test/labels.csv", "filename,label\na.mp4,1\n\nb.mp4\n")
    assert error_of(root) == f"{labels.resolve()}: line 4: expected '<file name>,<0 real|1 fake>', got 'b.mp4'"
    labels.write_text("filename,label\n,1\n")
    assert error_of(root) == f"{labels.resolve()}: line 2: expected '<file name>,<0 real|1 fake>', got ',1'"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert error_of(empty) == f"{empty.resolve()}: no metadata.json, labels.csv or label.csv or dataset.json found"
    assert error_of(tmp_path / "gone") == f"{tmp_path / 'gone'}: DFDC root is not a folder (missing or not a directory)"
    write(root / "test/labels.csv", "filename,label\na.mp4,1\n")
    assert error_of(root, split="train") == f"{root.resolve()}: no videos found in split 'train'"
