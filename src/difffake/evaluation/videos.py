"""The evaluated videos: embedded from their face store, flagged when the detector saw them
(faces are extracted by workflows.prepare_records)."""
from __future__ import annotations

import logging
from pathlib import Path

from .protocols import VideoItem

log = logging.getLogger("difffake.evaluate")


def load_items(detector, records, store, errors: dict, name: str, cache_dir=None) -> list[VideoItem]:
    """Embeddings of every record (cached per store + backbone), with statuses."""
    from ..embeddings import embed_store, frame_fake_prob

    ok_ids = [r.video_id for r in records if r.video_id not in errors and store.has(r.video_id)]
    embs = embed_store(detector.backbone, store, ok_ids, cache_dir=cache_dir)
    items = []
    for rec in records:
        item = VideoItem(rec, name)
        if rec.video_id in embs:
            item.emb = embs[rec.video_id].emb
            item.fake_prob = frame_fake_prob(detector.backbone, item.emb)
        else:
            item.status, item.reason = "error", errors.get(rec.video_id, "face extraction missing")
        items.append(item)
    return items


def mark_detector_fit(items: list[VideoItem], info: dict, name: str) -> int:
    """Flag (and warn about) test videos whose file is one of the detector's fit/calibration videos."""
    from ..pool import pool_sources

    sources = pool_sources(info)
    hits = []
    for it in items:
        it.in_detector_fit = bool(sources) and str(Path(it.record.path).resolve()) in sources
        if it.in_detector_fit:
            hits.append(it.record.video_id)
    if hits:
        log.warning("%s: %d test video(s) are the detector's own fit/calibration videos (optimistic scores; "
                    "column n_detector_fit): %s%s", name, len(hits), ", ".join(hits[:5]),
                    " ..." if len(hits) > 5 else "")
    return len(hits)
