"""The ONNX exporter: every written model passes ``onnx.checker``, computes what the network
computes (``onnx.reference``), and imports back to the same certified constants."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnx")

from onnx.reference import ReferenceEvaluator  # noqa: E402

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation  # noqa: E402
from lipbench.lipschitz.activations import gelu  # noqa: E402
from lipbench.lipschitz.batchnorm import BatchNorm  # noqa: E402
from lipbench.lipschitz.conv_layer import Conv  # noqa: E402
from lipbench.lipschitz.dropout import Dropout  # noqa: E402
from lipbench.lipschitz.pooling import AvgPool, MaxPool  # noqa: E402
from lipbench.lipschitz.residual import Flatten, Residual  # noqa: E402
from lipbench.models import ConstantOp, Graph, Node, Pad, export_onnx, import_onnx  # noqa: E402
from lipbench.models.graph_layers import Permute, PReLU  # noqa: E402
from lipbench.models.onnx_export import UnsupportedExport  # noqa: E402
from lipbench.models.sequential_graph import as_graph  # noqa: E402
from tests.models.onnx_models import assert_matches, reference, residual_cnn  # noqa: E402


def _f32(rng, *shape, scale=1.0):
    """Normal draws that float32 holds exactly, so a float32 export keeps every weight."""
    return (scale * rng.standard_normal(shape)).astype(np.float32).astype(np.float64)


def _round_trip(net, tmp_path, input_shape=None, dtype="float32", batch=3, seed=0):
    """Export, compare with onnx.reference on random inputs, import back; the imported graph."""
    path = tmp_path / "net.onnx"
    m = export_onnx(net, path, input_shape=input_shape, dtype=dtype)
    g = import_onnx(path)
    x = np.random.default_rng(seed).standard_normal((batch, g.in_features)).astype(dtype)
    ref = ReferenceEvaluator(m).run(None, {"x": x.reshape(batch, *g.input_shape)})[0]
    assert_matches(net(x.astype(np.float64)), ref, f"{type(net).__name__} exported ({dtype})")
    assert_matches(g(x.astype(np.float64)), ref, f"{type(net).__name__} imported back ({dtype})")
    return g


def _product(net) -> float:
    """The product rung on the network's own graph (the Sequential's product rounds once, the
    graph's at each node: the round trip is compared rung with rung)."""
    return as_graph(net).product_bound()


def _constants(g: Graph) -> list[float]:
    return [c for _, c in g.layer_constants()]


CONVS = {
    "pad1": dict(padding=1),
    "stride2": dict(stride=2, padding=1),
    "dilation2": dict(dilation=2, padding=2),
    "groups2": dict(groups=2, padding=(1, 0)),
}


@pytest.mark.parametrize("case", sorted(CONVS))
def test_cnn_exports_and_round_trips(case, tmp_path):
    """Conv (its pads/strides/dilations/groups), BatchNorm, LeakyReLU, MaxPool, Dense: the
    reference agrees and the product rung of the import is the network's own."""
    rng = np.random.default_rng(1)
    kw = CONVS[case]
    groups = kw.get("groups", 1)
    conv = Conv(_f32(rng, 4, 4 // groups, 3, 3, scale=0.3), (4, 9, 9), bias=_f32(rng, 4), **kw)
    c, h, w = conv.output_shape
    gamma, var = (np.float32(v) + np.abs(_f32(rng, c)).astype(np.float32) for v in (1.5, 0.5))
    bn = BatchNorm(gamma, _f32(rng, c), _f32(rng, c), var, eps=2.0**-10, input_shape=conv.output_shape)
    pool = MaxPool(2, conv.output_shape)
    n = int(np.prod(pool.output_shape))
    net = Sequential([conv, bn, ActivationLayer(activation("leaky_relu", alpha=0.25)), pool,
                      Dense(_f32(rng, 5, n, scale=n ** -0.5), _f32(rng, 5))])
    g = _round_trip(net, tmp_path)
    assert _constants(g) == net.layer_constants(), case
    assert g.product_bound() == _product(net), case
    assert [n.op_type for n in g.nodes][:4] == ["Conv", "BatchNormalization", "LeakyRelu", "MaxPool"]


ACTIVATIONS = {
    "relu": {}, "tanh": {}, "sigmoid": {}, "silu": {}, "gelu": {}, "gelu_tanh": {}, "softplus": {}, "hard_swish": {},
    "leaky_relu": {"alpha": 0.25}, "elu": {"alpha": 0.5},
    "selu": {"alpha": float(np.float32(1.6732632423543772)), "gamma": float(np.float32(1.0507009873554805))},
    "hard_sigmoid": {"alpha": 0.25, "beta": 0.5}, "clip": {"lo": -1.0, "hi": 2.0},
}


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activation_exports_and_round_trips(name, tmp_path):
    rng = np.random.default_rng(2)
    act = ActivationLayer(activation(name, **ACTIVATIONS[name]), 6)
    net = Sequential([Dense(_f32(rng, 6, 4, scale=2.0)), act, Dense(_f32(rng, 3, 6))])
    g = _round_trip(net, tmp_path)
    assert _constants(g) == net.layer_constants(), name
    assert g.product_bound() == _product(net), name


@pytest.mark.parametrize("name", ["sin", "cos"])
def test_activations_without_an_importer_still_export(name, tmp_path):
    """Sin and Cos are ONNX ops the importer does not read: the model is valid and computes them."""
    rng = np.random.default_rng(3)
    net = Sequential([Dense(_f32(rng, 4, 3)), ActivationLayer(activation(name), 4)])
    m = export_onnx(net, tmp_path / "net.onnx")
    x = rng.standard_normal((2, 3)).astype(np.float32)
    assert_matches(net(x.astype(np.float64)), reference(m, x), name)


def test_small_layers_residual_dropout_and_float64(tmp_path):
    """ConstantOp (each op), PReLU, Pad, Permute, AvgPool, Residual, Flatten, test-time Dropout,
    written in float64: any weights come back exactly."""
    rng = np.random.default_rng(4)
    shape = (2, 4, 4)
    net = Sequential([
        ConstantOp("add", rng.standard_normal((2, 1, 1)), shape), ConstantOp("rsub", rng.standard_normal(4), shape),
        ConstantOp("mul", rng.standard_normal(shape), shape), ConstantOp("div", rng.uniform(1, 2, (2, 1, 4)), shape),
        PReLU(rng.standard_normal((2, 1, 1)), shape), Pad(shape, (1, 0), (0, 2), 0.5),
        Permute((2, 5, 6), (0, 2, 1)), AvgPool((2, 3), (2, 6, 5), (2, 1)),
        Flatten((2, 3, 3)), Residual(Sequential([Dense(rng.standard_normal((18, 18)) / 5),
                                                 ActivationLayer(activation("tanh"), 18)])),
        Dropout(0.5), Dropout(0.8, convention="inverted"), Dense(rng.standard_normal((3, 18)))])
    g = _round_trip(net, tmp_path, dtype="float64")
    assert g.product_bound() == _product(net)


def test_imported_graph_with_residual_sum_exports_and_round_trips(tmp_path):
    """An imported residual CNN (Conv, BatchNorm, Relu, Add, MaxPool, GlobalAveragePool, Flatten, Gemm)."""
    g0 = import_onnx(residual_cnn(np.random.default_rng(5)))
    g = _round_trip(g0, tmp_path)
    assert g.product_bound() == _product(g0)
    assert "add" in [n.kind for n in g.nodes]


def test_concat_with_a_constant_and_not_lipschitz_nodes(tmp_path):
    """A concatenation with a constant (expanded to the batch), a difference, and a product
    of two tensors: written, and still not globally Lipschitz after the round trip."""
    rng = np.random.default_rng(6)
    d = Dense(rng.standard_normal((3, 4)))
    nodes = [Node("fc", "Gemm", "layer", ("x",), "h", d),
             Node("cat", "Concat", "concat", ("h", "c"), "k", axis=0),
             Node("t", "Tanh", "layer", ("k",), "t", ActivationLayer(activation("tanh"), 5)),
             Node("diff", "Sub", "sub", ("t", "k"), "s")]
    g0 = Graph("x", "s", nodes, {"x": (4,), "h": (3,), "c": (2,), "k": (5,), "t": (5,), "s": (5,)},
               {"c": rng.standard_normal(2)})
    g = _round_trip(g0, tmp_path, dtype="float64")
    assert g.product_bound() == _product(g0)
    gate = Graph("x", "p", [Node("fc", "Gemm", "layer", ("x",), "h", d), Node("gate", "Mul", "product", ("h", "h"), "p",
                                                                               reason="grows quadratically")],
                 {"x": (4,), "h": (3,), "p": (3,)})
    back = _round_trip(gate, tmp_path, dtype="float64")
    assert [op for _, op, _ in back.not_lipschitz()] == ["Mul"], back.nodes


def test_float32_attributes_are_noted_where_they_change(tmp_path):
    """ONNX holds LeakyRelu's alpha and BatchNorm's epsilon in float32: 0.01 and 1e-5 change
    and the node says so; 0.25 and 2^-10 do not and it says nothing."""
    rng = np.random.default_rng(7)
    notes = {}
    for alpha, eps in ((0.01, 1e-5), (0.25, 2.0**-10)):
        net = Sequential([BatchNorm(np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), eps=eps),
                          ActivationLayer(activation("leaky_relu", alpha=alpha), 3),
                          Dense(rng.standard_normal((2, 3)))])
        m = export_onnx(net, tmp_path / "net.onnx")
        notes[alpha] = {n.op_type: n.doc_string for n in m.graph.node}
    assert "float32" in notes[0.01]["LeakyRelu"] and "float32" in notes[0.01]["BatchNormalization"], notes
    assert notes[0.25]["LeakyRelu"] == notes[0.25]["BatchNormalization"] == "", notes


def test_unexportable_layers_are_named_at_once(tmp_path):
    rng = np.random.default_rng(8)
    circular = Conv(rng.standard_normal((2, 1, 3)), (1, 6), padding=1, padding_mode="circular")
    net = Sequential([circular, Flatten((2, 6)), ActivationLayer(activation("softplus", beta=2.0), 12),
                      ActivationLayer(activation("hard_swish", alpha=0.25, beta=0.5), 12),
                      ActivationLayer(gelu(a=0.7), 12)])
    with pytest.raises(UnsupportedExport) as info:
        export_onnx(net, tmp_path / "net.onnx")
    problems = info.value.problems
    assert [p[1] for p in problems] == ["Conv", "ActivationLayer", "ActivationLayer", "ActivationLayer"], problems
    text = str(info.value)
    assert "circular" in text and "beta=2" in text and "hard swish" in text and "a != 1" in text, text
    assert not (tmp_path / "net.onnx").exists()


def test_bad_arguments_are_named(tmp_path):
    rng = np.random.default_rng(9)
    act = ActivationLayer(activation("relu"))
    with pytest.raises(ValueError, match="input_shape"):
        export_onnx(Sequential([act]), tmp_path / "a.onnx")
    with pytest.raises(ValueError, match="dtype"):
        export_onnx(Sequential([Dense(rng.standard_normal((2, 2)))]), dtype="float16")
    with pytest.raises(ValueError, match="train-time Dropout"):
        export_onnx(Sequential([Dropout(0.5, training=True, mask=np.ones(2)), Dense(np.eye(2))]))
    with pytest.raises(ValueError, match="reads"):
        export_onnx(Sequential([Dense(np.eye(3)), Dense(np.eye(3))]), input_shape=(2, 2))
