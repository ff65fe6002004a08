"""The lower-bound search over activation patterns (``lipbench.lipschitz.lower_search``): local
search to a local optimum, the pattern proven at an input (or none near a boundary), the proven
lower end of a pattern's norm, and the input that attains it."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, network_chain
from lipbench.lipschitz.lower_search import (
    attained_lower,
    certified_pattern,
    local_search,
    pattern_lower,
    pattern_sigmas,
    plain_mlp,
    starts_from_inputs,
)
from lipbench.lipschitz.patterns import pattern_bound
from properties.tolerances import svd_atol
from tests.lipschitz.mlp_nets import _mlp, _product


def test_local_search_climbs_to_a_local_optimum():
    chain = network_chain(_mlp(6, (10, 12, 3), bias=False))
    (bits, value), *_ = local_search(chain, np.zeros((1, 12), dtype=np.int8))
    flips = bits[None, :] ^ np.eye(12, dtype=np.int8)
    neighbours = [np.linalg.norm(_product(chain, f), 2) for f in flips]
    assert value >= max(neighbours), (value, max(neighbours))


def test_a_pattern_too_close_to_call_is_not_claimed():
    """A pre-activation inside its own rounding error has no proven sign: no pattern, no lower bound."""
    W1 = np.zeros((2, 3))
    W1[0, 0] = W1[1, 1] = 1.0
    x = np.array([1.0, 1.0, 0.0])
    near = -(1.0 - np.finfo(np.float64).eps / 2)  # 1 + near is 2**-53 > 0: computed exactly, but not provably
    for bias, expect in [(np.array([near, -0.5]), None), (np.array([-0.5, -2.0]), [1, 0])]:
        net = Sequential([Dense(W1, bias), ActivationLayer(activation("relu")), Dense(np.ones((1, 2)))])
        got = certified_pattern(net, x)
        assert (got is None) if expect is None else np.array_equal(got, expect), (bias, got)


@pytest.mark.parametrize("seed,widths", [(0, (4, 5, 3)), (1, (6, 4, 4, 2)), (2, (3, 7, 1))])
def test_pattern_lower_is_below_the_pattern_s_norm_and_the_enumeration_s_maximum(seed, widths):
    """pattern_lower's first end is a proof on sigma(W_l D ... D W_1): below the norm of the product formed
    by loops (within its SVD's error), below the certified maximum over all patterns, and near its estimate."""
    chain = network_chain(_mlp(seed, widths))
    pb = pattern_bound(chain)
    rng = np.random.default_rng(seed)
    for bits in [pb.top[0][0], *rng.integers(0, 2, (4, chain.hidden_units)).astype(np.int8)]:
        lower, estimate = pattern_lower(chain, bits)
        P = _product(chain, bits)
        sigma = float(np.linalg.norm(P, 2))
        slack = svd_atol("float64", P.shape, sigma)
        assert lower <= sigma + slack and lower <= pb.value, (bits, lower, sigma, pb.value)
        computed = float(pattern_sigmas(chain, bits)[0])
        assert abs(estimate - sigma) <= slack and abs(computed - sigma) <= slack, (estimate, computed, sigma)
        assert sigma - lower <= 2 * (pb.value - pb.top[0][1]) + slack, "the proven end is looser than the enumeration's"


def test_certified_pattern_is_the_input_s_pattern_away_from_boundaries():
    net = _mlp(4, (5, 8, 6, 2))
    X = np.random.default_rng(4).standard_normal((16, 5))
    starts = starts_from_inputs(net, X)
    for x, bits in zip(X, starts):
        proven = certified_pattern(net, x)
        assert proven is None or np.array_equal(proven, bits), (x, proven, bits)
    assert sum(certified_pattern(net, x) is not None for x in X) >= len(X) // 2, "no pattern proven at random inputs"


def test_attained_lower_is_reproduced_by_its_input():
    net = _mlp(5, (4, 6, 3))
    chain = network_chain(net)
    candidates = [b for b, _ in local_search(chain, starts_from_inputs(net, np.eye(4)))]
    att = attained_lower(net, candidates, tries=4)
    assert att is not None and 1 <= att.tried <= 4
    J = net.jacobian(att.x)
    sj = float(np.linalg.norm(J, 2))
    assert att.value <= sj + svd_atol("float64", J.shape, sj), (att.value, sj)
    assert np.array_equal(certified_pattern(net, att.x), att.bits), att


@pytest.mark.parametrize("layers,match", [
    ([Dense(np.eye(2)), ActivationLayer(activation("tanh")), Dense(np.eye(2))], "plain MLP"),
    ([Dense(np.eye(2)), Dense(np.eye(2))], "plain MLP"),
    ([Dense(np.eye(2)), ActivationLayer(activation("leaky_relu", alpha=2.0)), Dense(np.eye(2))], "0 <= alpha <= 1"),
])
def test_plain_mlp_names_what_does_not_fit(layers, match):
    with pytest.raises(ValueError, match=match):
        plain_mlp(Sequential(layers))
