"""ECLipsE-Fast with each step certified (``lipbench.lipschitz.eclipse``): exact on a scalar chain,
and never below the proven norm of the best vertex pattern, a Lipschitz constant of a network
with the same slope bounds (each vertex is a linear activation inside them)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, eclipse_fast, network_chain
from lipbench.lipschitz.lower_search import pattern_lower
from lipbench.lipschitz.patterns import pattern_bound
from properties.tolerances import eclipse_rtol, scalar_rtol


def test_eclipse_is_exact_on_a_scalar_chain():
    """f(x) = w2 relu(w1 x): K = w1^2, lambda = 2 / w1^2, X_1 = 1 / w1^2, c = (w1 w2)^2, so L = |w1 w2|."""
    net = Sequential([Dense([[3.0]]), ActivationLayer(activation("relu")), Dense([[-0.5]])])
    r = eclipse_fast(network_chain(net))
    assert r.certified and r.tau == 2.0**-20, r  # the first, smallest lift verifies
    assert 1.5 <= r.value <= 1.5 * (1 + eclipse_rtol(r.tau, (1, 1))), r
    assert r.closed_form == pytest.approx(1.5, rel=scalar_rtol(ops=2))


def _net(seed: int, widths: tuple[int, ...], act: str, **params: float) -> Sequential:
    rng = np.random.default_rng(seed)
    layers: list = []
    for i in range(len(widths) - 1):
        layers.append(Dense(rng.standard_normal((widths[i + 1], widths[i])) / math.sqrt(widths[i])))
        if i < len(widths) - 2:
            layers.append(ActivationLayer(activation(act, **params)))
    return Sequential(layers)


@pytest.mark.parametrize("seed,widths,act,params", [
    (0, (3, 5, 2), "relu", {}), (1, (4, 6, 3), "leaky_relu", {"alpha": 0.3}),
    (2, (2, 4, 2), "leaky_relu", {"alpha": 2.0}), (3, (3, 4, 3, 2), "tanh", {}), (4, (5, 3, 4, 1), "relu", {}),
])
def test_certified_value_is_above_the_best_pattern_s_proven_norm(seed, widths, act, params):
    """Every vertex D (slopes lo or hi per unit) is itself an activation within the slope bounds, so any
    bound valid for all of them is >= sigma(W_l D ... D W_1); the best pattern's proven lower end is a proof."""
    chain = network_chain(_net(seed, widths, act, **params))
    r = eclipse_fast(chain)
    best_bits = pattern_bound(chain).top[0][0]
    truth, estimate = pattern_lower(chain, best_bits)
    assert r.certified and r.value >= truth, f"{widths} {act}: ECLipsE {r} below the pattern's {truth!r}"
    assert r.value >= r.closed_form * (1 - scalar_rtol(ops=4)), r  # the lift only raises the paper's number


def test_a_zero_layer_gives_a_certified_zero():
    net = Sequential([Dense(np.zeros((3, 2))), ActivationLayer(activation("relu")), Dense(np.ones((1, 3)))])
    r = eclipse_fast(network_chain(net))
    assert r.value == 0.0 and r.certified, r
