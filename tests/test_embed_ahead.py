"""Embedding during extraction gives exactly the bits of embedding the record at the end."""
import cv2
import numpy as np
import pytest
from skimage import data

from difffake import scanning
from difffake.embed_ahead import EmbedAhead, can_embed_ahead
from difffake.faces.pipeline import extract_faces


@pytest.fixture(scope="module")
def onnx_detector():
    from difffake.detector import Detector
    return Detector.load(None, engine="onnx")


@pytest.fixture(scope="module")
def moving_face_video(tmp_path_factory):
    """12 frames of the astronaut drifting across a bigger canvas (a real face for dlib)."""
    path = tmp_path_factory.mktemp("ahead") / "drift.mp4"
    face = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (720, 560))
    for k in range(12):
        canvas = np.full((560, 720, 3), 40, np.uint8)
        canvas[20 + 2 * k:532 + 2 * k, 100 + 5 * k:612 + 5 * k] = face
        out.write(canvas)
    out.release()
    return path


def test_onnx_is_batch_invariant_and_torch_is_not_trusted_to_be(onnx_detector):
    assert can_embed_ahead(onnx_detector.backbone)
    crops = [cv2.resize(data.astronaut()[k * 20:300 + k * 20, :300], (140 + k, 140 + k)) for k in range(6)]
    one = [onnx_detector.backbone.embed_and_classify([c], 1) for c in crops]
    whole = onnx_detector.backbone.embed_and_classify(crops, 6)
    assert np.array_equal(np.concatenate([e for e, _ in one]), whole[0])
    assert np.array_equal(np.concatenate([p for _, p in one]), whole[1])

    class TorchLike:
        def embed_and_classify(self, crops, batch_size=32):
            raise AssertionError("not used")
    assert not can_embed_ahead(TorchLike())


def test_embedding_ahead_equals_embedding_the_record(onnx_detector, moving_face_video):
    ahead = EmbedAhead(onnx_detector.backbone, batch=5)   # 12 faces: batches of 5, 5 and 2
    try:
        record = extract_faces(moving_face_video, onnx_detector.face_cfg, onnx_detector.face_detector(),
                               on_face=ahead.on_face)
        emb, probs = ahead.result(record)
    finally:
        ahead.close()
    assert record.num_faces >= 10
    want_emb, want_probs = onnx_detector.embed_and_classify(record)
    assert emb.dtype == want_emb.dtype and probs.dtype == want_probs.dtype
    assert np.array_equal(emb, want_emb) and np.array_equal(probs, want_probs)
    assert (ahead.embedded_ahead, ahead.embedded_after) == (record.num_faces, 0)


def test_a_crop_the_record_replaced_is_embedded_again(onnx_detector, moving_face_video):
    ahead = EmbedAhead(onnx_detector.backbone, batch=4)
    try:
        record = extract_faces(moving_face_video, onnx_detector.face_cfg, onnx_detector.face_detector(),
                               on_face=ahead.on_face)
        first = record.face_positions()[0]
        record.crops[first] = np.ascontiguousarray(record.crops[first][:, ::-1])   # a new crop object
        emb, _ = ahead.result(record)
    finally:
        ahead.close()
    want, _ = onnx_detector.embed_and_classify(record)
    assert np.array_equal(emb, want)
    assert ahead.embedded_after == 1


def test_scan_scores_are_the_same_with_and_without_it(onnx_detector, moving_face_video, monkeypatch):
    on = scanning.scan_video(onnx_detector, moving_face_video, "drift.mp4")
    monkeypatch.setattr(scanning, "EMBED_AHEAD", False)
    off = scanning.scan_video(onnx_detector, moving_face_video, "drift.mp4")
    assert on.status == off.status == "ok"
    assert on.score == off.score and on.pair_scores == off.pair_scores
    assert on.frame_fake_prob == off.frame_fake_prob
