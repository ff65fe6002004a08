"""The bound ladder on a :class:`~lipbench.models.graph.Graph`.

A chain goes to :func:`lipbench.lipschitz.lipschitz_ladder` as a ``Sequential``,
so every rung it has runs.  A graph with branches gets

* ``product`` -- the graph's product rung (:meth:`Graph.product_bound`), certified;
* ``eclipse_fast``, ``patterns`` -- not applicable yet (they need a chain of linear
  maps and activations); the row names the branching nodes;
* ``empirical`` -- sampled difference quotients ``||f(x) - f(y)|| / ||x - y||`` of the
  graph's forward pass, each a lower bound on L(f).

A graph holding eps-dominated layers (layer normalisation, whose constant
``max|gamma| / sqrt(eps)`` is reached only at zero variance) says so in the
``product`` row's note, naming them.

A graph without a global Lipschitz constant raises
:class:`~lipbench.models.graph.NotGloballyLipschitz` naming its nodes.
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np

from ..lipschitz.bounds import stable_norm
from ..lipschitz.ladder import Ladder, Rung, lipschitz_ladder
from .graph import Graph, NotGloballyLipschitz

__all__ = ["graph_ladder", "sampled_lower_bound"]


def sampled_lower_bound(graph: Graph, *, n_samples: int = 32, scale: float = 1.0, seed: int = 0) -> float:
    """The largest difference quotient over ``n_samples`` random pairs (x ~ N(0, scale^2 I), y
    at distances 10^-3..1 times scale from x): a lower bound on L(graph)."""
    rng = np.random.default_rng(seed)
    n = graph.in_features
    X = scale * rng.standard_normal((n_samples, n))
    Y = X + scale * rng.standard_normal((n_samples, n)) * 10.0 ** rng.uniform(-3, 0, (n_samples, 1))
    fx, fy = graph(X), graph(Y)
    best = 0.0
    for i in range(n_samples):
        d = stable_norm(X[i] - Y[i])
        if d > 0:
            best = max(best, stable_norm(fx[i] - fy[i]) / d)
    return best


def graph_ladder(graph: Graph, *, seed: int = 0, n_samples: int = 32, **options: object) -> Ladder:
    """Every rung that applies to ``graph`` (``options`` go to ``lipschitz_ladder`` for a chain)."""
    reasons = graph.not_lipschitz()
    if reasons:
        raise NotGloballyLipschitz(reasons)
    if graph.is_chain():
        chain = lipschitz_ladder(graph.as_sequential(), seed=seed, n_samples=n_samples, **options)  # type: ignore[arg-type]
        return _flag_eps(graph, chain)
    t0 = time.perf_counter()
    prod = graph.product_bound()
    rows = [Rung("product", "upper", prod, True, time.perf_counter() - t0,
                 "graph product rung: L(f o g) <= L(f) L(g), L(f + g) <= L(f) + L(g), concat by root sum of squares")]
    why = f"n/a: needs a chain of layers; the graph branches at {', '.join(graph.branch_nodes())}"
    rows.append(Rung("eclipse_fast", "upper", math.nan, False, 0.0, why))
    rows.append(Rung("patterns", "upper", math.nan, False, 0.0, why))
    t0 = time.perf_counter()
    low = sampled_lower_bound(graph, n_samples=n_samples, seed=seed)
    rows.append(Rung("empirical", "lower", low, False, time.perf_counter() - t0,
                     f"{n_samples} sampled difference quotients of the forward pass (no gradient ascent on graphs)"))
    return _flag_eps(graph, Ladder(tuple(rows)))


def _flag_eps(graph: Graph, ladder: Ladder) -> Ladder:
    """The ladder with its product row's note naming the graph's eps-dominated layers."""
    names = graph.eps_dominated()
    if not names:
        return ladder
    flag = (f"eps-dominated: {', '.join(names)} (layer normalisation's max|gamma| / sqrt(eps), "
            f"reached only where a group has zero variance)")
    return Ladder(tuple(dataclasses.replace(r, note=f"{r.note}; {flag}" if r.note else flag)
                        if r.name == "product" else r for r in ladder.rows))
