"""Dataset readers: real FF++ files from ../shared/data/dev and small trees of
empty files built in tmp_path (readers never decode media)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_layout_support import touch

from difffake.datasets import KINDS, DatasetError, detect_layout, load_dataset

FFPP_METHODS = {"Deepfakes", "FaceSwap", "NeuralTextures", "Face2Face"}


def by_id(records):
    return {r.video_id: r for r in records}


# --- FaceForensics++ -----------------------------------------------------------

def test_ffpp_on_real_dev_files(shared_data):
    root = shared_data / "dev" / "ffpp"
    records = load_dataset("ffpp", root)
    reals = [r for r in records if r.label == "real"]
    fakes = [r for r in records if r.label == "fake"]
    assert len(reals) == 3 and len(fakes) == 4
    assert {r.method for r in fakes} == FFPP_METHODS
    assert {r.method for r in reals} == {"real"}
    assert len({r.video_id for r in records}) == 7
    assert [r.video_id for r in records] == sorted(r.video_id for r in records)
    for r in records:
        assert r.path.is_absolute() and r.path.is_file()
        assert (root / r.video_id).resolve() == r.path
        assert r.compression == "c23" and r.split is None and r.dataset == "ffpp"
    fake = by_id(records)["manipulated_sequences/Deepfakes/c23/videos/519_515.mp4"]
    assert fake.group == "519"
    assert detect_layout(root) == "ffpp"
    with pytest.raises(DatasetError, match="no videos found"):
        load_dataset("ffpp", root, compression="c40")


@pytest.fixture
def ffpp_tree(tmp_path):
    root = tmp_path / "ffpp"
    for comp in ("c23", "c40"):
        touch(root, *(f"original_sequences/youtube/{comp}/videos/{i}.mp4" for i in ("071", "054", "100", "200")))
        # FF++ makes one fake per direction; both share a name across methods.
        for method in ("Deepfakes", "FaceSwap"):
            touch(root, *(f"manipulated_sequences/{method}/{comp}/videos/{name}.mp4"
                          for name in ("071_054", "054_071", "100_200", "200_100")))
    touch(root, "manipulated_sequences/FaceShifter/c23/videos/071_054.mp4")
    splits = tmp_path / "splits"
    splits.mkdir()
    (splits / "train.json").write_text(json.dumps([["100", "200"]]))
    (splits / "test.json").write_text(json.dumps([["071", "054"]]))
    return root, splits


def test_ffpp_splits_take_fakes_in_both_name_orders(ffpp_tree):
    root, splits = ffpp_tree
    test = load_dataset("ffpp", root, splits=splits, split="test")
    names = {Path(r.video_id).stem for r in test}
    assert names == {"071", "054", "071_054", "054_071"}
    assert sum(r.label == "fake" for r in test) == 4  # two names x two methods
    assert {r.split for r in test} == {"test"}
    train = load_dataset("ffpp", root, splits=splits, split="train")
    assert {Path(r.video_id).stem for r in train} == {"100", "200", "100_200", "200_100"}
    # Same file names under two methods must stay distinct records.
    assert len({r.video_id for r in train}) == len(train) == 6


def test_ffpp_compression_and_methods(ffpp_tree, caplog):
    root, _ = ffpp_tree
    c40 = load_dataset("ffpp", root, compression="c40")
    assert {r.compression for r in c40} == {"c40"}
    assert all("/c40/" in r.video_id for r in c40)
    assert len(c40) == 4 + 8
    with caplog.at_level("INFO", logger="difffake.datasets"):
        picked = load_dataset("ffpp", root, methods=["FaceShifter", "NeuralTextures"])
    assert {r.method for r in picked} == {"real", "FaceShifter"}
    assert "NeuralTextures" in caplog.text  # the missing method is noted, not an error
    everything = load_dataset("ffpp", root, methods="all")
    assert sum(r.method == "FaceShifter" for r in everything) == 1
    whole = load_dataset("ffpp", root)
    assert all(r.split is None for r in whole)
    with pytest.raises(ValueError, match="compression"):
        load_dataset("ffpp", root, compression="c99")


def test_ffpp_bad_split_file_is_named(ffpp_tree, tmp_path):
    root, _ = ffpp_tree
    bad = tmp_path / "test.json"
    bad.write_text("{not json")
    with pytest.raises(DatasetError, match="test.json"):
        load_dataset("ffpp", root, splits=bad)
    with pytest.raises(DatasetError, match="missing.json"):
        load_dataset("ffpp", root, splits={"test": tmp_path / "missing.json"})


# --- Celeb-DF -------------------------------------------------------------------

def test_celebdf_reads_list_with_inverted_labels(tmp_path):
    root = tmp_path / "celebdf"
    touch(root, "Celeb-real/id0_0000.mp4", "YouTube-real/00170.mp4", "YouTube-real/00171.mp4",
          "Celeb-synthesis/id0_id16_0000.mp4", "Celeb-synthesis/id1_id2_0003.mp4")
    # In the official list 1 = real, 0 = fake.
    (root / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00170.mp4\n0 Celeb-synthesis/id0_id16_0000.mp4\n")
    records = by_id(load_dataset("celebdf", root))
    assert len(records) == 5
    assert records["YouTube-real/00170.mp4"].label == "real"
    assert records["YouTube-real/00170.mp4"].split == "test"
    fake = records["Celeb-synthesis/id0_id16_0000.mp4"]
    assert (fake.label, fake.split, fake.group) == ("fake", "test", "id0_0000")
    assert records["YouTube-real/00171.mp4"].split == "train"
    test = load_dataset("celebdf", root, split="test")
    assert [r.video_id for r in test] == ["Celeb-synthesis/id0_id16_0000.mp4", "YouTube-real/00170.mp4"]
    assert detect_layout(root) == "celebdf"


def test_celebdf_errors_name_the_list(tmp_path):
    root = tmp_path / "celebdf"
    touch(root, "Celeb-real/id0_0000.mp4")
    (root / "List_of_testing_videos.txt").write_text("0 Celeb-real/id0_0000.mp4\n")
    with pytest.raises(DatasetError, match="List_of_testing_videos.txt.*listed as fake"):
        load_dataset("celebdf", root)
    with pytest.raises(DatasetError, match="nolist.txt.*not found"):
        load_dataset("celebdf", root, test_list=tmp_path / "nolist.txt")


# --- DeeperForensics --------------------------------------------------------------

def test_deeperforensics_with_ffpp_reals(tmp_path):
    dfo = tmp_path / "dfo"
    touch(dfo, "manipulated_videos/end_to_end/000_M101.mp4", "manipulated_videos/end_to_end/001_W102.mp4",
          "manipulated_videos/reenact_postprocess/000_M101.mp4")
    (dfo / "lists/splits").mkdir(parents=True)
    (dfo / "lists/splits/test.txt").write_text("000_M101.mp4\n")
    ffpp = tmp_path / "ffpp"
    touch(ffpp, "original_sequences/youtube/c23/videos/000.mp4", "original_sequences/youtube/c23/videos/001.mp4")
    records = by_id(load_dataset("dfo", dfo, ffpp_root=ffpp))
    assert len(records) == 4
    fake = records["manipulated_videos/end_to_end/000_M101.mp4"]
    assert (fake.label, fake.split, fake.group) == ("fake", "test", "000")
    assert records["manipulated_videos/end_to_end/001_W102.mp4"].split is None
    real = records["ffpp/original_sequences/youtube/c23/videos/000.mp4"]
    assert real.label == "real" and real.path == (ffpp / "original_sequences/youtube/c23/videos/000.mp4").resolve()
    assert detect_layout(dfo) == "deeperforensics"
    with pytest.raises(DatasetError, match="blurred"):
        load_dataset("deeperforensics", dfo, perturbation="blurred")
    with pytest.raises(DatasetError, match="gone.txt"):
        load_dataset("dfo", dfo, split_lists={"test": dfo / "gone.txt"})


# --- ForgeryNet -------------------------------------------------------------------

@pytest.mark.parametrize("sep", [" ", ","])
def test_forgerynet_list(tmp_path, sep):
    root = tmp_path / "forgerynet"
    touch(root, "val_video_release/a/1.mp4", "val_video_release/b/2.mp4")
    (root / "video_list.txt").write_text(
        f"path{sep}label\nval_video_release/a/1.mp4{sep}1{sep}7\nval_video_release/b/2.mp4{sep}0\n"
        f"val_video_release/c/absent.mp4{sep}1\n")
    records = by_id(load_dataset("forgerynet", root))
    assert set(records) == {"val_video_release/a/1.mp4", "val_video_release/b/2.mp4"}
    assert (records["val_video_release/a/1.mp4"].label, records["val_video_release/a/1.mp4"].method) == ("fake", "type-7")
    assert records["val_video_release/b/2.mp4"].label == "real"
    assert {r.split for r in records.values()} == {"test"}


def test_forgerynet_errors(tmp_path):
    root = tmp_path / "forgerynet"
    touch(root, "x.mp4")
    with pytest.raises(DatasetError, match="no video list"):
        load_dataset("forgerynet", root)
    (root / "video_list.txt").write_text("x.mp4 1\nx.mp4 maybe\n")
    with pytest.raises(DatasetError, match="video_list.txt: line 2"):
        load_dataset("forgerynet", root)
    assert detect_layout(root) == "forgerynet"


# --- DFDC -------------------------------------------------------------------------

def test_dfdc_metadata_per_part(tmp_path):
    root = tmp_path / "dfdc"
    for part, names in {"dfdc_train_part_0": ("abc.mp4", "xyz.mp4"), "dfdc_train_part_1": ("abc.mp4",)}.items():
        touch(root, *(f"{part}/{n}" for n in names))
    (root / "dfdc_train_part_0/metadata.json").write_text(json.dumps({
        "abc.mp4": {"label": "FAKE", "split": "train", "original": "xyz.mp4"},
        "xyz.mp4": {"label": "REAL", "split": "train"}}))
    (root / "dfdc_train_part_1/metadata.json").write_text(json.dumps({"abc.mp4": {"is_fake": 0}}))
    records = by_id(load_dataset("dfdc", root))
    assert list(records) == ["dfdc_train_part_0/abc.mp4", "dfdc_train_part_0/xyz.mp4", "dfdc_train_part_1/abc.mp4"]
    fake = records["dfdc_train_part_0/abc.mp4"]
    assert (fake.label, fake.split, fake.group) == ("fake", "train", "dfdc_train_part_0/xyz.mp4")
    assert records["dfdc_train_part_1/abc.mp4"].label == "real"
    assert detect_layout(root) == "dfdc"
    (root / "dfdc_train_part_1/metadata.json").write_text(json.dumps({"abc.mp4": {"label": "MAYBE"}}))
    with pytest.raises(DatasetError, match="dfdc_train_part_1/metadata.json"):
        load_dataset("dfdc", root)


def test_dfdc_preview_dataset_json(tmp_path):
    root = tmp_path / "preview"
    (root).mkdir()
    (root / "dataset.json").write_text(json.dumps({
        "method_A/1255229/1255229_A/00190.mp4": {"label": "fake", "set": "test"},
        "original_videos/1255229/00190.mp4": {"label": "real", "set": "train"}}))
    records = load_dataset("dfdc", root)
    assert [(r.label, r.method, r.split, r.dataset) for r in records] == [
        ("fake", "method_A", "test", "dfdc-preview"), ("real", "real", "train", "dfdc-preview")]
    assert [r.video_id for r in load_dataset("dfdc", root, split="test")] == ["method_A/1255229/1255229_A/00190.mp4"]


# --- folder and CSV -----------------------------------------------------------------

def test_folder_reader_generated(tmp_path):
    touch(tmp_path, "real/a.mp4", "real/deep/b.jpg", "real/notes.txt", "fake/x.mov", "fake/SomeSwap/y.png")
    records = by_id(load_dataset("folder", tmp_path))
    assert set(records) == {"real/a.mp4", "real/deep/b.jpg", "fake/x.mov", "fake/SomeSwap/y.png"}
    assert records["fake/SomeSwap/y.png"].method == "SomeSwap" and records["fake/x.mov"].method == "fake"
    assert detect_layout(tmp_path) == "folder"
    with pytest.raises(DatasetError, match="neither real/ nor fake/"):
        load_dataset("folder", tmp_path / "real")


def test_folder_reader_on_dev(shared_data):
    records = load_dataset("folder", shared_data / "dev")  # dev/ffpp is a separate tree, not read here
    assert sum(r.label == "real" for r in records) == 25
    assert sum(r.label == "fake" for r in records) == 25
    # Twins share a file name; ids keep them apart.
    assert len({r.video_id for r in records}) == 50
    assert len({r.path.name for r in records}) == 25


def test_csv_reader_on_dev_labels(shared_data):
    records = load_dataset("csv", shared_data / "dev" / "labels.csv")
    assert len(records) == 57
    assert sum(r.label == "real" for r in records) == 28
    assert sum(r.label == "fake" for r in records) == 29
    assert all(r.path.is_file() for r in records)
    rows = by_id(records)
    assert rows["ffpp/manipulated_sequences/FaceSwap/c23/videos/634_660.mp4"].method == "FaceSwap"
    assert rows["real/dfl_Kim_Jarrey_0.mp4"].group == rows["fake/dfl_Kim_Jarrey_0.mp4"].group
    assert detect_layout(shared_data / "dev") == "csv"  # the list wins over real/ fake/


def test_csv_reader_generated(tmp_path):
    (tmp_path / "list.csv").write_text(
        "path,label,method,group,split\nv/a.mp4,0,,g1,train\nv/b.mp4,1,Swap,g1,test\n./v/c.mp4,FAKE,,,\n")
    records = by_id(load_dataset("csv", tmp_path / "list.csv"))
    assert [(k, r.label, r.method, r.group, r.split) for k, r in records.items()] == [
        ("v/a.mp4", "real", "real", "g1", "train"), ("v/b.mp4", "fake", "Swap", "g1", "test"),
        ("v/c.mp4", "fake", "fake", None, None)]
    assert records["v/a.mp4"].path == (tmp_path / "v/a.mp4").resolve()
    (tmp_path / "bad.csv").write_text("path,label\nv/a.mp4,2\n")
    with pytest.raises(DatasetError, match="bad.csv: line 2"):
        load_dataset("csv", tmp_path / "bad.csv")
    (tmp_path / "nolabel.csv").write_text("path,kind\nv/a.mp4,real\n")
    with pytest.raises(DatasetError, match="nolabel.csv.*'label'"):
        load_dataset("csv", tmp_path / "nolabel.csv")
    with pytest.raises(DatasetError, match="absent.csv.*not found"):
        load_dataset("csv", tmp_path / "absent.csv")


def test_registry(tmp_path):
    assert {"ffpp", "celebdf", "dfo", "deeperforensics", "forgerynet", "dfdc", "folder", "csv"} <= set(KINDS)
    with pytest.raises(ValueError, match="unknown dataset kind"):
        load_dataset("nope", tmp_path)
    assert detect_layout(tmp_path) is None
    assert detect_layout(tmp_path / "missing") is None
    with pytest.raises(DatasetError, match="missing"):
        load_dataset("ffpp", tmp_path / "missing")
