"""The evaluated videos: faces extracted into a store, embedded, flagged when the detector saw them."""
from __future__ import annotations

import logging
from pathlib import Path

from ..progress import bar as progress_bar
from .protocols import VideoItem

log = logging.getLogger("difffake.evaluate")


def prepare_faces(records, store_dir, face_cfg, face_detector=None, face_cache=None):
    """FaceStore holding every record + {video_id: 'path: reason'} of the files that failed.

    `difffake prepare`'s loop: resumable, an entry made from another file is
    redone, failures (any exception) are retried each run and kept in failures.json.
    `face_cache`: a ContentCache folder; a video whose content (and face settings)
    it holds is copied from it instead of extracted, and new extractions are added.
    """
    from ..faces.store import FaceStore
    from ..workflows.prepare import Job, prepare_jobs

    cache = None
    if face_cache is not None:
        from ..faces.content_cache import ContentCache
        from ..faces.pipeline import store_settings
        cache = ContentCache(face_cache, store_settings(face_cfg))
        store = FaceStore(store_dir, store_settings(face_cfg))
        todo = [r for r in records if not store.has(r.video_id)]
        copied = sum(cache.fill(store, r.video_id, r.path)
                     for r in progress_bar(todo, desc=f"face cache {Path(store_dir).name}", unit="video"))
        if copied:
            log.info("faces of %d videos copied from the face cache %s", copied, face_cache)
    jobs = [Job(str(r.path), r.video_id) for r in records]
    summary = prepare_jobs(jobs, store_dir, face_cfg, detector=face_detector,
                           desc=f"faces {Path(store_dir).name}")
    errors = {f["id"]: f"{f['path']}: {f['reason']}" for f in summary["failures"]}
    if cache is not None:
        # hashing each file's content to key the cache: as slow as reading it
        for r in progress_bar(records, desc=f"face cache {Path(store_dir).name} (store)", unit="video"):
            if r.video_id not in errors:
                cache.put(store, r.video_id, r.path)
        cache.close()
    return FaceStore(store_dir), errors


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
