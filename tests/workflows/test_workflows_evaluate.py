"""difffake.workflows.evaluate: every protocol on each dataset -> the report folder and its summary."""
from __future__ import annotations

import csv
import json

import pytest

from difffake.config import AnomalyConfig, FaceConfig
from difffake.detector import Detector
from difffake.embeddings import embed_store
from difffake.evaluation.outputs import FIT_NOTE, UNSCORED_RULE, safe_name
from difffake.evaluation.protocols import dataset_name
from difffake.workflows.evaluate import evaluate


def read(path):
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def report(tiny_detector, tiny_store, synthetic_videos, tmp_path_factory):
    """One evaluate run: a folder dataset (2 real, 1 fake, 1 broken) and a CSV list of the same
    videos (its faces come from the face cache the first one filled); a detector whose model.json
    says it was fitted on real/astro_0.mp4; one variant."""
    import shutil

    tmp = tmp_path_factory.mktemp("evaluate")
    ds = tmp / "ds"
    (ds / "real").mkdir(parents=True)
    (ds / "fake").mkdir()
    for k, where in enumerate(("real", "real", "fake")):
        shutil.copy(synthetic_videos / f"astro_{k}.mp4", ds / where / f"astro_{k}.mp4")
    (ds / "fake" / "broken.mp4").write_bytes(b"garbage")
    (ds / "labels.csv").write_text("path,label\nreal/astro_0.mp4,0\nreal/astro_1.mp4,0\nfake/astro_2.mp4,1\n")
    info = {"pool": {"astro_0.mp4": {"store": 0, "id": "astro_0.mp4",
                                     "source": str((ds / "real" / "astro_0.mp4").resolve())}}}
    detector = Detector(tiny_detector.backbone, tiny_detector.scorer, face_cfg=FaceConfig(num_frames=6), info=info)
    embs = [e.emb for e in embed_store(tiny_detector.backbone, tiny_store, cache_dir=tmp / "c0").values()]
    datasets = [("folder", ds, {}), ("csv", ds / "labels.csv", {})]
    variant = AnomalyConfig(density="knn", knn_k=1, pca_dims=None)
    summary = evaluate(detector, datasets, tmp / "out", variants=[variant], fit_embs=embs[:2], cal_embs=embs[2:],
                       cache_dir=tmp / "cache", n_boot=20, face_cache=tmp / "face_cache")
    return tmp / "out", ds, summary


def test_summary_names_each_dataset_and_is_written(report):
    out, ds, summary = report
    names = [dataset_name("folder", ds, {}), dataset_name("csv", ds / "labels.csv", {})]
    assert summary["datasets"] == [
        {"name": names[0], "kind": "folder", "root": str(ds), "videos": 4, "errors": 1, "detector_fit_videos": 1},
        {"name": names[1], "kind": "csv", "root": str(ds / "labels.csv"), "videos": 3, "errors": 0,
         "detector_fit_videos": 1}]
    assert summary["rule"] == UNSCORED_RULE
    assert json.loads((out / "summary.json").read_text()) == json.loads(json.dumps(summary, default=str))
    for name in names:   # one store per dataset under OUT/stores, one report folder each
        assert (out / "stores" / safe_name(name)).is_dir()
        assert {p.name for p in (out / safe_name(name)).iterdir()} == {
            "table.md", "table.csv", "videos.csv", "unscored.csv", f"roc_{safe_name(name)}.png"}


def test_results_hold_the_detector_rows_variants_every_row(report):
    out, ds, summary = report
    results, variants = read(out / "results.csv"), read(out / "variants.csv")
    assert {r["variant"] for r in results} == {"detector"}
    assert len(variants) == len(summary["rows"]) > len(results)
    assert {r["variant"] for r in variants} == {r["variant"] for r in summary["rows"]} >= {"detector"}
    folder_row = next(r for r in results if r["dataset"] == summary["datasets"][0]["name"])
    assert (folder_row["n_real"], folder_row["n_fake"], folder_row["n_error"], folder_row["n_detector_fit"]) == (
        "2", "1", "1", "1")
    md = (out / "results.md").read_text()
    assert md.startswith("# difffake evaluation\n") and f"- {FIT_NOTE}" in md and f"- {UNSCORED_RULE}" in md


def test_per_dataset_files(report):
    out, ds, summary = report
    folder = out / safe_name(summary["datasets"][0]["name"])
    videos = {r["video_id"]: r for r in read(folder / "videos.csv")}
    assert sorted(videos) == ["fake/astro_2.mp4", "fake/broken.mp4", "real/astro_0.mp4", "real/astro_1.mp4"]
    assert [videos[v]["detector_fit_video"] for v in sorted(videos)] == ["0", "0", "1", "0"]
    assert videos["fake/broken.mp4"]["status[detector]"] == "error" and videos["fake/broken.mp4"]["score[detector]"] == ""
    unscored = read(folder / "unscored.csv")
    assert {(u["variant"], u["video_id"], u["status"]) for u in unscored} == {
        (v, "fake/broken.mp4", "error") for v in {r["variant"] for r in summary["rows"]}}
    assert unscored[0]["reason"].startswith(f"{ds.resolve() / 'fake' / 'broken.mp4'}: ")
    table = (folder / "table.md").read_text()
    assert f"4 videos read from {ds} (folder)" in table and FIT_NOTE in table
