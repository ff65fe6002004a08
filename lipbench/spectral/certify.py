"""``certify_upper``: a certified upper bound on sigma_max from a lower bound.

The public, validated face of the inertia certificate (:mod:`.inertia`, where
the proof is written out), with the ``gram`` and ``svd`` methods' proven upper
bounds beside it for comparison.
"""

from __future__ import annotations

import math
from typing import Any

from .._rounding import up
from .driver import spectral_norm
from .inertia import (
    SEARCHES,
    Certificate,
    _gram,
    certificate_floor,
    inertia_floor,
    inertia_test,
    inertia_upper,
    verify_positive_definite,
)

__all__ = ["certify_upper", "Certificate", "inertia_test", "verify_positive_definite", "certificate_floor",
           "inertia_floor", "METHODS", "SEARCHES"]

METHODS = ("inertia", "gram-iteration", "svd")


def certify_upper(A: Any, lower: float, tol: float, *, method: str = "inertia", search: str = "none",
                  max_tests: int = 8) -> Certificate:
    """A certified upper bound on sigma_max(A) from a lower bound ``lower``.

    ``method="inertia"``: :func:`.inertia.inertia_upper` (one shifted Cholesky
    factorization at ``t`` just above ``lower``; ``search="bisect"`` widens and
    bisects when it fails).  ``method="gram-iteration"`` / ``"svd"``: the upper
    bound of ``lipbench.spectral_norm(A, method="gram", tol=tol)`` /
    ``method="svd"``, for comparison (``tests=0``; ``holds``: it lies within
    tol of ``lower``).
    """
    if method not in METHODS:
        raise ValueError(f"unknown certificate method {method!r}; choose one of {METHODS}")
    if search not in SEARCHES:
        raise ValueError(f"unknown search {search!r}; choose one of {SEARCHES}")
    lower, tol = float(lower), float(tol)
    if not (math.isfinite(lower) and lower >= 0):
        raise ValueError(f"lower must be a finite number >= 0; got {lower}")
    if not (math.isfinite(tol) and tol > 0):
        raise ValueError(f"tol must be a finite positive number; got {tol}")
    if int(max_tests) < 1:
        raise ValueError(f"max_tests must be at least 1; got {max_tests}")
    if method == "inertia":
        return inertia_upper(_gram(A), lower, tol, search=search, max_tests=int(max_tests))
    r = spectral_norm(A, method="gram" if method == "gram-iteration" else "svd", tol=tol)
    return Certificate(upper=float(r.upper), method=method, deterministic=True,
                       holds=float(r.upper) <= up(lower * (1 + tol)), tests=0,
                       detail=f"{r.iterations} iteration(s), relative width {r.relative_width:.3g}")
