"""The rounding model behind every bound lipbench certifies, in one place.

Every bound is computed in float64 on the matrix scaled by a power of two
(:mod:`._operator`), with the standard model ``fl(a op b) = (a op b)(1 + d)``,
``|d| <= u``, and Higham's ``gamma_k = k u / (1 - k u)`` (*Accuracy and
Stability of Numerical Algorithms*, 2nd ed., Lemma 3.1 and Thm 3.5: a
computed inner product of length k is off by at most ``gamma_k |x|^T |y|``).

What each bound adds for rounding:

* ``||A||_F`` from a float64 sum of ``c`` squares: ``sqrt(ss (1 + (c + 2) u))
  (1 + 2 u)`` (:func:`fro_upper_bound`).
* the certified lower bound ``||A v|| / ||v||`` for a unit float64 v: the
  product is off by at most ``gamma_{k+2} ||A||_F`` (k terms per inner
  product), the norm by ``3 u`` (:func:`certified_lower_bound`).
* the cheap upper bound ``sqrt(||A||_1 ||A||_inf)``: both sums carry ``(c + 2) u``
  (:func:`norm1_inf_upper_bound`); the cheap lower bound, the largest column
  norm, ``(m + 2) u`` (:func:`column_lower_bound`).
* the full SVD: a backward-stable SVD's sigma_max is off by ``p u ||A||`` with
  ``p = 8 (max(m, n) + 4)`` (:func:`svd_backward_p`; measured, see
  ``docs/methods.md``).
* the inertia certificate (:mod:`.certify`): the Gram matrix's rounding
  (:func:`gram_rounding`) and Rump's Cholesky shift (:func:`rump_shift`), and
  the floor they put under the certified width (:func:`certificate_floor`).
* the Gram iteration: each product rounds ``||G||_F`` up by ``4 (max(m, n) + 2)
  sqrt(min(m, n)) u`` (:func:`gram_rounding_floor`).
* the residual bound ``||A^T A v - theta^2 v|| / (2 theta^2)`` that iterative
  methods stop on: its own rounding puts a floor under it
  (:func:`residual_floor`); the driver raises a smaller ``tol`` to it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "unit_roundoff",
    "gamma",
    "fro_upper_bound",
    "certified_lower_bound",
    "linop_lower_bound",
    "product_slack",
    "norm1_inf_upper_bound",
    "column_lower_bound",
    "vector_norm_factor",
    "svd_backward_p",
    "svd_error",
    "estimate_lower_bound",
    "gram_rounding_floor",
    "residual_floor",
    "gram_rounding",
    "rump_shift",
    "inertia_floor",
    "certificate_floor",
]

#: p = SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL) in the SVD's
#: backward-error bound p u ||A|| (the constant part covers 2 x 2 matrices)
SVD_BACKWARD_FACTOR = 8
SVD_BACKWARD_SMALL = 4


def unit_roundoff(dtype: Any) -> float:
    """u = eps / 2 of a float dtype (name, NumPy dtype or array-API dtype)."""
    return float(np.finfo(np.dtype(str(dtype).split(".")[-1])).eps) / 2


U64 = unit_roundoff("float64")
#: smallest positive (subnormal) float64: the underflow term of the certificate's bounds
ETA = 2.0**-1074


def gamma(k: int, dtype: Any = "float64") -> float:
    """Higham's ``gamma_k = k u / (1 - k u)``."""
    ku = k * unit_roundoff(dtype)
    return ku / (1 - ku)


def fro_upper_bound(ss: float, count: int) -> float:
    """Upper bound on ``sqrt(ss)`` for a float64 sum ``ss`` of ``count`` squares."""
    return math.sqrt(ss * (1 + (count + 2) * U64)) * (1 + 2 * U64)


def product_slack(k: int, fro_upper: float) -> float:
    """Upper bound on ``||fl(A v) - A v||`` for a unit float64 v, k terms per
    inner product, ``||A||_F <= fro_upper``."""
    return gamma(k + 2) * fro_upper


def certified_lower_bound(norm_av: Any, slack: Any) -> Any:
    """A rigorous lower bound on ``||A v||`` (unit v) from its computed float64
    norm and the product's slack (:func:`product_slack`); arrays work too."""
    return np.maximum(0.0, norm_av * (1 - 3 * U64) - slack)


def linop_lower_bound(norm_av: float, m: int, n: int) -> float:
    """As :func:`certified_lower_bound` for a matrix-free operator, which has
    no entries to bound its rounding with: its product is *assumed* as accurate
    as a dense float64 one, ``||fl(Av) - Av|| <= gamma_n sqrt(min(m, n)) sigma``
    (this is an assumption about the caller's operator, not a proof)."""
    g = (n + 2) * U64 * math.sqrt(min(m, n))
    return max(0.0, norm_av * (1 - 3 * U64 - g) / (1 + g))


def norm1_inf_upper_bound(one: float, inf: float, count: int) -> float:
    """Upper bound on ``sqrt(||A||_1 ||A||_inf)`` from float64 sums of at most
    ``count`` absolute values."""
    return math.sqrt(one * inf * (1 + (count + 2) * U64) ** 2) * (1 + 2 * U64)


def column_lower_bound(col2_max: float, m: int) -> float:
    """Lower bound on the largest column norm from its float64 sum of m squares."""
    return math.sqrt(col2_max * max(0.0, 1 - (m + 2) * U64)) * (1 - 2 * U64)


def vector_norm_factor(count: int) -> float:
    """Relative error bound of a float64 2-norm of ``count`` entries."""
    return (count + 2) * U64


def svd_backward_p(m: int, n: int) -> int:
    """The factor p of the backward-error bound ``p u ||A||`` taken for the
    full SVD of an m x n matrix."""
    return SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL)


def svd_error(top: Any, m: int, n: int, dtype: Any, scale: Any = None) -> tuple[float, Any]:
    """``(p u, delta)``: the SVD's sigma_max ``top`` is within ``delta = p u
    scale / (1 - p u)`` of the truth, ``scale = top`` for a backward-stable
    SVD, or an upper bound on ``||A||_F`` for an iterative one (p from
    :func:`svd_backward_p`, u of the decomposition's dtype)."""
    pu = svd_backward_p(m, n) * unit_roundoff(dtype)
    return pu, (top if scale is None else scale) * pu / (1 - pu)


def estimate_lower_bound(estimate: float, m: int, n: int, dtype: Any, fro_upper: float | None) -> float:
    """A lower bound from a norm estimate computed by a black box in ``dtype``
    (SciPy's interpolative): its products are off by ``(max(m, n) + 2) u
    ||A||_F``, its norm by as much relatively; without ``fro_upper`` (a
    LinearOperator) the relative term only."""
    g = (max(m, n) + 2) * unit_roundoff(dtype)
    return max(0.0, estimate * (1 - g) - (0.0 if fro_upper is None else g * fro_upper))


def gram_rounding_floor(m: int, n: int) -> float:
    """Relative amount by which the Gram iteration rounds its upper bound up
    for an m x n matrix (the products' error, ``4 (max(m, n) + 2) sqrt(min(m,
    n)) u``): no tolerance below it can be reached."""
    return 4 * (max(m, n) + 2) * math.sqrt(min(m, n)) * U64


def residual_floor(m: int, n: int, dtype: Any = "float64") -> float:
    """Smallest relative error the residual bound ``||A^T A v - theta^2 v|| /
    (2 theta^2)`` can resolve for an m x n matrix when it is evaluated in
    ``dtype`` (float64 for every single matrix; a stack's power iteration
    works in its own dtype): the two products are off by ``(m + n + 4) u
    ||A||_F sigma``, and ``||A||_F <= sqrt(min(m, n)) sigma``, so an estimate
    below ``(max(m, n) + 2) sqrt(min(m, n)) u`` is rounding noise."""
    return (max(int(m), int(n)) + 2) * math.sqrt(min(int(m), int(n))) * unit_roundoff(dtype)


def gram_rounding(fro2_up: float, m: int, n: int) -> float:
    """Bound on ``||fl(G) - G||_2`` for the Gram matrix of an m x n matrix with
    ``||A||_F^2 <= fro2_up``: ``gamma_M ||A||_F^2 + N M eta`` (M = max(m, n),
    the inner-product length; N = min(m, n))."""
    big, k = max(m, n), min(m, n)
    return (gamma(big) * fro2_up + k * big * ETA) * (1 + 4 * U64)


def rump_shift(trace_up: float, maxdiag_up: float, n: int) -> float:
    """Rump's c for an n x n matrix: a successful floating-point Cholesky of
    M~ proves ``lambda_min(M~) > -c`` when ``tr(M~) <= trace_up`` and
    ``max_i M~_ii <= maxdiag_up``."""
    kappa = gamma(n + 2) / (1 - gamma(2 * n + 4))
    return (kappa * trace_up + 4 * ETA * n * (2 * (n + 1) + maxdiag_up)) * (1 + 4 * U64)


def inertia_floor(m: int, n: int, fro2_ratio: float | None = None) -> float:
    """Smallest relative width ``(t - sigma) / sigma`` the inertia certificate
    can reach for an m x n matrix with ``||A||_F^2 = fro2_ratio * t^2``
    (None: the worst case over matrices), scaled so its largest entry is in
    [1/2, 1).  ``1 / sqrt(1 - q) - 1`` with q the shift over t^2."""
    k, big = min(m, n), max(m, n)
    r = float(k) if fro2_ratio is None else min(max(float(fro2_ratio), 0.0), float(k))
    kappa = gamma(k + 2) / (1 - gamma(2 * k + 4))
    if fro2_ratio is None:
        q = k * max(gamma(big), kappa)
    else:
        q = gamma(big) * r + kappa * (k - r)
    # eta terms over t^2 >= 1/4, and the diagonal's roundings (8 u)
    q = q * (1 + 8 * U64) + 4 * (k * big * ETA + 4 * ETA * k * (2 * k + 3)) + 8 * U64
    return 1 / math.sqrt(1 - q) - 1 if q < 1 else math.inf


def certificate_floor(dtype: Any, m: int, n: int) -> float:
    """Smallest relative width the inertia certificate can reach for any
    m x n matrix of ``dtype`` (float16/32/64; all are certified in float64, so
    the floor is the same): ``1/sqrt(1 - q) - 1 ~ q/2`` with
    ``q = N max(gamma_M, gamma_{N+2}/(1 - gamma_{2N+4})) + 8 u``, N = min(m, n),
    M = max(m, n), u = 2^-53."""
    name = np.dtype(str(dtype).split(".")[-1]).name
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"dtype {name!r} has no certificate; use float16, float32 or float64")
    if int(m) < 1 or int(n) < 1:
        raise ValueError(f"shape must be two positive integers; got ({m}, {n})")
    return inertia_floor(int(m), int(n))
