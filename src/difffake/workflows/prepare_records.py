"""Faces of dataset records into a store, through a content-keyed face cache when given
(evaluate's first step: the prepare loop over records instead of files)."""
from __future__ import annotations

import logging
from pathlib import Path

from ..progress import bar as progress_bar
from .prepare import Job, prepare_jobs

log = logging.getLogger("difffake.evaluate")


def prepare_faces(records, store_dir, face_cfg, face_detector=None, face_cache=None):
    """FaceStore holding every record + {video_id: 'path: reason'} of the files that failed.

    `difffake prepare`'s loop: resumable, an entry made from another file is
    redone, failures (any exception) are retried each run and kept in failures.json.
    `face_cache`: a ContentCache folder; a video whose content (and face settings)
    it holds is copied from it instead of extracted, and new extractions are added.
    """
    from ..faces.store import FaceStore

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
