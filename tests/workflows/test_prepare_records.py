"""difffake.workflows.prepare_records: the faces of dataset records into a store (evaluate's first step),
with the files that failed as {video_id: 'path: reason'}."""
from __future__ import annotations

import json
import shutil

import pytest

from difffake.config import FaceConfig
from difffake.datasets.records import VideoRecord
from difffake.faces.store import FaceStore
from difffake.workflows.prepare_records import prepare_faces

CFG = FaceConfig(num_frames=3)
NOT_A_VIDEO = ("cannot be opened as a video (not a video, unsupported codec, or truncated container): "
               "Invalid data found when processing input; FFmpeg: [mov,mp4,m4a,3gp,3g2,mj2] moov atom not found")


@pytest.fixture
def records(synthetic_videos, tmp_path) -> list[VideoRecord]:
    """Two real videos under ids that are not their file names, and a text file named .mp4."""
    folder = tmp_path / "media"
    folder.mkdir()
    shutil.copy(synthetic_videos / "astro_0.mp4", folder / "a.mp4")
    shutil.copy(synthetic_videos / "astro_1.mp4", folder / "b.mp4")
    (folder / "broken.mp4").write_text("not a video\n")
    return [VideoRecord(folder / "a.mp4", "real/a.mp4", "real", "real", "t"),
            VideoRecord(folder / "broken.mp4", "fake/broken.mp4", "fake", "x", "t"),
            VideoRecord(folder / "b.mp4", "fake/b.mp4", "fake", "x", "t")]


def test_faces_of_every_record_and_the_failures_by_id(records, face_detector, tmp_path):
    store, errors = prepare_faces(records, tmp_path / "store", CFG, face_detector)
    assert isinstance(store, FaceStore) and store.root == tmp_path / "store"
    assert store.ids() == ["fake/b.mp4", "real/a.mp4"]
    broken = records[1].path
    assert errors == {"fake/broken.mp4": f"{broken}: {NOT_A_VIDEO}"}
    entry = store.load("real/a.mp4")
    assert entry.meta["source"] == str(records[0].path.resolve())
    assert entry.num_frames == 3 and entry.num_faces == 3
    failures = json.loads((tmp_path / "store" / "failures.json").read_text())
    assert failures == [{"id": "fake/broken.mp4", "path": str(broken), "reason": NOT_A_VIDEO}]


def test_a_second_run_reuses_entries_and_retries_the_failure(records, face_detector, tmp_path):
    prepare_faces(records, tmp_path / "store", CFG, face_detector)
    entry = FaceStore(tmp_path / "store").path_for("real/a.mp4")
    written = entry.stat().st_mtime_ns
    shutil.copy(records[0].path, records[1].path)   # the broken file is fixed
    store, errors = prepare_faces(records, tmp_path / "store", CFG, face_detector)
    assert errors == {} and store.ids() == ["fake/b.mp4", "fake/broken.mp4", "real/a.mp4"]
    assert entry.stat().st_mtime_ns == written        # not extracted again
    assert json.loads((tmp_path / "store" / "failures.json").read_text()) == []


def test_through_a_face_cache_the_failure_is_not_cached(records, face_detector, tmp_path):
    cache = tmp_path / "face_cache"
    _, first = prepare_faces(records, tmp_path / "s1", CFG, face_detector, face_cache=cache)
    # the second store fills from the cache; `object()` as the detector: any extraction fails
    store, errors = prepare_faces(records, tmp_path / "s2", CFG, object(), face_cache=cache)
    assert store.ids() == ["fake/b.mp4", "real/a.mp4"]
    assert first == {"fake/broken.mp4": f"{records[1].path}: {NOT_A_VIDEO}"}
    assert errors == {"fake/broken.mp4": f"{records[1].path}: {NOT_A_VIDEO}"}
