"""The certified lower bound at one input (``lipbench.lipschitz.point_lower``): against the exact
||J v|| / ||v|| in rationals on small ReLU CNNs and MLPs, refusing a point on a kink, and its
rounding terms shown to be what keeps it below the truth on inputs that cancel."""

from __future__ import annotations

from fractions import Fraction as Q

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, AvgPool, BatchNorm, Conv, Dense, Flatten, Sequential, activation
from lipbench.lipschitz.point_lower import entry_terms, point_lower, point_lower_applies
from lipbench.testing import weakened
from properties.tolerances import sum_rtol, svd_atol


def _exact_linear(layer, v: list[Q]) -> list[Q]:
    """The layer's exact linear part on a rational vector (zeros padding: each conv entry is
    one kernel entry; an average pool's weights are exactly 1/k)."""
    if isinstance(layer, Dense):
        M = [[Q(float(w)) for w in row] for row in layer.weight]
    elif isinstance(layer, Conv):
        M = [[Q(float(w)) for w in row] for row in layer.operator_matrix()]
    else:
        k = int(np.prod(layer.kernel_size))
        M = [[Q(1, k) if w else Q(0) for w in row] for row in layer.operator_matrix()]
    return [sum((m * x for m, x in zip(row, v)), Q(0)) for row in M]


def _exact_affine(layer, a: list[Q]) -> list[Q]:
    out = _exact_linear(layer, a)
    b = getattr(layer, "bias", None)
    if b is None:
        return out
    bias = list(b) if isinstance(layer, Dense) else list(np.repeat(b, layer.n_positions))
    return [o + Q(float(c)) for o, c in zip(out, bias)]


def _exact_ratio_squared(net: Sequential, x: np.ndarray, v: np.ndarray) -> Q:
    """(||J v|| / ||v||)^2 in rationals, J the exact Jacobian at x (its exact pattern)."""
    a, u = [Q(float(t)) for t in x], [Q(float(t)) for t in v]
    for layer in net.layers:
        if isinstance(layer, ActivationLayer):
            alpha = Q(float(layer.activation.derivative(np.array([-1.0]))[0]))
            assert all(z != 0 for z in a), "the exact pattern has a kink at x"
            slopes = [Q(1) if z > 0 else alpha for z in a]
            a = [s * z for s, z in zip(slopes, a)]
            u = [s * w for s, w in zip(slopes, u)]
        elif not isinstance(layer, Flatten):
            a, u = _exact_affine(layer, a), _exact_linear(layer, u)
    return sum((w * w for w in u), Q(0)) / sum((Q(float(t)) ** 2 for t in v), Q(0))


def _cnn(rng, act="relu"):
    conv = Conv(rng.standard_normal((2, 1, 3, 3)), (1, 4, 4), bias=rng.standard_normal(2), padding=1)
    pool = AvgPool(2, conv.output_shape)
    flat = Flatten(pool.output_shape)
    relu = ActivationLayer(activation(act) if act == "relu" else activation("leaky_relu", alpha=0.1))
    return Sequential([conv, relu, pool, flat, Dense(rng.standard_normal((3, flat.out_features)),
                                                     rng.standard_normal(3))])


def _mlp(rng):
    leaky = ActivationLayer(activation("leaky_relu", alpha=0.1))
    return Sequential([Dense(rng.standard_normal((6, 4)), rng.standard_normal(6)), leaky,
                       Dense(rng.standard_normal((5, 6)), rng.standard_normal(5)), leaky,
                       Dense(rng.standard_normal((2, 5)))])


@pytest.mark.parametrize("make", [_cnn, lambda rng: _cnn(rng, "leaky"), _mlp], ids=["cnn", "cnn-leaky", "mlp"])
@pytest.mark.parametrize("seed", range(4))
def test_below_the_exact_ratio_and_within_rounding_of_sigma(make, seed):
    rng = np.random.default_rng(seed)
    net = make(rng)
    x = rng.standard_normal(net.in_features)
    found = point_lower(net, x)
    assert found is not None
    lower, estimate = found
    v = np.linalg.svd(net.jacobian(x))[2][0]
    assert Q(lower) ** 2 <= _exact_ratio_squared(net, x, v)
    J = net.jacobian(x)
    sigma = float(np.linalg.norm(J, 2))
    # estimate: sigma(J) along its computed top singular vector; lower gives up the products' rounding
    # bounds, a few n u of it per layer (n the terms of an entry)
    terms = sum(entry_terms(layer) for layer in net.layers if not isinstance(layer, (ActivationLayer, Flatten)))
    assert abs(estimate - sigma) <= svd_atol("float64", J.shape, sigma), (estimate, sigma)
    assert 0 < lower <= estimate, (lower, estimate)
    assert estimate - lower <= len(net.layers) * sum_rtol("float64", terms) * estimate, (lower, estimate)


def test_a_point_on_a_kink_is_refused():
    """A pre-activation exactly 0 at x: no sign to prove, no bound."""
    net = Sequential([Dense(np.array([[1.0, -1.0], [1.0, 1.0]])), ActivationLayer(activation("relu")),
                      Dense(np.ones((1, 2)))])
    assert point_lower(net, np.array([0.5, 0.5])) is None
    assert point_lower(net, np.array([0.5, 0.25])) is not None


def test_unsupported_layers_are_named():
    tanh = Sequential([Dense(np.ones((2, 2))), ActivationLayer(activation("tanh")), Dense(np.ones((1, 2)))])
    with pytest.raises(ValueError, match=r"layer 1 \(tanh\) is not ReLU"):
        point_lower(tanh, np.ones(2))
    bn = Sequential([Dense(np.ones((2, 2))), BatchNorm(np.ones(2), np.zeros(2), np.zeros(2), np.ones(2))])
    assert "layer 1 (BatchNorm)" in point_lower_applies(bn)
    with pytest.raises(ValueError, match="finite"):
        point_lower(Sequential([Dense(np.ones((1, 2)))]), np.array([np.nan, 1.0]))


BIG = 2.0**53


def test_the_pattern_s_error_bound_catches_a_cancelled_pre_activation():
    """z = 2^53 + 1 - 2^53 - 0.75 = 0.25 exactly, but summed left to right it is -0.75: only the
    error bound (gamma_n |W| |x|, about 8 here) refuses to call that sign proven."""
    net = Sequential([Dense(np.ones((1, 3)), np.array([-0.75])), ActivationLayer(activation("relu")),
                      Dense(np.ones((1, 1)))])
    x = np.array([BIG, 1.0, -BIG])
    assert point_lower(net, x) is None
    computed = float(net.layers[0](x)[0])
    if computed < 0:  # this BLAS summed in the order that cancels: without the term the wrong sign passes
        with weakened("product_gamma", 0.0):
            assert point_lower(net, x) is not None


def test_the_product_s_error_bound_keeps_the_bound_below_a_cancelled_product():
    """J v = (2^53 + 2) - 1 - (2^53 + 2) = -1 exactly; summed left to right it is -2.  The
    bound must stay at or below 1 / ||v||; without the product's rounding term it need not."""
    net = Sequential([Dense(np.ones((1, 3))), ActivationLayer(activation("relu")), Dense(np.ones((1, 1)))])
    x = np.array([1.0, 0.0, 0.0])
    v = np.array([BIG + 2, -1.0, -(BIG + 2)])
    lower, _ = point_lower(net, x, v)
    exact = _exact_ratio_squared(net, x, v)
    assert Q(lower) ** 2 <= exact
    if abs(float((net.layers[0].weight @ v)[0])) > 1:  # the cancelling order
        with weakened("product_gamma", 0.0):
            assert Q(point_lower(net, x, v)[0]) ** 2 > exact


def test_a_negative_leaky_slope_carries_the_error_s_size_not_its_sign():
    """z1 = 2^30 - (2^30 + 1) = -1, slope -1024 makes it 1024, and z2 = 1024 - 1024 = 0 exactly: a
    kink.  The error carried through the negative slope must stay positive, so no sign is proven."""
    net = Sequential([Dense(np.array([[2.0**30]]), np.array([-(2.0**30 + 1)])),
                      ActivationLayer(activation("leaky_relu", alpha=-1024.0)),
                      Dense(np.array([[1.0]]), np.array([-1024.0])), ActivationLayer(activation("relu"))])
    assert point_lower(net, np.array([1.0])) is None


def test_an_overflowing_product_or_sum_of_squares_proves_nothing():
    net = Sequential([Dense(np.ones((1, 2)))])
    assert point_lower(net, np.ones(2), np.array([1e308, 1e308])) is None  # J v overflows
    wide = Sequential([Dense(np.full((4, 1), 1e154))])
    assert point_lower(wide, np.ones(1), np.ones(1)) is None  # ||J v||^2 overflows though ||J v|| does not
