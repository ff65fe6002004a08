"""The bound ladder's rungs, timed one by one, with their tightness.

Random ReLU MLPs (weights N(0, 1/fan-in), biases N(0, 1/4), as in
benchmarks/studies/lipschitz_ladder.py): each rung of
:func:`lipbench.lipschitz.lipschitz_ladder` (product, ECLipsE-Fast, the pattern
maximum, the empirical lower bound) is timed on its own; the row records the
rung's value beside the network's bracket from the full ladder (``lower`` =
best lower bound, ``upper`` = best certified upper bound, ``truth`` = L where
the two meet), so tightness = value / best lower.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import grid
from lipbench.lipschitz import (
    ActivationLayer,
    Dense,
    Sequential,
    activation,
    eclipse_fast,
    empirical_lower_bound,
    lipschitz_ladder,
    network_chain,
    pattern_bound,
    product_bound,
)

MAX_HIDDEN = 16
MEET = 1e-9  # best lower and best certified upper this close (relative): L is known (as the ladder study)
#: name -> (widths, seed)
NETWORKS = {"mlp-8-8-8-10": ((8, 8, 8, 10), 0), "mlp-8-8-10": ((8, 8, 10), 1), "mlp-32-32-32-10": ((32, 32, 32, 10), 2)}
RUNGS = {
    "product": ("upper", lambda net, chain: product_bound(net)),
    "eclipse_fast": ("upper", lambda net, chain: eclipse_fast(chain).value),
    "patterns": ("upper", lambda net, chain: pattern_bound(chain, max_hidden_units=MAX_HIDDEN).value),
    "empirical": ("lower", lambda net, chain: empirical_lower_bound(net, n_samples=32, ascent_steps=10,
                                                                    seed=grid.METHOD_SEED).value),
}
_BUILT: dict = {}


def _mlp(widths, seed) -> Sequential:
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n, m) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(Dense(rng.standard_normal((m, n)) / math.sqrt(n), 0.5 * rng.standard_normal(m)))
        if i < len(widths) - 2:
            layers.append(ActivationLayer(activation("relu")))
    return Sequential(layers)


def _network(name: str):
    if name not in _BUILT:
        net = _mlp(*NETWORKS[name])
        _BUILT[name] = (net, network_chain(net), lipschitz_ladder(net, seed=grid.METHOD_SEED,
                                                                  max_hidden_units=MAX_HIDDEN))
    return _BUILT[name]


@pytest.mark.parametrize("rung", tuple(RUNGS))
@pytest.mark.parametrize("network", tuple(NETWORKS))
def test_ladder_rung(benchmark, request, network, rung):
    config = request.config
    net, chain, ladder = _network(network)
    hidden = chain.hidden_units
    if rung == "patterns" and hidden > MAX_HIDDEN:
        pytest.skip(f"the pattern rung enumerates 2^hidden patterns: {hidden} hidden units > {MAX_HIDDEN}")
    kind, fn = RUNGS[rung]
    benchmark.group = f"ladder {network}"
    holder = []
    benchmark.pedantic(lambda: holder.append(fn(net, chain)), rounds=1 if rung == "patterns" else 3, iterations=1,
                       warmup_rounds=0)
    value = float(holder[-1])
    lower, upper = ladder.best_lower, ladder.best_certified_upper
    certified = {r.name: r.certified for r in ladder.rows}.get(rung, False)
    exact = upper - lower <= MEET * upper  # the realised pattern met the pattern maximum: L is known
    benchmark.extra_info.update({
        "kind": "ladder", "method": rung, "backend": "numpy", "device": "cpu", "dtype": "float64",
        "family": network, "shape": f"{net.in_features}->{net.out_features}", "m": net.out_features,
        "n": net.in_features, "value": value, "lower": lower, "upper": upper, "truth": upper if exact else None,
        "truth_source": "best lower bound meets the best certified upper (realised pattern)" if exact else None,
        "bracket_ok": bool(value >= lower) if kind == "upper" else bool(value <= upper),
        "rel_error": None, "tol": None, "met_target": None, "seed": grid.METHOD_SEED,
        "blas_threads": config._lipbench_threads, "profile": config._lipbench_profile,
        "options": {"rung_kind": kind, "certified": bool(certified), "hidden_units": hidden},
        "note": ladder.row(rung).note,
    })
