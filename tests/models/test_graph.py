"""The graph representation: forward pass, the product rung on branches, the ladder, the small layers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, activation, lipschitz_ladder
from lipbench.models import ConstantOp, Graph, Node, NotGloballyLipschitz, Pad, graph_ladder
from lipbench.models.graph_ladder import sampled_lower_bound
from lipbench.models.graph_layers import Permute, PReLU
from properties.tolerances import scalar_rtol

EPS = np.finfo(np.float64).eps


def _dense(rng, m, n, scale=0.3):
    return Dense(scale * rng.standard_normal((m, n)), rng.standard_normal(m))


def _chain(rng) -> Graph:
    d1, d2 = _dense(rng, 6, 4), _dense(rng, 3, 6)
    nodes = [Node("fc1", "Gemm", "layer", ("x",), "h", d1),
             Node("relu", "Relu", "layer", ("h",), "r", ActivationLayer(activation("relu"), 6)),
             Node("flat", "Flatten", "layer", ("r",), "f", None),
             Node("fc2", "Gemm", "layer", ("f",), "y", d2)]
    return Graph("x", "y", nodes, {"x": (4,), "h": (6,), "r": (6,), "f": (6,), "y": (3,)})


def _residual(rng) -> tuple[Graph, Dense, Dense]:
    d1, d2 = _dense(rng, 5, 5), _dense(rng, 5, 5)
    nodes = [Node("fc1", "Gemm", "layer", ("x",), "h", d1),
             Node("tanh", "Tanh", "layer", ("h",), "t", ActivationLayer(activation("tanh"), 5)),
             Node("fc2", "Gemm", "layer", ("t",), "u", d2),
             Node("add", "Add", "add", ("x", "u"), "y")]
    return Graph("x", "y", nodes, {t: (5,) for t in "xhtuy"}), d1, d2


def test_chain_forward_and_ladder_match_sequential():
    rng = np.random.default_rng(0)
    g = _chain(rng)
    assert g.is_chain() and g.branch_nodes() == []
    net = g.as_sequential()
    assert len(net.layers) == 3  # the identity (Flatten) is dropped
    X = rng.standard_normal((7, 4))
    np.testing.assert_array_equal(g(X), net(X))
    np.testing.assert_array_equal(g(X[0]), net(X[0]))
    ours, theirs = graph_ladder(g, seed=3), lipschitz_ladder(net, seed=3)
    assert [r.name for r in ours.rows] == [r.name for r in theirs.rows]
    assert "patterns" in [r.name for r in ours.rows] and ours.product == g.product_bound() == theirs.product


def test_residual_add_product_rung_is_one_plus_branch():
    rng = np.random.default_rng(1)
    g, d1, d2 = _residual(rng)
    x = rng.standard_normal(5)
    np.testing.assert_allclose(g(x), x + d2(np.tanh(d1(x))), rtol=4 * EPS, atol=4 * EPS)
    branch = d1.lipschitz_upper() * d2.lipschitz_upper()  # tanh: 1
    bound = g.product_bound()
    assert branch + 1 <= bound <= (branch + 1) * (1 + 8 * EPS), (bound, branch)
    assert not g.is_chain() and g.branch_nodes() == ["add"]
    with pytest.raises(ValueError, match="branches at add"):
        g.as_sequential()


def test_branching_ladder_names_the_rungs_that_do_not_apply():
    rng = np.random.default_rng(2)
    g, _, _ = _residual(rng)
    ladder = graph_ladder(g, seed=0)
    assert [r.name for r in ladder.rows] == ["product", "eclipse_fast", "patterns", "empirical"]
    for name in ("eclipse_fast", "patterns"):
        r = ladder.row(name)
        assert math.isnan(r.value) and "branches at add" in r.note, r
    low = ladder.row("empirical")
    assert 0 < low.value <= ladder.product and low.kind == "lower" and not low.certified


def test_concat_bound_is_root_sum_of_squares():
    # constants exactly 3 and 4: the bound is exactly 5
    nodes = [Node("a", "Mul", "layer", ("x",), "u", ConstantOp("mul", 3.0, (2,))),
             Node("b", "Mul", "layer", ("x",), "v", ConstantOp("mul", 4.0, (2,))),
             Node("cat", "Concat", "concat", ("u", "v"), "y", axis=0)]
    g = Graph("x", "y", nodes, {"x": (2,), "u": (2,), "v": (2,), "y": (4,)})
    assert g.product_bound() == 5.0
    np.testing.assert_array_equal(g(np.array([1.0, 2.0])), [3.0, 6.0, 4.0, 8.0])
    # the map is 5 I stacked: every quotient is 5, up to the rounding of two norms of 4-vectors
    near = scalar_rtol(ops=8)
    assert 5.0 * (1 - near) <= sampled_lower_bound(g) <= 5.0 * (1 + near)


def test_concat_bound_of_certified_layers_is_rounded_up():
    rng = np.random.default_rng(4)
    d1, d2 = _dense(rng, 3, 2), _dense(rng, 4, 2)
    nodes = [Node("a", "Gemm", "layer", ("x",), "u", d1), Node("b", "Gemm", "layer", ("x",), "v", d2),
             Node("cat", "Concat", "concat", ("u", "v"), "y", axis=0)]
    g = Graph("x", "y", nodes, {"x": (2,), "u": (3,), "v": (4,), "y": (7,)})
    want = math.hypot(d1.lipschitz_upper(), d2.lipschitz_upper())
    assert want <= g.product_bound() <= want * (1 + 4 * EPS)
    exact = float(np.linalg.norm(np.vstack([d1.weight, d2.weight]), 2))
    assert exact <= g.product_bound()


def test_concat_along_channels_interleaves_the_flat_layout():
    nodes = [Node("id", "Identity", "layer", ("x",), "u", None),
             Node("cat", "Concat", "concat", ("x", "u"), "y", axis=1)]
    g = Graph("x", "y", nodes, {"x": (1, 2, 2), "u": (1, 2, 2), "y": (1, 4, 2)})
    x = np.arange(4.0)
    np.testing.assert_array_equal(g(x), np.concatenate([x.reshape(1, 2, 2)] * 2, axis=1).ravel())


def test_product_node_refuses_a_global_bound_naming_it():
    nodes = [Node("t", "Tanh", "layer", ("x",), "h", ActivationLayer(activation("tanh"), 3)),
             Node("gate", "Mul", "product", ("x", "h"), "y", reason="a product of two input-dependent tensors")]
    g = Graph("x", "y", nodes, {"x": (3,), "h": (3,), "y": (3,)})
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(g(x), x * np.tanh(x))  # the forward pass still runs
    with pytest.raises(NotGloballyLipschitz, match="node 'gate' \\(Mul\\): a product") as exc:
        g.product_bound()
    assert exc.value.reasons == (("gate", "Mul", "a product of two input-dependent tensors"),)
    with pytest.raises(NotGloballyLipschitz):
        graph_ladder(g)


def test_graph_checks_its_wiring():
    with pytest.raises(ValueError, match="reads \\['z'\\]"):
        Graph("x", "y", [Node("n", "Relu", "layer", ("z",), "y", None)], {"x": (1,), "y": (1,)})
    with pytest.raises(ValueError, match="kind must be one of"):
        Node("n", "Foo", "foo", ("x",), "y")


@pytest.mark.parametrize("op", ["add", "sub", "rsub", "mul", "div"])
def test_constant_op_forward_jacobian_and_constant(op):
    rng = np.random.default_rng(3)
    c = rng.uniform(0.5, 2.0, (2, 1, 3)) * rng.choice([-1, 1], (2, 1, 3))
    layer = ConstantOp(op, c, (2, 4, 3))
    x = rng.standard_normal(24)
    cb = np.broadcast_to(c, (2, 4, 3)).ravel()
    want = {"add": x + cb, "sub": x - cb, "rsub": cb - x, "mul": x * cb, "div": x / cb}[op]
    np.testing.assert_array_equal(layer(x), want)
    J = layer.jacobian(x)
    h = 1e-7 * rng.standard_normal(24)
    # an affine map: the difference is J h up to the rounding of x + h and of both values
    scale = float(np.max(np.abs(want)) + np.max(np.abs(x)) * np.max(np.abs(J)))
    np.testing.assert_allclose(layer(x + h) - layer(x), J @ h, rtol=0, atol=scalar_rtol(ops=4) * scale)
    L = layer.lipschitz_upper()
    exact = float(np.linalg.norm(J, 2))
    assert exact <= L <= exact * (1 + 4 * EPS), (op, L, exact)


def test_constant_op_refuses_shape_changes_and_zero_divisors():
    with pytest.raises(ValueError, match="does not broadcast"):
        ConstantOp("add", np.ones((3, 2)), (2,))
    with pytest.raises(ValueError, match="zero entry"):
        ConstantOp("div", np.array([1.0, 0.0]), (2,))


def test_pad_is_an_isometry_plus_a_constant():
    layer = Pad((2, 3, 2), (1, 0), (2, 1), value=-0.5)
    x = np.arange(12.0)
    want = np.pad(x.reshape(2, 3, 2), [(0, 0), (1, 2), (0, 1)], constant_values=-0.5).ravel()
    np.testing.assert_array_equal(layer(x), want)
    assert layer.output_shape == (2, 6, 3)
    J = layer.jacobian(x)
    np.testing.assert_array_equal(J.T @ J, np.eye(12))  # columns orthonormal: sigma = 1 exactly
    np.testing.assert_array_equal(layer(x) - layer(np.zeros(12)), J @ x)
    assert layer.lipschitz_upper() == 1.0


def test_permute_is_a_permutation():
    layer = Permute((2, 3, 4), (2, 0, 1))
    x = np.arange(24.0)
    np.testing.assert_array_equal(layer(x), x.reshape(2, 3, 4).transpose(2, 0, 1).ravel())
    J = layer.jacobian(x)
    np.testing.assert_array_equal(J @ x, layer(x))
    np.testing.assert_array_equal(J.T @ J, np.eye(24))
    assert layer.output_shape == (4, 2, 3) and layer.lipschitz_upper() == 1.0
    with pytest.raises(ValueError, match="permutation"):
        Permute((2, 3), (0, 0))


def test_prelu_constant_is_the_largest_slope_or_one():
    layer = PReLU(np.array([[0.5], [-3.0]]), (2, 3))
    x = np.array([1.0, -1.0, 2.0, -2.0, 0.5, 3.0])
    np.testing.assert_array_equal(layer(x), [1.0, -0.5, 2.0, 6.0, 0.5, 3.0])
    assert layer.lipschitz_upper() == 3.0 == float(np.linalg.norm(layer.jacobian(x), 2))
    assert PReLU(np.float64(0.25), (4,)).lipschitz_upper() == 1.0


def test_chain_graph_ladder_takes_the_rung_limits():
    g = _chain(np.random.default_rng(5))  # one hidden layer of 6 units
    over = graph_ladder(g, seed=0, max_eclipse_width=5, max_hidden_units=5)
    for name in ("eclipse_fast", "patterns"):
        row = over.row(name)
        assert math.isnan(row.value) and "limit 5" in row.note, row
    under = graph_ladder(g, seed=0, max_eclipse_width=6, max_hidden_units=6)
    assert under.row("eclipse_fast").certified and under.row("patterns").certified, under.table()
