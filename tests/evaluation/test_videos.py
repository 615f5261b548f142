"""difffake.evaluation.videos: the evaluated videos' embeddings from their face store, their
statuses, and the flag on test videos that are the detector's own fit/calibration videos."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from difffake.datasets.records import VideoRecord
from difffake.embeddings import embed_store, frame_fake_prob
from difffake.evaluation.protocols import VideoItem
from difffake.evaluation.videos import load_items, mark_detector_fit


@pytest.fixture(scope="module")
def records(synthetic_videos) -> list[VideoRecord]:
    paths = sorted(synthetic_videos.glob("*.mp4"))
    recs = [VideoRecord(p, p.name, "real" if k < 2 else "fake", "real" if k < 2 else "x", "syn")
            for k, p in enumerate(paths)]
    # one video prepare failed on, one whose faces were never extracted
    recs.append(VideoRecord(synthetic_videos / "broken.mp4", "broken.mp4", "fake", "x", "syn"))
    recs.append(VideoRecord(synthetic_videos / "never.mp4", "never.mp4", "real", "real", "syn"))
    return recs


def test_load_items_embeds_the_stored_videos_and_says_why_the_others_are_not(
        tiny_detector, tiny_store, records, tmp_path):
    errors = {"broken.mp4": "/x/broken.mp4: cannot be opened as a video"}
    items = load_items(tiny_detector, records, tiny_store, errors, "syn-1", cache_dir=tmp_path / "cache")
    assert [it.record for it in items] == records
    assert {it.dataset for it in items} == {"syn-1"}
    assert [(it.status, it.reason) for it in items] == [
        ("ok", ""), ("ok", ""), ("ok", ""),
        ("error", "/x/broken.mp4: cannot be opened as a video"),
        ("error", "face extraction missing")]
    assert [it.emb is None for it in items] == [False, False, False, True, True]
    direct = embed_store(tiny_detector.backbone, tiny_store, cache_dir=tmp_path / "other_cache")
    for it in items[:3]:
        assert np.array_equal(it.emb, direct[it.record.video_id].emb)
        assert it.emb.shape[0] == tiny_store.load(it.record.video_id, with_crops=False).num_faces
        assert np.array_equal(it.fake_prob, frame_fake_prob(tiny_detector.backbone, it.emb))
        assert it.fake_prob.shape == (it.emb.shape[0],)
    assert [it.label for it in items] == [0, 0, 1, 1, 0]
    assert sorted(p.suffix for p in (tmp_path / "cache").iterdir()) == [".npz"]   # the cache it was given


def test_an_error_wins_over_a_stored_entry(tiny_detector, tiny_store, records, tmp_path):
    # prepare failed on the file this run: an older store entry is not scored
    items = load_items(tiny_detector, records[:1], tiny_store, {"astro_0.mp4": "gone: reason"}, "syn",
                       cache_dir=tmp_path)
    assert [(it.status, it.reason, it.emb) for it in items] == [("error", "gone: reason", None)]


def test_mark_detector_fit_flags_the_same_files(records, caplog):
    items = [VideoItem(r, "syn") for r in records]
    info = {"pool": {"astro_0.mp4": {"store": 0, "id": "astro_0.mp4", "source": str(records[0].path.resolve())},
                     "1:astro_2.mp4": {"store": 1, "id": "astro_2.mp4", "source": str(records[2].path.resolve())},
                     "old": {"store": 0, "id": "old.mp4", "source": None}}}
    with caplog.at_level(logging.WARNING, logger="difffake.evaluate"):
        assert mark_detector_fit(items, info, "syn-1") == 2
    assert [it.in_detector_fit for it in items] == [True, False, True, False, False]
    assert caplog.records[-1].getMessage() == (
        "syn-1: 2 test video(s) are the detector's own fit/calibration videos (optimistic scores; "
        "column n_detector_fit): astro_0.mp4, astro_2.mp4")


def test_mark_detector_fit_without_pool_flags_nothing(records, caplog):
    items = [VideoItem(r, "syn", in_detector_fit=True) for r in records]
    with caplog.at_level(logging.WARNING, logger="difffake.evaluate"):
        assert mark_detector_fit(items, {}, "syn") == 0
    assert [it.in_detector_fit for it in items] == [False] * 5 and caplog.records == []


def test_more_than_five_hits_are_cut_short_in_the_warning(tmp_path, caplog):
    recs = [VideoRecord(tmp_path / f"v{k}.mp4", f"v{k}.mp4", "real", "real", "d") for k in range(7)]
    info = {"pool": {r.video_id: {"source": str(r.path.resolve())} for r in recs}}
    with caplog.at_level(logging.WARNING, logger="difffake.evaluate"):
        assert mark_detector_fit([VideoItem(r, "d") for r in recs], info, "d") == 7
    assert caplog.records[-1].getMessage().endswith("n_detector_fit): v0.mp4, v1.mp4, v2.mp4, v3.mp4, v4.mp4 ...")
