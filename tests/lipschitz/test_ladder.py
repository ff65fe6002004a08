"""Unit tests of the new layers' edges, the ladder's rungs on cases with known answers, and training."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lipbench
from lipbench.lipschitz import (
    ActivationLayer,
    AvgPool,
    Conv,
    Dense,
    Flatten,
    Sequential,
    activation,
    eclipse_fast,
    lipschitz_ladder,
    network_chain,
    pattern_bound,
)
from lipbench.lipschitz.ladder_limits import ladder_sizes
from properties.tolerances import eclipse_rtol, scalar_rtol


def test_lipschitz_is_an_attribute_of_lipbench():
    assert lipbench.lipschitz.lipschitz_ladder is lipschitz_ladder
    assert "lipschitz" in lipbench.__all__


def test_eclipse_is_exact_on_a_scalar_chain():
    """f(x) = w2 relu(w1 x): K = w1^2, lambda = 2 / w1^2, X_1 = 1 / w1^2, c = (w1 w2)^2, so L = |w1 w2|."""
    net = Sequential([Dense([[3.0]]), ActivationLayer(activation("relu")), Dense([[-0.5]])])
    r = eclipse_fast(network_chain(net))
    assert r.certified and r.tau == 2.0**-20, r  # the first, smallest lift verifies
    assert 1.5 <= r.value <= 1.5 * (1 + eclipse_rtol(r.tau, (1, 1))), r
    assert r.closed_form == pytest.approx(1.5, rel=scalar_rtol(ops=2))


def test_pattern_bound_on_one_hidden_layer():
    """W2 D W1 over D in {0, 1}^2 with W2 W1 = 2 I: every non-zero pattern gives 2."""
    W1, W2 = np.eye(2), 2 * np.eye(2)
    net = Sequential([Dense(W1), ActivationLayer(activation("relu")), Dense(W2)])
    pb = pattern_bound(network_chain(net))
    assert pb.patterns == 4 and 2.0 <= pb.value <= 2.0 * (1 + scalar_rtol(ops=8))
    assert pb.top[-1][1] == 0.0 and list(pb.top[-1][0]) == [0, 0]


def test_ladder_says_why_a_rung_does_not_apply():
    net = Sequential([Dense(np.eye(3)), ActivationLayer(activation("sin")), Dense(np.ones((1, 3)))])
    lad = lipschitz_ladder(net, seed=0, n_samples=4, ascent_steps=1)
    assert math.isnan(lad.row("eclipse_fast").value) and "not a monotone activation" in lad.row("eclipse_fast").note
    assert "n/a" in lad.table()
    with pytest.raises(KeyError, match="no rung named"):
        lad.row("nope")
    with pytest.raises(TypeError, match="Sequential"):
        lipschitz_ladder(Dense(np.eye(2)))


def test_ladder_on_a_small_cnn_chain():
    """Conv -> ReLU -> AvgPool -> Flatten -> Dense merges into a two-matrix chain; certified uppers >= lower."""
    rng = np.random.default_rng(0)
    conv = Conv(rng.standard_normal((2, 1, 3, 3)), (1, 4, 4), padding=1, padding_mode="reflect")
    pool = AvgPool(2, conv.output_shape)
    net = Sequential([conv, ActivationLayer(activation("relu")), pool, Flatten(pool.output_shape),
                      Dense(rng.standard_normal((3, pool.out_features)))])
    ch = network_chain(net)
    assert [W.shape for W in ch.weights] == [(32, 16), (3, 32)]
    lad = lipschitz_ladder(net, seed=0, n_samples=4, ascent_steps=2)
    eclipse = lad.row("eclipse_fast")
    assert eclipse.certified
    # one hidden layer with slopes in [0, 1]: the lifted closed form stays below the product of the norms
    tau = eclipse_fast(ch).tau
    assert lad.best_lower <= eclipse.value <= lad.product * (1 + eclipse_rtol(tau, (32, 16))), (eclipse, tau)


def test_trained_networks_and_their_ladder():
    pytest.importorskip("sklearn")
    from lipbench.lipschitz.train import train_cnn, train_mlp
    mlp = train_mlp((8,), epochs=8)
    cnn = train_cnn(4, epochs=8)
    for t in (mlp, cnn):
        assert t.test_accuracy > 0.5, t  # chance is 0.1: the training loop learns
    lad = lipschitz_ladder(mlp.net, seed=0, points=mlp.X_test[:20], n_samples=4, ascent_steps=2)
    assert lad.row("patterns").certified and lad.best_lower <= lad.best_certified_upper


@pytest.mark.parametrize("first, reason", [(1e-150, "recursion leaves the float64 range"),
                                            (1e-160, "recursion leaves the float64 range")])
def test_eclipse_rung_says_why_when_float64_runs_out(first, reason):
    net = Sequential([Dense(np.array([[first]])), ActivationLayer(activation("relu")), Dense(np.array([[1.0]]))])
    ladder = lipschitz_ladder(net)
    row = ladder.row("eclipse_fast")
    assert math.isnan(row.value) and not row.certified and reason in row.note, row
    assert ladder.best_certified_upper >= first  # the other certified rungs still bound L = first


def test_empirical_rung_says_why_when_outputs_overflow():
    net = Sequential([Dense(np.eye(2) * 2.0**300), ActivationLayer(activation("relu")),
                      Dense(np.full((1, 2), 2.0**300))])
    row = lipschitz_ladder(net).row("empirical")
    assert math.isnan(row.value) and "outputs leave the float64 range" in row.note, row


def _small_cnn(seed: int = 0) -> Sequential:
    """Conv(1 -> 4, 3x3, padding 1) on 1x6x6 -> ReLU -> Flatten -> Dense(144 -> 3)."""
    rng = np.random.default_rng(seed)
    conv = Conv(rng.standard_normal((4, 1, 3, 3)) / 3, (1, 6, 6), padding=1)
    flat = Flatten(conv.output_shape)
    return Sequential([conv, ActivationLayer(activation("relu")), flat,
                       Dense(rng.standard_normal((3, flat.out_features)) / 12, np.zeros(3))])


CHAIN_RUNGS = ("eclipse_fast", "lipsdp_layer", "lipsdp_neuron", "patterns")


def test_ladder_skips_the_chain_rungs_past_the_unrolled_limit_naming_it():
    net = _small_cnn()  # the convolution unrolls to 144 x 36 = 5184 entries
    over = lipschitz_ladder(net, max_unrolled_entries=5183, ascent_steps=2)
    for name in CHAIN_RUNGS:
        row = over.row(name)
        assert math.isnan(row.value) and row.seconds == 0.0, (name, row)
        assert "144x36" in row.note and "max_unrolled_entries" in row.note, row.note
    assert over.product > 0 and over.best_lower > 0
    under = lipschitz_ladder(net, max_unrolled_entries=5184, ascent_steps=2)
    assert under.row("eclipse_fast").certified, under.table()
    assert over.product == under.product


def test_ladder_skips_eclipse_past_the_width_limit_and_runs_it_under():
    rng = np.random.default_rng(4)
    net = Sequential([Dense(rng.standard_normal((12, 5)) / 3, rng.standard_normal(12)),
                      ActivationLayer(activation("relu")), Dense(rng.standard_normal((2, 12)) / 3)])
    over = lipschitz_ladder(net, max_eclipse_width=11).row("eclipse_fast")
    assert math.isnan(over.value) and "12x12" in over.note and "max_eclipse_width" in over.note, over
    under = lipschitz_ladder(net, max_eclipse_width=12).row("eclipse_fast")
    assert under.certified and under.value > 0, under


def test_ladder_leaves_out_jacobians_past_their_limit(monkeypatch):
    net = _small_cnn(1)
    full = lipschitz_ladder(net, seed=2, ascent_steps=2)
    monkeypatch.setattr(Sequential, "jacobian", lambda self, x: pytest.fail("a Jacobian was built past its limit"))
    flops = ladder_sizes(net).jacobian_flops
    assert flops == 144 * 36 * 36 + 2 * 144 * 144 * 36 + 3 * 144 * 36  # conv, ReLU and Flatten, dense
    lean = lipschitz_ladder(net, seed=2, ascent_steps=2, max_jacobian_flops=flops - 1, max_unrolled_entries=1)
    row = lean.row("empirical")
    assert "max_jacobian_flops" in row.note and 0 < row.value <= full.row("empirical").value, (row, full.table())
    assert row.value <= lean.product, lean.table()


def test_ladder_does_not_assemble_the_chain_when_every_chain_rung_is_past_its_limit(monkeypatch):
    rng = np.random.default_rng(6)
    net = Sequential([Dense(rng.standard_normal((12, 5)) / 3), ActivationLayer(activation("relu")),
                      Dense(rng.standard_normal((2, 12)) / 3)])
    import lipbench.lipschitz.ladder as ladder_module
    monkeypatch.setattr(ladder_module, "network_chain", lambda net: pytest.fail("the chain was assembled"))
    lad = lipschitz_ladder(net, max_eclipse_width=11, max_hidden_units=11, lipsdp_max_order=16)
    for name in CHAIN_RUNGS:
        row = lad.row(name)
        assert math.isnan(row.value) and "limit" in row.note or "order 17 > 16" in row.note, row
