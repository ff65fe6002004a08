"""The maximum over activation patterns (``lipbench.lipschitz.patterns``): by hand on two-unit
networks, the region search's input, and the limit on the enumeration."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, network_chain, pattern_bound
from lipbench.lipschitz.patterns import realise_pattern
from properties.tolerances import scalar_rtol


def test_pattern_bound_on_one_hidden_layer():
    """W2 D W1 over D in {0, 1}^2 with W2 W1 = 2 I: every non-zero pattern gives 2."""
    W1, W2 = np.eye(2), 2 * np.eye(2)
    net = Sequential([Dense(W1), ActivationLayer(activation("relu")), Dense(W2)])
    pb = pattern_bound(network_chain(net))
    assert pb.patterns == 4 and 2.0 <= pb.value <= 2.0 * (1 + scalar_rtol(ops=8))
    assert pb.top[-1][1] == 0.0 and list(pb.top[-1][0]) == [0, 0]


#: x -> W2 phi(W1 x) with W1 = (1, 2)^T: the four products W2 D W1 = 3 d1 - d2 * 2 (W2 = (3, -1)) or
#: 3 d1 + 2 d2 (W2 = (3, 1)), worked out by hand for D in {lo, hi}^2
BY_HAND = [
    ("relu", {}, [[3.0, -1.0]], 3.0, [1, 0]),  # 0, 3, |-2|, 1
    ("relu", {}, [[3.0, 1.0]], 5.0, [1, 1]),  # 0, 3, 2, 5: the last pattern enumerated
    ("leaky_relu", {"alpha": 0.5}, [[3.0, -1.0]], 2.0, [1, 0]),  # 0.5, 2, |-0.5|, 1
]


@pytest.mark.parametrize("act,params,W2,value,bits", BY_HAND, ids=["relu", "relu-last", "leaky"])
def test_vertex_maximum_by_hand(act, params, W2, value, bits):
    net = Sequential([Dense([[1.0], [2.0]]), ActivationLayer(activation(act, **params)), Dense(W2)])
    pb = pattern_bound(network_chain(net))
    assert pb.patterns == 4 and value <= pb.value <= value * (1 + scalar_rtol(ops=8)), pb
    assert list(pb.top[0][0]) == bits and abs(pb.top[0][1] - value) <= value * scalar_rtol(ops=8), pb.top[0]


def test_realise_pattern_finds_an_input_in_the_region_or_none():
    """z = (x, 2x - 10): pattern (1, 0) is x in (0, 5); pattern (0, 1) needs x < 0 and x > 5."""
    net = Sequential([Dense([[1.0], [2.0]], [0.0, -10.0]), ActivationLayer(activation("relu")), Dense([[3.0, -1.0]])])
    chain = network_chain(net)
    x = realise_pattern(list(net.layers), chain, np.array([1, 0]))
    assert x is not None and 0.0 < x[0] < 5.0, x
    assert realise_pattern(list(net.layers), chain, np.array([0, 1])) is None


def test_the_enumeration_names_its_limit():
    net = Sequential([Dense(np.ones((5, 2))), ActivationLayer(activation("relu")), Dense(np.ones((1, 5)))])
    with pytest.raises(ValueError, match="2\\*\\*5 patterns; the limit is 4 units"):
        pattern_bound(network_chain(net), max_hidden_units=4)
