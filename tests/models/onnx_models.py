"""Small ONNX models built with onnx.helper for the importer's tests, and the one comparison helper
(test modules import this after ``pytest.importorskip("onnx")``)."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

#: how far the importer's float64 forward pass may sit from onnx.reference's float32 one,
#: relative to the largest output: float32 rounding of sums of up to ~10^3 terms (u = 6e-8)
#: stays far below it, and a wrong pad, stride or layout moves outputs by O(1)
FLOAT32_MATCH = 1e-5


def assert_matches(ours: np.ndarray, ref: np.ndarray, context: str) -> None:
    ours, ref = np.asarray(ours).reshape(ref.shape[0], -1), np.asarray(ref).reshape(ref.shape[0], -1)
    scale = max(1.0, float(np.max(np.abs(ref))))
    err = float(np.max(np.abs(ours - ref))) / scale
    assert err <= FLOAT32_MATCH, f"{context}: max relative difference {err:.3g} > {FLOAT32_MATCH} " \
                                 f"(shape {ref.shape}, scale {scale:.3g})"


def reference(model, x: np.ndarray) -> np.ndarray:
    """onnx.reference's output on x (float32)."""
    name = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}][0]
    return ReferenceEvaluator(model).run(None, {name: x.astype(np.float32)})[0]


def const(name: str, value) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(value), name)


def model(nodes, x_shape, y_shape=None, inits=(), opset: int = 17, x_name: str = "x"):
    g = helper.make_graph(list(nodes), "g", [helper.make_tensor_value_info(x_name, TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def f32(rng, *shape, scale=1.0):
    return (scale * rng.standard_normal(shape)).astype(np.float32)


def mlp(rng, sizes=(784, 50, 10), batch="N", matmul=False):
    """Gemm (or MatMul + Add) and Relu layers."""
    nodes, inits, t = [], [], "x"
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W, b = f32(rng, n_out, n_in, scale=1 / np.sqrt(n_in)), f32(rng, n_out, scale=0.1)
        out = "y" if i == len(sizes) - 2 else f"h{i}"
        if matmul:
            inits += [const(f"W{i}", W.T.copy()), const(f"b{i}", b)]
            nodes += [helper.make_node("MatMul", [t, f"W{i}"], [f"m{i}"], name=f"matmul{i}"),
                      helper.make_node("Add", [f"m{i}", f"b{i}"], [out if out == "y" else f"a{i}"], name=f"add{i}")]
            pre = out if out == "y" else f"a{i}"
        else:
            inits += [const(f"W{i}", W), const(f"b{i}", b)]
            nodes.append(helper.make_node("Gemm", [t, f"W{i}", f"b{i}"], [out if out == "y" else f"a{i}"],
                                          name=f"fc{i}", transB=1))
            pre = out if out == "y" else f"a{i}"
        if out != "y":
            nodes.append(helper.make_node("Relu", [pre], [out], name=f"relu{i}"))
        t = out
    return model(nodes, [batch, sizes[0]], [batch, sizes[-1]], inits)


def residual_cnn(rng, c=4, hw=8):
    """Conv -> BatchNorm -> Relu -> Conv, + the first conv's output (residual Add), MaxPool,
    GlobalAveragePool, Flatten, Gemm."""
    inits = [const("k1", f32(rng, c, 3, 3, 3, scale=0.3)), const("b1", f32(rng, c, scale=0.1)),
             const("k2", f32(rng, c, c, 3, 3, scale=0.3)),
             const("g", rng.uniform(0.5, 1.5, c).astype(np.float32)), const("be", f32(rng, c, scale=0.1)),
             const("mu", f32(rng, c, scale=0.1)), const("var", rng.uniform(0.5, 2, c).astype(np.float32)),
             const("W", f32(rng, 5, c, scale=0.5)), const("b", f32(rng, 5, scale=0.1))]
    nodes = [helper.make_node("Conv", ["x", "k1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "g", "be", "mu", "var"], ["n1"], name="bn", epsilon=1e-3),
             helper.make_node("Relu", ["n1"], ["r1"], name="relu"),
             helper.make_node("Conv", ["r1", "k2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c1", "c2"], ["s"], name="residual"),
             helper.make_node("MaxPool", ["s"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("GlobalAveragePool", ["p"], ["gap"], name="gap"),
             helper.make_node("Flatten", ["gap"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "W", "b"], ["y"], name="head", transB=1)]
    return model(nodes, ["N", 3, hw, hw], ["N", 5], inits)
