"""The ladder's size limits (``lipbench.lipschitz.ladder_limits``): the sizes read from the layers,
each limit's note naming the keyword that raises it (and none at the limit), and the ladder
skipping each rung past its limit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, lipschitz_ladder
from lipbench.lipschitz.ladder_limits import (
    attained_skip,
    chain_skip,
    eclipse_skip,
    jacobian_skip,
    ladder_sizes,
    lipsdp_order,
    lipsdp_skip,
    patterns_skip,
)
from tests.lipschitz.ladder_nets import CHAIN_RUNGS, _small_cnn


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
    assert flops == (144 * 36 + 144 + 144 * 144 + 3 * 144) * 3  # conv, ReLU, Flatten, dense: from the 3-wide output
    lean = lipschitz_ladder(net, seed=2, ascent_steps=2, max_jacobian_flops=flops - 1, max_unrolled_entries=1)
    row = lean.row("empirical")
    assert "max_jacobian_flops" in row.note and 0 < row.value <= full.row("empirical").value, (row, full.table())
    assert row.value <= lean.product, lean.table()


def test_sizes_of_the_small_cnn_by_hand():
    """Conv(1 -> 4, 3x3, padding 1) on 1x6x6, ReLU, Flatten, Dense(144 -> 3)."""
    sizes = ladder_sizes(_small_cnn())
    assert sizes.in_features == 36 and sizes.widest == 144 and sizes.hidden == ((144, "4x6x6"),), sizes
    assert sizes.unrolled == (144, 36, "layer 0, Conv 1x6x6 -> 4x6x6"), sizes.unrolled
    assert lipsdp_order(sizes) == 36 + 144  # the input reduction: min(36, 144) + the hidden units


#: (the skip, the size it compares, the keyword its note must name)
LIMITS = [
    (chain_skip, lambda s: s.unrolled[0] * s.unrolled[1], "max_unrolled_entries"),
    (eclipse_skip, lambda s: max(s.hidden)[0], "max_eclipse_width"),
    (lipsdp_skip, lipsdp_order, "lipsdp_max_order"),
    (patterns_skip, lambda s: sum(n for n, _ in s.hidden), "max_hidden_units"),
    (jacobian_skip, lambda s: s.jacobian_flops, "max_jacobian_flops"),
    (attained_skip, lambda s: sum(n for n, _ in s.hidden), "max_attained_units"),
]


@pytest.mark.parametrize("skip,size,keyword", LIMITS, ids=[k for _, _, k in LIMITS])
def test_each_limit_skips_past_it_naming_its_keyword(skip, size, keyword):
    sizes = ladder_sizes(_small_cnn())
    n = size(sizes)
    assert skip(sizes, n) is None, f"{keyword}: skipped at its limit {n}"
    note = skip(sizes, n - 1)
    assert note is not None and keyword in note, f"{keyword}: {note!r}"


def test_a_plain_mlp_has_nothing_to_unroll_and_no_hidden_layer_nothing_to_skip():
    mlp = ladder_sizes(Sequential([Dense(np.ones((3, 2))), ActivationLayer(activation("relu")),
                                   Dense(np.ones((1, 3)))]))
    assert mlp.unrolled is None and chain_skip(mlp, 0) is None
    linear = ladder_sizes(Sequential([Dense(np.ones((3, 2)))]))
    assert eclipse_skip(linear, 0) is None and lipsdp_order(linear) == 0 and patterns_skip(linear, 0) is None
    with pytest.raises(ValueError, match="input width is unknown"):
        ladder_sizes(Sequential([ActivationLayer(activation("relu"))]))


def test_ladder_skips_each_chain_rung_with_the_limit_s_note():
    """Every chain rung past max_unrolled_entries reports the note chain_skip writes, and costs nothing."""
    net = _small_cnn()
    lad = lipschitz_ladder(net, max_unrolled_entries=100, ascent_steps=1, n_samples=2)
    note = chain_skip(ladder_sizes(net), 100)
    for name in CHAIN_RUNGS:
        assert lad.row(name).note == note and math.isnan(lad.row(name).value), (name, lad.row(name))
