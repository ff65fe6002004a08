"""Exact maximization over activation patterns, and the search for a pattern's region.

Where every activation ``phi_i`` has slopes in ``[lo_i, hi_i]``, each Jacobian
of the chain (and, by the mean value theorem applied along a segment, each
difference quotient) is ``W_l D_{l-1} W_{l-1} ... D_1 W_1`` with ``D_i``
diagonal, entries in ``[lo_i, hi_i]``.  ``sigma_max`` of that product is
convex in each ``D_i`` with the others fixed (a norm of an affine function),
so its maximum over the box is attained at a vertex: every entry ``lo`` or
``hi``.  :func:`pattern_bound` enumerates all ``2**H`` vertices (H the hidden
units, up to ~20), bounds each product's sigma_max with
``lipbench.spectral_norm``'s proven upper end at its narrowest certified width
(stacks of products at once), and adds the rounding of forming the products
(term ``pattern_products``) and the chain's own errors carried through.  For ReLU and leaky ReLU the
vertices are the activation patterns; the bound equals L(f) exactly when the
maximising pattern is realised by some input.

:func:`realise_pattern` looks for such an input: given the pattern the network
is affine, every pre-activation is an affine function of x, and a linear
program maximises the smallest signed pre-activation.  A positive optimum is
an input inside the pattern's region, where ``sigma(J_f(x))`` equals the
pattern's product: a lower bound that meets the upper one.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .._rounding import fro_bounds, sum_up
from .._rounding_maps import product_rounding
from ..spectral import ConvergenceWarning, spectral_norm
from .chain import Chain, perturbation

__all__ = ["PatternBound", "pattern_bound", "realise_pattern", "MAX_HIDDEN_UNITS", "pattern_products",
           "pattern_rounding"]

MAX_HIDDEN_UNITS = 20
_CHUNK = 4096


@dataclass(frozen=True)
class PatternBound:
    """Certified ``value`` >= sigma_max over all vertex patterns; ``top`` the best patterns (0/1
    per hidden unit, 1 = slope hi), best first, with their computed sigma_max."""

    value: float
    patterns: int
    top: tuple[tuple[np.ndarray, float], ...]


def _products(chain: Chain, bits: np.ndarray) -> np.ndarray:
    """The stack of products W_l D_{l-1} ... D_1 W_1 for each row of ``bits`` (0: lo, 1: hi)."""
    P = np.broadcast_to(chain.weights[0], (bits.shape[0],) + chain.weights[0].shape)
    start = 0
    for W, (lo, hi) in zip(chain.weights[1:], chain.slopes):
        n = P.shape[1]
        d = np.where(bits[:, start:start + n] == 1, hi, lo)
        P = W @ (d[:, :, None] * P)
        start += n
    return P


def _rounding(chain: Chain) -> float:
    """Bound on ``||fl(product) - exact product||_2`` for every pattern: the products'
    rounding as :func:`_products` forms them, ``P <- fl(W fl(D P))``
    (:func:`lipbench._rounding_maps.product_rounding`, term ``pattern_products``; each D a diagonal
    factor of norm ``max(|lo|, |hi|)``), plus the chain's error bounds carried
    through the other factors (:func:`.chain.perturbation`)."""
    norms = [fro_bounds(chain.weights[0])[1]]
    errs = [chain.errors[0]]
    steps = []
    rows = chain.weights[0].shape[0]
    cols = chain.weights[0].shape[1]
    for W, e, (lo, hi) in zip(chain.weights[1:], chain.errors[1:], chain.slopes):
        s = max(abs(lo), abs(hi))
        a = fro_bounds(W)[1]
        steps += [(s, 1, rows * cols), (a, W.shape[1], W.shape[0] * cols)]
        norms += [s, a]
        errs += [0.0, e]
        rows = W.shape[0]
    rounding = product_rounding(norms[0], steps, "pattern_products")
    return sum_up([rounding, perturbation(norms, errs)])


pattern_products = _products  # public names for the lower-bound search (lower_search.py)
pattern_rounding = _rounding


def pattern_bound(chain: Chain, *, max_hidden_units: int = MAX_HIDDEN_UNITS, keep: int = 16) -> PatternBound:
    """The certified maximum of sigma_max over all 2**H vertex patterns (ValueError if H > max_hidden_units)."""
    from ..spectral._certification import certified_width

    H = chain.hidden_units
    if H > max_hidden_units:
        raise ValueError(f"{H} hidden units means 2**{H} patterns; the limit is {max_hidden_units} units "
                         f"(raise max_hidden_units to enumerate anyway)")
    total = 2**H
    best_upper = 0.0
    top: list[tuple[float, int]] = []
    shape = (chain.weights[-1].shape[0], chain.weights[0].shape[1])
    tol = certified_width(0.0, "float64", *shape)  # the narrowest width the certificate proves
    for start in range(0, total, _CHUNK):
        idx = np.arange(start, min(start + _CHUNK, total))
        bits = (idx[:, None] >> np.arange(H)[None, :]) & 1
        P = _products(chain, bits)
        with warnings.catch_warnings():  # a width not reached still leaves a proven upper end
            warnings.simplefilter("ignore", ConvergenceWarning)
            r = spectral_norm(P, method="svd", tol=tol)
        upper, value = np.atleast_1d(r.upper), np.atleast_1d(r.value)
        best_upper = max(best_upper, float(upper.max()))
        order = np.argsort(value)[::-1][:keep]
        top = sorted(top + [(float(value[i]), int(idx[i])) for i in order], reverse=True)[:keep]
    ranked = tuple((((np.int64(i) >> np.arange(H)) & 1).astype(np.int8), v) for v, i in top)
    return PatternBound(sum_up([best_upper, _rounding(chain)]), total, ranked)


def realise_pattern(net_layers: list, chain: Chain, bits: np.ndarray, *, radius: float = 1e3) -> np.ndarray | None:
    """An input x with every pre-activation strictly on the side ``bits`` selects
    (1: the ``hi`` slope, positive; 0: negative), within ``|x_j| <= radius``; None if
    the linear program finds none.  ``net_layers`` are the (Dense, activation, ...)
    layers of a plain MLP with biases; pre-activations are affine in x once the
    pattern is fixed: ``z_i = W_i x_{i-1} + b_i``, ``x_i = D_i z_i``."""
    dense = [layer for layer in net_layers if hasattr(layer, "weight")]
    n0 = dense[0].weight.shape[1]
    A, c = np.eye(n0), np.zeros(n0)  # x_{i-1} = A x + c
    rows, offs = [], []
    start = 0
    for layer, (lo, hi) in zip(dense[:-1], chain.slopes):
        W = layer.weight
        b = np.zeros(W.shape[0]) if layer.bias is None else layer.bias
        Za, Zc = W @ A, W @ c + b
        s = np.where(bits[start:start + W.shape[0]] == 1, 1.0, -1.0)
        rows.append(s[:, None] * Za)
        offs.append(s * Zc)
        d = np.where(s > 0, hi, lo)
        A, c = d[:, None] * Za, d * Zc
        start += W.shape[0]
    if not rows:  # no hidden unit: every input realises the empty pattern
        return np.zeros(n0)
    G, h = np.vstack(rows), np.concatenate(offs)
    # maximise t subject to G x + h >= t, t <= 1, |x_j| <= radius  (variables x, t)
    res = optimize.linprog(np.r_[np.zeros(n0), -1.0], A_ub=np.c_[-G, np.ones(len(h))], b_ub=h,
                           bounds=[(-radius, radius)] * n0 + [(None, 1.0)], method="highs")
    if res.status != 0 or -res.fun <= 0:
        return None
    return np.asarray(res.x[:n0])
