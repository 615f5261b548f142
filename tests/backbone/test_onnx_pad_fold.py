"""backbone.onnx_pad_fold: run-time "same" Pads folded into their Convs, with the same outputs."""
from __future__ import annotations

from unittest import mock

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from difffake.backbone.onnx_engine import INPUT, OUTPUTS
from difffake.backbone.onnx_graph import export_onnx
from difffake.backbone.onnx_pad_fold import fold_pads_into_convs
from difffake.third_party import onnxruntime


def _run(model, x) -> list[np.ndarray]:
    ort = onnxruntime()
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: x})


def _conv_pads(model) -> dict[str, list[int]]:
    return {n.name: next((list(a.ints) for a in n.attribute if a.name == "pads"), [0, 0, 0, 0])
            for n in model.graph.node if n.op_type == "Conv"}


def _ops(model) -> list[str]:
    return [n.op_type for n in model.graph.node]


@pytest.fixture(scope="module")
def unfolded(tiny_backbone, tmp_path_factory):
    """The tiny backbone exported as torch writes it, its Pads left in place."""
    path = tmp_path_factory.mktemp("unfolded") / "backbone.onnx"
    with mock.patch("difffake.backbone.onnx_pad_fold.fold_pads_into_convs", return_value=0):
        assert export_onnx(tiny_backbone, path) == 0
    return onnx.load(str(path))


def test_every_same_pad_of_efficientnet_is_folded_and_the_outputs_do_not_move(unfolded, tiny_backbone):
    pads_before = _ops(unfolded).count("Pad")
    assert pads_before == 5   # timm's Conv2dSame before each strided conv of tf_efficientnet_lite0
    folded = onnx.ModelProto()
    folded.CopyFrom(unfolded)
    assert fold_pads_into_convs(folded) == pads_before
    onnx.checker.check_model(folded)
    assert "Pad" not in _ops(folded) and "Shape" not in _ops(folded)   # the pad arithmetic is gone too
    before, after = _conv_pads(unfolded), _conv_pads(folded)
    changed = {name: pads for name, pads in after.items() if pads != before[name]}
    assert len(changed) == pads_before and all(before[name] == [0, 0, 0, 0] for name in changed)
    # TF "same" puts the odd row and column at the end: pads the Conv alone could not have had
    assert any(p[0] != p[2] for p in changed.values())
    x = np.random.default_rng(0).normal(size=(3, 3, 48, 48)).astype(np.float32)
    for before, after in zip(_run(unfolded, x), _run(folded, x)):
        np.testing.assert_allclose(after, before, rtol=0, atol=1e-5)


def test_export_onnx_folds_and_says_how_many(tiny_backbone, tmp_path):
    path = tmp_path / "backbone.onnx"
    assert export_onnx(tiny_backbone, path) == 5
    graph = onnx.load(str(path))
    assert "Pad" not in _ops(graph)
    assert [o.name for o in graph.graph.output] == list(OUTPUTS) and graph.graph.input[0].name == INPUT


def _pad_conv(pads, mode="constant", value=None, height=8, input_name="x"):
    """x (N, 1, height, 8) -> Pad -> 3x3 Conv of ones, as a small model."""
    channels = 1 + pads[1] + pads[5]   # what the Conv sees after the Pad
    inits = [numpy_helper.from_array(np.array(pads, np.int64), "pads"),
             numpy_helper.from_array(np.ones((1, channels, 3, 3), np.float32), "w")]
    pad_inputs = [input_name, "pads"]
    if value is not None:
        inits.append(numpy_helper.from_array(np.array(value, np.float32), "value"))
        pad_inputs.append("value")
    nodes = [helper.make_node("Pad", pad_inputs, ["padded"], mode=mode),
             helper.make_node("Conv", ["padded", "w"], ["y"], kernel_shape=[3, 3])]
    dims = ["batch", 1, height if height else "height", 8]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, dims)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_a_small_zero_pad_becomes_the_conv_pads_exactly():
    model = _pad_conv([0, 0, 0, 1, 0, 0, 2, 1], value=0.0)
    x = np.random.default_rng(1).normal(size=(2, 1, 8, 8)).astype(np.float32)
    before = _run(model, x)[0]
    assert fold_pads_into_convs(model) == 1
    conv = model.graph.node[0]
    assert _ops(model) == ["Conv"] and conv.input[0] == "x"
    assert [list(a.ints) for a in conv.attribute if a.name == "pads"] == [[0, 1, 2, 1]]
    assert {i.name for i in model.graph.initializer} == {"w"}   # the pad amounts are dropped
    np.testing.assert_array_equal(_run(model, x)[0], before)


@pytest.mark.parametrize("case", [
    dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], value=2.0),          # pads with 2, not with the Conv's zeros
    dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], mode="reflect"),     # not zeros at all
    dict(pads=[0, 0, 1, -1, 0, 0, 1, 1]),                    # a negative pad crops
    dict(pads=[0, 1, 1, 1, 0, 0, 1, 1]),                     # pads the channel axis
    dict(pads=[0, 0, 1, 1, 0, 0, 1, 1], height=None),        # height not fixed: amounts may change
])
def test_pads_the_conv_cannot_express_stay(case):
    model = _pad_conv(**case)
    ops = _ops(model)
    assert fold_pads_into_convs(model) == 0
    assert _ops(model) == ops == ["Pad", "Conv"]
