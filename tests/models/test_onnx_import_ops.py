"""The ONNX importer's transposed convolution, (log-)softmax, layer normalisation, fused
elementwise patterns, padded and dilated pooling and copying pads: each forward pass against
onnx.reference, each constant against the operator it bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")

from onnx import helper  # noqa: E402

from lipbench.lipschitz import ActivationLayer  # noqa: E402
from lipbench.models import NotGloballyLipschitz, graph_ladder, import_onnx  # noqa: E402
from lipbench.models.graph_ladder import sampled_lower_bound  # noqa: E402
from lipbench.models.onnx_import import UnsupportedModel  # noqa: E402
from lipbench.testing import gelu_tanh_sup_upper  # noqa: E402
from properties.tolerances import proven_sigma_rtol, svd_atol  # noqa: E402

from .onnx_models import FLOAT32_MATCH, assert_matches, const, f32, model, reference  # noqa: E402

H = helper.make_node


def _linear_reference(run, n: int) -> np.ndarray:
    """The (out, in) matrix of an affine model from its outputs on the unit vectors and on zero."""
    return (run(np.eye(n)) - run(np.zeros((1, n)))).T


def _sigma(M: np.ndarray) -> float:
    return float(np.linalg.norm(M, 2))


# ------------------------------------------------------------------ ConvTranspose
CONV_TRANSPOSE = [
    {}, {"pads": [1, 0, 2, 1]}, {"strides": [2, 3], "output_padding": [1, 2]},
    {"dilations": [2, 1], "pads": [1, 1, 0, 2]}, {"group": 2, "strides": [2, 1], "pads": [0, 1, 1, 0]},
    {"auto_pad": "SAME_UPPER", "strides": [2, 2]}, {"auto_pad": "SAME_LOWER", "strides": [2, 3]},
    {"output_shape": [11, 9], "strides": [2, 2]},
    {"auto_pad": "SAME_UPPER", "output_shape": [9, 10], "strides": [2, 2]},
    {"auto_pad": "VALID", "strides": [1, 2], "dilations": [1, 2]},
]


def _conv_transpose_reference(attrs: dict, k: np.ndarray, b: np.ndarray, x: np.ndarray) -> np.ndarray:
    """onnx.reference's ConvTranspose, group by group (its own grouped path slices the weight by
    output channels, not input channels, and fails): each group is an ungrouped ConvTranspose."""
    groups = attrs.get("group", 1)
    one = {a: v for a, v in attrs.items() if a != "group"}
    ci, co = x.shape[1] // groups, k.shape[1]
    outs = []
    for grp in range(groups):
        m = model([H("ConvTranspose", ["x", "k", "b"], ["y"], name="ct", **one)], ["N", ci, *x.shape[2:]], None,
                  [const("k", k[grp * ci:(grp + 1) * ci]), const("b", b[grp * co:(grp + 1) * co])])
        outs.append(reference(m, x[:, grp * ci:(grp + 1) * ci]))
    return np.concatenate(outs, axis=1)


@pytest.mark.parametrize("attrs", CONV_TRANSPOSE, ids=[str(a) for a in CONV_TRANSPOSE])
def test_conv_transpose_matches_reference_and_its_norm(attrs):
    rng = np.random.default_rng(20)
    groups, shape = attrs.get("group", 1), (4, 5, 4)
    k, b = f32(rng, 4, 6 // groups, 3, 2), f32(rng, 6)
    m = model([H("ConvTranspose", ["x", "k", "b"], ["y"], name="ct", **attrs)], ["N", *shape], None,
              [const("k", k), const("b", b)])
    g = import_onnx(m)
    x = f32(rng, 2, *shape)
    ref = _conv_transpose_reference(attrs, k, b, x)
    assert g.output_shape == ref.shape[1:], (attrs, g.output_shape, ref.shape)
    assert_matches(g(x.reshape(2, -1).astype(np.float64)), ref, str(attrs))
    # the constant against sigma_max of onnx.reference's own matrix (float32)
    n = int(np.prod(shape))
    M = _linear_reference(lambda X: _conv_transpose_reference(attrs, k, b, X.reshape(-1, *shape).astype(np.float32))
                          .reshape(len(X), -1).astype(np.float64), n)
    bound, ref_sigma = g.product_bound(), _sigma(M)
    assert ref_sigma * (1 - FLOAT32_MATCH) <= bound <= ref_sigma * (1 + FLOAT32_MATCH), (attrs, bound, ref_sigma)
    exact = g.nodes[0].layer.lipschitz_exact()
    assert exact <= bound <= exact * (1 + proven_sigma_rtol(M.shape)), (attrs, bound, exact)


@pytest.mark.parametrize("attrs", CONV_TRANSPOSE, ids=[str(a) for a in CONV_TRANSPOSE])
def test_conv_transpose_past_the_dense_size_keeps_a_proven_constant(attrs, monkeypatch):
    """Too large to assemble (the limit lowered to 0): the smaller of the size-free bound and the
    proven circular embedding, never below sigma; the embedding is the tighter one on every
    stride-1 case here."""
    from lipbench.lipschitz import conv as conv_module
    from lipbench.lipschitz.conv_bound import conv_upper_bound

    rng = np.random.default_rng(20)
    groups, shape = attrs.get("group", 1), (4, 5, 4)
    k, b = f32(rng, 4, 6 // groups, 3, 2), f32(rng, 6)
    layer = import_onnx(model([H("ConvTranspose", ["x", "k", "b"], ["y"], name="ct", **attrs)], ["N", *shape], None,
                              [const("k", k), const("b", b)])).nodes[0].layer
    exact, geometry = layer.lipschitz_exact(), layer.geometry
    monkeypatch.setattr(conv_module, "DENSE_MAX_ENTRIES", 0)
    upper, size_free = layer.lipschitz_upper(), conv_upper_bound(geometry, geometry.in_spatial)
    # exact: the SVD of the assembled matrix, off the operator's norm by the SVD's error at most
    slack = svd_atol("float64", layer.operator_matrix().shape, exact)
    assert exact - slack <= upper <= size_free, (attrs, upper, exact)
    if all(s == 1 for s in geometry.stride):
        assert upper < size_free, (attrs, upper, size_free)


# ------------------------------------------------------------------ Softmax, LogSoftmax
SOFTMAX = [("Softmax", {}, 13), ("Softmax", {"axis": 1}, 13), ("LogSoftmax", {"axis": -2}, 13),
           ("LogSoftmax", {}, 13), ("Softmax", {"axis": 2}, 11), ("LogSoftmax", {}, 11)]


@pytest.mark.parametrize("op,attrs,opset", SOFTMAX, ids=[f"{o}-{a}-opset{v}" for o, a, v in SOFTMAX])
def test_softmax_and_log_softmax_match_reference(op, attrs, opset):
    rng = np.random.default_rng(21)
    shape = (2, 3, 4)
    m = model([H(op, ["x"], ["y"], name="s", **attrs)], ["N", *shape], None, opset=opset)
    g = import_onnx(m)
    x = f32(rng, 3, *shape, scale=3.0)
    if opset >= 13:
        ref = reference(m, x)
    else:  # before opset 13: softmax over everything from axis on (onnx.reference applies opset 13's rule)
        axis = attrs.get("axis", 1)
        flat = x.reshape(3, *shape[:axis - 1], -1)
        ref = reference(model([H(op, ["x"], ["y"], name="s", axis=-1)], ["N", *flat.shape[1:]], None, opset=13), flat)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), ref.reshape(3, -1), f"{op} {attrs} opset {opset}")
    assert sampled_lower_bound(g, n_samples=16, scale=3.0) <= g.product_bound()


def test_softmax_constant_is_one_half_and_attained():
    m = model([H("Softmax", ["x"], ["y"], name="s", axis=1)], ["N", 2], None, opset=13)
    g = import_onnx(m)
    J = g.nodes[0].layer.jacobian(np.zeros(2))  # equal logits: p = (1/2, 1/2)
    assert g.product_bound() == 0.5
    assert abs(_sigma(J) - 0.5) <= svd_atol("float64", J.shape, 0.5), J


@pytest.mark.parametrize("n", [2, 5, 20])
def test_log_softmax_constant_is_root_n_and_approached(n):
    """||I - 1 p^T|| = sqrt(n) ||p||: sqrt(n) as one logit dominates (at 40, p = e_1 in floats)."""
    m = model([H("LogSoftmax", ["x"], ["y"], name="ls", axis=-1)], ["N", n], None, opset=13)
    g = import_onnx(m)
    bound = g.product_bound()
    x = np.zeros(n)
    x[0] = 40.0
    s = _sigma(g.nodes[0].layer.jacobian(x))
    assert s <= bound and bound - s <= svd_atol("float64", (n, n), bound), (n, s, bound)
    assert math.sqrt(n) <= bound


def test_softmax_over_the_batch_axis_is_refused():
    with pytest.raises(UnsupportedModel, match="'s' \\(Softmax\\): axis=0 normalises across the batch"):
        import_onnx(model([H("Softmax", ["x"], ["y"], name="s", axis=0)], ["N", 4], None, opset=13))


# ------------------------------------------------------------------ LayerNormalization
@pytest.mark.parametrize("axis,bias", [(-1, True), (-2, False), (1, True)])
def test_layer_normalization_matches_reference_and_is_eps_dominated(axis, bias):
    rng = np.random.default_rng(22)
    shape, eps = (2, 3, 4), 1e-3
    normalised = shape[axis % 4 - 1:]
    scale = f32(rng, *normalised)
    inits = [const("s", scale)] + ([const("b", f32(rng, *normalised))] if bias else [])
    m = model([H("LayerNormalization", ["x", "s"] + (["b"] if bias else []), ["y"], name="ln", axis=axis,
                 epsilon=eps)], ["N", *shape], None, inits, opset=17)
    g = import_onnx(m)
    x = f32(rng, 3, *shape, scale=3.0)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), f"layernorm axis {axis}")
    bound = g.product_bound()
    peak = float(np.max(np.abs(scale)))
    assert peak / math.sqrt(float(np.float32(eps))) <= bound, (bound, peak)
    J = g.nodes[0].layer.jacobian(np.zeros(int(np.prod(shape))))  # zero variance: the worst case
    assert _sigma(J) <= bound
    assert sampled_lower_bound(g, n_samples=16, scale=3.0) <= bound
    assert "eps-dominated: ln" in graph_ladder(g, n_samples=4, ascent_steps=2).row("product").note


def test_layer_normalization_constant_is_reached_at_zero_variance():
    """With one scale for every entry, ||gamma P / sqrt(eps)|| = |gamma| / sqrt(eps): the bound is tight."""
    eps = 0.25  # a power of two's square: sqrt(eps) exact
    m = model([H("LayerNormalization", ["x", "s"], ["y"], name="ln", epsilon=eps)], ["N", 6], None,
              [const("s", np.full(6, -3.0, np.float32))], opset=17)
    g = import_onnx(m)
    J = g.nodes[0].layer.jacobian(np.ones(6))
    bound = g.product_bound()
    assert abs(_sigma(J) - bound) <= svd_atol("float64", J.shape, bound), (bound, _sigma(J))


def test_layer_normalization_statistics_outputs_are_refused():
    m = model([H("LayerNormalization", ["x", "s"], ["n", "mean"], name="ln"), H("Add", ["n", "mean"], ["y"], name="a")],
              ["N", 6], None, [const("s", np.ones(6, np.float32))], opset=17)
    with pytest.raises(UnsupportedModel, match="'ln' \\(LayerNormalization\\): its Mean or InvStdDev"):
        import_onnx(m)


# ------------------------------------------------------------------ fused elementwise patterns
PATTERN_INITS = [const("sqrt2", np.float32(math.sqrt(2))), const("isqrt2", np.float32(1 / math.sqrt(2))),
                 const("one", np.float32(1)), const("half", np.float32(0.5)), const("three", np.float32(3)),
                 const("six", np.float32(6)), const("zero", np.float32(0))]
PATTERNS = {  # name: (nodes, activation name prefix)
    "gelu_erf": ([H("Div", ["x", "sqrt2"], ["d"]), H("Erf", ["d"], ["e"]), H("Add", ["e", "one"], ["a"]),
                  H("Mul", ["x", "a"], ["m"]), H("Mul", ["m", "half"], ["y"])], "gelu"),
    "gelu_erf_half_first": ([H("Mul", ["x", "half"], ["hx"]), H("Mul", ["x", "isqrt2"], ["d"]), H("Erf", ["d"], ["e"]),
                             H("Add", ["one", "e"], ["a"]), H("Mul", ["a", "hx"], ["y"])], "gelu"),
    "hard_swish_clip": ([H("Add", ["x", "three"], ["a"]), H("Clip", ["a", "zero", "six"], ["c"]),
                         H("Mul", ["x", "c"], ["m"]), H("Div", ["m", "six"], ["y"])], "hard_swish"),
    "hard_swish_hard_sigmoid": ([H("HardSigmoid", ["x"], ["h"], alpha=1 / 6), H("Mul", ["x", "h"], ["y"])],
                                "hard_swish"),
    "erf_alone": ([H("Erf", ["x"], ["y"])], "erf"),
}


@pytest.mark.parametrize("case", sorted(PATTERNS))
def test_elementwise_patterns_are_one_activation(case):
    nodes, act = PATTERNS[case]
    for i, n in enumerate(nodes):
        n.name = f"{case}{i}"
    m = model(nodes, ["N", 6], None, PATTERN_INITS, opset=13)
    g = import_onnx(m)
    rng = np.random.default_rng(23)
    x = f32(rng, 50, 6, scale=4.0)
    assert_matches(g(x.astype(np.float64)), reference(m, x), case)
    layers = g.as_sequential().layers
    assert len(layers) == 1 and isinstance(layers[0], ActivationLayer), layers
    assert layers[0].activation.name.startswith(act), layers[0].activation.name
    assert g.product_bound() == layers[0].lipschitz_upper()
    assert sampled_lower_bound(g, n_samples=32, scale=3.0) <= g.product_bound()


def test_gelu_tanh_matches_reference_and_takes_the_proven_constant():
    """ONNX's Gelu with approximate="tanh" (opset 20) is GELU's tanh form: the forward pass against
    onnx.reference, the constant the proven one, above a sampled lower bound."""
    m = model([H("Gelu", ["x"], ["y"], name="gelu", approximate="tanh")], ["N", 2, 5], None, opset=20)
    g = import_onnx(m)
    x = f32(np.random.default_rng(29), 40, 2, 5, scale=4.0)
    assert_matches(g(x.reshape(40, -1).astype(np.float64)), reference(m, x), "gelu tanh")
    (layer,) = g.as_sequential().layers
    assert isinstance(layer, ActivationLayer) and layer.activation.name == "gelu_tanh", layer
    assert g.product_bound() == gelu_tanh_sup_upper(), g.product_bound()
    assert sampled_lower_bound(g, n_samples=32, scale=3.0) <= g.product_bound()


NOT_PATTERNS = {  # the erf and clip forms on a different tensor than the one they multiply
    "erf_of_another": [H("Relu", ["x"], ["r"]), H("Div", ["r", "sqrt2"], ["d"]), H("Erf", ["d"], ["e"]),
                       H("Add", ["e", "one"], ["a"]), H("Mul", ["x", "a"], ["y"], name="prod")],
    "erf_of_another_by_mul": [H("Relu", ["x"], ["r"]), H("Mul", ["isqrt2", "r"], ["d"]), H("Erf", ["d"], ["e"]),
                              H("Add", ["e", "one"], ["a"]), H("Mul", ["x", "a"], ["y"], name="prod")],
    "clip_times_another": [H("Add", ["x", "three"], ["a"]), H("Clip", ["a", "zero", "six"], ["c"]),
                           H("Tanh", ["x"], ["t"]), H("Mul", ["t", "c"], ["y"], name="prod")],
    "clip_not_from_zero": [H("Add", ["x", "three"], ["a"]), H("Clip", ["a", "one", "six"], ["c"]),
                           H("Mul", ["x", "c"], ["y"], name="prod")],
}


@pytest.mark.parametrize("case", sorted(NOT_PATTERNS))
def test_products_that_are_not_the_patterns_keep_their_refusal(case):
    nodes = NOT_PATTERNS[case]
    for i, n in enumerate(nodes):
        n.name = n.name or f"{case}{i}"
    g = import_onnx(model(nodes, ["N", 6], None, PATTERN_INITS, opset=13))
    with pytest.raises(NotGloballyLipschitz, match="node 'prod' \\(Mul\\): the product of two input-dependent"):
        g.product_bound()


# ------------------------------------------------------------------ pooling, padding
POOLS = [("MaxPool", {"pads": [1, 0, 2, 1], "strides": [2, 1]}),
         ("MaxPool", {"dilations": [2, 1], "pads": [1, 1, 1, 1]}),
         ("MaxPool", {"auto_pad": "SAME_UPPER", "strides": [2, 2]}),
         ("MaxPool", {"auto_pad": "SAME_LOWER", "dilations": [1, 2]}),
         ("AveragePool", {"dilations": [2, 1], "strides": [1, 2]}),
         ("AveragePool", {"dilations": [1, 2], "pads": [1, 1, 0, 1], "count_include_pad": 1})]


@pytest.mark.parametrize("op,attrs", POOLS, ids=[f"{o}-{a}" for o, a in POOLS])
def test_padded_and_dilated_pooling_match_reference(op, attrs):
    rng = np.random.default_rng(24)
    m = model([H(op, ["x"], ["y"], name="p", kernel_shape=[3, 2], **attrs)], ["N", 2, 7, 6], None, opset=19)
    g = import_onnx(m)
    x = f32(rng, 3, 2, 7, 6) - 2.0  # negative inputs: a zero read in place of -inf padding would win
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), f"{op} {attrs}")
    pool = g.nodes[-1].layer
    bound = g.product_bound()
    if op == "MaxPool":  # tight: the most-covered input, far above the rest, wins every window covering it
        j = int(np.argmax(np.bincount(pool._table[pool._table >= 0], minlength=42)))
        e = np.zeros(pool.in_features)
        e[j] = 1.0
        s = _sigma(pool.jacobian(e))
        assert s <= bound and bound - s <= svd_atol("float64", (pool.out_features, pool.in_features), bound)
    else:
        exact = _sigma(pool.operator_matrix())
        assert exact <= pool.lipschitz_upper() <= exact * (1 + proven_sigma_rtol(pool.operator_matrix().shape))
    assert sampled_lower_bound(g, n_samples=16) <= bound


@pytest.mark.parametrize("mode,pads", [("reflect", [0, 0, 2, 1, 0, 0, 1, 3]), ("edge", [0, 0, 3, 0, 0, 0, 2, 4]),
                                       ("wrap", [0, 0, 1, 2, 0, 0, 2, 1])])
def test_copying_pads_match_reference_and_their_norm(mode, pads):
    rng = np.random.default_rng(25)
    m = model([H("Pad", ["x", "pads"], ["y"], name="p", mode=mode)], ["N", 2, 5, 4], None,
              [const("pads", np.array(pads, np.int64))], opset=19)
    g = import_onnx(m)
    x = f32(rng, 3, 2, 5, 4)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), mode)
    M = _linear_reference(lambda X: reference(m, X.reshape(-1, 2, 5, 4)).reshape(len(X), -1).astype(np.float64), 40)
    bound, s = g.product_bound(), _sigma(M)  # a 0/1 matrix: onnx.reference's copy is exact
    assert s <= bound and bound - s <= svd_atol("float64", M.shape, bound), (mode, s, bound)


# ------------------------------------------------------------------ layer normalisation written out
def _decomposed_layer_norm(opset: int, eps_node: bool = True, var_axes: tuple[int, ...] = (-1,)):
    """torch.onnx's layer norm before opset 17: ReduceMean, Sub, Pow, ReduceMean, Add eps, Sqrt, Div, Mul, Add."""
    axes = {"axes": [-1]} if opset < 18 else {}
    extra = [] if opset < 18 else ["axes"]
    var = "ve" if eps_node else "var"
    nodes = [H("ReduceMean", ["x"] + extra, ["mu"], name="mean", **axes), H("Sub", ["x", "mu"], ["d"], name="sub"),
             H("Pow", ["d", "two"], ["sq"], name="pow"),
             H("ReduceMean", ["sq"] + extra, ["var"], name="var", **({"axes": list(var_axes)} if axes else {}))]
    nodes += [H("Add", ["var", "eps"], ["ve"], name="add_eps")] if eps_node else []
    nodes += [H("Sqrt", [var], ["std"], name="sqrt"), H("Div", ["d", "std"], ["n"], name="div"),
              H("Mul", ["n", "gamma"], ["s"], name="scale"), H("Add", ["s", "beta"], ["y"], name="shift")]
    rng = np.random.default_rng(26)
    inits = [const("two", np.float32(2)), const("eps", np.float32(1e-5)), const("gamma", f32(rng, 4)),
             const("beta", f32(rng, 4)), const("axes", np.array([-1], np.int64))]
    return model(nodes, ["N", 3, 4], None, inits, opset=opset), inits[2]


@pytest.mark.parametrize("opset", [13, 18])
def test_decomposed_layer_norm_is_one_layer(opset):
    m, gamma = _decomposed_layer_norm(opset)
    g = import_onnx(m)
    x = f32(np.random.default_rng(27), 5, 3, 4, scale=3.0)
    assert_matches(g(x.reshape(5, -1).astype(np.float64)), reference(m, x), f"decomposed layer norm, opset {opset}")
    assert [type(n.layer).__name__ for n in g.nodes] == ["LayerNorm", "ConstantOp", "ConstantOp"], g.nodes
    peak = float(np.max(np.abs(onnx.numpy_helper.to_array(gamma))))
    bound = g.product_bound()
    assert peak / math.sqrt(float(np.float32(1e-5))) <= bound
    assert sampled_lower_bound(g, n_samples=16, scale=3.0) <= bound
    assert "eps-dominated: div" in graph_ladder(g, n_samples=4, ascent_steps=2).row("product").note


@pytest.mark.parametrize("change", [{"eps_node": False}, {"var_axes": (-2, -1)}], ids=["no_eps", "variance_axes"])
def test_decomposed_layer_norm_otherwise_is_refused(change):
    with pytest.raises(UnsupportedModel, match="'div' \\(Div\\): broadcasts input-dependent tensors"):
        import_onnx(_decomposed_layer_norm(13, **change)[0])


@pytest.mark.parametrize("op,reason", [("Pow", "a square grows quadratically"), ("Sqrt", "slope is unbounded")])
def test_square_and_root_alone_are_not_globally_lipschitz(op, reason):
    inputs = ["x", "two"] if op == "Pow" else ["x"]
    m = model([H(op, inputs, ["y"], name="f")], ["N", 4], None, [const("two", np.float32(2))], opset=13)
    g = import_onnx(m)
    x = np.abs(f32(np.random.default_rng(28), 3, 4)) + 1.0
    assert_matches(g(x.astype(np.float64)), reference(m, x), op)
    with pytest.raises(NotGloballyLipschitz, match=f"node 'f' \\({op}\\): .*{reason}"):
        g.product_bound()


@pytest.mark.parametrize("keepdims", [1, 0])
def test_reduce_mean_and_centring_constants(keepdims):
    nodes = [H("ReduceMean", ["x"], ["y"], name="mean", axes=[2, 3], keepdims=keepdims)]
    m = model(nodes, ["N", 2, 3, 4], None, opset=13)
    g = import_onnx(m)
    x = f32(np.random.default_rng(29), 3, 2, 3, 4)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), "ReduceMean")
    J = g.nodes[0].layer.jacobian(np.zeros(24))
    assert abs(_sigma(J) - g.product_bound()) <= svd_atol("float64", J.shape, g.product_bound())
    m = model([H("ReduceMean", ["x"], ["mu"], name="mean", axes=[-1]), H("Sub", ["x", "mu"], ["y"], name="center")],
              ["N", 2, 3, 4], None, opset=13)
    g = import_onnx(m)
    assert_matches(g(x.reshape(3, -1).astype(np.float64)), reference(m, x), "centring")
    assert g.product_bound() == 1.0 and len(g.nodes) == 1
    with pytest.raises(UnsupportedModel, match="'mean' \\(ReduceMean\\): axes=\\[1\\]: only a mean over trailing"):
        import_onnx(model([H("ReduceMean", ["x"], ["y"], name="mean", axes=[1])], ["N", 2, 3, 4], None, opset=13))


def test_pooling_and_padding_that_cannot_be_expressed_are_refused():
    m = model([H("MaxPool", ["x"], ["y"], name="p", kernel_shape=[1, 1], pads=[1, 0, 0, 0])], ["N", 1, 3, 3], None)
    with pytest.raises(UnsupportedModel, match="'p' \\(MaxPool\\): .*with no input in it"):
        import_onnx(m)
    m = model([H("Pad", ["x", "pads"], ["y"], name="pad", mode="reflect")], ["N", 1, 3, 3], None,
              [const("pads", np.array([0, 0, 3, 0, 0, 0, 0, 0], np.int64))], opset=13)
    with pytest.raises(UnsupportedModel, match="'pad' \\(Pad\\): .*reflect padding must be shorter"):
        import_onnx(m)
