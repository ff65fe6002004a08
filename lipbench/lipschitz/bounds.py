"""Bounds on a network's Lipschitz constant: the product upper bound and an
empirical lower bound.

* :func:`product_bound` (claim C12): ``L(f_d o ... o f_1) <= prod_i L(f_i)``,
  each factor certified (sigma_max(W) from above for dense layers, the derived
  constant for activations).
* :func:`empirical_lower_bound` (claims C1, C4): the largest of (a) sampled
  difference quotients ``||f(x) - f(y)|| / ||x - y||`` and (b) sampled
  Jacobian norms ``sigma_max(J_f(x))``, improved by gradient ascent on the
  quotient.  Every candidate is a valid lower bound on L(f), so the maximum is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rounding import prod_up
from .network import Sequential

__all__ = ["product_bound", "LowerBound", "empirical_lower_bound", "difference_quotient", "stable_norm"]


def product_bound(network: Sequential) -> float:
    """prod of the layers' certified Lipschitz constants: an upper bound on L(network)
    (the product in exact rational arithmetic, rounded up once)."""
    if not isinstance(network, Sequential):
        raise TypeError(f"product_bound takes a Sequential network; got {type(network).__name__}")
    return prod_up(network.layer_constants())


def stable_norm(v: Any) -> float:
    """2-norm that neither underflows nor overflows (``max|v| * ||v / max|v|||``)."""
    v = np.atleast_1d(np.asarray(v, dtype=np.float64))
    peak = float(np.max(np.abs(v))) if v.size else 0.0
    if peak == 0.0 or not np.isfinite(peak):
        return peak
    return peak * float(np.linalg.norm(v / peak))


def difference_quotient(f: Any, x: np.ndarray, y: np.ndarray) -> float:
    """``||f(x) - f(y)|| / ||x - y||`` (x != y), with norms that cannot underflow
    (points 1e-255 apart still give a quotient)."""
    d = stable_norm(np.asarray(x, dtype=np.float64) - np.asarray(y, dtype=np.float64))
    if d == 0.0:
        raise ValueError("difference quotient needs x != y")
    return stable_norm(f(x) - f(y)) / d


@dataclass(frozen=True)
class LowerBound:
    """``value = max(quotient, jacobian)``; both are lower bounds on L(f)."""

    value: float
    quotient: float
    jacobian: float
    pair: tuple[np.ndarray, np.ndarray]
    jacobian_point: np.ndarray
    samples: int
    ascent_steps: int


def _quotient_and_grad(net: Sequential, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    d = x - y
    nd = float(np.linalg.norm(d))
    r = np.atleast_1d(net(x) - net(y))
    nr = float(np.linalg.norm(r))
    q = nr / nd
    if nr == 0.0:
        return q, np.zeros_like(x), np.zeros_like(y)
    gx = net.jacobian(x).T @ r / (nr * nd) - q * d / nd**2
    gy = -net.jacobian(y).T @ r / (nr * nd) + q * d / nd**2
    return q, gx, gy


def empirical_lower_bound(network: Sequential, *, n_samples: int = 32, ascent_steps: int = 10,
                          scale: float = 1.0, seed: int | None = None, jacobians: bool = True) -> LowerBound:
    """A lower bound on L(network) from ``n_samples`` random points (N(0, scale^2 I))
    and pairs, then ``ascent_steps`` steps of gradient ascent (with step halving)
    on the best difference quotient; the Jacobian norm is evaluated at every point
    visited.  ``jacobians=False`` keeps the sampled difference quotients only (no
    Jacobian is built, so no ascent: for networks whose Jacobians are too large)."""
    if not isinstance(network, Sequential):
        raise TypeError(f"empirical_lower_bound takes a Sequential network; got {type(network).__name__}")
    n = network.in_features
    if n is None:
        raise ValueError("the network's input width is unknown (no Dense layer); cannot sample inputs")
    if n_samples < 2:
        raise ValueError(f"n_samples must be at least 2; got {n_samples}")
    rng = np.random.default_rng(seed)
    X = scale * rng.standard_normal((n_samples, n))
    Y = X + scale * rng.standard_normal((n_samples, n)) * 10.0 ** rng.uniform(-3, 0, (n_samples, 1))

    def jac_norm(x: np.ndarray) -> float:
        return float(np.linalg.norm(network.jacobian(x), 2))

    best_j, best_jx = -1.0, X[0]
    for x in X if jacobians else ():
        j = jac_norm(x)
        if j > best_j:
            best_j, best_jx = j, x
    best_q, best_pair = -1.0, (X[0], Y[0])
    for x, y in zip(X, Y):
        if np.array_equal(x, y):
            continue
        q = difference_quotient(network, x, y)
        if q > best_q:
            best_q, best_pair = q, (x, y)
    x, y = best_pair
    step = scale
    for _ in range(ascent_steps if jacobians else 0):
        q, gx, gy = _quotient_and_grad(network, x, y)
        g = math.sqrt(float(gx @ gx + gy @ gy))
        if g == 0.0:
            break
        for _ in range(20):  # backtracking: accept only an improvement
            xn, yn = x + step * gx / g, y + step * gy / g
            if not np.array_equal(xn, yn):
                qn = difference_quotient(network, xn, yn)
                if qn > q:
                    x, y, step = xn, yn, step * 1.5
                    break
            step /= 2
        if difference_quotient(network, x, y) > best_q:
            best_q, best_pair = difference_quotient(network, x, y), (x, y)
        j = jac_norm(x)
        if j > best_j:
            best_j, best_jx = j, x
    return LowerBound(max(best_q, best_j), best_q, best_j, best_pair, best_jx, n_samples,
                      ascent_steps if jacobians else 0)
