"""backbone.onnx_graph: a torch Backbone written as one ONNX graph (embedding + logits) that agrees with torch."""
import numpy as np
import pytest

from difffake.backbone.onnx_engine import INPUT, OUTPUTS, OnnxBackbone
from difffake.backbone.onnx_graph import OPSET, engine_difference, export_onnx, parity_crops, softmax_fake


@pytest.fixture(scope="module")
def exported(tiny_backbone, tmp_path_factory):
    path = tmp_path_factory.mktemp("onnx") / "backbone.onnx"
    before = tiny_backbone.embed_crops(parity_crops(n=2))
    export_onnx(tiny_backbone, path)
    # the export leaves the (shared) torch backbone computing what it computed
    np.testing.assert_array_equal(tiny_backbone.embed_crops(parity_crops(n=2)), before)
    cfg = tiny_backbone.cfg
    meta = {"timm_name": cfg.name, "input_size": cfg.input_size, "mean": list(cfg.mean),
            "std": list(cfg.std), "embedding_size": tiny_backbone.embedding_size}
    return path, OnnxBackbone(path, meta, threads=1)


def test_graph_has_the_named_input_outputs_opset_and_a_dynamic_batch(exported, tiny_backbone):
    import onnx

    path, _ = exported
    graph = onnx.load(str(path))
    assert [i.name for i in graph.graph.input] == [INPUT] == ["image"]
    assert [o.name for o in graph.graph.output] == list(OUTPUTS) == ["embedding", "logits"]
    assert {op.domain: op.version for op in graph.opset_import}[""] == OPSET == 17
    dims = graph.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [3, 48, 48]
    out_dims = [[d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim] for o in graph.graph.output]
    assert out_dims == [["batch", tiny_backbone.embedding_size], ["batch", 2]]


def test_onnx_runtime_gives_the_torch_embeddings_and_probabilities(exported, tiny_backbone):
    _, onnx_bb = exported
    crops = parity_crops(n=5, seed=1)
    diff = engine_difference(tiny_backbone, onnx_bb, crops)
    assert diff["n_crops"] == 5
    assert diff["embedding_max_abs_diff"] <= 1e-4 and diff["probability_max_abs_diff"] <= 1e-5, diff
    assert diff["embedding_max_abs"] == pytest.approx(float(np.abs(tiny_backbone.embed_crops(crops)).max()))
    assert diff["embedding_max_abs"] > 100 * diff["embedding_max_abs_diff"]   # not agreement on zeros
    emb, prob = onnx_bb.embed_and_classify(crops[:1])    # a batch of 1: the batch axis is dynamic
    assert emb.shape == (1, tiny_backbone.embedding_size) and prob.shape == (1,)


def test_parity_crops_are_seeded_face_sized_rgb():
    crops = parity_crops(n=8, seed=0)
    assert len(crops) == 8
    for c in crops:
        assert c.dtype == np.uint8 and c.ndim == 3 and c.shape[2] == 3
        assert 96 <= c.shape[1] < 300 and abs(c.shape[0] - c.shape[1]) <= 10
    assert len({c.shape for c in crops}) > 1                      # sizes vary
    again = parity_crops(n=8, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(crops, again))
    other = parity_crops(n=8, seed=1)
    assert not all(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(crops, other))


def test_softmax_fake_is_reexported_and_is_class_one():
    p = softmax_fake(np.array([[0.0, 0.0], [0.0, np.log(3.0)], [1000.0, 0.0]]))
    np.testing.assert_allclose(p, [0.5, 0.75, 0.0], atol=1e-7)
