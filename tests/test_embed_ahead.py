"""difffake.embed_ahead: faces embedded while the video is still searched give exactly the
embeddings of the finished record, with the built-in detector's ONNX network."""
from __future__ import annotations

import numpy as np
import pytest

from difffake.detector import Detector
from difffake.embed_ahead import EmbedAhead, embed_ahead_for
from difffake.embeddings import embed_record_and_prob
from difffake.faces.pipeline import extract_faces
from difffake.scanning import scan_video


@pytest.fixture(scope="module")
def builtin():
    detector = Detector.load(None, engine="onnx")
    yield detector
    detector.close()


@pytest.fixture(scope="module")
def fed(builtin, synthetic_videos):
    """A record of 6 frames whose faces went through EmbedAhead.on_face as they were cut."""
    ahead = EmbedAhead(builtin.backbone, batch_size=4)   # 6 faces: one full batch, one of 2
    cfg = builtin.face_cfg.__class__(**{**builtin.face_cfg.__dict__, "num_frames": 6})
    record = extract_faces(synthetic_videos / "astro_1.mp4", cfg, on_face=ahead.on_face)
    assert record.num_faces == 6
    return ahead, record


def test_batches_in_the_background_equal_one_pass_over_the_record(builtin, fed):
    ahead, record = fed
    assert len(ahead._jobs) == 1 and len(ahead._pending) == 2    # the first batch started during the search
    emb, probs = ahead.result(record)
    want_emb, want_probs = embed_record_and_prob(builtin.backbone, record)
    assert emb.dtype == want_emb.dtype == np.float32 and probs.dtype == want_probs.dtype
    assert emb.tobytes() == want_emb.tobytes() and probs.tobytes() == want_probs.tobytes()


def test_faces_dropped_later_are_left_out_and_unseen_ones_embedded(builtin, synthetic_videos):
    cfg = builtin.face_cfg.__class__(**{**builtin.face_cfg.__dict__, "num_frames": 5})
    ahead = EmbedAhead(builtin.backbone, batch_size=2)
    record = extract_faces(synthetic_videos / "astro_2.mp4", cfg, on_face=ahead.on_face)
    record.has_face[1] = False          # as the identity check marks another person's frame
    emb, _ = ahead.result(record)
    want, _ = embed_record_and_prob(builtin.backbone, record)
    assert len(emb) == record.num_faces == 4 and emb.tobytes() == want.tobytes()
    # a record with a face the hook never saw is embedded whole, not scored with a gap
    blind = EmbedAhead(builtin.backbone)
    blind.on_face(int(record.frame_indices[0]), record.crops[0])
    emb, _ = blind.result(record)
    assert emb.tobytes() == want.tobytes()


def test_a_scan_embeds_ahead_and_scores_as_before(builtin, synthetic_videos):
    assert isinstance(embed_ahead_for(builtin), EmbedAhead)
    assert embed_ahead_for(Detector.load(None, engine="torch")) is None   # its forward needs the GIL
    result = scan_video(builtin, synthetic_videos / "astro_0.mp4", "astro_0.mp4", keep_record=True)
    emb, probs = embed_record_and_prob(builtin.backbone, result.record)
    want = builtin.scores(emb, probs)
    assert result.status == "ok" and result.basis == "fused"
    assert (result.score, result.differential_score) == (want["fused"], want["differential"])
    assert result.frame_fake_prob == [float(v) for v in probs]
