"""L(f) of a ReLU / leaky-ReLU MLP bracketed: an attained lower bound and a branch-and-bound upper bound.

:func:`lipschitz_bracket` seeds the lower bound with :mod:`.lower_search` (local
search over patterns from the patterns of random inputs, gradient-ascent points
and the given ``points``, and a climb through realisable patterns from the best
of those; an input found in the best regions, its Jacobian's sigma_max
certified), runs :func:`.branch_and_bound.branch_and_bound` against it, and,
whenever a full pattern tops the search's queue or the search stops short,
climbs again from the search's best leaves and tries their regions.  Both ends
are certified; the lower one is attained at ``x``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .bounds import empirical_lower_bound
from .branch_bound import BranchBoundResult, NodeBound, branch_and_bound
from .chain import network_chain
from .lower_search import (
    AttainedLower,
    attained_lower,
    local_search,
    pattern_sigmas,
    plain_mlp,
    realisable_climb,
    starts_from_inputs,
)
from .network import Sequential

__all__ = ["Bracket", "lipschitz_bracket"]


@dataclass(frozen=True)
class Bracket:
    """``lower <= L(f) <= upper``, both certified; ``attained`` the input and pattern behind ``lower``."""

    lower: float
    upper: float
    attained: AttainedLower | None
    search: BranchBoundResult
    seconds: float

    @property
    def relative_width(self) -> float:
        return (self.upper - self.lower) / self.lower if self.lower > 0 else math.inf


def lipschitz_bracket(net: Sequential, *, gap: float = 1e-3, max_seconds: float = 60.0, max_nodes: int = 100_000,
                      n_samples: int = 32, seed: int = 0, points: Any = None, scale: float = 1.0, tries: int = 8,
                      node_bound: NodeBound | None = None) -> Bracket:
    """Certified ``[lower, upper]`` around L(f) (module docstring); stops at relative ``gap``
    or the budget (``max_seconds`` for the branch and bound, ``max_nodes`` nodes)."""
    with threadpool_limits(1):  # stacks of small matrices: BLAS threads only contend
        return _bracket(net, gap, max_seconds, max_nodes, n_samples, seed, points, scale, tries, node_bound)


def _bracket(net: Sequential, gap: float, max_seconds: float, max_nodes: int, n_samples: int, seed: int,
             points: Any, scale: float, tries: int, node_bound: NodeBound | None) -> Bracket:
    t0 = time.perf_counter()
    plain_mlp(net)  # ValueError naming what does not fit
    chain = network_chain(net)
    n_in = chain.weights[0].shape[1]
    rng = np.random.default_rng(seed)
    X = [rng.standard_normal((n_samples, n_in)) * scale]
    low = empirical_lower_bound(net, n_samples=n_samples, ascent_steps=10, scale=scale, seed=seed)
    X.append(np.vstack([low.jacobian_point, *low.pair]))
    if points is not None:
        X.append(np.atleast_2d(np.asarray(points, dtype=np.float64)))
    starts = starts_from_inputs(net, np.vstack(X))
    optima = local_search(chain, starts)
    best = attained_lower(net, [b for b, _ in optima], tries=tries, chain=chain)
    ranked = sorted({b.tobytes(): b for b in starts}.values(), key=lambda b: -pattern_sigmas(chain, b)[0])
    if ranked:  # the best pattern an input realises, climbed through patterns with regions
        found = attained_lower(net, [realisable_climb(net, chain, ranked[0])[0], *ranked[:tries]], tries=tries + 1,
                               chain=chain)
        if found is not None and (best is None or found.value > best.value):
            best = found

    def on_leaf(bits: np.ndarray) -> float | None:
        nonlocal best
        found = attained_lower(net, [bits, *(b for b, _ in local_search(chain, bits[None]))], tries=2, chain=chain)
        if found is not None and (best is None or found.value > best.value):
            best = found
        return None if found is None else found.value

    result = branch_and_bound(chain, gap=gap, max_nodes=max_nodes, max_seconds=max_seconds,
                              lower=0.0 if best is None else best.value, node_bound=node_bound, on_leaf=on_leaf)
    if not result.gap_reached and result.best_leaves:
        leaves = np.stack([b for b, _ in result.best_leaves])
        found = attained_lower(net, [b for b, _ in local_search(chain, leaves)], tries=tries, chain=chain)
        if found is not None and (best is None or found.value > best.value):
            best = found
    lower = 0.0 if best is None else best.value
    return Bracket(lower, result.upper, best, result, time.perf_counter() - t0)
