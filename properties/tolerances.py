"""The one tolerance policy of the property suite.

Every tolerance is a backward-error bound ``c * n * eps * scale`` for the
operation that produced the number, with ``eps`` the unit roundoff (machine
epsilon) of the dtype the operation ran in, ``n`` the relevant dimension and
``scale`` the norm the error is relative to.  The constants ``c`` are the
textbook ones (Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd
ed.), rounded up to a power of two; they are the only numbers a test may use
to compare floating-point results, and no test body holds a literal tolerance.

* inner products and matrix-vector products (Higham 3.5):
  ``|fl(Ax) - Ax| <= gamma_n |A||x|``, so ``||.|| <= n eps ||A||_F ||x||``.
* Gram matrix then symmetric eigensolver (Higham 3.5 + Wilkinson): forming
  ``A^T A`` errs by at most ``m eps ||A||_F^2`` in norm and eigvalsh is
  backward stable with ``~ n eps ||G||``: together ``(m + n) eps ||A||_F^2``.
* SVD (LAPACK gesdd, Demmel-Kahan): computed singular values are exact for
  ``A + E`` with ``||E|| <= p(m, n) eps ||A||``, p of order ``max(m, n)``; by
  Weyl each value moves by at most ``||E||``.
* scalar functions (activations, quotients of computed norms): a few ulps of
  each operand, ``c * ops * eps * |value|``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "eps",
    "dtype_name",
    "C_MATVEC",
    "C_GRAM",
    "C_SVD",
    "C_SCALAR",
    "matvec_atol",
    "gram_atol",
    "svd_atol",
    "proven_sigma_rtol",
    "scalar_rtol",
    "reference_atol",
    "monotone_slack",
]

C_MATVEC = 2.0  # gamma_n = n u / (1 - n u) <= 2 n u  -> n eps
C_GRAM = 2.0  # (m + n) eps <= 2 max(m, n) eps
C_SVD = 8.0  # p(m, n) ~ max(m, n) with a small constant; 8 covers LAPACK's bidiagonal QR/divide and conquer
C_SCALAR = 8.0  # a handful of ulps for a short chain of scalar operations


def dtype_name(dtype: Any) -> str:
    """'float64' / 'float32' for NumPy, CuPy or array-api-strict dtypes (or arrays)."""
    if hasattr(dtype, "dtype"):
        dtype = dtype.dtype
    name = str(dtype).rsplit(".", 1)[-1].strip("'>")
    if name not in ("float64", "float32", "float16"):
        raise ValueError(f"no tolerance policy for dtype {dtype!r}; use float64, float32 or float16")
    return name


def eps(dtype: Any) -> float:
    """Machine epsilon of a dtype (or an array's dtype)."""
    return float(np.finfo(np.dtype(dtype_name(dtype))).eps)


def _dims(shape: tuple[int, ...]) -> tuple[int, int]:
    m, n = int(shape[-2]), int(shape[-1])
    return m, n


def matvec_atol(dtype: Any, shape: tuple[int, ...], fro: float, xnorm: float = 1.0) -> float:
    """Bound on ``||fl(A x) - A x||``: ``C_MATVEC * n * eps * ||A||_F * ||x||``."""
    _, n = _dims(shape)
    return C_MATVEC * n * eps(dtype) * fro * xnorm


def gram_atol(dtype: Any, shape: tuple[int, ...], fro: float) -> float:
    """Bound on the error of each computed eigenvalue of ``A^T A`` or ``A A^T``:
    ``C_GRAM * max(m, n) * eps * ||A||_F^2``."""
    m, n = _dims(shape)
    return C_GRAM * max(m, n) * eps(dtype) * fro * fro


def svd_atol(dtype: Any, shape: tuple[int, ...], sigma_max: float) -> float:
    """Bound on the error of each computed singular value: ``C_SVD * max(m, n) * eps * sigma_max``."""
    m, n = _dims(shape)
    return C_SVD * max(m, n) * eps(dtype) * sigma_max


def proven_sigma_rtol(shape: tuple[int, ...]) -> float:
    """Relative width of the ``svd`` method's proven bracket at its narrowest (what
    ``lipbench.lipschitz``'s ``sigma_upper`` asks for): the certificate's width
    ``certified_width(0, "float64", m, n)`` or, above it, the SVD's backward-error
    floor ``svd_backward_p(m, n) u`` that the driver raises tol to.  Both grow with
    m and n, so it also bounds any smaller matrix's."""
    from lipbench.testing import certified_width, svd_backward_p, unit_roundoff

    m, n = _dims(shape)
    return max(certified_width(0.0, "float64", m, n), svd_backward_p(m, n) * unit_roundoff("float64"))


def scalar_rtol(dtype: Any = "float64", ops: int = 1) -> float:
    """Relative error of a short chain of ``ops`` scalar operations: ``C_SCALAR * ops * eps``."""
    return C_SCALAR * max(int(ops), 1) * eps(dtype)


def reference_atol(shape: tuple[int, ...], sigma: float) -> float:
    """Error of ``lipbench.matrices.reference_norm`` (float64 SVD of the stored matrix)."""
    return svd_atol("float64", shape, sigma)


def monotone_slack(dtype: Any, shape: tuple[int, ...], value: float) -> float:
    """How far a mathematically non-decreasing computed sequence (power-iteration
    estimates) may step down by rounding: one matvec's error relative to ``value``."""
    m, n = _dims(shape)
    return C_MATVEC * max(m, n) * eps(dtype) * abs(value) if math.isfinite(value) else math.inf
