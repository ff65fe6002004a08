"""How narrow a bracket can get: the rounding floors of the estimates and certificates.

A floor is the smallest relative error or width a computation can resolve for
a shape, derived from the rounding terms of :mod:`lipbench._rounding`; the
driver raises a smaller ``tol`` to it (with a note), and ``auto`` consults the
Gram iteration's.  The SVD's backward-error factor is here too: a calibrated
estimate, not a proof (docs/certify.md).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._rounding import ETA, U64, gamma, unit_roundoff

__all__ = ["svd_backward_p", "svd_error", "gram_rounding_floor", "residual_floor", "inertia_floor",
           "certificate_floor", "SVD_BACKWARD_FACTOR", "SVD_BACKWARD_SMALL"]

#: p = SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL) in the SVD's
#: backward-error estimate p u ||A|| (calibrated, not proven: docs/certify.md)
SVD_BACKWARD_FACTOR = 8
SVD_BACKWARD_SMALL = 4


def svd_backward_p(m: int, n: int) -> int:
    """The calibrated factor p of the SVD's backward-error estimate ``p u ||A||``."""
    return SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL)


def svd_error(top: Any, m: int, n: int, dtype: Any) -> tuple[float, Any]:
    """``(p u, delta)``: the SVD's sigma_max ``top`` is estimated within
    ``delta = p u top / (1 - p u)`` of the truth.  An estimate: p is calibrated."""
    pu = svd_backward_p(m, n) * unit_roundoff(dtype)
    return pu, top * pu / (1 - pu)


def gram_rounding_floor(m: int, n: int) -> float:
    """Relative width below which the Gram iteration cannot certify an m x n
    matrix in the worst case: its first product is off by ``gamma_M
    ||A||_F^2 <= N gamma_M sigma^2`` and every later one by at most ``N gamma_N``
    times its own scale, halved once per step (docs/certify.md, "Gram
    iteration"), so ``N (gamma_M + gamma_N) / 2 <= N gamma_M``."""
    return min(m, n) * gamma(max(m, n))


def residual_floor(m: int, n: int, dtype: Any = "float64") -> float:
    """Smallest relative error the residual bound ``||A^T A v - theta^2 v|| /
    (2 theta^2)`` can resolve for an m x n matrix evaluated in ``dtype``: the
    two products are off by ``(m + n + 4) u ||A||_F sigma`` and ``||A||_F <=
    sqrt(min(m, n)) sigma``."""
    return (max(int(m), int(n)) + 2) * math.sqrt(min(int(m), int(n))) * unit_roundoff(dtype)


def inertia_floor(m: int, n: int, fro2_ratio: float | None = None) -> float:
    """Smallest relative width ``(t - sigma) / sigma`` the inertia certificate
    can reach for an m x n matrix with ``||A||_F^2 = fro2_ratio * t^2`` (None:
    the worst case over matrices), scaled so its largest entry is in [1/2, 2).
    ``1 / sqrt(1 - q) - 1`` with q the shift over t^2."""
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
    """Smallest relative width the inertia certificate can reach for any m x n
    matrix of ``dtype`` (float16/32/64; all are certified in float64):
    ``1/sqrt(1 - q) - 1 ~ q/2`` with ``q = N max(gamma_M, gamma_{N+2}/(1 -
    gamma_{2N+4})) + 8 u``, N = min(m, n), M = max(m, n)."""
    name = np.dtype(str(dtype).split(".")[-1]).name
    if name not in ("float16", "float32", "float64"):
        raise ValueError(f"dtype {name!r} has no certificate; use float16, float32 or float64")
    if int(m) < 1 or int(n) < 1:
        raise ValueError(f"shape must be two positive integers; got ({m}, {n})")
    return inertia_floor(int(m), int(n))
