"""Embed the faces of a video while its later frames are still decoded and searched.

A scan used to find all faces, then embed them: on two cores the network then
waited for the face search, and the face search had waited for the decoder.
`EmbedAhead.on_face` takes each crop as soon as it is cut (the `on_face` hook of
faces.pipeline.extract_faces) and runs the network on every `batch_size` of them in
one helper thread (ONNX Runtime releases the GIL for the whole graph; torch does not
gain, see embed_ahead_for).
The network's outputs do not depend on how crops are grouped into batches (checked
bit for bit in tests/test_embed_ahead.py), so the result is exactly that of
embedding the finished record in one go. Faces the identity check drops later
(another person) were embedded for nothing and are left out.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from .embeddings import embed_record_and_prob


class EmbedAhead:
    """Collects crops by frame index, embeds them in batches in the background."""

    def __init__(self, backbone, batch_size: int = 8):
        self.backbone = backbone
        self.batch_size = batch_size
        self._pending: list[tuple[int, np.ndarray]] = []
        self._jobs: list[tuple[list[int], Future]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="difffake-embed")

    def on_face(self, index: int, crop: np.ndarray, landmarks=None) -> None:
        self._pending.append((int(index), crop))
        if len(self._pending) >= self.batch_size:
            self._submit()

    def _submit(self) -> None:
        if not self._pending:
            return
        indices = [i for i, _ in self._pending]
        crops = [c for _, c in self._pending]
        self._pending = []
        self._jobs.append((indices, self._pool.submit(self.backbone.embed_and_classify, crops)))

    def result(self, record) -> tuple[np.ndarray, np.ndarray | None]:
        """(embeddings, P(fake)) of the record's face frames in order, as embed_record_and_prob gives."""
        self._submit()
        try:
            rows: dict[int, tuple[np.ndarray, float]] = {}
            for indices, job in self._jobs:
                emb, probs = job.result()
                for k, index in enumerate(indices):
                    rows[index] = (emb[k], probs[k])
        finally:
            self._pool.shutdown(wait=True)
        wanted = [int(record.frame_indices[p]) for p in record.face_positions()]
        if any(index not in rows for index in wanted):   # a face this hook never saw: embed it whole
            return embed_record_and_prob(self.backbone, record)
        if not wanted:
            return np.zeros((0, self.backbone.embedding_size), np.float32), None
        emb = np.stack([rows[i][0] for i in wanted]).astype(np.float32)
        return emb, np.array([rows[i][1] for i in wanted], np.float64)

    def close(self) -> None:
        """Stop without a result (the scan failed): wait for the running batch, drop the rest."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def embed_ahead_for(detector) -> EmbedAhead | None:
    """An EmbedAhead for the detector's ONNX Runtime network, else None (embed the finished record).

    ONNX Runtime runs the whole graph in one call without the GIL. Torch's forward takes the
    GIL between its ~100 modules, and dlib's face search holds it, so on torch nothing overlapped
    (0.46 s still to embed after the search, 0.47 s alone: benchmarks/results/scan.md)."""
    backbone = detector.backbone
    if getattr(backbone, "engine", None) != "onnx" or not hasattr(backbone, "embed_and_classify"):
        return None
    return EmbedAhead(backbone)
