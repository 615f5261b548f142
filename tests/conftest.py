"""Shared fixtures: real media from ../shared/data (skipped on a fresh clone) and
synthetic media built from scikit-image's astronaut photo (always available).

Fixtures other test files use:
- shared_data       Path of ../shared/data (skip if missing)
- astronaut_rgb     the astronaut photo, RGB uint8 (512, 512, 3)
- astronaut_face    FaceRecord of that photo (crops[0], landmarks[0] in crop pixels)
- real_face_items   ~12 (crop, landmarks, source_id) from shared real photos
- synthetic_videos  folder with 3 short mp4s of the astronaut moving (12 frames each)
- tiny_store        FaceStore built by the pipeline from synthetic_videos
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from difffake.backbone.malloc import tune_in_process
from difffake.config import FaceConfig

# As the `difffake` command does for torch work: the in-process torch tests ran ~2x slower
# untuned (glibc mapped and unmapped every activation), and the children they start inherit it.
tune_in_process()

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
SYNTH_VIDEO_FRAMES = 12
SYNTH_VIDEO_COUNT = 3


@pytest.fixture(scope="session", autouse=True)
def _face_cache_in_tmp(tmp_path_factory):
    """`evaluate` keeps a content-keyed face cache in ~/.cache by default: keep tests out of it."""
    import os
    os.environ.setdefault("DIFFFAKE_FACE_CACHE", str(tmp_path_factory.mktemp("face_cache")))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("needs ../shared/data (not in a fresh clone)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def dev_twin_scans(shared_data) -> dict:
    """The shipped detector's scans of every DeepFaceLive twin of dev (evaluation only), on both
    engines from the same faces: {name: {"real" | "fake": {"onnx" | "torch": ScanResult}}}.
    Shared because scanning the 50 videos is the slowest part of the tests that need them."""
    from difffake.detector import Detector
    from difffake.faces.pipeline import extract_faces

    det = {e: Detector.load(engine=e) for e in ("onnx", "torch")}
    face_detector = det["onnx"].face_detector()
    scans = {}
    for name in sorted(p.name for p in (shared_data / "dev" / "fake").glob("dfl_*.mp4")):
        for sub in ("real", "fake"):
            path = shared_data / "dev" / sub / name
            record = extract_faces(path, det["onnx"].face_cfg, face_detector)
            scans.setdefault(name, {})[sub] = {e: d.scan(path, record=record) for e, d in det.items()}
    for d in det.values():
        d.close()
    return scans


# Threads difffake starts; one still alive after its test module is a leak: it keeps
# decoding, scanning or serving while later tests fork DataLoader workers or the
# interpreter shuts down, where native code (OpenCV, dlib, ONNX Runtime) can crash.
OWN_THREADS = ("frames-ahead", "difffake-scan-", "difffake-embed", "identity-writer", "identity-reader", "uvicorn-test")


@pytest.fixture(scope="module", autouse=True)
def _no_thread_outlives_its_module(request):
    import gc
    import threading
    import time

    before = set(threading.enumerate())
    yield
    gc.collect()   # what dead objects hold (a garbage detector's identity helper) ends with them
    deadline = time.monotonic() + 5.0   # a stopping thread gets a moment to finish
    while True:
        left = [t for t in threading.enumerate()
                if t not in before and t.is_alive() and t.name.startswith(OWN_THREADS)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not left, f"{request.module.__name__} left threads running: {sorted(t.name for t in left)}"


@pytest.fixture(scope="session")
def astronaut_rgb() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(data.astronaut())


@pytest.fixture(scope="session")
def face_detector():
    """One dlib detector for the whole session (loading the 68-point model costs ~1 s)."""
    from difffake.faces.pipeline import detector_for

    return detector_for(FaceConfig())


@pytest.fixture(scope="session")
def astronaut_face(astronaut_rgb, face_detector, tmp_path_factory):
    from difffake.faces.pipeline import extract_faces

    path = tmp_path_factory.mktemp("astronaut") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(astronaut_rgb, cv2.COLOR_RGB2BGR))
    record = extract_faces(path, FaceConfig(), face_detector, video_id="astronaut.png")
    assert record.has_face[0], "dlib found no face in skimage's astronaut photo"
    return record


@pytest.fixture(scope="session")
def real_face_items(shared_data, face_detector):
    """(crop RGB, landmarks (68, 2) in crop pixels, source id) of ~12 real photos."""
    from difffake.faces.pipeline import extract_faces

    photos = sorted((shared_data / "real" / "photos").iterdir())
    items = []
    for path in photos[::7]:  # spread over sources (files are sorted by source)
        record = extract_faces(path, FaceConfig(num_frames=1), face_detector,
                               video_id=f"photos/{path.name}")
        if record.has_face[0] and _upright(record.landmarks[0]):
            items.append((record.crops[0], record.landmarks[0], record.video_id))
        if len(items) == 12:
            break
    assert len(items) >= 8, f"only {len(items)} faces found in {len(photos[::7])} photos"
    return items


def _upright(lm) -> bool:
    """Eyes clearly above the nose tip along the face's axis: the mask-geometry checks assume a
    face seen from the front (a face seen from below, or landmarks that missed, would not do)."""
    lm = np.asarray(lm, np.float64)
    eyes, chin = lm[36:48].mean(axis=0), lm[8]
    axis = chin - eyes
    return float(np.dot(lm[30] - eyes, axis) / np.dot(axis, axis)) > 0.25


def write_moving_face_video(path: Path, rgb: np.ndarray, num_frames: int, seed: int,
                            size=(320, 256), fps: float = 10.0) -> Path:
    """An mp4 of a window drifting and zooming slightly over `rgb` (a face photo)."""
    rng = np.random.default_rng(seed)
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
    assert writer.isOpened(), f"{path}: OpenCV cannot write mp4v"
    dx, dy = rng.uniform(-3, 3, 2)
    for i in range(num_frames):
        zoom = 1.0 + 0.01 * i * rng.choice([-1, 1]) * 0.5
        scaled = cv2.resize(rgb, None, fx=zoom, fy=zoom, interpolation=cv2.INTER_LINEAR)
        # The astronaut's face (nose tip) is near (225, 127): keep it inside the window.
        cx, cy = int(225 * zoom + dx * i), int(140 * zoom + dy * i)
        x0 = int(np.clip(cx - w // 2, 0, scaled.shape[1] - w))
        y0 = int(np.clip(cy - h // 2, 0, scaled.shape[0] - h))
        frame = scaled[y0:y0 + h, x0:x0 + w]
        gain = 1.0 + rng.uniform(-0.05, 0.05)
        frame = np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        writer.write(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


@pytest.fixture(scope="session")
def synthetic_videos(astronaut_rgb, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic_videos")
    for k in range(SYNTH_VIDEO_COUNT):
        write_moving_face_video(folder / f"astro_{k}.mp4", astronaut_rgb, SYNTH_VIDEO_FRAMES, seed=k)
    return folder


@pytest.fixture(scope="session")
def tiny_store(synthetic_videos, face_detector, tmp_path_factory):
    """FaceStore of the synthetic videos (every frame sampled), ids 'astro_<k>.mp4'."""
    from difffake.faces.pipeline import extract_faces, store_settings
    from difffake.faces.store import FaceStore

    cfg = FaceConfig(num_frames=SYNTH_VIDEO_FRAMES)
    store = FaceStore(tmp_path_factory.mktemp("tiny_store") / "store", store_settings(cfg))
    for path in sorted(synthetic_videos.glob("*.mp4")):
        record = extract_faces(path, cfg, face_detector, video_id=path.name)
        assert record.num_faces >= SYNTH_VIDEO_FRAMES - 1, f"{path.name}: {record.num_faces} faces"
        store.save(record)
    return store


@pytest.fixture(scope="session")
def face_video_writer():
    """write_moving_face_video(path, rgb, num_frames, seed) for tests that need their own videos."""
    return write_moving_face_video


# --- a tiny but real detector (untrained backbone), for detector/scan/report tests ---
DETECTOR_FRAMES = 6


@pytest.fixture(scope="session")
def tiny_backbone():
    from difffake.backbone.model import Backbone
    from difffake.config import BackboneConfig
    # untrained, tiny input: fast, and still a real Backbone with real save/load
    return Backbone(BackboneConfig(pretrained="none", input_size=48, mean=(0.5,) * 3, std=(0.5,) * 3))


@pytest.fixture(scope="session")
def tiny_detector(tiny_backbone, tiny_store, tmp_path_factory):
    from difffake.anomaly.calibrate import calibrate
    from difffake.anomaly.model import AnomalyModel
    from difffake.config import AnomalyConfig
    from difffake.detector import Detector
    from difffake.embeddings import embed_store
    embs = embed_store(tiny_backbone, tiny_store, cache_dir=tmp_path_factory.mktemp("cache"))
    videos = [e.emb for e in embs.values()]
    model = AnomalyModel(AnomalyConfig(density="knn", knn_k=3, pca_dims=None)).fit(videos[:2])
    cal = calibrate(model.score_videos(videos[2:]), 0.05)
    return Detector(tiny_backbone, model, cal, FaceConfig(num_frames=DETECTOR_FRAMES), {"made_by": "test"})




@pytest.fixture
def synthetic_folder_dataset(synthetic_videos, tmp_path) -> Path:
    """A `folder` dataset in tmp_path/ds: the first two synthetic videos as real, the third as fake."""
    import shutil

    ds = tmp_path / "ds"
    (ds / "real").mkdir(parents=True)
    (ds / "fake").mkdir()
    vids = sorted(synthetic_videos.glob("*.mp4"))
    for v in vids[:2]:
        shutil.copy(v, ds / "real" / v.name)
    shutil.copy(vids[2], ds / "fake" / vids[2].name)
    return ds
