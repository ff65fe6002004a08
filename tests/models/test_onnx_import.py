"""The ONNX importer: forward passes against onnx.reference and PyTorch's shipped outputs, the
product rung on imported graphs, and every refusal named."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper, numpy_helper  # noqa: E402

from lipbench.lipschitz import ActivationLayer, Dense  # noqa: E402
from lipbench.models import NotGloballyLipschitz, graph_ladder, import_onnx  # noqa: E402
from lipbench.models.graph_ladder import sampled_lower_bound  # noqa: E402
from lipbench.models.onnx_import import SUPPORTED_OPS, UnsupportedModel  # noqa: E402
from properties.tolerances import proven_sigma_rtol, scalar_rtol  # noqa: E402

from .onnx_models import assert_matches, const, f32, mlp, model, reference, residual_cnn  # noqa: E402

PYTORCH_CONVERTED = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "pytorch-converted")

#: PyTorch-exported models whose shipped input/output pair the imported graph reproduces
IMPORTED = [
    "test_AvgPool1d", "test_AvgPool1d_stride", "test_AvgPool2d", "test_AvgPool2d_stride", "test_AvgPool3d",
    "test_AvgPool3d_stride", "test_AvgPool3d_stride1_pad0_gpu_input", "test_BatchNorm1d_3d_input_eval",
    "test_BatchNorm2d_eval", "test_BatchNorm2d_momentum_eval", "test_BatchNorm3d_eval",
    "test_BatchNorm3d_momentum_eval", "test_ConstantPad2d", "test_Conv1d", "test_Conv1d_dilated",
    "test_Conv1d_groups", "test_Conv1d_pad1", "test_Conv1d_pad1size1", "test_Conv1d_pad2", "test_Conv1d_pad2size1",
    "test_Conv1d_stride", "test_Conv2d", "test_Conv2d_depthwise", "test_Conv2d_depthwise_padded",
    "test_Conv2d_depthwise_strided", "test_Conv2d_depthwise_with_multiplier", "test_Conv2d_dilated",
    "test_Conv2d_groups", "test_Conv2d_groups_thnn", "test_Conv2d_no_bias", "test_Conv2d_padding",
    "test_Conv2d_strided", "test_Conv3d", "test_Conv3d_dilated", "test_Conv3d_dilated_strided", "test_Conv3d_groups",
    "test_Conv3d_no_bias", "test_Conv3d_stride", "test_Conv3d_stride_padding", "test_ELU", "test_LeakyReLU",
    "test_LeakyReLU_with_negval", "test_Linear", "test_Linear_no_bias", "test_MaxPool1d", "test_MaxPool1d_stride",
    "test_MaxPool3d", "test_MaxPool3d_stride", "test_ReLU", "test_SELU", "test_Sigmoid", "test_Softplus",
    "test_Tanh", "test_ZeroPad2d", "test_PReLU_1d", "test_PReLU_1d_multiparam", "test_PReLU_2d",
    "test_PReLU_2d_multiparam", "test_PReLU_3d", "test_PReLU_3d_multiparam", "test_PixelShuffle",
    "test_ConvTranspose2d", "test_ConvTranspose2d_no_bias", "test_Softmax", "test_LogSoftmax", "test_Softmin",
    "test_softmax_lastdim", "test_softmax_functional_dim3", "test_log_softmax_lastdim", "test_log_softmax_dim3",
    "test_MaxPool2d", "test_MaxPool3d_stride_padding", "test_MaxPool1d_stride_padding_dilation",
    "test_MaxPool2d_stride_padding_dilation", "test_ReflectionPad2d", "test_ReplicationPad2d",
]

#: PyTorch-exported models the importer refuses, with the op named in the refusal
REFUSED = {"test_Embedding": "Gather", "test_GLU": "Split", "test_Softsign": "Abs"}


def _shipped(case: str) -> tuple[object, np.ndarray, np.ndarray]:
    d = os.path.join(PYTORCH_CONVERTED, case)
    if not os.path.isdir(d):
        pytest.skip(f"{case} is not shipped with onnx {onnx.__version__}")
    load = lambda name: numpy_helper.to_array(onnx.load_tensor(os.path.join(d, "test_data_set_0", name)))  # noqa: E731
    return onnx.load(os.path.join(d, "model.onnx")), load("input_0.pb"), load("output_0.pb")


@pytest.mark.parametrize("case", IMPORTED)
def test_pytorch_converted_models_reproduce_their_outputs(case):
    m, x, y = _shipped(case)
    g = import_onnx(m)
    X = x.reshape(x.shape[0], -1).astype(np.float64)
    assert_matches(g(X), y, case)
    if not case.endswith("_multiparam"):  # opset 6's per-channel PRelu slopes: onnx.reference broadcasts numpy-style
        assert_matches(g(X), reference(m, x), f"{case} vs onnx.reference")
    bound = g.product_bound()
    low = sampled_lower_bound(g, n_samples=8)
    assert low <= bound, (case, low, bound)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_pytorch_converted_models_refused_by_name(case):
    m, _, _ = _shipped(case)
    with pytest.raises(UnsupportedModel, match="node '") as exc:
        import_onnx(m)
    assert any(REFUSED[case] in f"{op} {why}" for _, op, why in exc.value.problems), exc.value.problems


def test_mlp_784_50_10_matches_reference_and_is_a_chain():
    rng = np.random.default_rng(0)
    m = mlp(rng)
    g = import_onnx(m)
    x = f32(rng, 5, 784)
    assert_matches(g(x.astype(np.float64)), reference(m, x), "mlp")
    assert g.is_chain() and [type(n.layer).__name__ for n in g.nodes] == ["Dense", "ActivationLayer", "Dense"]
    ladder = graph_ladder(g, n_samples=4, ascent_steps=2)
    assert ladder.row("eclipse_fast").certified
    assert ladder.best_lower <= ladder.best_certified_upper <= ladder.product


@pytest.mark.parametrize("alpha,bias", [(0.3, True), (0.3, False), (2.0, True), (-0.7, True)])
def test_gemm_alpha_is_scaled_exactly(alpha, bias):
    """A power-of-two alpha scales the weight exactly; any other stays a separate factor |alpha|."""
    rng = np.random.default_rng(13)
    W = f32(rng, 4, 6)
    inits = [const("W", W)] + ([const("C", f32(rng, 1, 4))] if bias else [])
    node = helper.make_node("Gemm", ["x", "W"] + (["C"] if bias else []), ["y"], name="fc", transB=1, alpha=alpha,
                            beta=0.5)
    m = model([node], ["N", 6], None, inits)
    g = import_onnx(m)
    x = f32(rng, 3, 6)
    assert_matches(g(x.astype(np.float64)), reference(m, x), f"alpha={alpha}")
    exact = abs(float(np.float32(alpha))) * float(np.linalg.norm(W.astype(np.float64), 2))
    assert exact <= g.product_bound() <= exact * (1 + proven_sigma_rtol(W.shape) + scalar_rtol(ops=2))
    assert len(g.nodes) == (1 if alpha == 2.0 else 2 + bias)


def test_matmul_add_becomes_a_dense_layer_with_bias():
    rng = np.random.default_rng(1)
    m = mlp(rng, (12, 7, 3), matmul=True)
    g = import_onnx(m)
    assert [n.op_type for n in g.nodes] == ["MatMul+Add", "Relu", "MatMul+Add"]
    assert all(isinstance(n.layer, Dense) and n.layer.bias is not None for n in g.nodes[::2])
    x = f32(rng, 4, 12)
    assert_matches(g(x.astype(np.float64)), reference(m, x), "matmul mlp")


def test_residual_cnn_graph_forward_and_product_rung():
    rng = np.random.default_rng(2)
    m = residual_cnn(rng)
    g = import_onnx(m)
    x = f32(rng, 3, 3, 8, 8)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), "residual cnn")
    assert not g.is_chain() and g.branch_nodes() == ["residual"]
    ladder = graph_ladder(g, n_samples=8)
    assert math.isnan(ladder.row("patterns").value) and "branches at residual" in ladder.row("patterns").note
    assert 0 < ladder.best_lower <= ladder.product
    # the residual rung: L(conv1) (1 + L(bn) L(conv2)) times the rest, never below it
    L = dict(g.layer_constants())
    rest = L["pool"] * L["gap"] * L["head"]
    assert ladder.product >= L["conv1"] * (1 + L["bn"] * L["relu"] * L["conv2"]) * rest * (1 - scalar_rtol(ops=8))


ACTIVATION_NODES = [
    ("Relu", {}, 17), ("LeakyRelu", {"alpha": 0.1}, 17), ("Elu", {"alpha": 0.7}, 17), ("Selu", {}, 17),
    ("Sigmoid", {}, 17), ("Tanh", {}, 17), ("Softplus", {}, 17), ("HardSigmoid", {"alpha": 0.3, "beta": 0.4}, 17),
    ("HardSwish", {}, 17), ("Gelu", {}, 20), ("Identity", {}, 17), ("Dropout", {}, 17), ("Neg", {}, 17),
]


@pytest.mark.parametrize("op,attrs,opset", ACTIVATION_NODES, ids=[a[0] for a in ACTIVATION_NODES])
def test_elementwise_ops_match_reference(op, attrs, opset):
    rng = np.random.default_rng(3)
    m = model([helper.make_node(op, ["x"], ["y"], name="act", **attrs)], ["N", 2, 3, 4], None, opset=opset)
    g = import_onnx(m)
    x = f32(rng, 6, 2, 3, 4, scale=3.0)
    assert_matches(g(x.reshape(6, -1).astype(np.float64)), reference(m, x), op)
    low = sampled_lower_bound(g, n_samples=16, scale=3.0)
    assert low <= g.product_bound(), (op, low, g.product_bound())


def test_clip_with_constant_bounds():
    rng = np.random.default_rng(4)
    m = model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")], ["N", 5], None,
              [const("lo", np.float32(-0.5)), const("hi", np.float32(1.5))])
    g = import_onnx(m)
    x = f32(rng, 4, 5, scale=2.0)
    assert_matches(g(x.astype(np.float64)), reference(m, x), "clip")
    assert g.product_bound() == 1.0


def test_silu_pattern_is_one_activation():
    rng = np.random.default_rng(5)
    m = model([helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),
               helper.make_node("Mul", ["x", "s"], ["y"], name="swish")], ["N", 6], None)
    g = import_onnx(m)
    assert len(g.nodes) == 1 and isinstance(g.nodes[0].layer, ActivationLayer)
    assert g.nodes[0].layer.activation.name == "silu"
    x = f32(rng, 4, 6, scale=3.0)
    assert_matches(g(x.astype(np.float64)), reference(m, x), "silu")


CONV_ATTRS = [
    {"pads": [1, 1, 1, 1]}, {"pads": [0, 1, 2, 0]}, {"pads": [2, 0, 1, 1], "strides": [2, 1]},
    {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, {"auto_pad": "SAME_LOWER", "strides": [2, 2]},
    {"auto_pad": "SAME_UPPER", "dilations": [2, 1]}, {"auto_pad": "VALID", "strides": [1, 2]},
    {"group": 2, "pads": [1, 0, 1, 0], "dilations": [1, 2]},
]


@pytest.mark.parametrize("attrs", CONV_ATTRS, ids=[str(a) for a in CONV_ATTRS])
def test_conv_attributes_match_reference(attrs):
    rng = np.random.default_rng(6)
    groups = attrs.get("group", 1)
    k = f32(rng, 4, 4 // groups, 3, 2)
    m = model([helper.make_node("Conv", ["x", "k", "b"], ["y"], name="conv", **attrs)], ["N", 4, 8, 7], None,
              [const("k", k), const("b", f32(rng, 4))])
    g = import_onnx(m)
    x = f32(rng, 2, 4, 8, 7)  # SAME with stride 2 pads 1: asymmetric on both axes
    assert_matches(g(x.reshape(2, -1).astype(np.float64)), reference(m, x), str(attrs))
    assert sampled_lower_bound(g, n_samples=8) <= g.product_bound()


def test_average_pool_with_padding_counted():
    rng = np.random.default_rng(7)
    node = helper.make_node("AveragePool", ["x"], ["y"], name="avg", kernel_shape=[3, 3], strides=[2, 2],
                            pads=[1, 0, 1, 2], count_include_pad=1)
    m = model([node], ["N", 2, 7, 6], None)
    g = import_onnx(m)
    x = f32(rng, 3, 2, 7, 6)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), "avgpool pads")
    node = helper.make_node("AveragePool", ["x"], ["y"], name="avg0", kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    with pytest.raises(UnsupportedModel, match="'avg0' \\(AveragePool\\): .*count_include_pad=0"):
        import_onnx(model([node], ["N", 2, 7, 6], None))


def test_reshape_through_folded_shape_arithmetic():
    """Shape -> Gather -> Unsqueeze -> Concat(-1) -> Reshape, as exporters write x.view(x.size(0), -1)."""
    rng = np.random.default_rng(8)
    nodes = [helper.make_node("Shape", ["x"], ["shp"], name="shape"),
             helper.make_node("Gather", ["shp", "zero"], ["n"], name="gather", axis=0),
             helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsq"),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], name="cat", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
             helper.make_node("Gemm", ["flat", "W"], ["y"], name="fc", transB=1)]
    inits = [const("zero", np.int64(0)), const("ax0", np.array([0], np.int64)),
             const("minus1", np.array([-1], np.int64)), const("W", f32(rng, 3, 24))]
    m = model(nodes, ["N", 2, 3, 4], None, inits)
    g = import_onnx(m, input_shape=(2, 3, 4))
    assert [n.op_type for n in g.nodes] == ["Reshape", "Gemm"]
    x = f32(rng, 5, 2, 3, 4)
    assert_matches(g(x.reshape(5, -1).astype(np.float64)), reference(m, x), "reshape")


def test_concat_of_branches_and_constant_arithmetic():
    rng = np.random.default_rng(9)
    nodes = [helper.make_node("Conv", ["x", "k1"], ["a"], name="left", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["x", "k2"], ["b"], name="right"),
             helper.make_node("Pad", ["b", "pads"], ["bp"], name="pad", mode="constant"),
             helper.make_node("Concat", ["a", "bp"], ["c"], name="cat", axis=1),
             helper.make_node("Add", ["c", "shift"], ["c1"], name="add_c"),
             helper.make_node("Sub", ["scale", "c1"], ["c2"], name="rsub_c"),
             helper.make_node("Mul", ["c2", "scale"], ["c3"], name="mul_c"),
             helper.make_node("Div", ["c3", "div"], ["y"], name="div_c")]
    inits = [const("k1", f32(rng, 2, 3, 3, 3)), const("k2", f32(rng, 1, 3, 3, 3)),
             const("pads", np.array([0, 0, 1, 1, 0, 0, 1, 1], np.int64)),
             const("shift", f32(rng, 1, 3, 1, 1)), const("scale", f32(rng, 5, 5)),
             const("div", rng.uniform(1, 2, (3, 1, 5)).astype(np.float32))]
    m = model(nodes, ["N", 3, 5, 5], None, inits, opset=13)
    g = import_onnx(m)
    x = f32(rng, 2, 3, 5, 5)
    assert_matches(g(x.reshape(2, -1).astype(np.float64)), reference(m, x), "concat + constants")
    assert g.branch_nodes() == ["cat"]
    L = dict(g.layer_constants())
    scale = float(np.abs(numpy_helper.to_array(inits[4])).max())
    assert L["mul_c"] == scale and L["add_c"] == L["rsub_c"] == 1.0
    assert sampled_lower_bound(g, n_samples=8) <= g.product_bound()


NOT_LIPSCHITZ = {
    "gate": ([helper.make_node("Tanh", ["x"], ["t"], name="t"), helper.make_node("Relu", ["x"], ["r"], name="r"),
              helper.make_node("Mul", ["t", "r"], ["y"], name="gate")], "product of two input-dependent"),
    "divide": ([helper.make_node("Sigmoid", ["x"], ["s"], name="s"),
                helper.make_node("Div", ["x", "s"], ["y"], name="divide")], "division by an input-dependent"),
    "reciprocal": ([helper.make_node("Div", ["one", "x"], ["y"], name="reciprocal")], "divided by an input-dependent"),
}


@pytest.mark.parametrize("case", sorted(NOT_LIPSCHITZ))
def test_not_globally_lipschitz_is_named_and_refused(case):
    rng = np.random.default_rng(10)
    nodes, reason = NOT_LIPSCHITZ[case]
    m = model(nodes, ["N", 4], None, [const("one", np.float32(1.0))])
    g = import_onnx(m)
    x = f32(rng, 3, 4) + 3.0  # away from the reciprocal's pole
    assert_matches(g(x.astype(np.float64)), reference(m, x), case)
    with pytest.raises(NotGloballyLipschitz, match=f"node '{case}' .*{reason}"):
        g.product_bound()


def test_attention_like_matmul_is_named():
    rng = np.random.default_rng(11)
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], name="t", perm=[0, 2, 1]),
             helper.make_node("MatMul", ["x", "xt"], ["y"], name="scores")]
    m = model(nodes, ["N", 3, 4], None)
    g = import_onnx(m)
    x = f32(rng, 2, 3, 4)
    assert_matches(g(x.reshape(2, -1).astype(np.float64)), reference(m, x), "x x^T")
    with pytest.raises(NotGloballyLipschitz, match="node 'scores' \\(MatMul\\): a matrix product"):
        graph_ladder(g)
    with pytest.raises(UnsupportedModel, match="'t' \\(Transpose\\): perm=\\[1, 0, 2\\] moves the batch axis"):
        import_onnx(model([helper.make_node("Transpose", ["x"], ["y"], name="t", perm=[1, 0, 2])], ["N", 3, 4], None))


def test_transpose_and_prelu_match_reference():
    rng = np.random.default_rng(14)
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="t", perm=[0, 3, 1, 2]),
             helper.make_node("PRelu", ["t", "slope"], ["y"], name="prelu")]
    m = model(nodes, ["N", 2, 3, 4], None, [const("slope", np.float32([[[0.1]], [[-2.5]], [[0.3]], [[1.0]]]))])
    g = import_onnx(m)
    x = f32(rng, 3, 2, 3, 4)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), "transpose + prelu")
    assert g.product_bound() == 2.5


def test_every_unsupported_node_is_named_at_once():
    nodes = [helper.make_node("Abs", ["x"], ["s"], name="abs"),
             helper.make_node("Gelu", ["s"], ["g"], name="gelu_tanh", approximate="tanh"),
             helper.make_node("Exp", ["g"], ["y"], name="exp")]
    with pytest.raises(UnsupportedModel) as exc:
        import_onnx(model(nodes, ["N", 4], None, opset=20))
    named = {(n, op) for n, op, _ in exc.value.problems}
    assert named == {("abs", "Abs"), ("exp", "Exp")}, exc.value.problems  # gelu is downstream of abs
    nodes = [helper.make_node("Gelu", ["x"], ["y"], name="gelu_other", approximate="sigmoid")]
    with pytest.raises(UnsupportedModel, match="'gelu_other' \\(Gelu\\): approximate='sigmoid'"):
        import_onnx(model(nodes, ["N", 4], None, opset=20))


def test_squeeze_and_unsqueeze_keep_the_batch_axis():
    rng = np.random.default_rng(12)
    nodes = [helper.make_node("Unsqueeze", ["x", "ax"], ["u"], name="unsq"),
             helper.make_node("Relu", ["u"], ["r"], name="relu"),
             helper.make_node("Squeeze", ["r", "ax"], ["y"], name="sq")]
    m = model(nodes, ["N", 5], None, [const("ax", np.array([2], np.int64))], opset=13)
    g = import_onnx(m)
    assert g.shapes["u"] == (5, 1) and g.output_shape == (5,)
    x = f32(rng, 3, 5)
    assert_matches(g(x.astype(np.float64)), reference(m, x), "squeeze")
    m = model(nodes[:1], ["N", 5], None, [const("ax", np.array([0], np.int64))], opset=13)
    with pytest.raises(UnsupportedModel, match="'unsq' \\(Unsqueeze\\): moves the batch axis"):
        import_onnx(m)


def test_symbolic_input_needs_input_shape():
    m = model([helper.make_node("Relu", ["x"], ["y"], name="r")], ["N", "C"], None)
    with pytest.raises(ValueError, match="pass input_shape"):
        import_onnx(m)
    assert import_onnx(m, input_shape=(7,)).input_shape == (7,)


def test_supported_ops_each_have_a_test_here():
    here = Path(__file__)
    source = "".join((here.parent / f).read_text() for f in (here.name, "test_onnx_import_ops.py", "onnx_models.py"))
    untested = [op for op in SUPPORTED_OPS if f'"{op}"' not in source]
    assert not untested, f"ops without a test in this module: {untested}"
