"""The Conv layer (``lipbench.lipschitz.conv_layer``): its matrix against the dense matrices of
``conv_cases`` (PyTorch's formulas, entry by entry), its proven constant, its assembly's rounding
bound against the exact matrix in rationals, and the arguments it refuses."""

from __future__ import annotations

from fractions import Fraction as Q

import numpy as np
import pytest

import lipbench
from lipbench.lipschitz import BatchNorm, Conv, Flatten, Sequential
from lipbench.lipschitz.conv import embedding_bound
from lipbench.lipschitz.conv_bound import conv_upper_bound
from lipbench.testing import weakened
from properties.tolerances import matvec_atol
from tests.lipschitz.conv_cases import dense_conv


@pytest.mark.parametrize("make,match", [
    (lambda: Conv(np.zeros((2, 1, 3)), (1, 4, 4)), "kernel dimension"),
    (lambda: Conv(np.zeros((3, 1, 3, 3)), (2, 4, 4), groups=2), "groups=2 must divide"),
    (lambda: Conv(np.zeros((2, 1, 3, 3)), (1, 4, 4), padding_mode="mirror"), "padding_mode"),
    (lambda: Conv(np.zeros((2, 1, 3, 3)), (1, 4, 4), padding=4, padding_mode="reflect"), "smaller than the input"),
    (lambda: Conv(np.zeros((2, 1, 5, 5)), (1, 4, 4)), "does not fit"),
    (lambda: Conv(np.full((2, 1, 3, 3), np.nan), (1, 4, 4)), "NaN"),
])
def test_bad_conv_arguments_name_the_problem(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_layers_do_not_modify_the_callers_arrays():
    w = np.arange(18.0).reshape(2, 1, 3, 3)
    gamma = np.array([2.0, -3.0])
    w0, g0 = w.copy(), gamma.copy()
    conv = Conv(w, (1, 4, 4), padding=1)
    bn = BatchNorm(gamma, np.zeros(2), np.ones(2), np.ones(2), input_shape=(2, 4, 4))
    x = np.linspace(-1, 1, 16)
    x0 = x.copy()
    Sequential([conv, bn, Flatten((2, 4, 4))])(x)
    assert np.array_equal(w, w0) and np.array_equal(gamma, g0) and np.array_equal(x, x0)



#: (C_in, spatial, kernel shape, stride, padding, dilation, groups, mode): every padding mode, strided,
#: dilated and grouped; the circular/replicate ones on short inputs fold two taps onto one entry
LAYERS = [
    (2, (5, 6), (3, 2, 3, 3), 1, 1, 1, 1, "zeros"),
    (2, (7, 5), (4, 1, 3, 2), 2, 1, 1, 2, "circular"),
    (1, (6, 6), (2, 1, 3, 3), 1, 2, 2, 1, "reflect"),
    (3, (4, 5), (3, 3, 2, 3), (2, 1), (1, 2), 1, 1, "replicate"),
    (1, (2, 3), (2, 1, 3, 3), 1, 1, 1, 1, "circular"),
    (2, (8,), (4, 2, 3), 1, 2, 1, 1, "replicate"),
]


def _layer(case, rng):
    c, spatial, kshape, s, p, dl, g, mode = case
    W = rng.standard_normal(kshape)
    return W, Conv(W, (c, *spatial), bias=rng.standard_normal(kshape[0]), stride=s, padding=p, dilation=dl,
                   groups=g, padding_mode=mode)


@pytest.mark.parametrize("case", LAYERS, ids=str)
def test_operator_matrix_is_pytorch_s_convolution(case):
    """The layer's matrix against ``dense_conv`` (ground truth by loops), and the layer's output is
    that matrix times x plus the bias, channel by channel."""
    rng = np.random.default_rng(21)
    W, conv = _layer(case, rng)
    s, p, dl = ((v,) * len(case[1]) if isinstance(v, int) else v for v in case[3:6])
    D = dense_conv(W, case[1], s, p, p, dl, case[6], case[7])
    A = conv.operator_matrix()
    fro = float(np.linalg.norm(D))
    assert A.shape == D.shape and conv.output_shape[0] * conv.n_positions == D.shape[0], (A.shape, D.shape)
    off = float(np.linalg.norm(A - D))
    assert off <= matvec_atol("float64", D.shape, fro), f"{case}: matrix off by {off}"
    x = rng.standard_normal(conv.in_features)
    y = conv(x) - np.repeat(conv.bias, conv.n_positions)
    assert np.linalg.norm(y - D @ x) <= 2 * matvec_atol("float64", D.shape, fro, float(np.linalg.norm(x))), case
    assert np.array_equal(conv.jacobian(x), A)


@pytest.mark.parametrize("case", LAYERS, ids=str)
def test_proven_constant_is_above_the_certified_sigma(case):
    """lipschitz_upper and matrix_lipschitz_upper are proofs on the exact operator; lipbench's certified
    bracket of the exact dense matrix (single taps) or of the assembled one (widened by the assembly's
    bound) must not lie above them."""
    W, conv = _layer(case, np.random.default_rng(22))
    r = lipbench.spectral_norm(conv.operator_matrix(), certify=True)
    assert r.certified, r.message
    lower = r.lower - conv.operator_error_bound()
    for name in ("lipschitz_upper", "matrix_lipschitz_upper"):
        assert getattr(conv, name)() >= lower, f"{case}: {name} {getattr(conv, name)()!r} < {lower!r}"
    assert r.lower <= conv.lipschitz_exact() * (1 + r.tol) and conv.lipschitz_exact() <= r.upper * (1 + r.tol)


def _exact_matrix(conv: Conv, W: np.ndarray) -> list[list[Q]]:
    """The operator's matrix in rationals: each entry the exact sum of the taps that read it."""
    rows = [[Q(0)] * conv.in_features for _ in range(conv.out_features)]
    c_in, n = conv.input_shape[0], conv.in_features // conv.input_shape[0]
    cg = c_in // conv.groups
    co_g = W.shape[0] // conv.groups
    for o in range(W.shape[0]):
        for p, window in enumerate(conv._table):
            for ci in range(cg):
                c = (o // co_g) * cg + ci
                for t, src in enumerate(window):
                    if src >= 0:
                        rows[o * len(conv._table) + p][c * n + src] += Q(W[o, ci].reshape(-1)[t])
    return rows


def test_assembly_rounding_bound_covers_the_exact_matrix():
    """A length-2 circular input under a 3-tap kernel folds taps 0 and 2 onto one entry: 1 + 2^-60
    rounds to 1.  The bound gamma_1 || |A| ||_F covers that loss; with its term (conv_assembly)
    dropped it does not."""
    W = np.array([[[1.0, 0.5, 2.0**-60]]])
    conv = Conv(W, (1, 2), padding=1, padding_mode="circular")
    A, exact = conv.operator_matrix(), _exact_matrix(conv, W)
    err = sum((Q(float(a)) - e) ** 2 for ra, re in zip(A.tolist(), exact) for a, e in zip(ra, re))
    assert conv.taps_per_entry() == 2 and err > 0, "the assembly did not round: the case shows nothing"
    assert err <= Q(conv.operator_error_bound()) ** 2, (float(err) ** 0.5, conv.operator_error_bound())
    with weakened("conv_assembly", 0.0):
        assert Q(conv.operator_error_bound()) ** 2 < err
    assert Conv(W, (1, 5), padding=1).operator_error_bound() == 0.0  # zeros padding: single taps, exact



@pytest.mark.parametrize("case", LAYERS, ids=str)
def test_past_the_dense_size_the_constant_is_the_smaller_proven_bound(case, monkeypatch):
    """Where the operator is too large to assemble (the limit lowered to 0 here) the constant
    is the smaller of the size-free bound and the proven embedding: at or above sigma."""
    from lipbench.lipschitz import conv as conv_module

    W, conv = _layer(case, np.random.default_rng(23))
    r = lipbench.spectral_norm(conv.operator_matrix(), certify=True)
    g = _geometry(conv)
    monkeypatch.setattr(conv_module, "DENSE_MAX_ENTRIES", 0)
    upper = conv.lipschitz_upper()
    assert upper >= r.lower - conv.operator_error_bound(), f"{case}: {upper!r} < {r.lower!r}"
    assert upper == min(conv_upper_bound(g, g.in_spatial), embedding_bound(g))


@pytest.mark.parametrize("stride", [1, 2])
def test_past_the_dense_size_a_zero_padded_layer_s_constant_is_near_its_norm(stride, monkeypatch):
    """On a 3x16x16 input with zeros padding the embedding is within 2% of the certified sigma at
    stride 1 and 2, where the size-free bound is 36% and 47% above it."""
    from lipbench.lipschitz import conv as conv_module

    W = np.random.default_rng(24).standard_normal((8, 3, 3, 3))
    conv = Conv(W, (3, 16, 16), stride=stride, padding=1)
    r = lipbench.spectral_norm(conv.operator_matrix(), certify=True)
    monkeypatch.setattr(conv_module, "DENSE_MAX_ENTRIES", 0)
    upper = conv.lipschitz_upper()
    assert r.lower - conv.operator_error_bound() <= upper <= 1.02 * r.upper, (upper, r.upper)
    g = _geometry(conv)
    assert conv_upper_bound(g, g.in_spatial) >= 1.3 * r.upper


def test_past_the_embedding_s_cost_limit_the_layer_keeps_the_size_free_bound(monkeypatch):
    from lipbench.lipschitz import conv as conv_module

    W = np.random.default_rng(24).standard_normal((8, 3, 3, 3))
    monkeypatch.setattr(conv_module, "DENSE_MAX_ENTRIES", 0)
    monkeypatch.setattr(conv_module, "EMBEDDING_MAX_FLOPS", 0)
    conv = Conv(W, (3, 16, 16), stride=2, padding=1)
    g = _geometry(conv)
    assert conv.lipschitz_upper() == conv_upper_bound(g, g.in_spatial)


def _geometry(conv: Conv):
    return lipbench.lipschitz.conv_geometry(conv.weight, conv.input_shape, stride=conv.stride, padding=conv.padding,
                                            dilation=conv.dilation, groups=conv.groups,
                                            padding_mode=conv.padding_mode)
