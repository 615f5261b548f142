"""difffake.workflows.fit: the real pool (minus the backbone's training videos), the id lists,
the backbone folder, and a fit with explicit calibration ids written as a detector folder."""
from __future__ import annotations

import json

import pytest

from difffake.config import AnomalyConfig
from difffake.errors import FileError, UsageError
from difffake.faces.store import FaceStore
from difffake.workflows.fit import (
    FitRequest,
    build_pool,
    fit,
    fit_detector,
    is_excluded,
    load_fit_backbone,
    read_id_list,
    training_ids,
)

KNN = AnomalyConfig(density="knn", knn_k=1, pca_dims=None)


def test_read_id_list_text_and_split_json(tmp_path):
    text = tmp_path / "ids.txt"
    text.write_text("# trained on\na.mp4\n\n  sub/b.mp4  \n")
    assert read_id_list(text) == ["a.mp4", "sub/b.mp4"]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": ["a.mp4", 7], "val": ["c.mp4"]}))
    assert read_id_list(split) == ["a.mp4", "7"]


@pytest.mark.parametrize("name, content, reason", [
    ("split.json", '["a.mp4"]', "expected a JSON object with a 'train' id list"),
    ("split.json", '{"val": []}', "expected a JSON object with a 'train' id list"),
    ("split.json", '{"train": [', "not valid JSON (Expecting value: line 1 column 12 (char 11))"),
    ("gone.txt", None, "cannot read id list (No such file or directory)"),
])
def test_read_id_list_errors_name_the_file(tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(FileError) as err:
        read_id_list(path)
    assert str(err.value) == f"{path}: {reason}"


def test_training_ids_explicit_then_train_ids_then_split(tmp_path):
    assert training_ids(tmp_path) == ([], "")
    (tmp_path / "split.json").write_text(json.dumps({"train": ["s.mp4"]}))
    assert training_ids(tmp_path) == (["s.mp4"], str(tmp_path / "split.json"))
    (tmp_path / "train_ids.txt").write_text("t.mp4\n")
    assert training_ids(tmp_path) == (["t.mp4"], str(tmp_path / "train_ids.txt"))
    (tmp_path / "mine.txt").write_text("m.mp4\n")
    assert training_ids(tmp_path, tmp_path / "mine.txt") == (["m.mp4"], str(tmp_path / "mine.txt"))


def test_is_excluded_by_id_or_by_file_name():
    exclude = {"videos/a.mp4"}
    names = {"a.mp4"}
    assert is_excluded("videos/a.mp4", exclude, names)
    assert is_excluded("other_root/a.mp4", exclude, names)   # same file name, another store root
    assert not is_excluded("videos/b.mp4", exclude, names)


def pool_of(tiny_store, tmp_path, **fields):
    said = []
    req = FitRequest(tmp_path, [tiny_store.root], tmp_path / "out", KNN, **fields)
    pool, excluded = build_pool([FaceStore(tiny_store.root)], req, tmp_path, KNN, said.append)
    return pool, excluded, said


def test_build_pool_excludes_training_ids_and_says_which_by_name(tiny_store, tmp_path):
    (tmp_path / "train_ids.txt").write_text("elsewhere/astro_0.mp4\n")   # the trainer's store had another root
    pool, excluded, said = pool_of(tiny_store, tmp_path)
    assert {k: v for k, (_, v) in pool.items()} == {"astro_1.mp4": "astro_1.mp4", "astro_2.mp4": "astro_2.mp4"}
    assert excluded == {"excluded_training_ids": 1, "excluded_by_name_only": ["astro_0.mp4"],
                        "exclude_source": str(tmp_path / "train_ids.txt")}
    assert said == [
        "1 pool videos excluded only because their FILE NAME matches a training id (not their id): astro_0.mp4",
        f"real pool: 3 videos in 1 store(s); 1 excluded as backbone training videos ({tmp_path / 'train_ids.txt'}; "
        f"the backbone's validation videos stay: they only chose its checkpoint); 2 left"]


def test_build_pool_ids_file_and_no_training_list(tiny_store, tmp_path):
    (tmp_path / "use.txt").write_text("astro_0.mp4\nastro_2.mp4\nnot_in_store.mp4\n")
    pool, excluded, said = pool_of(tiny_store, tmp_path, ids_file=tmp_path / "use.txt")
    assert sorted(pool) == ["astro_0.mp4", "astro_2.mp4"]
    assert excluded == {"excluded_training_ids": 0, "excluded_by_name_only": [], "exclude_source": ""}
    assert said[0] == (f"warning: no train_ids.txt / split.json in {tmp_path} and no --exclude-ids: cannot tell "
                       f"which videos the backbone trained on; fitting on all of them")
    (tmp_path / "split.json").write_text(json.dumps({"train": ["astro_0.mp4", "astro_1.mp4"]}))
    pool, excluded, said = pool_of(tiny_store, tmp_path, exclude_training=False)
    assert sorted(pool) == ["astro_0.mp4", "astro_1.mp4", "astro_2.mp4"] and excluded["exclude_source"] == ""
    assert not any(m.startswith("warning:") for m in said)


def test_build_pool_refuses_fewer_than_two_videos(tiny_store, tmp_path):
    (tmp_path / "split.json").write_text(json.dumps({"train": ["astro_0.mp4", "astro_1.mp4"]}))
    with pytest.raises(UsageError) as err:
        pool_of(tiny_store, tmp_path)
    assert str(err.value) == f"{[tiny_store.root]}: only 1 real videos left after exclusion; need >= 2"


def test_load_fit_backbone(tiny_backbone, tmp_path):
    from difffake.embeddings import backbone_fingerprint

    tiny_backbone.save(tmp_path / "bb")
    folder, backbone = load_fit_backbone(tmp_path / "bb", print)
    assert folder == tmp_path / "bb" and backbone_fingerprint(backbone) == backbone_fingerprint(tiny_backbone)
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileError) as err:
        load_fit_backbone(tmp_path / "empty", print)
    assert str(err.value).startswith(f"{tmp_path / 'empty'}: no backbone.json here, and no checkpoint of an "
                                     f"unfinished training run (last.json, checkpoints/)")
    assert str(err.value).endswith(f"`difffake train --store STORE --out {tmp_path / 'empty'} --resume`")


def test_option_conflicts_are_usage_errors(tiny_backbone, tiny_store, tmp_path):
    tiny_backbone.save(tmp_path / "bb")
    (tmp_path / "cal.txt").write_text("astro_2.mp4\n")
    with pytest.raises(UsageError) as err:
        fit_detector(FitRequest(tmp_path / "bb", [tiny_store.root], tmp_path / "out", KNN, calibration="crossfit",
                                cal_ids_file=tmp_path / "cal.txt"), say=lambda m: None)
    assert str(err.value) == "--cal-ids-file needs --calibration holdout (crossfit calibrates on every pool video)"
    (tmp_path / "groups.csv").write_text("astro_0.mp4,ann\n")
    with pytest.raises(UsageError) as err:
        fit_detector(FitRequest(tmp_path / "bb", [tiny_store.root], tmp_path / "out", KNN, split_by="video",
                                groups=tmp_path / "groups.csv"))
    assert str(err.value) == "--groups gives groups, --split-by video asks for none: choose one"
    assert not (tmp_path / "out").exists()


def test_fit_with_explicit_calibration_ids(tiny_backbone, tiny_store, tmp_path):
    tiny_backbone.save(tmp_path / "bb")
    (tmp_path / "bb" / "train_ids.txt").write_text("# none\n")
    (tmp_path / "cal.txt").write_text("astro_2.mp4\nastro_1.mp4\n")
    said = []
    result = fit(tmp_path / "bb", tiny_store.root, tmp_path / "det", anomaly=KNN, say=said.append,
                 cal_ids_file=tmp_path / "cal.txt", allow_small_calibration=True, note="explicit",
                 cache=tmp_path / "cache", argv=["fit", "--cal-ids-file", "cal.txt"])
    info = result.info
    assert (info["fit_ids"], info["cal_ids"]) == (["astro_0.mp4"], ["astro_1.mp4", "astro_2.mp4"])
    assert info["split_rule"] == f"explicit calibration ids from {tmp_path / 'cal.txt'}"
    assert (info["made_by"], info["argv"], info["note"]) == ("difffake fit", ["fit", "--cal-ids-file", "cal.txt"],
                                                           "explicit")
    assert info["backbone_dir"] == str(tmp_path / "bb") and info["stores"] == [str(tiny_store.root.resolve())]
    assert sorted(info["pool"]) == ["astro_0.mp4", "astro_1.mp4", "astro_2.mp4"]
    summary = result.calibration
    assert (summary.method, summary.n, summary.target_fpr) == ("holdout", 2, KNN.target_fpr)
    assert summary.threshold == result.detector.calibration.threshold
    assert "differential" in summary.warnings   # two calibration videos are too few: allowed, and said
    assert f"WARNING: differential score: {summary.warnings['differential']}" in said
    card = json.loads((tmp_path / "det" / "model.json").read_text())
    assert result.files == [tmp_path / "det" / "model.json"] + [tmp_path / "det" / n for n in sorted(card["checksums"])]
    assert all(f.is_file() for f in result.files) and result.folder == tmp_path / "det"
    assert said[0].startswith("real pool: 3 videos in 1 store(s); 0 excluded")
    assert said[1].startswith("split: 1 fit videos, 2 calibration videos; explicit calibration ids from")
    assert said[-2:] == ["verdict basis: differential", f"detector written to {tmp_path / 'det'}"]
