"""Eigenvalues of the Gram matrices A^T A and A A^T, on any array-API backend.

Forming A^T A squares the condition number and the scale: entries near the
overflow or underflow ends of the dtype overflow to inf or flush to zero.
``scaled=True`` divides A by a power of two first (exact) and scales the
eigenvalues back in float64 on the host.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backends as _backends

__all__ = ["gram_matrix", "gram_eigenvalues"]


def _check(A: Any) -> Any:
    if not hasattr(A, "shape") or len(A.shape) != 2:
        raise ValueError(f"A must be a 2-D array; got {type(A).__name__} with shape {getattr(A, 'shape', None)}")
    if 0 in tuple(A.shape):
        raise ValueError(f"A is empty (shape {tuple(A.shape)})")
    return A


def gram_matrix(A: Any, side: str = "right") -> Any:
    """``A^T A`` (side="right", n x n) or ``A A^T`` (side="left", m x m) on A's backend."""
    _check(A)
    if side == "right":
        return A.T @ A
    if side == "left":
        return A @ A.T
    raise ValueError(f"side must be 'right' (A^T A) or 'left' (A A^T); got {side!r}")


def gram_eigenvalues(A: Any, side: str = "right", *, scaled: bool = False) -> np.ndarray:
    """Eigenvalues of the Gram matrix, ascending, as a float64 NumPy array (eigvalsh
    on A's backend, in A's dtype).  With ``scaled=True`` A is first divided by
    2**e (e the exponent of max |a_ij|) and the eigenvalues multiplied back by 4**e
    (in float64; a value beyond float64's range comes back as inf or 0)."""
    _check(A)
    xp = _backends.namespace_of(A)
    e = 0
    if scaled:
        amax = float(_backends.to_numpy(xp.max(xp.abs(A))))
        if amax > 0 and math.isfinite(amax):
            e = math.frexp(amax)[1]
            A = A * (2.0 ** -e)
    lam = np.sort(np.asarray(_backends.to_numpy(xp.linalg.eigvalsh(gram_matrix(A, side))), dtype=np.float64))
    if not e:
        return lam
    with np.errstate(over="ignore", under="ignore"):
        return np.ldexp(lam, 2 * e)  # inf (or 0) where sigma^2 is not representable in float64
