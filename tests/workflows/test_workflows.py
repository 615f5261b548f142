"""The use cases called from Python, no CLI: difffake.workflows on small real media
(the conftest's astronaut videos, written with OpenCV)."""
from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pytest

import difffake
from difffake.config import AnomalyConfig, FaceConfig

KNN = AnomalyConfig(density="knn", knn_k=2, pca_dims=None)


def test_prepare_fills_a_store_lists_failures_and_resumes(synthetic_videos, tmp_path):
    from difffake.faces.store import FaceStore
    from difffake.workflows.prepare import FAILURES, prepare

    media = tmp_path / "media"
    media.mkdir()
    for k in range(2):
        shutil.copy(synthetic_videos / f"astro_{k}.mp4", media / f"astro_{k}.mp4")
    (media / "broken.mp4").write_bytes(b"not a video")
    cfg = FaceConfig(num_frames=4)
    summary = prepare([media], tmp_path / "store", cfg, progress=False)
    assert (summary["inputs"], summary["processed"], summary["failed"]) == (3, 2, 1)
    assert summary["frames"] == 8 and summary["frames_with_face"] >= 6
    [failure] = summary["failures"]
    assert failure["id"] == "broken.mp4" and failure["reason"]
    assert [f["id"] for f in json.loads((tmp_path / "store" / FAILURES).read_text())] == ["broken.mp4"]
    store = FaceStore(tmp_path / "store")
    assert store.ids() == ["astro_0.mp4", "astro_1.mp4"]
    rec = store.load("astro_0.mp4")
    assert rec.num_frames == 4 and rec.meta["source"] == str((media / "astro_0.mp4").resolve())

    again = prepare([media], tmp_path / "store", cfg, progress=False)
    assert (again["skipped_existing"], again["processed"], again["failed"]) == (2, 0, 1)


def test_two_extraction_workers_in_one_process_keep_their_own_store(synthetic_videos, tmp_path, face_detector):
    # the worker state is an object, not a module global: two at once write to their own stores
    from difffake.faces.pipeline import store_settings
    from difffake.faces.store import FaceStore
    from difffake.workflows.prepare import ExtractionWorker, Job

    cfg = FaceConfig(num_frames=3)
    roots = [tmp_path / "a", tmp_path / "b"]
    for root in roots:
        FaceStore(root, store_settings(cfg))
    workers = [ExtractionWorker(str(root), store_settings(cfg), detector=face_detector) for root in roots]
    out_b = workers[1].process(Job(str(synthetic_videos / "astro_1.mp4"), "astro_1.mp4"))
    out_a = workers[0].process(Job(str(synthetic_videos / "astro_0.mp4"), "astro_0.mp4"))
    assert out_a["ok"] and out_b["ok"] and out_a["frames"] == out_b["frames"] == 3
    assert FaceStore(roots[0]).ids() == ["astro_0.mp4"] and FaceStore(roots[1]).ids() == ["astro_1.mp4"]


@pytest.fixture
def run_folder(tiny_backbone, tiny_store, tmp_path):
    """A backbone 'run folder' whose split says it trained on the first store video."""
    run = tmp_path / "run"
    tiny_backbone.save(run)
    (run / "split.json").write_text(json.dumps({"train": [tiny_store.ids()[0]], "val": []}))
    return run


def test_fit_from_python_writes_a_loadable_detector_calibrated_on_held_out_reals(
        run_folder, tiny_backbone, tiny_store, tmp_path):
    from difffake.anomaly.holdout import fit_and_calibrate
    from difffake.detector import Detector
    from difffake.embeddings import embed_store
    from difffake.evaluate import fit_variant

    said = []
    result = difffake.fit(run_folder, [tiny_store.root], tmp_path / "det", anomaly=KNN, calibration="holdout",
                          allow_small_calibration=True, cache=tmp_path / "cache", say=said.append)
    ids = tiny_store.ids()
    info = result.info
    assert info["made_by"] == "difffake.fit (Python)" and info["excluded_training_ids"] == 1
    assert ids[0] not in info["fit_ids"] + info["cal_ids"] and len(info["fit_ids"]) == len(info["cal_ids"]) == 1
    assert any(m.startswith("split: 1 fit videos, 1 calibration videos") for m in said)
    assert said[-1] == f"detector written to {tmp_path / 'det'}"
    assert result.folder == tmp_path / "det" and all(f.is_file() for f in result.files)
    assert {f.name for f in result.files} >= {"model.json", "backbone.safetensors", "density.npz"}
    assert result.calibration.method == "holdout" and result.calibration.n == 1
    assert "differential" in result.calibration.warnings   # one calibration video is too few
    assert result.pseudo_fake_validation is None

    loaded = Detector.load(result.folder)
    assert loaded.anomaly.cfg.density == "knn" and loaded.calibration.threshold == result.calibration.threshold
    assert loaded.face_cfg.num_frames == tiny_store.load(ids[0]).num_frames

    # the one fit + calibrate path: anomaly.holdout and evaluate's variants give this very threshold
    embs = {k: e.emb for k, e in embed_store(tiny_backbone, tiny_store, cache_dir=tmp_path / "cache2").items()}
    fit_embs, cal_embs = [embs[v] for v in info["fit_ids"]], [embs[v] for v in info["cal_ids"]]
    held = fit_and_calibrate(KNN, fit_embs, cal_embs, fit_ids=info["fit_ids"], cal_ids=info["cal_ids"])
    assert held.calibration.threshold == result.calibration.threshold
    assert list(held.calibration.ids) == info["cal_ids"] and held.unscored_ids == []
    _, variant_cal = fit_variant(KNN, fit_embs, cal_embs)
    assert variant_cal.threshold == result.calibration.threshold


def test_detector_fit_classmethod_crossfits_and_refuses_a_small_calibration(run_folder, tiny_store, tmp_path):
    from difffake.detector import Detector
    from difffake.errors import UsageError

    common = dict(anomaly=KNN, calibration="crossfit", fusion=False, folds=3, split_by="video",
                  exclude_training=False, cache=tmp_path / "cache", say=lambda m: None)
    with pytest.raises(UsageError, match="allow-small-calibration"):
        Detector.fit(run_folder, tiny_store.root, tmp_path / "refused", **common)
    assert not (tmp_path / "refused" / "model.json").exists()
    det = Detector.fit(run_folder, tiny_store.root, tmp_path / "det", allow_small_calibration=True, **common)
    assert det.path == tmp_path / "det" and det.calibration.n == len(tiny_store.ids()) == 3
    card = json.loads((tmp_path / "det" / "model.json").read_text())
    assert card["info"]["calibration_method"] == "crossfit" and card["info"]["folds"] == 3
    assert Detector.load(tmp_path / "det").calibration.threshold == det.calibration.threshold


def test_scan_keeps_input_order_and_leaves_the_loaded_detector_unchanged(tiny_detector, synthetic_videos,
                                                                         tmp_path):
    from difffake.workflows.scan import scan

    before = (dataclasses.asdict(tiny_detector.face_cfg), tiny_detector.basis, tiny_detector.calibrated_frames)
    inputs = [synthetic_videos / "astro_2.mp4", tmp_path / "missing.mp4", synthetic_videos / "astro_0.mp4"]
    run = scan(inputs, tiny_detector, frames=4, basis="differential", keep_records=True)
    after = (dataclasses.asdict(tiny_detector.face_cfg), tiny_detector.basis, tiny_detector.calibrated_frames)
    assert after == before and before[0]["num_frames"] == 6   # the conftest detector's 6 frames

    assert [r.path for r in run.results] == [str(p) for p in inputs]
    first, missing, last = run.results
    assert missing.status == "error" and "missing.mp4" in missing.error and missing.record is None
    assert first.status == last.status == "ok" and first.n_frames == last.n_frames == 4
    assert run.detector is not tiny_detector and run.detector.face_cfg.num_frames == 4
    assert run.detector.calibrated_frames == 6 and first.pairs_expected > first.n_pairs
    assert any("calibrated with 6 frames" in note for note in run.notes)
    # the face record travels as a declared attachment, never in the JSON row
    assert first.record is not None and first.record.num_frames == 4
    assert "record" not in first.to_dict() and "evidence" not in first.to_dict()

    # the same file through the loaded detector, at its own frame count, scores as Detector.scan does
    plain = scan([inputs[0]], tiny_detector).results[0]
    direct = tiny_detector.scan(inputs[0])
    assert plain.n_frames == 6 and np.isclose(plain.score, direct.score, atol=1e-9)


def test_scan_refuses_fewer_than_two_frames(tiny_detector, synthetic_videos):
    from difffake.errors import UsageError
    from difffake.workflows.scan import detector_for_scan

    with pytest.raises(UsageError, match="at least 2"):
        detector_for_scan(tiny_detector, frames=1)
    assert tiny_detector.face_cfg.num_frames == 6


def test_train_refuses_stores_that_share_ids_before_any_training(tiny_store, tmp_path):
    from difffake.config import preset
    from difffake.workflows.train import TrainRefused, TrainRequest, train

    cfg = preset("cpu")
    cfg = dataclasses.replace(cfg, backbone=dataclasses.replace(cfg.backbone, pretrained="none"))
    req = TrainRequest([tiny_store.root, tiny_store.root], tmp_path / "run", cfg, device="cpu", force=True)
    with pytest.raises(TrainRefused, match="share video ids"):
        train(req)
    assert not (tmp_path / "run" / "config.json").exists()
