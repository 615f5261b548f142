"""Fold the zero `Pad` in front of a `Conv` into the Conv's own (asymmetric) pads.

timm's TF-ported EfficientNets pad "same" at run time (Conv2dSame: the pads are
computed from the input's shape), so the exported graph has a Pad node before
each strided convolution. ONNX Runtime keeps those Pads, and around each one it
converts the tensor out of and back into its blocked conv layout: Pad and the
two conversions were ~30 % of the Lite0 graph's CPU time. The graph's input is
fixed to one height and width, so each such Pad's amounts are constants; ONNX's
Conv takes them as its `pads` attribute, which computes the same numbers (the
zeros the Pad wrote are the zeros the Conv pads with) without the extra passes.

Needs the `train` extra (onnx) and onnxruntime, which evaluates the pad amounts.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np


def _static_input_shape(model) -> list[int] | None:
    """[C, H, W] of the single image input when they are fixed numbers, else None."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    rest = [d.dim_value if d.HasField("dim_value") else 0 for d in dims[1:]]
    return rest if len(rest) == 3 and all(v > 0 for v in rest) else None


def _foldable_pads(model, consumers) -> list:
    """Pad nodes in constant mode whose only consumer is a Conv."""
    found = []
    graph_outputs = {o.name for o in model.graph.output}
    for node in model.graph.node:
        if node.op_type != "Pad":
            continue
        users = consumers[node.output[0]]
        mode = next((a.s for a in node.attribute if a.name == "mode"), b"constant")
        if (mode == b"constant" and len(users) == 1 and users[0].op_type == "Conv"
                and users[0].input[0] == node.output[0] and node.output[0] not in graph_outputs):
            found.append(node)
    return found


def _evaluate(model, names: list[str], input_shape: list[int]) -> list[dict]:
    """The values of the tensors `names`, computed by ONNX Runtime for batches of 1 and 2."""
    import onnx

    from ..third_party import onnxruntime
    ort = onnxruntime()
    probe = onnx.shape_inference.infer_shapes(model)   # the types of the tensors to read out
    types = {v.name: v for v in probe.graph.value_info}
    del probe.graph.output[:]
    for name in names:
        probe.graph.output.append(types.get(name) or onnx.ValueInfoProto(name=name))
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feed = model.graph.input[0].name
    return [dict(zip(names, session.run(names, {feed: np.zeros((batch, *input_shape), np.float32)})))
            for batch in (1, 2)]


def _prune(graph) -> None:
    """Drop the nodes and initialisers that no longer feed a graph output."""
    outputs = {o.name for o in graph.output}
    while True:
        used = {i for n in graph.node for i in n.input} | outputs
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    used = {i for n in graph.node for i in n.input}
    for init in [i for i in graph.initializer if i.name not in used]:
        graph.initializer.remove(init)


def fold_pads_into_convs(model) -> int:
    """Rewrite `model` (an onnx.ModelProto, in place): every zero Pad of the spatial axes whose
    amounts do not depend on the batch, and which feeds only a Conv, becomes that Conv's pads.
    Returns how many were folded (0 when the input's height and width are not fixed)."""
    from onnx import helper

    input_shape = _static_input_shape(model)
    if input_shape is None:
        return 0
    consumers = defaultdict(list)
    for node in model.graph.node:
        for name in node.input:
            consumers[name].append(node)
    pads = _foldable_pads(model, consumers)
    if not pads:
        return 0
    names = sorted({n for node in pads for n in node.input[1:3] if n})
    by_batch = _evaluate(model, names, input_shape)
    folded = 0
    for node in pads:
        amounts = by_batch[0][node.input[1]].astype(np.int64).ravel()
        value = by_batch[0][node.input[2]] if len(node.input) > 2 and node.input[2] else np.zeros(1)
        same = all(np.array_equal(by_batch[0][n], by_batch[1][n]) for n in node.input[1:3] if n)
        # 4-D pads: [N, C, H, W begins, N, C, H, W ends]; only H and W, never negative (a crop)
        if (not same or amounts.size != 8 or np.any(amounts < 0) or np.any(amounts[[0, 1, 4, 5]])
                or float(np.ravel(value)[0]) != 0.0):
            continue
        conv = consumers[node.output[0]][0]
        if any(a.name == "auto_pad" and a.s not in (b"", b"NOTSET") for a in conv.attribute):
            continue
        old = next((a for a in conv.attribute if a.name == "pads"), None)
        base = list(old.ints) if old is not None else [0, 0, 0, 0]
        new = [base[0] + int(amounts[2]), base[1] + int(amounts[3]),
               base[2] + int(amounts[6]), base[3] + int(amounts[7])]
        if old is not None:
            conv.attribute.remove(old)
        conv.attribute.append(helper.make_attribute("pads", new))
        conv.input[0] = node.input[0]
        model.graph.node.remove(node)
        folded += 1
    _prune(model.graph)
    return folded
