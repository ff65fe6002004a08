"""LipSDP (lipbench.lipschitz.lipsdp): the published values, verification, the reduction, the rungs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings

import lipbench.lipschitz.lipsdp as lsdp
from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, lipschitz_ladder, network_chain
from lipbench.lipschitz.chain import Chain
from lipbench.lipschitz.lipsdp_verify import lmi_margin
from properties import strategies as S
from properties import tolerances as tol
from properties.test_ladder import jacobian_lower
from tests.lipschitz.lipsdp_nets import _first_layer_wide_chain, _net_of, exact_constant, reference_chain, reference_net

pytest.importorskip("cvxpy", reason="the LipSDP rungs need cvxpy (pip install -e '.[networks]')")

#: LipSDP's README for random_weights.mat (tests/models/data/lipsdp/README.md)
PUBLISHED = {"layer": 39.839, "neuron": 36.482, "neuron_split2": 37.668}


@pytest.fixture(scope="module")
def reference() -> dict[str, lsdp.LipSDPResult]:
    chain = reference_chain()
    return {"layer": lsdp.lipsdp_bound(chain, "layer"), "neuron": lsdp.lipsdp_bound(chain, "neuron"),
            "neuron_split2": lsdp.lipsdp_bound(chain, "neuron", split=2)}


@pytest.mark.parametrize("key", sorted(PUBLISHED))
def test_reference_net_reproduces_the_published_values(reference, key):
    r = reference[key]
    assert round(r.solver_value, 3) == PUBLISHED[key], f"{key}: solver value {r.solver_value!r}, published " \
                                                       f"{PUBLISHED[key]}"
    assert r.certified, f"{key}: the solver's multipliers failed verification: {r}"
    assert r.solver_value <= r.value <= r.solver_value * (1 + tol.lipsdp_rtol(r.tau)), f"{key}: {r}"
    assert tol.lipsdp_rtol(r.tau) <= tol.lipsdp_rtol(2.0**-10), f"{key}: rho raised by {r.tau}: {r}"


def test_reference_neuron_meets_the_exact_constant(reference):
    """Certified above the exact constant, and within the target of it (LipSDP-Neuron is exact here)."""
    s, slack = exact_constant()
    r = reference["neuron"]
    assert s - slack <= r.value <= (s + slack) * (1 + tol.LIPSDP_TARGET_RTOL), f"exact {s} (+- {slack}): {r}"
    for key in ("layer", "neuron_split2"):
        assert reference[key].value >= s - slack, f"{key} below the exact constant {s}: {reference[key]}"


def test_a_lying_solver_is_caught(monkeypatch):
    """A solver that reports rho 0.2% too small (below the exact constant squared): the result
    must be raised until the LMI verifies, never certified below the exact constant."""
    solve = lsdp._solve

    def lying(*args, **kwargs):
        t, rho, name = solve(*args, **kwargs)
        return t, rho * (1 - 2.0**-9), name

    monkeypatch.setattr(lsdp, "_solve", lying)
    s, slack = exact_constant()
    r = lsdp.lipsdp_bound(reference_chain(), "neuron")
    assert not r.certified or r.value >= s - slack, f"certified {r.value} below the exact constant {s}: {r}"
    assert r.tau > 0 or not r.certified, f"the lie was certified as it stood: {r}"


@pytest.mark.parametrize("form", lsdp.FORMS)
def test_the_input_reduction_keeps_the_value(form):
    """W1 of 4 x 12: the reduced LMI (order 4 + 9) and the full one (12 + 9) give one LipSDP value."""
    chain = _first_layer_wide_chain(3)
    full, red = lsdp.lipsdp_bound(chain, form, reduce=False), lsdp.lipsdp_bound(chain, form)
    assert red.reduced and not full.reduced
    assert full.certified and red.certified, (full, red)
    for a, b in ((full, red), (red, full)):
        assert a.value >= b.solver_value * (1 - tol.LIPSDP_SOLVER_RTOL), (full, red)


@settings(max_examples=20, deadline=None)
@given(net=S.chain_networks(max_depth=3, max_width=4), seed=S.seeds)
@example(net=Sequential([Dense(np.zeros((2, 2))), ActivationLayer(activation("relu")), Dense(np.ones((1, 2)))]),
         seed=0)  # a zero weight: rho = 0 and a singular LMI (L = 0, certified without a solve)
@example(net=Sequential([Dense(-np.ones((1, 1))), ActivationLayer(activation("leaky_relu", alpha=2.0)),
                         Dense(-np.ones((1, 1))), ActivationLayer(activation("leaky_relu", alpha=2.0)),
                         Dense(-np.ones((1, 1)))]),
         seed=0)  # slope 2 between two split pieces: LipSDP's split must keep that activation's constant
def test_verified_upper_is_never_below_a_realised_jacobian_norm(net, seed):
    """On small random chains (monotone activations): every certified LipSDP value sits above
    sigma(J_f(x)) at random inputs x, each a lower bound on L(f) attained by an input."""
    chain = network_chain(net)
    rng = np.random.default_rng(seed)
    lowers = [jacobian_lower(net, 3.0 * rng.standard_normal(net.in_features)) for _ in range(4)]
    for form, split in (("layer", None), ("neuron", None), ("neuron", 2)):
        r = lsdp.lipsdp_bound(chain, form, split=split)
        assert r.certified, f"{form} (split {split}): not verified: {r}"
        for low, slack in lowers:
            assert low <= r.value + slack, f"{form} (split {split}): certified {r.value} below a Jacobian " \
                                           f"norm {low} (+{slack})"


def test_a_failed_verification_is_an_estimate(monkeypatch):
    """When no check passes, the value is the solver's and nothing is certified (rung: an estimate)."""
    monkeypatch.setattr(lsdp, "lmi_margin", lambda *args, **kwargs: -1.0)
    chain = _first_layer_wide_chain(13)
    r = lsdp.lipsdp_bound(chain, "layer")
    assert not r.certified and r.value == r.solver_value and math.isnan(r.tau), r
    row = lipschitz_ladder(_net_of(chain), n_samples=2, ascent_steps=1).row("lipsdp_layer")
    assert not row.certified and row.note.startswith("estimate"), row


def test_bad_arguments_name_the_problem():
    chain = reference_chain()
    with pytest.raises(ValueError, match="LipSDP-Network"):
        lsdp.lipsdp_bound(chain, "network")
    with pytest.raises(ValueError, match="split must be an integer >= 2"):
        lsdp.lipsdp_bound(chain, split=1)
    with pytest.raises(ValueError, match="slopes"):
        lsdp.lipsdp_bound(Chain(chain.weights, chain.errors, ((-1.0, 1.0),) * 3))
    with pytest.raises(ValueError, match="non-negative"):
        lmi_margin(chain.weights, chain.errors, chain.slopes, [np.full(W.shape[0], -1.0) for W in chain.weights[:-1]],
                   1.0)


def test_the_callers_weights_are_not_modified():
    chain = _first_layer_wide_chain(7)
    before = [W.copy() for W in chain.weights]
    lsdp.lipsdp_bound(chain, "neuron")
    assert all(np.array_equal(a, b) for a, b in zip(before, chain.weights))


def test_ladder_rungs_and_their_notes(monkeypatch):
    rows = {r.name: r for r in lipschitz_ladder(_net_of(_first_layer_wide_chain(11)), n_samples=2,
                                                ascent_steps=1).rows}
    for form in lsdp.FORMS:
        row = rows[f"lipsdp_{form}"]
        assert row.certified and row.kind == "upper" and row.value <= rows["product"].value, row
    net = reference_net()
    small = {r.name: r for r in lipschitz_ladder(net, n_samples=2, ascent_steps=1, max_hidden_units=0,
                                                 lipsdp_max_order=10).rows}
    assert "LMI of order 62 > 10" in small["lipsdp_neuron"].note and math.isnan(small["lipsdp_neuron"].value)
    monkeypatch.setattr(lsdp, "cvxpy_available", lambda: False)
    none = {r.name: r for r in lipschitz_ladder(net, n_samples=2, ascent_steps=1, max_hidden_units=0).rows}
    assert none["lipsdp_layer"].note == "n/a: cvxpy not installed (pip install -e '.[networks]')"
