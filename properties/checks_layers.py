"""Checks of the layer rules against brute force, as plain functions (like ``checks.py``).

* :func:`brute_jacobian`: the Jacobian assembled column by column from forward
  differences ``(f(x + h e_j) - f(x)) / h`` of the layer's forward pass, with h
  inside the region where the layer is affine (exact there up to rounding).
* :func:`check_rule`: ``sigma(J_brute) <= L_upper`` (the constant is sound), the
  layer's own ``jacobian`` equals ``J_brute``, and -- where the rule claims to be
  exact -- some given point has ``sigma(J_brute) >= L_upper`` (the constant is
  best), all up to rounding tolerances from ``tolerances.py``.
* :func:`check_quotient`: difference quotients at random pairs stay below the constant.
* :func:`reference_conv`: PyTorch's convolution written as loops, independent of
  the layer's window tables.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from lipbench.lipschitz import bounds as lbounds

from . import tolerances as tol
from .checks import ctx


def _norm(a: Any) -> float:
    """Euclidean / Frobenius norm that does not underflow (entries near 1e-290 square to 0)."""
    return lbounds.stable_norm(np.ravel(a))


def brute_jacobian(f: Any, x: np.ndarray, h: float) -> np.ndarray:
    """Forward differences of f at x with step h, one column per input (one batched call)."""
    n = x.size
    Y = np.atleast_2d(f(x[None, :] + h * np.eye(n)))
    return (Y - np.atleast_2d(f(x[None, :]))).T / h


def jacobian_slack(J: np.ndarray, x: np.ndarray, fx: np.ndarray, h: float, fan_in: int, parts: float = 0.0) -> float:
    """Bound on ||J_brute - J||_F: each column differences two evaluations, each off by at
    most a fan_in-term inner product's rounding of |J| |x + h e_j| and a few ulps of f(x).
    ``parts`` >= ||J||_F stands for a sum of Jacobians that may cancel (a residual's I + J_f)."""
    fro = max(float(_norm(J)), parts)
    xnorm = float(_norm(x)) + h
    col = (tol.matvec_atol("float64", (1, fan_in + 2), fro, xnorm) +
           tol.scalar_rtol(ops=4) * (float(_norm(fx)) + fro * xnorm)) / h
    return 2 * math.sqrt(J.shape[1]) * col


def sigma(J: np.ndarray) -> float:
    return float(np.linalg.norm(J, 2)) if J.size else 0.0


def check_rule(layer: Any, points: Sequence[np.ndarray], h: float, *, fan_in: int, exact: bool,
               upper: float | None = None, parts: Any = None) -> tuple[float, float]:
    """Sound (and, with ``exact``, best) constant against brute-force Jacobians at ``points``.
    Returns (max sigma(J_brute), upper)."""
    L = float(layer.lipschitz_upper()) if upper is None else float(upper)
    best, best_slack = -1.0, 0.0
    for x in points:
        Jb = brute_jacobian(layer, x, h)
        J = layer.jacobian(x)
        fx = layer(x)
        slack = jacobian_slack(J, x, fx, h, fan_in, 0.0 if parts is None else parts(x))
        err = float(_norm(Jb - J))
        assert err <= slack, "layer.jacobian differs from the brute-force Jacobian: " + ctx(
            layer=type(layer).__name__, err=err, slack=slack, shape=J.shape)
        s = sigma(Jb)
        s_slack = slack + tol.svd_atol("float64", Jb.shape, max(s, 1e-300))
        assert s <= L + s_slack, "brute-force Jacobian norm above the layer's constant: " + ctx(
            layer=repr(layer)[:200], sigma_brute=s, upper=L, slack=s_slack)
        if s > best:
            best, best_slack = s, s_slack
    if exact:
        # the certified upper end's own excess over sigma: a product of at most three proven
        # sigma_max upper ends (AvgPool: one per spatial axis) of matrices no larger than the
        # Jacobian, each within proven_sigma_rtol of its sigma, a few outward roundings, and a
        # convolution's assembly error (its operator_error_bound)
        cert = (3 * tol.proven_sigma_rtol(Jb.shape) + tol.scalar_rtol(ops=4)) * L + \
            float(getattr(layer, "operator_error_bound", lambda: 0.0)())
        assert L <= best + best_slack + cert, "the layer's constant is not attained (too loose): " + ctx(
            layer=repr(layer)[:200], best_sigma=best, upper=L, slack=best_slack + cert)
    return best, L


def check_quotient(layer: Any, x: np.ndarray, y: np.ndarray, fan_in: int) -> float:
    """||f(x) - f(y)|| <= L ||x - y|| up to the rounding of the two evaluations."""
    L = float(layer.lipschitz_upper())
    q = lbounds.difference_quotient(layer, x, y)
    J = layer.jacobian(x)
    d = lbounds.stable_norm(x - y)
    mag = float(_norm(J)) * (float(_norm(x)) + float(_norm(y))) + \
        float(_norm(layer(x))) + float(_norm(layer(y)))
    slack = (tol.matvec_atol("float64", (1, fan_in + 2), 1.0, mag) + tol.scalar_rtol(ops=4) * mag) / d
    assert q <= L * (1 + tol.scalar_rtol(ops=4)) + slack, "difference quotient above the constant: " + ctx(
        layer=repr(layer)[:200], quotient=q, upper=L, slack=slack)
    return q


def _pad_index(q: int, n: int, mode: str) -> int | None:
    """PyTorch's padded coordinate q -> input index (None: a zero)."""
    if 0 <= q < n:
        return q
    if mode == "zeros":
        return None
    if mode == "circular":
        return q % n
    if mode == "replicate":
        return min(max(q, 0), n - 1)
    while not 0 <= q < n:  # reflect, repeatedly (never needed for padding < n)
        q = -q if q < 0 else 2 * (n - 1) - q
    return q


def reference_conv(layer: Any, x: np.ndarray) -> np.ndarray:
    """The layer's output by the textbook loops over channels, positions and taps."""
    c_in, *spatial = layer.input_shape
    w = layer.weight
    c_out, cg, *kernel = w.shape
    og = c_out // layer.groups
    xi = x.reshape(c_in, *spatial)
    out_shape = layer.output_shape
    y = np.zeros(out_shape)
    for o in range(c_out):
        g = o // og
        for pos in itertools.product(*(range(n) for n in out_shape[1:])):
            acc = 0.0 if layer.bias is None else float(layer.bias[o])
            for c in range(cg):
                for tap in itertools.product(*(range(k) for k in kernel)):
                    idx = []
                    for j, (p, t) in enumerate(zip(pos, tap)):
                        q = p * layer.stride[j] + t * layer.dilation[j] - layer.padding[j]
                        idx.append(_pad_index(q, spatial[j], layer.padding_mode))
                    if None not in idx:
                        acc += w[(o, c, *tap)] * xi[(g * cg + c, *idx)]
            y[(o, *pos)] = acc
    return y.ravel()
