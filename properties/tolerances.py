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
* sums of non-negative terms (norms, traces, the one-pass summary): in any
  order, relative error ``gamma_c`` for c terms (Higham 4.2), so two computed
  sums, or a sum and a bound rounded outward from it, differ by ``2 gamma_c``.
* products compared entry by entry (one order against another): Higham's
  componentwise bound ``gamma_n |A| |x|``, and for ``A^T (A x)``
  ``(gamma_m + gamma_n) |A|^T |A| |x|``.

Where a number is not a rounded result but the outcome of an iteration or a
search, its tolerance is what the algorithm guarantees, with the reference:
power iteration's convergence (:func:`power_rtol`), a central difference's
truncation (:func:`central_difference_atol`), Brent's stopping rule
(:func:`located_max_rtol`), ECLipsE-Fast's relative lift ``tau``
(:func:`eclipse_rtol`).  A test that compares a result with the tol it asked
the library for holds that tol in a name: it is an input, not a tolerance.
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
    "C_SUM",
    "sum_rtol",
    "matvec_bound",
    "normal_matvec_bound",
    "eigh_atol",
    "reference_rtol",
    "power_rtol",
    "central_difference_atol",
    "located_max_rtol",
    "eclipse_rtol",
    "lipsdp_rtol",
    "LIPSDP_SOLVER_RTOL",
    "LIPSDP_TARGET_RTOL",
    "GREY_SPREAD",
]

C_MATVEC = 2.0  # gamma_n = n u / (1 - n u) <= 2 n u  -> n eps
C_GRAM = 2.0  # (m + n) eps <= 2 max(m, n) eps
C_SVD = 8.0  # p(m, n) ~ max(m, n) with a small constant; 8 covers LAPACK's bidiagonal QR/divide and conquer
C_SCALAR = 8.0  # a handful of ulps for a short chain of scalar operations
C_SUM = 2.0  # gamma_c <= 2 c u = c eps for a sum of c non-negative terms; two sums differ by twice that
#: not rounding: how far apart a colour's red, green and blue (in [0, 1]) may be for the eye to read
#: it as grey (the report's reference methods are drawn in grey or black)
GREY_SPREAD = 0.05


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


def sum_rtol(dtype: Any, count: int) -> float:
    """Relative distance between two computed sums of the same ``count``
    non-negative terms (any order, Higham 4.2), or between one and a bound
    rounded outward from it (``lipbench``'s norm and abs-sum bounds):
    ``C_SUM * count * eps``.  A norm (the square root of such a sum) is within
    half of it, so this covers norms, and unit vectors' norms, too."""
    return C_SUM * max(int(count), 1) * eps(dtype)


def matvec_bound(dtype: Any, A: Any, x: Any) -> np.ndarray:
    """Componentwise bound on ``|fl(A x) - A x|`` (Higham 3.5: ``gamma_n |A| |x|``),
    ``C_MATVEC n eps |A| |x|``: also what two computations of ``A x`` in other
    orders (blocks, threads) may differ by, entry by entry.  Tighter than
    :func:`matvec_atol` where entries cancel in ``A x`` but not in ``|A| |x|``."""
    a, v = np.abs(np.asarray(A, dtype=np.float64)), np.abs(np.asarray(x, dtype=np.float64))
    return C_MATVEC * a.shape[-1] * eps(dtype) * (a @ v)


def normal_matvec_bound(dtype: Any, A: Any, x: Any) -> np.ndarray:
    """Componentwise bound on ``|fl(A^T (A x)) - A^T A x|``: ``A x`` errs by
    ``gamma_n |A| |x|``, which ``A^T`` carries, and the second product adds
    ``gamma_m |A^T| |A x|``: ``C_MATVEC (m + n) eps |A|^T (|A| |x|)``."""
    a, v = np.abs(np.asarray(A, dtype=np.float64)), np.abs(np.asarray(x, dtype=np.float64))
    m, n = _dims(a.shape)
    return C_MATVEC * (m + n) * eps(dtype) * (a.T @ (a @ v))


def eigh_atol(dtype: Any, n: int, norm: float) -> float:
    """Bound on the error of each computed eigenvalue of a symmetric (or
    tridiagonal) n x n matrix of 2-norm ``norm``: the eigensolver is backward
    stable (Wilkinson) and by Weyl each eigenvalue moves by at most the
    backward error, ``C_SVD * n * eps * norm`` (the SVD's constant)."""
    return C_SVD * max(int(n), 1) * eps(dtype) * norm


def reference_rtol(shape: tuple[int, ...]) -> float:
    """Relative error of a float64 SVD's sigma_max (``numpy.linalg.norm(A, 2)``,
    ``matrices.reference_norm``): the backward-error factor the ``svd`` method
    itself proves, ``svd_backward_p(m, n) u64 = 8 (max(m, n) + 4) u64`` (gesdd's
    float64 sigma_max of a 2 x 2 matrix was seen 13.2 u off)."""
    from lipbench.testing import svd_backward_p, unit_roundoff

    m, n = _dims(shape)
    return svd_backward_p(m, n) * unit_roundoff("float64")


def power_rtol(dtype: Any, shape: tuple[int, ...], ratio: float, steps: int, tan0: float) -> float:
    """How far below sigma_1, relatively, power iteration's estimate ``||W v_k||``
    (= ``u_k^T W v_k``) may sit after ``steps`` steps from a start u_0 at angle
    theta_0 to the top left singular vector (``tan0 = tan theta_0``, ``ratio =
    sigma_2 / sigma_1``): v_k's tangent to the top right singular vector is at
    most ``tan0 ratio^(2 steps - 1)``, the Rayleigh quotient of ``W^T W`` errs
    relatively by at most its square (Golub & Van Loan, 4th ed., 8.2.1), and
    sigma, its square root, by no more; plus one product's rounding relative to
    sigma (:func:`monotone_slack`'s)."""
    m, n = _dims(shape)
    return tan0 * tan0 * ratio ** (2 * (2 * steps - 1)) + C_MATVEC * max(m, n) * eps(dtype)


def central_difference_atol(h: float, value_atol: float, third_derivative: float) -> float:
    """Error of the central difference ``(f(x + h) - f(x - h)) / (2 h)`` as the
    derivative at x: Taylor's remainder ``h^2 / 6`` times a bound on the third
    derivative, plus the two values' rounding (each within ``value_atol``)
    divided by ``2 h``."""
    return h * h / 6 * third_derivative + value_atol / h


def located_max_rtol(extent: float, curvature: float, value: float) -> float:
    """How far, relatively, below a smooth maximum ``value`` of g the value at a
    maximiser found by Brent's method (``scipy.optimize.minimize_scalar``,
    ``method="bounded"``) may be: it stops within ``2 (sqrt(eps) |x| + xatol / 3)``
    of the maximiser, at most ``delta = 2 sqrt(eps) max(|x|, 1)`` for any
    ``xatol <= sqrt(eps)`` and ``|x| <= extent``; where the second derivative is
    at most ``curvature`` in size, the value there is at most
    ``curvature delta^2 / 2`` lower; plus a few ulps of evaluating g
    (:func:`scalar_rtol`)."""
    delta = 2 * math.sqrt(eps("float64")) * max(abs(extent), 1.0)
    return curvature * delta * delta / 2 / value + scalar_rtol("float64")


def eclipse_rtol(tau: float, shape: tuple[int, ...]) -> float:
    """How far, relatively, ECLipsE-Fast's certified value may exceed the bound
    it lifts (its closed form; for one hidden layer of slopes in [0, 1], the
    product of the two norms): each ``X_i`` is lowered by a relative ``tau`` of
    its smallest eigenvalue and ``c`` raised by a relative ``tau``, so
    ``sqrt(c)`` grows by ``sqrt((1 + tau) / (1 - tau))``; plus the eigensolvers'
    backward error relative to the value (:func:`svd_atol`'s form; ``shape``,
    the largest weight's)."""
    m, n = _dims(shape)
    return math.sqrt((1 + tau) / (1 - tau)) - 1 + C_SVD * max(m, n) * eps("float64")


def lipsdp_rtol(tau: float) -> float:
    """How far, relatively, LipSDP's verified value may exceed the solver's: the
    verified ``rho`` is the solver's raised by a relative ``tau`` and rounded up,
    then its square root rounded up, so ``sqrt(1 + tau) - 1`` plus a few ulps
    (:func:`scalar_rtol`)."""
    return math.sqrt(1 + tau) - 1 + scalar_rtol("float64", 4)


#: not rounding: how far apart, relatively, two conic solves of one LipSDP problem may land
#: (the SDP keeps a relative margin of 1e-7 over the exact LMI, Clarabel stops at a relative gap
#: of 1e-8 and SCS at 1e-7; 1e-6 is ten times the larger, for sqrt(rho))
LIPSDP_SOLVER_RTOL = 1e-6
#: not rounding: the accuracy target for the certified LipSDP-Neuron value on LipSDP's reference
#: net, relative to its exact constant (LipSDP-Neuron is exact there)
LIPSDP_TARGET_RTOL = 1e-4
