"""Evaluation protocols: FF++ per-method table from the dev FF++ files, no-face counting, variants."""
import csv
import shutil

import cv2
import numpy as np
import pytest

from difffake.anomaly.calibrate import calibrate
from difffake.anomaly.model import AnomalyModel
from difffake.config import AnomalyConfig, BackboneConfig, FaceConfig
from difffake.detector import Detector
from difffake.embeddings import embed_store
from difffake.evaluate import (
    dataset_name,
    evaluate,
    parse_dataset_spec,
    parse_variant,
    prepare_faces,
    variant_name,
    variant_scorers,
)


@pytest.fixture(scope="module")
def small_detector(tiny_store, tmp_path_factory):
    from difffake.backbone.model import Backbone
    bb = Backbone(BackboneConfig(pretrained="none", input_size=48, mean=(0.5,) * 3, std=(0.5,) * 3))
    embs = [e.emb for e in embed_store(bb, tiny_store, cache_dir=tmp_path_factory.mktemp("c")).values()]
    model = AnomalyModel(AnomalyConfig(density="knn", knn_k=3, pca_dims=None)).fit(embs[:2])
    cal = calibrate(model.score_videos(embs[2:]), 0.05)
    det = Detector(bb, model, cal, FaceConfig(num_frames=4), {})
    det.fit_embs, det.cal_embs = embs[:2], embs[2:]
    return det


def _read(path):
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_ffpp_dev_cross_manipulation_table(small_detector, shared_data, tmp_path):
    root = shared_data / "dev" / "ffpp"
    variants = [parse_variant("sq:knn:nopca:k2", small_detector.anomaly.cfg), "classifier"]
    summary = evaluate(small_detector, [("ffpp", root, {})], tmp_path / "rep",
                       store_base=tmp_path / "stores", variants=variants,
                       fit_embs=small_detector.fit_embs, cal_embs=small_detector.cal_embs, n_boot=200)
    ds_dir = tmp_path / "rep" / dataset_name("ffpp", root, {})
    rows = [r for r in _read(ds_dir / "table.csv") if r["variant"] == "detector"]
    methods = [r["method"] for r in rows]
    assert methods[:4] == ["Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures"]
    assert len(methods) == 5 and methods[4].startswith("average (")
    for r in rows:
        assert int(r["n_real"]) + int(r["n_no_face"]) + int(r["n_error"]) >= 1
        assert r["compression"] == "c23"
    per_method = rows[:4]
    # 3 originals, 1 fake per method; counted, whether or not scored
    assert all(int(r["n_real"]) + int(r["n_fake"]) + int(r["n_no_face"]) + int(r["n_error"]) == 4
               for r in per_method)
    scored = [r for r in per_method if r["auc"]]
    assert scored, "no FF++ method got an AUC"
    # each row recomputed from videos.csv: its method's scored fakes vs the scored youtube originals
    from sklearn.metrics import roc_auc_score
    videos = _read(ds_dir / "videos.csv")
    ok = [v for v in videos if v["status[detector]"] == "ok"]
    reals = [v for v in ok if v["label"] == "real" and "/actors/" not in v["video_id"]]
    for r in per_method:
        fakes = [v for v in ok if v["label"] == "fake" and v["method"] == r["method"]]
        assert (int(r["n_real"]), int(r["n_fake"])) == (len(reals), len(fakes))
        if r["auc"]:
            labels = [0] * len(reals) + [1] * len(fakes)
            want = roc_auc_score(labels, [float(v["score[detector]"]) for v in reals + fakes])
            assert float(r["auc"]) == pytest.approx(want, abs=1e-12)
            assert float(r["auc_ci_low"]) <= float(r["auc"]) <= float(r["auc_ci_high"])
    avg = rows[4]
    assert float(avg["auc"]) == pytest.approx(np.mean([float(r["auc"]) for r in scored]), abs=1e-12)
    assert avg["method"] == f"average ({len(scored)} methods)"
    # the fakes sharing a target with an original form twins (519, 634, 004)
    assert sum(int(r["n_twins"]) for r in per_method) >= 1
    md = (ds_dir / "table.md").read_text()
    assert "paper's binarised AUC (optimistic)" in md and "AUC (true)" in md
    assert (ds_dir / f"roc_{dataset_name('ffpp', root, {})}.png").stat().st_size > 1000
    # variants scored from the same embeddings, one block per variant
    all_rows = _read(tmp_path / "rep" / "variants.csv")
    assert {r["variant"] for r in all_rows} == {"detector", "sq:knn:nopca:k2",
                                                 "classifier (backbone mean P(fake))"}
    assert len(summary["rows"]) == len(all_rows)


def _gray_video(path, frames=5):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    for _ in range(frames):
        w.write(np.full((120, 160, 3), 100, np.uint8))
    w.release()


def test_no_face_video_counted_and_listed_not_dropped(small_detector, synthetic_videos, tmp_path, capsys):
    root = tmp_path / "ds"
    (root / "real").mkdir(parents=True)
    (root / "fake").mkdir()
    vids = sorted(synthetic_videos.glob("*.mp4"))
    shutil.copy(vids[0], root / "real" / "a.mp4")
    shutil.copy(vids[1], root / "real" / "b.mp4")
    shutil.copy(vids[2], root / "fake" / "c.mp4")
    _gray_video(root / "fake" / "blank.mp4")
    (root / "fake" / "broken.mp4").write_bytes(b"garbage")
    from difffake.cli import main
    det_dir = small_detector.save(tmp_path / "det")
    code = main(["evaluate", "--detector", str(det_dir), "--dataset", f"folder:{root}",
                 "--out", str(tmp_path / "rep"), "--store", str(tmp_path / "st"), "--bootstrap", "50",
                 "--subset", "only reals a/b=^real/"])
    assert code == 0
    # stderr is no terminal here: progress comes as whole lines (done/total), for each long step
    err = capsys.readouterr().err
    name = dataset_name("folder", root, {})
    for step in (f"faces {name}: 5/5 video", f"embed {name}: 4/4 video", f"score {name}: 5/5 score"):
        assert step in err, err
    assert "\r" not in err
    ds_dir = tmp_path / "rep" / dataset_name("folder", root, {})
    row, extra = _read(ds_dir / "table.csv")
    assert extra["method"] == "only reals a/b" and (extra["n_real"], extra["n_fake"]) == ("2", "0")
    assert extra["auc"] == ""                    # one class only: no AUC, no made-up number
    assert (row["n_real"], row["n_fake"], row["n_no_face"], row["n_error"]) == ("2", "1", "1", "1")
    videos = {r["video_id"]: r for r in _read(ds_dir / "videos.csv")}
    from sklearn.metrics import roc_auc_score
    scored = [videos[v] for v in ("real/a.mp4", "real/b.mp4", "fake/c.mp4")]   # the 3 scored videos only
    want = roc_auc_score([0, 0, 1], [float(v["score[detector]"]) for v in scored])
    assert float(row["auc"]) == pytest.approx(want, abs=1e-12)
    unscored = {r["video_id"]: r for r in _read(ds_dir / "unscored.csv")}
    assert unscored["fake/blank.mp4"]["status"] == "no_face"
    assert unscored["fake/broken.mp4"]["status"] == "error" and "broken.mp4" in unscored["fake/broken.mp4"]["reason"]
    videos = {r["video_id"]: r for r in _read(ds_dir / "videos.csv")}
    assert len(videos) == 5 and videos["fake/blank.mp4"]["score[detector]"] == ""
    assert "excluded from AUC" in (ds_dir / "table.md").read_text()


def test_spec_and_variant_parsing(tmp_path):
    kind, root, opts = parse_dataset_spec(f"ffpp,compression=c40,split=test:{tmp_path}")
    assert (kind, root, opts) == ("ffpp", tmp_path, {"compression": "c40", "split": "test"})
    with pytest.raises(ValueError):
        parse_dataset_spec("no-root")
    cfg = parse_variant("abs:gmm:pca64:diag", AnomalyConfig())
    assert (cfg.combine, cfg.density, cfg.pca_dims, cfg.gmm_covariance) == ("abs", "gmm", 64, "diag")
    assert variant_name(cfg) == "abs:gmm:pca64:diag"
    assert parse_variant("classifier", AnomalyConfig()) == "classifier"
    with pytest.raises(ValueError, match="unknown option"):
        parse_variant("sq:gmm:bogus", AnomalyConfig())


def test_dataset_names_differ_for_same_folder_name(tmp_path):
    a, b = tmp_path / "a" / "dev", tmp_path / "b" / "dev"
    assert dataset_name("folder", a, {}) != dataset_name("folder", b, {})
    assert dataset_name("folder", a, {}).startswith("folder-dev-")
    assert dataset_name("csv", a / "labels.csv", {}) != dataset_name("csv", b / "labels.csv", {})
    assert dataset_name("folder", a, {}) == dataset_name("folder", tmp_path / "a" / ".." / "a" / "dev", {})


def test_variant_names_distinct_and_duplicates_refused():
    base = AnomalyConfig()
    names = [variant_name(parse_variant(t, base)) for t in ("sq:gmm:mean", "sq:gmm:median", "sq:gmm:all")]
    assert len(set(names)) == 3, names
    assert variant_name(parse_variant("sq:gmm:mean", base)) == "sq:gmm:pca32:full"   # defaults unnamed
    dup = [parse_variant("sq:knn:k2", base), parse_variant("sq:knn:k2:mean", base)]
    with pytest.raises(ValueError, match="both named"):
        variant_scorers(dup, [], [])


def _face_record(vid, path):
    from difffake.faces.store import FaceRecord
    crop = np.zeros((8, 8, 3), np.uint8)
    return FaceRecord(vid, np.array([0]), np.array([True]), np.zeros((1, 4), np.float32),
                      np.zeros((1, 68, 2), np.float32), np.zeros(1, np.float32), [crop],
                      (8, 8), {"source": str(path)})


def test_prepare_faces_uses_prepare_loop(tmp_path, monkeypatch):
    """Any exception on one file is recorded (type + message), the batch goes on, failures.json is
    written, a fixed file is retried, and an entry made from another file is redone."""
    import json

    from difffake.datasets import VideoRecord
    from difffake.faces import pipeline

    for name in ("ok.png", "bad.png"):
        (tmp_path / name).write_bytes(b"x")
    records = [VideoRecord(tmp_path / n, n, "real", "real", "t") for n in ("bad.png", "ok.png")]
    calls = []

    def fake_extract(path, cfg, detector=None, video_id=None, decode_threads=None):
        calls.append(video_id)
        if video_id == "bad.png":
            raise RuntimeError("boom")
        return _face_record(video_id, path)

    monkeypatch.setattr(pipeline, "extract_faces", fake_extract)
    cfg = FaceConfig(num_frames=1)
    store, errors = prepare_faces(records, tmp_path / "st", cfg, face_detector=object())
    assert store.ids() == ["ok.png"]
    assert "RuntimeError" in errors["bad.png"] and "boom" in errors["bad.png"] and "bad.png" in errors["bad.png"]
    assert [f["id"] for f in json.loads((tmp_path / "st" / "failures.json").read_text())] == ["bad.png"]

    monkeypatch.setattr(pipeline, "extract_faces", lambda p, c, d=None, video_id=None, decode_threads=None: (
        calls.append(video_id), _face_record(video_id, p))[1])
    calls.clear()
    store, errors = prepare_faces(records, tmp_path / "st", cfg, face_detector=object())
    assert calls == ["bad.png"] and errors == {} and store.ids() == ["bad.png", "ok.png"]   # retried, ok reused

    moved = [VideoRecord(tmp_path / "bad.png", "ok.png", "real", "real", "t")]
    calls.clear()
    prepare_faces(moved, tmp_path / "st", cfg, face_detector=object())
    assert calls == ["ok.png"]                                          # another file: extracted again
    assert store.load("ok.png").meta["source"] == str((tmp_path / "bad.png").resolve())


def test_face_cache_means_a_video_is_prepared_once(synthetic_folder_dataset, face_detector, tmp_path):
    """Two report folders (two stores), the same videos, a shared content-keyed cache:
    the second run extracts nothing, copies the same faces, and a renamed copy of a
    video is found by its content."""
    import shutil

    import numpy as np

    from difffake.datasets import load_dataset

    cfg = FaceConfig(num_frames=4)
    records = load_dataset("folder", synthetic_folder_dataset)
    cache = tmp_path / "face_cache"
    first, errors = prepare_faces(records, tmp_path / "out1" / "store", cfg, face_detector, face_cache=cache)
    assert errors == {} and len(first.ids()) == 3
    # object() as the face detector: any extraction in the second run would fail and be listed
    second, errors = prepare_faces(records, tmp_path / "out2" / "store", cfg, object(), face_cache=cache)
    assert errors == {} and second.ids() == first.ids()
    for vid in first.ids():
        a, b = first.load(vid), second.load(vid)
        assert np.array_equal(a.landmarks, b.landmarks, equal_nan=True)
        assert all(np.array_equal(x, y) for x, y in zip(a.crops, b.crops) if x is not None)
        assert b.meta["source"] == str(records[[r.video_id for r in records].index(vid)].path.resolve())
    renamed = tmp_path / "elsewhere" / "real" / "copy.mp4"
    renamed.parent.mkdir(parents=True)
    shutil.copy(records[0].path, renamed)
    (renamed.parent.parent / "fake").mkdir()
    other = load_dataset("folder", renamed.parent.parent)
    third, errors = prepare_faces(other, tmp_path / "out3" / "store", cfg, object(), face_cache=cache)
    assert errors == {} and third.ids() == ["real/copy.mp4"]
    # other face settings are another key: nothing is reused, so the dummy detector fails
    _, errors = prepare_faces(records[:1], tmp_path / "out4" / "store", FaceConfig(num_frames=5), object(),
                              face_cache=cache)
    assert list(errors) == [records[0].video_id]


def test_evaluate_help_lists_every_dataset_kind_with_an_example_and_every_option_has_help(capsys):
    import argparse

    from difffake.cli import main
    from difffake.commands import evaluate as command
    from difffake.datasets import READERS

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    undocumented = [a.dest for a in parser._actions if not a.help or a.help == argparse.SUPPRESS]
    assert undocumented == [], undocumented
    with pytest.raises(SystemExit) as done:
        main(["evaluate", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for kind in [*READERS, "auto"]:
        example = command.EXAMPLES[kind].split()[0]
        assert example.startswith((f"{kind}:", f"{kind},")), example
        assert f"  {kind} " in text and example in text, kind
        if kind != "auto":   # each example is a spec the parser accepts (options checked by name)
            assert parse_dataset_spec(example)[0] == kind
