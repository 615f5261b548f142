"""Detector: save/load round trip, checksum tamper detection, scan statuses, fit command."""
import json

import cv2
import numpy as np
import pytest

from difffake.detector import Detector, DetectorFileError, ScanResult
from difffake.embeddings import backbone_fingerprint, embed_store

FRAMES = 6


def _gray_video(path, frames=6):
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (160, 120))
    for _ in range(frames):
        w.write(np.full((120, 160, 3), 128, np.uint8))
    w.release()
    return path


def test_embedding_cache_reused_not_recomputed(tiny_backbone, tiny_store, tmp_path):
    first = embed_store(tiny_backbone, tiny_store, cache_dir=tmp_path)
    files = list(tmp_path.glob("*.npz"))
    assert len(files) == 1 and backbone_fingerprint(tiny_backbone)[:16] in files[0].name

    class Exploding:  # same fingerprint, but embedding again would fail
        cfg = tiny_backbone.cfg
        embedding_size = tiny_backbone.embedding_size

        def embed_crops(self, *a, **k):
            raise AssertionError("re-embedded a cached video")

    again = embed_store(Exploding(), tiny_store, cache_dir=tmp_path,
                        fingerprint=backbone_fingerprint(tiny_backbone))
    for vid, item in first.items():
        assert np.array_equal(item.emb, again[vid].emb)
        assert item.emb.shape == (int(item.has_face.sum()), tiny_backbone.embedding_size)


def test_save_load_round_trip_same_scores(tiny_detector, tiny_store, tmp_path):
    out = tiny_detector.save(tmp_path / "det")
    assert {p.name for p in out.iterdir()} >= {"backbone.safetensors", "backbone.json",
                                               "density.npz", "model.json"}
    card = json.loads((out / "model.json").read_text())
    assert set(card["checksums"]) == {"backbone.safetensors", "backbone.json", "density.npz"}
    assert "sklearn" in card["versions"] and card["calibration"]["n"] == 1
    loaded = Detector.load(out)
    for vid in tiny_store.ids():
        rec = tiny_store.load(vid)
        a, b = tiny_detector.score_record(rec), loaded.score_record(rec)
        assert a.status == "ok" and np.isclose(a.score, b.score, rtol=1e-5)
    assert loaded.calibration.threshold == tiny_detector.calibration.threshold
    assert loaded.face_cfg == tiny_detector.face_cfg


@pytest.mark.parametrize("victim", ["density.npz", "backbone.safetensors", "backbone.json"])
def test_modified_file_fails_to_load(tiny_detector, tmp_path, victim):
    out = tiny_detector.save(tmp_path / "det")
    path = out / victim
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(DetectorFileError, match="checksum mismatch"):
        Detector.load(out)


def test_missing_files_and_default_give_clear_errors(tiny_detector, tmp_path, monkeypatch):
    out = tiny_detector.save(tmp_path / "det")
    (out / "density.npz").unlink()
    with pytest.raises(DetectorFileError, match="density.npz: missing"):
        Detector.load(out)
    with pytest.raises(DetectorFileError, match="not a detector folder"):
        Detector.load(tmp_path)
    import difffake.detector as dmod
    monkeypatch.setattr(dmod, "DEFAULT_DIR", tmp_path / "nothing")
    with pytest.raises(DetectorFileError, match="no default detector"):
        Detector.load()


def test_scan_ok_no_face_and_error(tiny_detector, synthetic_videos, tmp_path):
    res = tiny_detector.scan(sorted(synthetic_videos.glob("*.mp4"))[0])
    assert isinstance(res, ScanResult) and res.status == "ok"
    assert res.n_frames == FRAMES and res.n_faces >= FRAMES - 1
    assert res.n_pairs == len(res.pairs) == len(res.pair_scores) >= 1
    assert res.score == pytest.approx(np.mean(res.pair_scores))
    assert set(np.ravel(res.pairs)) <= set(res.frame_indices)          # pairs name video frames
    assert res.verdict in ("fake", "real") and 0 < res.p_value_real <= 1
    assert set(res.timings) == {"decode", "faces", "embed", "score"}
    assert res.classifier_score is not None and len(res.frame_fake_prob) == res.n_faces
    json.dumps(res.to_dict())                                          # JSON-serialisable

    gray = tiny_detector.scan(_gray_video(tmp_path / "gray.mp4"))
    assert gray.status == "no_face" and gray.score is None and gray.verdict == "unknown"
    assert gray.n_frames == FRAMES and gray.n_faces == 0 and "face" in gray.error

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    err = tiny_detector.scan(bad)
    assert err.status == "error" and err.score is None and "broken.mp4" in err.error


def test_fit_command_excludes_training_ids_and_holds_out_calibration(tiny_backbone, tiny_store,
                                                                     synthetic_videos, synthetic_folder_dataset,
                                                                     tmp_path, capsys, monkeypatch):
    import csv
    from pathlib import Path

    from difffake.cli import main
    from difffake.faces.store import FaceStore

    # a test set whose real/<ids[1]> is the very file one pool entry was extracted from
    ds = synthetic_folder_dataset
    vids = sorted(synthetic_videos.glob("*.mp4"))
    ids = tiny_store.ids()
    pooled = ids[1]
    store = FaceStore(tmp_path / "pool" / "store", tiny_store.settings)
    for vid in ids:
        rec = tiny_store.load(vid)
        if vid == pooled:
            rec.meta["source"] = str(ds / "real" / vid)
        store.save(rec)

    run = tmp_path / "run"
    tiny_backbone.save(run)
    (run / "split.json").write_text(json.dumps({"train": [ids[0]], "val": []}))
    out = tmp_path / "det"
    monkeypatch.chdir(tmp_path / "pool")   # the store given as a relative path
    code = main(["fit", "--backbone", str(run), "--store", "store", "--out", str(out),
                 "--density", "knn", "--knn-k", "2", "--pca", "0", "--cache", str(tmp_path / "c"),
                 "--calibration", "holdout", "--allow-small-calibration"])
    assert code == 0
    err = capsys.readouterr().err
    assert "1 excluded" in err and "split:" in err
    card = json.loads((out / "model.json").read_text())
    info = card["info"]
    assert ids[0] not in info["fit_ids"] + info["cal_ids"]
    assert not set(info["fit_ids"]) & set(info["cal_ids"])
    assert info["fit_ids"] and info["cal_ids"]
    assert card["calibration"]["ids"] == info["cal_ids"]
    # model.json: store paths and each pool key's (store index, id, source) spelled out, relative to
    # the detector folder on disk (no absolute build-machine paths), absolute once loaded
    assert info["stores"] == ["../pool/store"]
    assert (out / info["stores"][0]).resolve() == store.root.resolve()
    assert set(info["pool"]) == set(info["fit_ids"]) | set(info["cal_ids"]) == set(ids[1:])
    for key, entry in info["pool"].items():
        assert (entry["store"], entry["id"]) == (0, key)
        src = ds / "real" / key if key == pooled else synthetic_videos / key
        assert not Path(entry["source"]).is_absolute() and (out / entry["source"]).resolve() == src.resolve()
    det = Detector.load(out)
    assert det.info["stores"] == [str(store.root.resolve())]
    for key, entry in det.info["pool"].items():
        src = ds / "real" / key if key == pooled else synthetic_videos / key
        assert entry["source"] == str(src.resolve())
    assert det.anomaly.cfg.density == "knn" and det.face_cfg.num_frames == len(
        tiny_store.load(ids[0]).frame_indices)

    # evaluate --variants refits on the detector's own fit/calibration videos from model.json
    monkeypatch.chdir(run)   # model.json's store paths must work from another folder
    code = main(["evaluate", "--detector", str(out), "--dataset", f"auto:{ds}", "--out", str(tmp_path / "rep"),
                 "--variants", "sq:knn:nopca:k2,single:knn:nopca:k2,classifier", "--bootstrap", "20",
                 "--cache", str(tmp_path / "c")])
    assert code == 0
    with open(tmp_path / "rep" / "variants.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["variant"] for r in rows] == ["detector", "sq:knn:nopca:k2", "single:knn:nopca:k2",
                                            "classifier (backbone mean P(fake))"]
    assert all((r["n_real"], r["n_fake"]) == ("2", "1") for r in rows)
    # the test video that is a fit/calibration video is flagged, in the table and per video
    assert all(r["n_detector_fit"] == "1" for r in rows)
    ds_dir = next(p for p in (tmp_path / "rep").iterdir() if p.is_dir() and p.name.startswith("folder-"))
    with open(ds_dir / "videos.csv") as fh:
        flags = {r["video_id"]: r["detector_fit_video"] for r in csv.DictReader(fh)}
    assert flags == {f"real/{vids[0].name}": str(int(vids[0].name == pooled)),
                     f"real/{vids[1].name}": str(int(vids[1].name == pooled)), f"fake/{vids[2].name}": "0"}
    assert "fit/calibration videos" in (ds_dir / "table.md").read_text()
    assert Path.cwd() == run


def test_fit_logs_ids_excluded_only_by_file_name(tiny_backbone, tiny_store, tmp_path, capsys):
    from difffake.cli import main

    run = tmp_path / "run"
    tiny_backbone.save(run)
    ids = tiny_store.ids()
    (run / "split.json").write_text(json.dumps({"train": [f"elsewhere/{ids[0]}"], "val": []}))
    code = main(["fit", "--backbone", str(run), "--store", str(tiny_store.root), "--out", str(tmp_path / "det"),
                 "--density", "knn", "--knn-k", "2", "--pca", "0", "--cache", str(tmp_path / "c"),
                 "--calibration", "holdout", "--allow-small-calibration"])
    assert code == 0
    err = capsys.readouterr().err
    assert f"1 pool videos excluded only because their FILE NAME matches a training id (not their id): {ids[0]}" in err
    info = json.loads((tmp_path / "det" / "model.json").read_text())["info"]
    assert info["excluded_by_name_only"] == [ids[0]]


def test_scan_pairs_skip_a_faceless_middle_frame(tiny_detector, tiny_store):
    rec = tiny_store.load("astro_0.mp4")
    rec.frame_indices = np.asarray(rec.frame_indices) * 5 + 2   # frame numbers != positions
    face = np.flatnonzero(rec.has_face)
    mid = int(face[len(face) // 2])
    rec.has_face = rec.has_face.copy()
    rec.has_face[mid] = False
    rec.crops = [None if i == mid else c for i, c in enumerate(rec.crops)]
    blank = int(rec.frame_indices[mid])
    res = tiny_detector.scan("astro_0.mp4", record=rec)
    assert res.status == "ok" and res.n_faces == len(face) - 1
    face_frames = {int(f) for f, h in zip(rec.frame_indices, rec.has_face) if h}
    used = {int(v) for v in np.ravel(res.pairs)}
    assert used <= face_frames and blank not in used
    assert max(used) > blank   # pairs reach past the gap, so the mapping was exercised


def test_each_thread_gets_its_own_face_detector(tiny_detector):
    import threading

    mine = tiny_detector.face_detector()
    assert tiny_detector.face_detector() is mine   # made once per thread, not per call
    theirs = []
    t = threading.Thread(target=lambda: theirs.append(tiny_detector.face_detector()))
    t.start()
    t.join()
    assert theirs[0] is not mine and type(theirs[0]) is type(mine)
    assert tiny_detector.scanning_with(frames=4).face_detector() is mine   # a view shares this thread's


CONCURRENT_SCANS = """
import json, sys, threading
from difffake.detector import Detector
det = Detector.load(None, engine="onnx")
videos = sys.argv[1:]
serial = [det.scan(v).score for v in videos]
found = {}
def scan_all(k):
    found[k] = [det.scan(v).score for v in videos * 2]
threads = [threading.Thread(target=scan_all, args=(k,)) for k in range(2)]
[t.start() for t in threads]
[t.join() for t in threads]
print(json.dumps({"serial": serial, "threads": [found[0], found[1]]}))
"""


def test_one_detector_scans_in_two_threads_at_once(synthetic_videos):
    """Two threads scanning with one Detector (as serve's workers may) get the serial scores;
    with one shared dlib detector this crashed the process (SIGSEGV)."""
    import subprocess
    import sys

    videos = [str(p) for p in sorted(synthetic_videos.glob("*.mp4"))]
    out = subprocess.run([sys.executable, "-c", CONCURRENT_SCANS, *videos], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert all(s is not None for s in got["serial"])
    assert got["threads"] == [got["serial"] * 2] * 2
