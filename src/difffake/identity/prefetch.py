"""Identity descriptors computed in a second process while the scan still finds faces.

One dlib descriptor costs about as much as one face detection, and dlib holds
the GIL, so threads cannot overlap them. With a reference, a helper process
(started once per run, on machines with two or more cores) describes the face
frames the identity check is expected to use as soon as the face pipeline
crops them; the scan's own process meanwhile decodes and detects the next
frames. Which face frames are used is only known at the end (evenly spread over
the frames where a big enough face was found); the expected ones are those of a
video with a face in every sampled frame, and any other needed frame is
described at the end in this process. So the descriptors, and the verdict, are
exactly those of `DlibIdentityEmbedder.embed_record`.
"""
from __future__ import annotations

import logging
import os
import weakref

import numpy as np

from ..backbone.workers import available_cores
from .embedder import DESCRIPTOR_SIZE, spread_positions

log = logging.getLogger("difffake.identity")


cores = available_cores   # a module name of its own: tests set it to run the helper anywhere


def prefetch_enabled() -> bool:
    """Two or more cores, and not switched off (DIFFFAKE_IDENTITY_PREFETCH=0)."""
    return cores() >= 2 and os.environ.get("DIFFFAKE_IDENTITY_PREFETCH", "1") != "0"


class DescriptorPool:
    """One helper process holding dlib's face-recognition model (identity.descriptor_worker)."""

    def __init__(self, embedder):
        from .descriptor_worker import DescriptorProcess

        self.embedder = embedder
        self._process = DescriptorProcess(embedder.settings())   # loads the model while the reference is built
        # Ended with its detector (garbage-collected or Detector.close()), or at exit at the latest.
        self._finalizer = weakref.finalize(self, self._process.close)

    def submit(self, crop, landmarks):
        return self._process.submit(crop, landmarks)

    def video(self, num_frames: int) -> VideoPrefetch:
        return VideoPrefetch(self, num_frames)

    def close(self) -> None:
        self._finalizer()   # once: later calls do nothing


class VideoPrefetch:
    """The descriptors of one video: `on_face` while extracting, `descriptors(record)` at the end."""

    def __init__(self, pool: DescriptorPool, num_frames: int):
        self.pool = pool
        self._expected = set(spread_positions(num_frames, pool.embedder.max_frames).tolist())
        self._seen = 0
        self._futures = {}   # video frame index -> Future of its descriptor
        self.prefetched = self.described_here = 0

    def on_face(self, frame_index: int, crop, landmarks) -> None:
        if self._seen in self._expected:
            self._futures[int(frame_index)] = self.pool.submit(crop, landmarks)
        self._seen += 1

    def descriptors(self, record) -> np.ndarray:
        """(num_faces, 128) float32 as `embedder.embed_record(record)` gives them."""
        embedder = self.pool.embedder
        faces = record.face_positions()
        out = np.full((len(faces), DESCRIPTOR_SIZE), np.nan, np.float32)
        for row in embedder.usable_positions(record):
            i = faces[row]
            future = self._futures.pop(int(record.frame_indices[i]), None)
            if future is not None:
                try:
                    out[row] = future.result()
                    self.prefetched += 1
                    continue
                except RuntimeError as exc:   # the helper process died: this process does it
                    log.warning("%s: %s; describing the faces here", record.video_id, exc)
            out[row] = embedder.descriptor(record.crops[i], record.landmarks[i])
            self.described_here += 1
        self._futures.clear()   # expected frames that were not used: their replies are dropped
        return out


def descriptor_pool(detector) -> DescriptorPool | None:
    """The detector's helper process (started on first use; None where prefetching is off)."""
    if not prefetch_enabled():
        return None
    pool = getattr(detector, "_identity_pool", None)
    if pool is None:
        from .check import identity_embedder
        pool = detector._identity_pool = DescriptorPool(identity_embedder(detector))
    return pool


def prefetch_for(detector, reference) -> VideoPrefetch | None:
    """A per-video prefetch when scanning against a reference with faces, else None."""
    if reference is None or len(getattr(reference, "descriptors", ())) == 0:
        return None
    pool = descriptor_pool(detector)
    return pool.video(detector.face_cfg.num_frames) if pool is not None else None
