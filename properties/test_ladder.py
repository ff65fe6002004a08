"""The bound ladder: every certified upper bound sits above every Jacobian-norm lower bound.

On random chain networks (Dense and monotone activations, up to ~12 hidden
units so that the pattern rung runs), ``check_ladder`` samples Jacobian norms
at random points (each a lower bound on L(f), claim C4) and compares them, and
the ladder's ``realised_pattern`` row, with every certified upper row
(product, ECLipsE-Fast, LipSDP, patterns, branch and bound); a certified lower
row (``attained_pattern``) must sit below every certified upper row exactly.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from hypothesis import given

from lipbench.lipschitz import Sequential, lipschitz_ladder

from . import checks
from . import strategies as S
from . import tolerances as tol

#: the branch and bound's budget per network: these have at most ~12 hidden units
BNB_SECONDS = 5.0


def jacobian_lower(net: Sequential, x: np.ndarray) -> tuple[float, float]:
    """(sigma(J_f(x)), its rounding slack): the chain-rule product's error is at most an
    inner product's rounding of the product of the layers' |J_i|, plus the SVD's."""
    J = net.jacobian(x)
    a, absJ = x, np.eye(x.size)
    for layer in net.layers:
        absJ = np.abs(layer.jacobian(a)) @ absJ
        a = layer(a)
    s = float(np.linalg.norm(J, 2))
    slack = tol.matvec_atol("float64", (1, checks.network_ops(net)), float(np.linalg.norm(absJ))) + \
        tol.svd_atol("float64", J.shape, s)
    return s, slack


def check_ladder(net: Sequential, seed: int, bnb_seconds: float = 0.0) -> tuple[dict[str, float], Any]:
    ladder = lipschitz_ladder(net, seed=seed, n_samples=4, ascent_steps=2, max_hidden_units=12, realise_top=4,
                              bnb_seconds=bnb_seconds)
    uppers = {r.name: r.value for r in ladder.rows if r.kind == "upper" and r.certified and not math.isnan(r.value)}
    # a certified lower rung (attained by an input, its rounding accounted) against every certified upper
    # rung: both proven, so no slack between them
    for low in (r for r in ladder.rows if r.kind == "lower" and r.certified and not math.isnan(r.value)):
        for name, up in uppers.items():
            assert low.value <= up, f"certified {name} bound below the certified lower {low.name}: " + checks.ctx(
                upper=up, lower=low.value, table=ladder.table())
    rng = np.random.default_rng(seed)
    lowers = [jacobian_lower(net, 3.0 * rng.standard_normal(net.in_features)) for _ in range(4)]
    realised = [r for r in ladder.rows if r.name == "realised_pattern" and not math.isnan(r.value)]
    if realised:
        lowers.append((realised[0].value, tol.scalar_rtol(ops=checks.network_ops(net)) * realised[0].value))
    for name, up in uppers.items():
        for low, slack in lowers:
            assert low <= up + slack, f"certified {name} bound below a Jacobian norm: " + checks.ctx(
                upper=up, jacobian_norm=low, slack=slack, table=ladder.table())
    return uppers, ladder


@given(net=S.chain_networks(), seed=S.seeds)
def test_certified_uppers_dominate_jacobian_norms(net, seed, evidence):
    uppers, _ = check_ladder(net, seed)
    if "eclipse_fast" in uppers and uppers["product"] > 0:
        evidence.minimum("min_eclipse_over_product", uppers["eclipse_fast"] / uppers["product"])


@given(net=S.chain_networks(piecewise_linear=True), seed=S.seeds)
def test_piecewise_linear_ladder(net, seed, evidence):
    """ReLU / leaky ReLU: the same with the branch-and-bound rungs (its certified upper end, and the
    certified lower end attained by an input, below every certified upper rung), and the realised top
    pattern is a lower bound at most the pattern maximum."""
    uppers, ladder = check_ladder(net, seed, bnb_seconds=BNB_SECONDS)
    rows = {r.name: r for r in ladder.rows}
    assert "branch_and_bound" in rows, ladder.table()
    bnb, attained = rows["branch_and_bound"], rows["attained_pattern"]
    if attained.certified and bnb.certified and bnb.value > 0:
        evidence.minimum("min_attained_over_bnb_upper", attained.value / bnb.value)
    if "realised_pattern" in rows and not math.isnan(rows["realised_pattern"].value):
        gap = uppers["patterns"] / rows["realised_pattern"].value if rows["realised_pattern"].value else 1.0
        evidence.minimum("min_pattern_gap", gap)
