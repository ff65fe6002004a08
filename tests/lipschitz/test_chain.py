"""A network as a chain of matrices between monotone activations (``lipbench.lipschitz.chain``):
the merge and its rounding bound against exact rationals, the slope intervals, the perturbation
bound by hand, and psd_margin against matrices whose smallest eigenvalue is known exactly."""

from __future__ import annotations

import math
from fractions import Fraction as Q

import numpy as np
import pytest

from lipbench.lipschitz import (
    ActivationLayer,
    AvgPool,
    Conv,
    Dense,
    Flatten,
    Sequential,
    activation,
    network_chain,
)
from lipbench.lipschitz.chain import entry_rounding, perturbation, psd_margin, slope_interval
from lipbench.testing import weakened
from properties.tolerances import eigh_atol, proven_sigma_rtol


def _exact_product(mats: list[np.ndarray]) -> list[list[Q]]:
    P = [[Q(float(x)) for x in row] for row in mats[0].tolist()]
    for A in mats[1:]:
        Aq = [[Q(float(x)) for x in row] for row in A.tolist()]
        P = [[sum((Aq[i][k] * P[k][j] for k in range(len(P))), Q(0)) for j in range(len(P[0]))]
             for i in range(len(Aq))]
    return P


def _fro2(W: np.ndarray, exact: list[list[Q]]) -> Q:
    return sum(((Q(float(w)) - e) ** 2 for rw, re in zip(W.tolist(), exact) for w, e in zip(rw, re)), Q(0))


def test_merge_bound_covers_the_exact_product_of_three_dense_layers():
    """Dense, Dense, Dense, ReLU, Dense: the first three merge into one computed matrix; its error
    bound covers the distance to the exact product (rationals), and fails to with chain_merge dropped."""
    rng = np.random.default_rng(0)
    A, B, C, D = (rng.standard_normal(s) for s in ((5, 4), (6, 5), (3, 6), (2, 3)))
    net = Sequential([Dense(A), Dense(B), Dense(C), ActivationLayer(activation("relu")), Dense(D)])
    chain = network_chain(net)
    assert [W.shape for W in chain.weights] == [(3, 4), (2, 3)] and chain.slopes == ((0.0, 1.0),)
    assert chain.errors[1] == 0.0 and chain.hidden_units == 3, chain.errors  # a lone Dense is stored as it is
    err2 = _fro2(chain.weights[0], _exact_product([A, B, C]))
    assert 0 < err2 <= Q(chain.errors[0]) ** 2, (float(err2) ** 0.5, chain.errors[0])
    with weakened("chain_merge", 0.0):
        assert Q(network_chain(net).errors[0]) ** 2 < err2


def test_linear_layers_merge_with_their_own_errors():
    """Conv (taps folded by circular padding: an assembly error), AvgPool over 3 (entries fl(1/3)) and
    Flatten (no matrix) merge into one matrix whose error carries the layers' own."""
    rng = np.random.default_rng(1)
    conv = Conv(rng.standard_normal((2, 1, 3)), (1, 2), padding=1, padding_mode="circular")
    pool = AvgPool(1, conv.output_shape)
    net = Sequential([conv, Flatten(conv.output_shape), pool, ActivationLayer(activation("tanh")),
                      Dense(rng.standard_normal((1, 4)))])
    chain = network_chain(net)
    assert chain.weights[0].shape == (4, 2) and chain.slopes == ((0.0, 1.0),)
    assert chain.errors[0] >= conv.operator_error_bound() > 0.0, (chain.errors, conv.operator_error_bound())


@pytest.mark.parametrize("name,params,interval", [
    ("relu", {}, (0.0, 1.0)), ("leaky_relu", {"alpha": 0.2}, (0.2, 1.0)), ("leaky_relu", {"alpha": 2.0}, (1.0, 2.0)),
    ("tanh", {}, (0.0, 1.0)), ("sigmoid", {}, (0.0, 0.25)), ("leaky_relu", {"alpha": -0.5}, None), ("sin", {}, None),
    ("gelu", {}, None), ("elu", {"alpha": 0.5}, (0.0, 1.0)),
])
def test_slope_interval_of_each_activation(name, params, interval):
    assert slope_interval(ActivationLayer(activation(name, **params))) == interval


def test_network_chain_names_what_does_not_fit():
    with pytest.raises(ValueError, match="layer 1 .* not a monotone activation"):
        network_chain(Sequential([Dense(np.eye(2)), ActivationLayer(activation("sin")), Dense(np.eye(2))]))
    with pytest.raises(TypeError, match="Sequential"):
        network_chain(Dense(np.eye(2)))


def test_perturbation_by_hand():
    """(2 + 1/2)(3 + 1/4) - 2 * 3 = 17/8, exactly; no error, no perturbation; an infinite norm, infinity."""
    assert perturbation([2.0, 3.0], [0.5, 0.25]) == 2.125
    assert perturbation([2.0, 3.0], [0.0, 0.0]) == 0.0
    assert perturbation([math.inf, 1.0], [1.0, 0.0]) == math.inf
    rng = np.random.default_rng(2)
    for a, e in zip(rng.uniform(0.1, 3.0, (20, 3)), rng.uniform(0.0, 0.1, (20, 3))):  # products that round
        exact = math.prod((Q(float(x)) + Q(float(y)) for x, y in zip(a, e)), start=Q(1)) - \
            math.prod((Q(float(x)) for x in a), start=Q(1))
        assert Q(perturbation(list(a), list(e))) >= exact, (a, e)


@pytest.mark.parametrize("n", [2, 5, 16])
def test_psd_margin_is_a_lower_bound_on_known_eigenvalues(n):
    """5 I + J (J all ones) has lambda_min = 5 exactly; J has lambda_min = 0: psd_margin never above
    them, and within what its certificate gives up of the first."""
    J = np.ones((n, n))
    M = 5 * np.eye(n) + J
    margin = psd_margin(M)
    # what the margin gives up: sigma_upper's proven width on N = c I - M (||N|| = n, c ~ ||M|| = 5 + n),
    # the top eigenvalue's error, and the entries' rounding
    given_up = proven_sigma_rtol((n, n)) * n + eigh_atol("float64", n, 5.0 + n) + entry_rounding(M)
    assert 5.0 - given_up <= margin <= 5.0, (n, margin, given_up)
    assert psd_margin(J) <= 0.0, "a singular matrix was certified positive definite"
    assert psd_margin(5 * np.eye(n) + J, exact_error=0.5) <= 4.5
    assert psd_margin(np.full((n, n), np.nan)) == -math.inf
    assert entry_rounding(J) > 0.0 and entry_rounding(np.zeros((n, n))) > 0.0  # the eta / 2 per row remains


def test_psd_margin_never_certifies_a_singular_matrix_held_rounded():
    """v v^T with v = (1, 1/k, 1/(k + 1)) is singular; its entries, each correctly rounded, can make the
    computed matrix definite (or its nearest-rounded margin positive): the certified margin stays <= 0."""
    for k in range(3, 40):
        v = [Q(1), Q(1, k), Q(1, k + 1)]
        M = np.array([[float(a * b) for b in v] for a in v])
        assert psd_margin(M) <= 0.0, (k, psd_margin(M))
