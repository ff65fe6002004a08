"""The bound ladder (``lipbench.lipschitz.ladder``): its rungs on cases with known answers and the notes
of the rungs that do not apply.  Each rung's own module, the limits and training have their own files."""

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
)
from properties.tolerances import eclipse_rtol
from tests.lipschitz.ladder_nets import CHAIN_RUNGS


def test_lipschitz_is_an_attribute_of_lipbench():
    assert lipbench.lipschitz.lipschitz_ladder is lipschitz_ladder
    assert "lipschitz" in lipbench.__all__


def test_ladder_says_why_a_rung_does_not_apply():
    net = Sequential([Dense(np.eye(3)), ActivationLayer(activation("sin")), Dense(np.ones((1, 3)))])
    lad = lipschitz_ladder(net, seed=0, n_samples=4, ascent_steps=1)
    assert math.isnan(lad.row("eclipse_fast").value) and "not a monotone activation" in lad.row("eclipse_fast").note
    assert "n/a" in lad.table()
    assert "layer 1 (sin) is not ReLU" in lad.row("attained_point").note
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
    # the certified lower end at the empirical rung's best point: below every certified upper rung, and
    # under the computed sigma(J) there (||J v|| / ||v|| along J's computed top singular vector, less
    # the products' rounding bound, which is far above one ulp)
    point = lad.row("attained_point")
    uppers = [r.value for r in lad.rows if r.kind == "upper" and r.certified]
    assert point.certified and 0 < point.value <= min(uppers), (point, uppers)
    assert point.value <= lad.row("empirical").value, lad.table()


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


def test_past_the_pattern_limit_the_ladder_gives_a_lower_bound_attained_by_an_input():
    """Without the branch and bound, a ReLU MLP of more than ``max_hidden_units`` units still gets a
    certified lower bound (sigma of a Jacobian at an input whose pattern is proven), below every
    certified upper rung; ``attained=False`` leaves it out."""
    rng = np.random.default_rng(7)
    net = Sequential([Dense(rng.standard_normal((12, 30)), rng.standard_normal(12)),
                      ActivationLayer(activation("relu")),
                      Dense(rng.standard_normal((10, 12)), rng.standard_normal(10)),
                      ActivationLayer(activation("relu")), Dense(rng.standard_normal((3, 10)))])
    ladder = lipschitz_ladder(net, max_hidden_units=16)
    low = ladder.row("attained_pattern")
    assert low.kind == "lower" and low.certified
    uppers = [r.value for r in ladder.rows if r.kind == "upper" and r.certified]
    assert uppers and low.value <= min(uppers)
    assert "attained_pattern" not in [r.name for r in lipschitz_ladder(net, max_hidden_units=16,
                                                                       attained=False).rows]
    skipped = lipschitz_ladder(net, max_hidden_units=16, max_attained_units=21).row("attained_pattern")
    assert math.isnan(skipped.value) and "max_attained_units" in skipped.note
