"""Every dataset reader on the benchmarks' own index, label and split files
(../shared/data/formats, copied as they ship; skipped on a fresh clone).

Where a reader walks folders, a tree of empty placeholder files is built in
tmp_path from the index itself (readers never decode media).
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from difffake.datasets import (
    OPTIONS,
    READERS,
    DatasetError,
    detect_layout,
    load_dataset,
)
from difffake.datasets.options import check_options, reader_parameters

REPO = Path(__file__).resolve().parents[2]
STANDARD = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")


@pytest.fixture(scope="session")
def formats(shared_data) -> Path:
    path = shared_data / "formats"
    if not path.is_dir():
        pytest.skip("needs ../shared/data/formats (the benchmarks' index files)")
    return path


def touch(root: Path, relatives) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"")


def pairs_of(path: Path) -> list[list[str]]:
    return json.loads(path.read_text())


# --- FaceForensics++: official train/val/test.json ---------------------------------

@pytest.fixture
def ffpp_root(formats, tmp_path) -> Path:
    """A c23 tree with every original and both fakes of every official pair, per method."""
    root = tmp_path / "FF++"
    pairs = [p for name in ("train", "val", "test") for p in pairs_of(formats / f"FaceForensics++/{name}.json")]
    ids = sorted({i for p in pairs for i in p})
    touch(root, (f"original_sequences/youtube/c23/videos/{i}.mp4" for i in ids))
    for method in STANDARD:
        touch(root, (f"manipulated_sequences/{method}/c23/videos/{a}_{b}.mp4" for p in pairs
                     for a, b in (p, p[::-1])))
    return root


def test_ffpp_official_splits(formats, ffpp_root):
    splits = formats / "FaceForensics++"
    everything = load_dataset("ffpp", ffpp_root, splits=splits)
    assert len(everything) == 1000 + 4 * 1000
    counts = Counter((r.split, r.label) for r in everything)
    assert counts == {("train", "real"): 720, ("train", "fake"): 4 * 720,
                      ("val", "real"): 140, ("val", "fake"): 4 * 140,
                      ("test", "real"): 140, ("test", "fake"): 4 * 140}
    test = load_dataset("ffpp", ffpp_root, splits=splits, split="test")
    assert Counter(r.method for r in test) == {"real": 140, **{m: 140 for m in STANDARD}}
    first = pairs_of(splits / "test.json")[0]            # ["953", "974"]
    ids = {r.video_id for r in test}
    assert f"original_sequences/youtube/c23/videos/{first[0]}.mp4" in ids
    assert f"manipulated_sequences/Deepfakes/c23/videos/{first[1]}_{first[0]}.mp4" in ids
    fake = next(r for r in test if r.video_id.endswith(f"/Face2Face/c23/videos/{first[0]}_{first[1]}.mp4"))
    assert fake.group == first[0] and fake.path == (ffpp_root / fake.video_id).resolve()
    two = load_dataset("ffpp", ffpp_root, splits=splits, split="test", **check_options(
        "ffpp", {"methods": "Deepfakes+Face2Face"}))
    assert {r.method for r in two} == {"real", "Deepfakes", "Face2Face"} and len(two) == 140 + 2 * 140


def test_ffpp_split_without_splits_option(formats, ffpp_root):
    with pytest.raises(DatasetError, match="split='test' needs FF\\+\\+'s official split files: pass splits=DIR"):
        load_dataset("ffpp", ffpp_root, split="test")
    shutil.copytree(formats / "FaceForensics++", ffpp_root / "splits")   # the documented default place
    assert len(load_dataset("ffpp", ffpp_root, split="val")) == 140 * 5


def test_ffpp_malformed_split_file_names_the_pair(formats, ffpp_root, tmp_path):
    pairs = pairs_of(formats / "FaceForensics++/test.json")
    pairs[11] = ["953"]
    bad = tmp_path / "test.json"
    bad.write_text(json.dumps(pairs, indent=2))
    with pytest.raises(DatasetError, match=r"test.json: pair 12 is \[\"953\"\]"):
        load_dataset("ffpp", ffpp_root, splits=bad)
    bad.write_text((formats / "FaceForensics++/test.json").read_text().replace('"974"\n', '"974"\n,,', 1))
    with pytest.raises(DatasetError, match=r"test.json: split file unreadable .*line 5"):
        load_dataset("ffpp", ffpp_root, splits=bad)


# --- Celeb-DF v2: List_of_testing_videos.txt (1 = REAL) -----------------------------

def test_celebdf_official_test_list(formats, tmp_path):
    listed = (formats / "Celeb-DF-v2/List_of_testing_videos.txt").read_text().split("\n")
    root = tmp_path / "Celeb-DF-v2"
    touch(root, (line.split()[1] for line in listed))
    touch(root, ["Celeb-real/id60_0009.mp4", "Celeb-synthesis/id60_id61_0009.mp4"])   # not in the list: train
    shutil.copy(formats / "Celeb-DF-v2/List_of_testing_videos.txt", root)
    records = load_dataset("celebdf", root)
    assert len(records) == 518 + 2
    test = [r for r in records if r.split == "test"]
    assert Counter(r.label for r in test) == {"real": 178, "fake": 340}
    assert Counter(r.video_id.split("/")[0] for r in test) == {
        "Celeb-real": 108, "YouTube-real": 70, "Celeb-synthesis": 340}
    by_id = {r.video_id: r for r in records}
    assert by_id["YouTube-real/00170.mp4"].label == "real"          # "1 YouTube-real/00170.mp4"
    assert by_id["Celeb-synthesis/id1_id0_0007.mp4"].label == "fake"  # "0 Celeb-synthesis/..."
    assert by_id["Celeb-synthesis/id1_id0_0007.mp4"].group == "id1_0007"
    assert by_id["Celeb-real/id60_0009.mp4"].split == "train"
    assert {r.method for r in test} == {"real", "Celeb-synthesis"}
    assert len(load_dataset("celebdf", root, split="test")) == 518
    assert detect_layout(root) == "celebdf"


def test_celebdf_malformed_list_names_the_line(formats, tmp_path):
    lines = (formats / "Celeb-DF-v2/List_of_testing_videos.txt").read_text().split("\n")
    root = tmp_path / "cdf"
    touch(root, (line.split()[1] for line in lines))
    lines[40] = "REAL " + lines[40].split()[1]
    (root / "List_of_testing_videos.txt").write_text("\n\n".join(lines))   # blank lines between
    with pytest.raises(DatasetError, match="List_of_testing_videos.txt: line 81: expected"):
        load_dataset("celebdf", root)


# --- DFDC: metadata.json and the public test/validation labels.csv ------------------

def test_dfdc_sample_metadata(formats, tmp_path):
    meta = json.loads((formats / "DFDC/train_sample_videos/metadata.json").read_text())
    root = tmp_path / "dfdc"
    shutil.copytree(formats / "DFDC/train_sample_videos", root / "train_sample_videos")
    touch(root / "train_sample_videos", meta)
    records = load_dataset("dfdc", root)
    assert len(records) == len(meta) == 400
    assert Counter(r.label for r in records) == {k.lower(): v for k, v in
                                                 Counter(e["label"] for e in meta.values()).items()}
    assert {r.split for r in records} == {"train"}
    fake = next(r for r in records if r.video_id == "train_sample_videos/aagfhgtpmv.mp4")
    assert (fake.label, fake.group) == ("fake", "train_sample_videos/vudstovrck.mp4")
    real = next(r for r in records if r.video_id == "train_sample_videos/abarnvbtwb.mp4")
    assert (real.label, real.method, real.group) == ("real", "real", "train_sample_videos/abarnvbtwb.mp4")
    assert all(r.path.is_file() for r in records)
    assert detect_layout(root) == "dfdc"


def test_dfdc_public_test_and_validation_labels(formats, tmp_path):
    root = tmp_path / "dfdc"
    for part in ("test", "validation"):
        (root / part / "videos").mkdir(parents=True)
        shutil.copy(formats / f"DFDC/{part}/labels.csv", root / part / "labels.csv")
    records = load_dataset("dfdc", root)
    assert len(records) == 5000 + 4000
    assert Counter((r.split, r.label) for r in records) == {
        ("test", "real"): 2500, ("test", "fake"): 2500, ("val", "real"): 2000, ("val", "fake"): 2000}
    by_id = {r.video_id: r for r in records}
    assert by_id["test/videos/aalscayrfi.mp4"].label == "real"      # "aalscayrfi.mp4,0": 1 = FAKE
    assert by_id["validation/videos/4000.mp4"].label == "fake"      # "4000.mp4,1"
    assert len(load_dataset("dfdc", root, split="test")) == 5000
    # the test folder alone, read as a generic CSV list, agrees on labels
    as_csv = {r.video_id: r.label for r in load_dataset("csv", root / "test" / "labels.csv")}
    assert as_csv["aalscayrfi.mp4"] == "real" and Counter(as_csv.values()) == {"real": 2500, "fake": 2500}
    lines = (root / "test/labels.csv").read_text().splitlines()
    lines[99] = "badrow.mp4,FAKE"
    (root / "test/labels.csv").write_text("\n".join(lines))
    with pytest.raises(DatasetError, match="test/labels.csv: line 100: expected"):
        load_dataset("dfdc", root)


def test_dfdc_malformed_metadata(formats, tmp_path):
    root = tmp_path / "dfdc" / "part"
    root.mkdir(parents=True)
    meta = json.loads((formats / "DFDC/train_sample_videos/metadata.json").read_text())
    meta["aagfhgtpmv.mp4"] = {"is_fake": "maybe"}
    (root / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(DatasetError, match="part/metadata.json: aagfhgtpmv.mp4: is_fake 'maybe'"):
        load_dataset("dfdc", root.parent)
    (root / "metadata.json").write_text((formats / "DFDC/train_sample_videos/metadata.json").read_text()[:-40])
    with pytest.raises(DatasetError, match="metadata.json: unreadable JSON .*line 1"):
        load_dataset("dfdc", root.parent)


# --- DeeperForensics-1.0: lists/ -----------------------------------------------------

@pytest.fixture
def dfo_root(formats, tmp_path) -> Path:
    root = tmp_path / "DeeperForensics-1.0"
    shutil.copytree(formats / "DeeperForensics-1.0/lists", root / "lists")
    listed = (root / "lists/manipulated_videos_lists/manipulated_videos_list.txt").read_text().split()
    touch(root, listed)
    return root


def test_deeperforensics_official_lists(dfo_root, tmp_path):
    ffpp = tmp_path / "FF++"
    touch(ffpp, (f"original_sequences/youtube/c23/videos/{i:03d}.mp4" for i in range(1000)))
    fakes = load_dataset("dfo", dfo_root)
    assert len(fakes) == 1000 and {r.label for r in fakes} == {"fake"}
    assert Counter(r.split for r in fakes) == {"train": 703, "val": 96, "test": 201}
    assert fakes[0].video_id == "manipulated_videos/end_to_end/000_M101.mp4" and fakes[0].group == "000"
    mix = load_dataset("dfo", dfo_root, perturbation="end_to_end_mix_2_distortions", split="test")
    assert len(mix) == 201 and {r.method for r in mix} == {"DeeperForensics/end_to_end_mix_2_distortions"}
    both = load_dataset("deeperforensics", dfo_root, ffpp_root=ffpp)
    reals = [r for r in both if r.label == "real"]
    assert len(reals) == 1000 and reals[0].video_id == "ffpp/original_sequences/youtube/c23/videos/000.mp4"
    # each fake's group names an FF++ original that exists among the reals
    assert {r.group for r in both if r.label == "fake"} <= {r.group for r in reals}
    assert detect_layout(dfo_root) == "deeperforensics"


def test_deeperforensics_malformed_split_lists(dfo_root, tmp_path):
    lists = tmp_path / "lists"
    shutil.copytree(dfo_root / "lists/splits", lists)
    test = (lists / "test.txt").read_text().splitlines()
    (lists / "val.txt").write_text((lists / "val.txt").read_text() + "\n" + test[4] + "\n")
    with pytest.raises(DatasetError, match=r"test.txt: line 5: 0\d\d_\w+.mp4 is already in val.txt line 98"):
        load_dataset("dfo", dfo_root, **check_options("dfo", {"split_lists": str(lists)}))


# --- ForgeryNet (no official list was found; the documented line format) ------------

def test_forgerynet_line_numbers_count_blank_lines(tmp_path):
    root = tmp_path / "ForgeryNet"
    touch(root, ["Validation/video/a.mp4"])
    (root / "video_list.txt").write_text("Validation/video/a.mp4 1 3\n\n\nValidation/video/b.mp4 yes\n")
    with pytest.raises(DatasetError, match="video_list.txt: line 4"):
        load_dataset("forgerynet", root)


# --- options: names, values, help ---------------------------------------------------

def test_every_reader_option_is_documented():
    for kind, reader in READERS.items():
        assert sorted(reader_parameters(reader)) == sorted(OPTIONS[kind]), kind


def test_option_checks_name_the_option_and_valid_ones():
    with pytest.raises(ValueError, match="unknown option 'compresion'; valid options: compression, methods"):
        check_options("ffpp", {"compresion": "c40"})
    with pytest.raises(ValueError, match="compression='c99' is not one of"):
        check_options("ffpp", {"compression": "c99"})
    with pytest.raises(ValueError, match="methods Deepfake unknown"):
        check_options("ffpp", {"methods": "Deepfake+Face2Face"})
    with pytest.raises(ValueError, match="include_originals='maybe' is not true/false"):
        check_options("ffpp", {"include_originals": "maybe"})
    assert check_options("ffpp", {"methods": "Deepfakes+Face2Face", "include_originals": "no"}) == {
        "methods": ("Deepfakes", "Face2Face"), "include_originals": False}
    with pytest.raises(ValueError, match="unknown option 'splits'; valid options: dataset"):
        load_dataset("folder", "/nonexistent", splits="x")


def run_cli(*args):
    env = {"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "difffake", *args], capture_output=True, text=True, env=env,
                          timeout=120)


def test_evaluate_cli_user_mistakes_exit_2(formats, ffpp_root, tmp_path):
    out = str(tmp_path / "out")
    misspelt = run_cli("evaluate", "--dataset", f"ffpp,compresion=c40:{ffpp_root}", "--out", out)
    assert misspelt.returncode == 2, misspelt.stderr
    assert "unknown option 'compresion'; valid options: compression" in misspelt.stderr
    assert "Traceback" not in misspelt.stderr
    no_splits = run_cli("evaluate", "--dataset", f"ffpp,split=test:{ffpp_root}", "--out", out)
    assert no_splits.returncode == 2 and "pass splits=DIR" in no_splits.stderr, no_splits.stderr
    helptext = run_cli("evaluate", "--help").stdout
    assert "methods=" not in helptext or "Deepfakes+Face2Face" in helptext
    for kind in ("ffpp", "celebdf", "dfo", "forgerynet", "dfdc", "folder", "csv"):
        assert f"  {kind}" in helptext
    for option in {o for opts in OPTIONS.values() for o in opts}:
        assert f"    {option} " in helptext, option


def test_readme_documents_every_option():
    readme = (REPO / "README.md").read_text()
    for kind, opts in OPTIONS.items():
        for option in opts:
            assert f"`{option}`" in readme, f"README lacks {kind} option {option}"
