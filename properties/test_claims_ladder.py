"""C12 on the bound ladder: how far the note's product bound sits above the best certified bound and the truth.

Random ReLU MLPs small enough for the exact pattern rung (12 hidden units):
the product of per-layer constants must dominate the pattern maximum (every
Jacobian is W_l D ... D W_1 with 0 <= D <= I), and every lower rung must sit
below every certified upper rung.  The ratios are recorded for the ledger.
"""

from __future__ import annotations

import numpy as np

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, lipschitz_ladder

from . import checks
from . import tolerances as tol


def _mlp(widths: tuple[int, ...], seed: int) -> Sequential:
    """Weights N(0, 1/fan-in), biases N(0, 1/4), ReLU between layers."""
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n, m) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(Dense(rng.standard_normal((m, n)) / np.sqrt(n), 0.5 * rng.standard_normal(m)))
        if i < len(widths) - 2:
            layers.append(ActivationLayer(activation("relu")))
    return Sequential(layers)


def test_c12_ladder_gap(evidence):
    """product >= patterns >= realised lower bound; records product / best certified upper and
    product / best lower (median and max over the networks) and how often L was pinned exactly."""
    over_cert, over_low, exact = [], [], 0
    nets = [(w, s) for w in ((8, 6, 6, 4), (8, 12, 4)) for s in range(3)]
    for widths, seed in nets:
        net = _mlp(widths, seed)
        ladder = lipschitz_ladder(net, seed=seed, n_samples=8, ascent_steps=3, max_hidden_units=12, realise_top=8)
        slack = 1 + tol.scalar_rtol(ops=checks.network_ops(net))
        prod, best_up, best_low = ladder.product, ladder.best_certified_upper, ladder.best_lower
        patterns = ladder.row("patterns").value
        assert patterns <= prod * slack, checks.ctx(widths=widths, seed=seed, table=ladder.table())
        assert best_low <= best_up * slack, checks.ctx(widths=widths, seed=seed, table=ladder.table())
        over_cert.append(prod / best_up)
        over_low.append(prod / best_low)
        realised = ladder.row("realised_pattern").value if "realised_pattern" in {r.name for r in ladder.rows} \
            else float("nan")
        exact += bool(realised >= patterns / slack)
    evidence.record("product_over_best_certified", {"median": float(np.median(over_cert)),
                                                    "max": float(np.max(over_cert)), "networks": len(nets)})
    evidence.record("product_over_best_lower", {"median": float(np.median(over_low)), "max": float(np.max(over_low)),
                                                "L_exact_in": exact})
