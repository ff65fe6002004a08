"""The certified bracket of L(f) for a ReLU / leaky-ReLU MLP (``lipbench.lipschitz.pattern_search``):
lower <= upper, the lower end attained by an input, and the bracket around the brute-force maximum
over all patterns."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings

from lipbench.lipschitz import Dense, network_chain
from lipbench.lipschitz.lower_search import certified_pattern, pattern_lower, starts_from_inputs
from lipbench.lipschitz.pattern_search import lipschitz_bracket
from lipbench.lipschitz.patterns import pattern_bound
from properties import strategies as S
from properties.tolerances import matvec_atol, proven_sigma_rtol, svd_atol
from tests.lipschitz.mlp_nets import _mlp


def test_the_lower_bound_is_attained_by_its_input():
    net = _mlp(7, (6, 10, 8, 3))  # 6 inputs: most of the 2**18 patterns have no region
    br = lipschitz_bracket(net, gap=0.0, max_nodes=300)
    att = br.attained
    assert att is not None
    x = att.x
    assert np.array_equal(starts_from_inputs(net, x[None])[0], att.bits)  # the input's pattern is the claimed one
    assert np.array_equal(certified_pattern(net, x), att.bits)
    J = net.jacobian(x)
    sj = float(np.linalg.norm(J, 2))
    slack = svd_atol("float64", J.shape, sj)
    assert att.value <= sj + slack and abs(att.estimate - sj) <= slack, (att, sj)  # sigma(J(x)) reproduces
    weights = [layer.weight for layer in net.layers if isinstance(layer, Dense)]
    fro = math.prod(float(np.linalg.norm(W)) for W in weights)  # the product's rounding: n eps prod ||W_i||_F
    product = matvec_atol("float64", (1, sum(W.shape[1] for W in weights)), fro)
    assert att.value >= sj * (1 - proven_sigma_rtol(J.shape)) - slack - product, (att.value, sj)
    assert br.lower <= br.upper, (br.lower, br.upper)


@settings(max_examples=25, deadline=None)
@given(net=S.chain_networks(piecewise_linear=True, min_depth=2, max_alpha=1.0), seed=S.seeds)
def test_certified_upper_is_above_certified_lower(net, seed):
    br = lipschitz_bracket(net, gap=0.0, max_nodes=400, n_samples=8, seed=seed, tries=4)
    assert br.lower <= br.upper, (br.lower, br.upper)
    if br.attained is not None:
        sj = float(np.linalg.norm(net.jacobian(br.attained.x), 2))
        assert br.lower <= sj + svd_atol("float64", (net.out_features, net.in_features), sj), (br.lower, sj)


@pytest.mark.parametrize("seed,widths,act,alpha", [(0, (3, 6, 2), "relu", 0.0), (1, (5, 4, 4, 2), "relu", 0.0),
                                                   (2, (4, 8, 3), "leaky_relu", 0.25)])
def test_bracket_holds_the_brute_force_maximum(seed, widths, act, alpha):
    """Run to the end, the upper end is >= the best vertex pattern's proven norm (the search bounds every
    pattern) and the lower end <= the enumeration's certified maximum; both are proofs, so lower <= upper."""
    net = _mlp(seed, widths, act, alpha)
    chain = network_chain(net)
    pb = pattern_bound(chain)
    best, _ = pattern_lower(chain, pb.top[0][0])
    br = lipschitz_bracket(net, gap=0.0, max_seconds=30.0)
    assert best <= br.upper and br.lower <= pb.value and br.lower <= br.upper, (best, br.lower, br.upper, pb.value)
    assert br.search.stop in ("leaf", "gap") and br.relative_width == (br.upper - br.lower) / br.lower, br.search.stop


def test_relative_width_without_a_lower_end_is_infinite():
    """One hidden unit whose region is empty (bias -1 and a zero weight: always off) gives no attained input."""
    from lipbench.lipschitz import ActivationLayer, Sequential, activation

    net = Sequential([Dense(np.zeros((1, 2)), np.array([-1.0])), ActivationLayer(activation("relu")),
                      Dense(np.ones((1, 1)))])
    br = lipschitz_bracket(net, gap=0.0, max_seconds=5.0)
    assert br.lower == 0.0 and br.relative_width == math.inf and br.upper >= 0.0, br
