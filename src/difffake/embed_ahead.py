"""Embed face crops in a second thread while the scan still decodes and searches later frames.

dlib's face search holds the GIL; ONNX Runtime releases it while it runs the
network, so a worker thread can embed the faces found so far, a batch at a
time, on the other core. Only for engines whose outputs do not depend on how
crops are batched (`batch_invariant`: ONNX Runtime's CPU kernels give each crop
the same bits in a batch of 1, 8 or 32, measured; torch's do not, by ~5e-8), so
the scores are exactly those of embedding the whole record at the end.
Crops are matched to the record by identity: a face the record does not keep
as it was handed over is embedded again at the end.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

BATCH = 8   # faces per worker call: small enough to overlap, large enough to keep ORT efficient


def can_embed_ahead(backbone) -> bool:
    return bool(getattr(backbone, "batch_invariant", False)) and hasattr(backbone, "embed_and_classify")


class EmbedAhead:
    """`on_face` during extraction, `result(record)` at the end, `close()` always."""

    def __init__(self, backbone, batch: int = BATCH):
        self.backbone = backbone
        self.batch = batch
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="difffake-embed")
        self._pending: list = []   # crops not yet handed to the worker
        self._jobs: list = []      # (crops, Future of (emb, probs))
        self.embedded_ahead = self.embedded_after = 0

    def on_face(self, frame_index: int, crop, landmarks) -> None:
        self._pending.append(crop)
        if len(self._pending) >= self.batch:
            self._submit()

    def _submit(self) -> None:
        crops, self._pending = self._pending, []
        self._jobs.append((crops, self._pool.submit(self.backbone.embed_and_classify, crops, len(crops))))

    def result(self, record) -> tuple[np.ndarray, np.ndarray | None]:
        """(embeddings, P(fake)) of the record's face frames, as `embed_record_and_prob` gives them."""
        if self._pending:
            self._submit()
        done = {}   # id(crop) -> (crop, embedding, probability); the crop is kept so its id stays its own
        for crops, future in self._jobs:
            emb, probs = future.result()
            for crop, e, p in zip(crops, emb, probs):
                done[id(crop)] = (crop, e, p)
        crops = [record.crops[i] for i in record.face_positions()]
        if any(c is None for c in crops):
            raise ValueError(f"{record.video_id}: record was loaded without crops")
        rows = [done.get(id(c)) for c in crops]
        missing = [k for k, r in enumerate(rows) if r is None or r[0] is not crops[k]]
        if missing:   # changed after it was handed over (or never handed over): embed it now
            emb, probs = self.backbone.embed_and_classify([crops[k] for k in missing], len(missing))
            for k, e, p in zip(missing, emb, probs):
                rows[k] = (crops[k], e, p)
        self.embedded_after = len(missing)
        self.embedded_ahead = len(crops) - len(missing)
        dim = int(getattr(self.backbone, "embedding_size", 0))
        emb = np.stack([r[1] for r in rows]).astype(np.float32) if rows else np.zeros((0, dim), np.float32)
        probs = np.asarray([r[2] for r in rows], np.float64)
        return emb, (probs if len(probs) else None)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
