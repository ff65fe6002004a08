"""The bound ladder: every certified upper bound sits above every Jacobian-norm lower bound.

On random chain networks (Dense and monotone activations, up to ~12 hidden
units so that the pattern rung runs), ``check_ladder`` samples Jacobian norms
at random points (each a lower bound on L(f), claim C4) and compares them, and
the ladder's ``realised_pattern`` row, with every certified upper row
(product, ECLipsE-Fast, patterns).
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given

from lipbench.lipschitz import Sequential, lipschitz_ladder

from . import checks
from . import strategies as S
from . import tolerances as tol


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


def check_ladder(net: Sequential, seed: int) -> dict[str, float]:
    ladder = lipschitz_ladder(net, seed=seed, n_samples=4, ascent_steps=2, max_hidden_units=12, realise_top=4)
    uppers = {r.name: r.value for r in ladder.rows if r.kind == "upper" and r.certified and not math.isnan(r.value)}
    rng = np.random.default_rng(seed)
    lowers = [jacobian_lower(net, 3.0 * rng.standard_normal(net.in_features)) for _ in range(4)]
    realised = [r for r in ladder.rows if r.name == "realised_pattern" and not math.isnan(r.value)]
    if realised:
        lowers.append((realised[0].value, tol.scalar_rtol(ops=checks.network_ops(net)) * realised[0].value))
    for name, up in uppers.items():
        for low, slack in lowers:
            assert low <= up + slack, f"certified {name} bound below a Jacobian norm: " + checks.ctx(
                upper=up, jacobian_norm=low, slack=slack, table=ladder.table())
    return uppers


@given(net=S.chain_networks(), seed=S.seeds)
def test_certified_uppers_dominate_jacobian_norms(net, seed, evidence):
    uppers = check_ladder(net, seed)
    if "eclipse_fast" in uppers and uppers["product"] > 0:
        evidence.minimum("min_eclipse_over_product", uppers["eclipse_fast"] / uppers["product"])


@given(net=S.chain_networks(piecewise_linear=True), seed=S.seeds)
def test_piecewise_linear_ladder(net, seed, evidence):
    """ReLU / leaky ReLU: the same, and the realised top pattern is a lower bound at most the pattern maximum."""
    uppers = check_ladder(net, seed)
    ladder = lipschitz_ladder(net, seed=seed, n_samples=4, ascent_steps=2, max_hidden_units=12, realise_top=4)
    rows = {r.name: r for r in ladder.rows}
    if "realised_pattern" in rows and not math.isnan(rows["realised_pattern"].value):
        gap = uppers["patterns"] / rows["realised_pattern"].value if rows["realised_pattern"].value else 1.0
        evidence.minimum("min_pattern_gap", gap)
