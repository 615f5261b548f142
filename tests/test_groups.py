"""The one group-aware splitter (difffake.splits): one group never on both sides of any split."""
import json

import numpy as np
import pytest

from difffake.datasets import read_csv_list
from difffake.splits import (
    Groups,
    GroupsFileError,
    assign_folds,
    default_group,
    grouping,
    holdout_split,
    read_groups_file,
    split_ids,
)


def test_default_key_keeps_the_person_folder():
    assert default_group("alice/clip1.mp4") != default_group("bob/clip1.mp4")
    assert default_group("alice/clip1.mp4") == default_group("alice/clip2.mp4")
    # layout folders say what a file is, not whose: a degraded copy stays with its original
    assert default_group("videos/x__y__a.mp4") == default_group("degraded/videos/x__y__a.mp4")
    assert default_group("videos/x__y__a.mp4") == default_group("videos/x__y__b.mp4") == "source:x__y"
    assert default_group("1:videos/x__y__a.mp4") == default_group("videos/x__y__a.mp4")   # 2nd store


def _ids():
    return sorted(f"{p}/clip{j}.mp4" for p in ("ann", "bob", "cy", "dee", "eve", "fay", "gus") for j in range(3))


@pytest.mark.parametrize("k", [2, 3, 5])
def test_folds_never_split_a_group(k):
    ids = _ids()
    folds = assign_folds(ids, k, seed=0)
    assert set(folds) == set(ids) and set(folds.values()) == set(range(k))
    for members in Groups().members(ids).values():
        assert len({folds[v] for v in members}) == 1
    sizes = np.bincount(list(folds.values()))
    assert sizes.max() - sizes.min() <= 3                       # balanced to one group
    assert assign_folds(ids, k, seed=0) == folds
    assert any(assign_folds(ids, k, seed=s) != folds for s in range(1, 8))


def test_holdout_keeps_groups_apart_and_holds_the_asked_share_of_groups():
    ids = _ids()
    fit, held, members = holdout_split(ids, 0.3, seed=0)
    assert set(fit) | set(held) == set(ids) and not set(fit) & set(held)
    assert {default_group(v) for v in fit}.isdisjoint({default_group(v) for v in held})
    assert len({default_group(v) for v in held}) == round(0.3 * len(members)) == 2
    with pytest.raises(ValueError, match="1 group"):
        holdout_split(["a/1.mp4", "a/2.mp4"], 0.3, 0)


def test_groups_file_says_who_is_who(tmp_path):
    # the same person in two folders, and two people in one folder
    ids = ["studio/ann_1.mp4", "home/ann_2.mp4", "studio/bob_1.mp4", "home/bob_2.mp4",
           "home/cy_1.mp4", "studio/cy_2.mp4"]
    path = tmp_path / "groups.csv"
    path.write_text("# path,group\n" + "\n".join(f"data/{v},{v.split('/')[1][:-6]}" for v in ids) + "\n")
    groups = grouping("group", path)
    assert groups.key("studio/ann_1.mp4") == groups.key("home/ann_2.mp4") != groups.key("studio/bob_1.mp4")
    folds = assign_folds(ids, 3, seed=0, by=groups)
    for person in ("ann", "bob", "cy"):
        assert len({f for v, f in folds.items() if person in v}) == 1
    train, val = split_ids(ids, 0.3, 0, by=groups)
    assert {v.split("/")[1][:-6] for v in train}.isdisjoint({v.split("/")[1][:-6] for v in val})
    assert "groups.csv" in groups.describe()
    # without it, the folders would have been the groups
    assert Groups().key("studio/ann_1.mp4") != Groups().key("home/ann_2.mp4")


def test_groups_file_with_a_header_and_sources_csv_columns(tmp_path):
    a = tmp_path / "a.csv"
    a.write_text("path,label,group\nx/1.mp4,real,p1\nx/2.mp4,real,p2\n")
    assert read_groups_file(a) == {"x/1.mp4": "p1", "x/2.mp4": "p2"}
    b = tmp_path / "sources.csv"
    b.write_text("path,source_repo,licence_note\nreal/videos/o__r__1.mp4,o/r,\"MIT, x\"\n")
    assert Groups.from_file(b).key("degraded/videos/o__r__1.mp4") == "given:o/r"


def test_bad_groups_file_names_the_line(tmp_path):
    bad = tmp_path / "g.csv"
    bad.write_text("a.mp4,p1\nb.mp4\n")
    with pytest.raises(GroupsFileError, match="line 2"):
        read_groups_file(bad)
    with pytest.raises(GroupsFileError, match="unreadable"):
        read_groups_file(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="choose one"):
        grouping("video", bad)


def test_csv_group_column_reaches_the_splitter(tmp_path):
    rows = ["path,label,group"] + [f"v{k}.mp4,real,{'p' + str(k // 2)}" for k in range(8)]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    for k in range(8):
        (tmp_path / f"v{k}.mp4").write_bytes(b"")
    records = read_csv_list(tmp_path)
    groups = Groups.from_records(records)
    folds = assign_folds([r.video_id for r in records], 4, seed=0, by=groups)
    for k in range(0, 8, 2):                                   # v0/v1 share p0, v2/v3 p1, ...
        assert folds[f"v{k}.mp4"] == folds[f"v{k + 1}.mp4"]
    assert len(set(folds.values())) == 4


def test_fit_honours_a_groups_file(tiny_backbone, tiny_store, tmp_path):
    from difffake.cli import main

    ids = tiny_store.ids()
    path = tmp_path / "groups.csv"
    path.write_text("\n".join(f"{v},pair{k // 2}" for k, v in enumerate(ids)) + "\n")
    run = tmp_path / "run"
    tiny_backbone.save(run)
    code = main(["fit", "--backbone", str(run), "--store", str(tiny_store.root), "--out", str(tmp_path / "det"),
                 "--no-exclude", "--density", "knn", "--knn-k", "2", "--pca", "0", "--folds", "2",
                 "--cache", str(tmp_path / "c"), "--no-fusion", "--allow-small-calibration",
                 "--groups", str(path)])
    assert code == 0
    info = json.loads((tmp_path / "det" / "model.json").read_text())["info"]
    for k in range(0, len(ids) - 1, 2):
        assert info["fold_of"][ids[k]] == info["fold_of"][ids[k + 1]]
    assert "groups.csv" in info["split_rule"]
    assert main(["fit", "--backbone", str(run), "--store", str(tiny_store.root), "--out", str(tmp_path / "x"),
                 "--groups", str(tmp_path / "missing.csv")]) == 2


def test_a_file_name_shared_by_two_groups_matches_only_by_its_folder():
    groups = Groups({"alice/clip1.mp4": "alice", "bob/clip1.mp4": "bob"})
    assert groups.key("data/alice/clip1.mp4") == "given:alice"
    assert groups.key("bob/clip1.mp4") == "given:bob"
    assert groups.key("carol/clip1.mp4") == default_group("carol/clip1.mp4")   # ambiguous name: not guessed
