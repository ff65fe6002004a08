"""The region test (lipbench.lipschitz.regions): which partial activation patterns no input has.

Soundness is checked against an oracle that shares nothing with the module:
patterns read off inputs (a forward pass at sampled points, kept only where
every pre-activation is clearly away from 0).  Usefulness against a brute
force over full patterns, whose regions a linear program over the inputs finds
(:func:`lipbench.lipschitz.patterns.realise_pattern`)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, network_chain
from lipbench.lipschitz.branch_bound import branch_and_bound
from lipbench.lipschitz.lower_search import pattern_sigmas
from lipbench.lipschitz.pattern_search import lipschitz_bracket
from lipbench.lipschitz.patterns import realise_pattern
from lipbench.lipschitz.regions import proven_empty, proven_nonpositive, region_climb, region_pruner, region_system


def _mlp(seed: int, widths: tuple[int, ...], act: str = "relu", **params) -> Sequential:
    rng = np.random.default_rng(seed)
    layers: list = []
    for i in range(len(widths) - 1):
        layers.append(Dense(rng.standard_normal((widths[i + 1], widths[i])), rng.standard_normal(widths[i + 1])))
        if i < len(widths) - 2:
            layers.append(ActivationLayer(activation(act, **params)))
    return Sequential(layers)


def _input_patterns(net: Sequential, seed: int, n: int = 3000) -> np.ndarray:
    """Patterns (1: on) at sampled inputs of several scales, where no pre-activation is near 0."""
    rng = np.random.default_rng(seed)
    n_in = net.layers[0].weight.shape[1]
    a = rng.standard_normal((n, n_in)) * rng.choice([0.3, 1.0, 3.0, 30.0], size=(n, 1))
    bits, margin = [], np.full(n, np.inf)
    for layer in net.layers[:-1]:
        a = layer(a)
        if isinstance(layer, Dense):
            bits.append((a > 0).astype(np.int8))
            margin = np.minimum(margin, np.abs(a).min(axis=1))
    keep = margin > 1e-6 * (1 + np.abs(a).max(axis=1))
    return np.unique(np.concatenate(bits, axis=1)[keep], axis=0)


NETS = [(0, (6, 4, 3, 2)), (1, (7, 4, 4, 2)), (2, (6, 3, 3, 3, 2)), (3, (8, 5, 4, 3))]


@pytest.mark.parametrize("seed, widths", NETS)
def test_no_pattern_an_input_has_is_proven_empty_nor_any_node_containing_it(seed, widths):
    net = _mlp(seed, widths)
    regions, why = region_pruner(net)
    assert regions is not None, why
    seen = _input_patterns(net, seed)
    assert len(seen) > 1
    assert not regions.empty(seen).any()
    rng = np.random.default_rng(seed)
    nodes = np.where(rng.random(seen.shape) < 0.4, -1, seen).astype(np.int8)  # units freed at random
    assert not regions.empty(nodes).any()


@pytest.mark.parametrize("seed, widths", NETS[:3])
def test_every_full_pattern_without_a_region_is_proven_empty(seed, widths):
    """Generic weights: a full pattern is proven empty exactly when no input realises it."""
    net = _mlp(seed, widths)
    regions, _ = region_pruner(net)
    chain = network_chain(net)
    patterns = np.array(list(itertools.product([0, 1], repeat=chain.hidden_units)), dtype=np.int8)
    realised = np.array([realise_pattern(list(net.layers), chain, p) is not None for p in patterns])
    empty = regions.empty(patterns)
    assert realised.any() and empty.any()
    assert not (empty & realised).any()
    assert (empty | realised).all()


def test_a_unit_that_can_never_be_on_is_proven_empty_whatever_else_is_free():
    W2 = -np.abs(np.random.default_rng(0).standard_normal((3, 4)))
    b2 = np.array([-1.0, 0.5, 0.25])  # unit 0 of layer 2: W2 y + b2 < 0 for every y >= 0
    net = Sequential([Dense(np.random.default_rng(1).standard_normal((4, 6)), np.zeros(4)),
                      ActivationLayer(activation("relu")), Dense(W2, b2), ActivationLayer(activation("relu")),
                      Dense(np.ones((1, 3)))])
    regions, _ = region_pruner(net)
    node = np.full(7, -1, dtype=np.int8)
    on, off = node.copy(), node.copy()
    on[4], off[4] = 1, 0
    assert list(regions.empty(np.stack([node, on, off]))) == [False, True, False]


def test_the_system_holds_the_weights_and_biases_as_stored():
    """``G`` and ``g`` are copies of weights, +-1 and biases: nothing is rounded."""
    net = _mlp(4, (6, 4, 3, 3, 2))
    layers = [(d.weight, d.bias) for d in net.layers[2:-1:2]]
    f = np.array([1, 0, -1, 1, 1, -1, 0, 0, 1, -1], dtype=np.int8)
    G, g = region_system(4, layers, f)
    stored = {0.0, 1.0, -1.0, *np.abs(np.concatenate([W.ravel() for W, _ in layers]))}
    assert set(np.abs(G).ravel()) <= stored
    assert set(np.abs(g)) <= {0.0, *np.abs(np.concatenate([b for _, b in layers]))}


def test_the_farkas_check_counts_what_a_float_sum_loses():
    """1 + 1e-20 - 1 is 0 in floats but positive exactly: not proven <= 0."""
    G = np.array([[1.0], [1e-20], [-1.0]])
    lam = np.ones(3)
    assert float(G[:, 0] @ lam) <= 0.0
    assert not proven_nonpositive(G, lam, strict=False)
    assert proven_nonpositive(np.array([[1.0], [-1.0], [-0.5]]), lam, strict=True)
    assert not proven_nonpositive(np.array([[1.0], [-1.0], [-1e-20]]), lam, strict=True)  # too close to tell
    assert proven_nonpositive(np.array([[0.0], [-2.0]]), np.array([1.0, 0.0]), strict=False)


def test_an_empty_system_of_rows_is_never_proven_empty():
    assert not proven_empty(np.zeros((0, 3)), np.zeros(0))
    assert proven_empty(np.array([[0.0, 0.0]]), np.array([-1.0]))  # 0 u - 1 >= 0


@pytest.mark.parametrize("net, reason", [
    (_mlp(0, (6, 4, 3, 2), "leaky_relu", alpha=0.1), "leaky ReLU"),
    (_mlp(0, (6, 4, 2)), "one hidden layer"),
    (_mlp(0, (2, 10, 3, 2)), "full row rank"),
])
def test_where_the_test_does_not_apply_it_says_why(net, reason):
    regions, why = region_pruner(net)
    assert regions is None and reason in why


@pytest.mark.parametrize("seed, widths", NETS[:2])
def test_the_search_with_pruning_stays_above_every_realised_pattern_and_below_the_vertex_bound(seed, widths):
    net = _mlp(seed, widths)
    chain = network_chain(net)
    regions, _ = region_pruner(net)
    patterns = np.array(list(itertools.product([0, 1], repeat=chain.hidden_units)), dtype=np.int8)
    realised = patterns[[realise_pattern(list(net.layers), chain, p) is not None for p in patterns]]
    truth = float(pattern_sigmas(chain, realised).max())
    plain = branch_and_bound(chain, gap=0.0, max_seconds=60)
    pruned = branch_and_bound(chain, gap=0.0, max_seconds=60, prune=regions.empty)
    assert pruned.pruned > 0 and plain.pruned == 0
    assert truth <= pruned.upper <= plain.upper


def test_the_climb_ends_on_patterns_not_proven_empty_and_never_below_its_start():
    net = _mlp(3, (8, 5, 4, 3))
    chain = network_chain(net)
    regions, _ = region_pruner(net)
    starts = _input_patterns(net, 3)[:5]
    ends = region_climb(chain, regions, starts)
    assert not regions.empty(np.stack([b for b, _ in ends])).any()
    assert ends[0][1] >= pattern_sigmas(chain, starts).max()


def test_the_bracket_reports_whether_it_pruned():
    net = _mlp(1, (7, 4, 4, 2))
    on = lipschitz_bracket(net, gap=0.0, max_seconds=20, prune=True)
    off = lipschitz_bracket(net, gap=0.0, max_seconds=20)
    assert on.pruning.startswith("on") and off.pruning.startswith("off")
    assert on.lower <= on.upper and off.lower <= off.upper
