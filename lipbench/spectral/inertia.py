"""A deterministic, rounding-aware upper bound on sigma_max: the inertia certificate.

What it proves.  With ``N = min(m, n)`` and ``G`` the Gram matrix on the
smaller side (``A^T A`` when m >= n, else ``A A^T``), ``sigma_max(A) < t`` if
and only if ``t^2 I - G`` is positive definite.  :func:`inertia_test` decides
that in floating point with one Cholesky factorization, every rounding error
accounted for: ``True`` proves ``sigma_max(A) < t``; ``False`` proves nothing.
:func:`inertia_upper` places t just above a lower bound (an estimate's
``lower``), so one factorization certifies a bracket as tight as the estimate
(:func:`.certify.certify_upper` is its public, validated face).

The total shift.  ``G~ = fl(G)`` is formed in float64 (float16/32 input is
converted to float64 exactly), u = 2^-53, eta = 2^-1074 (gradual underflow),
``gamma_k = k u / (1 - k u)``.

1. Gram rounding (Higham, *Accuracy and Stability of Numerical Algorithms*,
   2nd ed., Thm 3.5 and its underflow model, sec. 2.1): entrywise
   ``|G~ - G| <= gamma_m |A|^T |A| + m eta``, whatever the summation order, so
   ``||G~ - G||_2 <= g = gamma_m ||A||_F^2 + N m eta``, with ``||A||_F^2``
   bounded from above by ``(sum_i G~_ii + N m eta) / (1 - gamma_m)``
   (:func:`lipbench._rounding.gram_error`, :func:`~lipbench._rounding.fro2_from_trace`).
2. Cholesky (S. M. Rump, "Verification of positive definiteness", BIT 46
   (2006) 433-452, Thm 2.3 and Cor. 2.4; used for the spectral norm in
   "Verified bounds for singular values ...", BIT 51 (2011)): if floating-point
   Cholesky of a symmetric float matrix ``M~`` runs to completion, then
   ``x^T M~ x > -c x^T x`` with
   ``c = gamma_{N+1} / (1 - gamma_{2N+2}) tr(M~) + 4 eta N (2(N+1) + max_i M~_ii)``
   (the underflow term is the one of P. Roux's formal proof of the corollary).
   Rump's analysis covers any summation order, blocked or not, with or without
   fused multiply-add; we take ``gamma_{N+2}`` for ``gamma_{N+1}`` (and
   ``gamma_{2N+4}``) so that one more rounding per entry is covered: BLAS
   triangular solves multiply by a computed reciprocal of the pivot.
3. The factored matrix has off-diagonal ``-G~_ij`` and diagonal
   ``M~_ii <= t^2 - G~_ii - s`` with ``s = g + c``: ``fl(t t)`` and each
   subtraction are stepped one float toward -inf, which puts every rounded
   value below the exact one; ``tr(M~) <= sum_i (t^2 - G~_ii)`` and
   ``max M~_ii <= t^2`` bound c before M~ exists.

Then ``t^2 I - G = M~ + D + (G~ - G)`` with ``D = diag(t^2 - G~_ii - M~_ii) >= s I``,
so ``lambda_min(t^2 I - G) > -c + s - g >= 0``.

Floor.  Relative to t^2 the shift is ``gamma_m r + kappa_N (N - r)`` with
``r = ||A||_F^2 / t^2`` in (0, N] and ``kappa_N = gamma_{N+2}/(1 - gamma_{2N+4})``
(plus a few u for the diagonal's roundings and eta terms), at most
``q = N max(gamma_m, kappa_N)`` for any matrix; no t with
``t^2 - sigma^2 < s`` is certified except by favourable rounding of G~, so
the certified relative width cannot go below ``1 / sqrt(1 - q) - 1 ~ q / 2``
(:func:`certificate_floor`; :func:`inertia_floor` for one matrix's r).

The vector.  A test that passes leaves the Cholesky factor of
``M~ ~ t'^2 I - G``, whose smallest eigenvalue belongs to G's top
eigenvector; two solves with it (inverse iteration) give that vector, and
``||A v|| / ||v||`` in float64 with its rounding subtracted is a certified
lower bound as tight as the upper one (:func:`top_vector`).

Cost: the Gram product (m N^2 flops with BLAS ``dsyrk`` on NumPy) and one
Cholesky (N^3 / 3 flops) per tested t; the Gram matrix is reused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import array_api_compat
import numpy as np

from .. import backends as _backends
from .._rounding import U64 as U
from .._rounding import abs_sum_upper, fro2_from_trace, gram_error, norm_bounds, rump_shift, term, up
from ._floors import certificate_floor, inertia_floor
from ._scaling import pow2_exponent, scale_array

__all__ = [
    "Certificate",
    "inertia_upper",
    "gram_of",
    "inertia_test",
    "verify_positive_definite",
    "certificate_floor",
    "inertia_floor",
    "gram_error",
    "rump_shift",
]

#: |max entry| range used as given; outside it A is scaled by a power of two
SAFE_MAXABS = (2.0**-100, 2.0**100)
SEARCHES = ("none", "bisect")
#: inverse-iteration solves behind the certificate's vector
INVERSE_STEPS = 2


def _down(x: Any) -> Any:
    """One float toward -inf (the diagonal's steps), unless a test dropped them."""
    return np.nextafter(x, -np.inf) if term("diagonal_steps") else x


@dataclass(frozen=True)
class Certificate:
    """A proven ``sigma_max(A) <= upper``.

    ``method``: "inertia" (shifted Cholesky of ``t^2 I - G``), "gram-iteration"
    or "svd"; ``deterministic``: the bound involves no random start;
    ``holds``: the test at the requested width passed (for "inertia": False
    means the estimate's lower bound was not within ``tol`` of sigma_max, a
    missed top singular vector, and ``upper`` is a looser valid bound);
    ``tests``: Cholesky factorizations tried; ``detail``: what happened;
    ``vector``: for "inertia" when a test passed, G's top eigenvector from
    inverse iteration (a right vector of A when ``side == "right"``, else a
    left one), for a certified lower bound.
    """

    upper: float
    method: str
    deterministic: bool
    holds: bool
    tests: int
    detail: str
    vector: Any = None
    side: str = "right"


# ---------------------------------------------------------------- the Gram matrix
@dataclass
class _Gram:
    """``-fl(G)`` (numpy: upper triangle, Fortran order; else symmetric) of A / scale."""

    neg: Any
    diag: np.ndarray  # fl(G)_ii on the host
    m: int
    n: int
    scale: float  # A = scale * A_scaled, a power of two
    scale_err: float  # bound on ||A / scale - A_scaled||_2 (scaling down into subnormals)
    xp: Any
    numpy: bool
    a: Any = None  # the scaled float64 matrix
    spent: bool = False  # factored in place: neg no longer holds -fl(G)

    @property
    def k(self) -> int:
        return min(self.m, self.n)

    def fro2_up(self) -> float:
        return fro2_from_trace(up(math.fsum(self.diag.tolist())), self.m, self.n)


def gram_record(G: Any, diag: np.ndarray, m: int, n: int, xp: Any) -> _Gram:
    """The record of a Gram matrix ``G`` (N x N on the smaller side, float64,
    computed elsewhere in any order) of an m x n matrix that needs no scaling,
    with its diagonal ``diag`` on the host; the test reads its upper triangle."""
    if xp is np or array_api_compat.is_numpy_array(G):
        return _Gram(np.asfortranarray(-np.asarray(G)), diag, m, n, 1.0, 0.0, np, True)
    return _Gram(-(xp.triu(G) + xp.matrix_transpose(xp.triu(G, k=1))), diag, m, n, 1.0, 0.0, xp, False)


def _to_float64(A: Any, name: str = "A") -> tuple[Any, Any, bool]:
    xp = array_api_compat.array_namespace(A)
    if A.ndim != 2 or 0 in tuple(A.shape):
        raise ValueError(f"{name} has shape {tuple(A.shape)}; the certificate needs a non-empty 2-D matrix")
    dt = str(A.dtype).split(".")[-1].strip("'>")
    if dt not in ("float16", "float32", "float64"):
        raise TypeError(f"{name} has dtype {dt!r}; the certificate needs float16, float32 or float64 "
                        "(convert integers with astype(float64), exact below 2**53)")
    is_np = array_api_compat.is_numpy_array(A)
    if is_np:
        return np.asarray(A, dtype=np.float64), np, True
    return (A if dt == "float64" else xp.astype(A, xp.float64)), xp, False


def _gram(A: Any) -> _Gram | None:
    """The Gram matrix of A (scaled by a power of two when its largest entry is
    outside :data:`SAFE_MAXABS`); None for the zero matrix.  Raises on NaN/Inf."""
    a, xp, is_np = _to_float64(A)
    maxabs = float(xp.max(xp.abs(a)))
    if not math.isfinite(maxabs):
        raise ValueError("A contains NaN or Inf; sigma_max is undefined")
    if maxabs == 0.0:
        return None
    scale, scale_err = 1.0, 0.0
    if not SAFE_MAXABS[0] <= maxabs <= SAFE_MAXABS[1]:
        e = pow2_exponent(maxabs)
        a, scale_err = scale_array(xp, a, e, "float64")
        scale = math.ldexp(1.0, e)
    return gram_of(a, scale, scale_err)


def gram_of(a: Any, scale: float = 1.0, scale_err: float = 0.0) -> _Gram:
    """The Gram record of a float64 matrix already validated: finite, not zero,
    its largest entry within :data:`SAFE_MAXABS` (``scale``, ``scale_err``: the
    power of two it was divided by, and that division's error).  Nothing about
    ``a`` is checked again: the driver's operator holds such a matrix."""
    xp = array_api_compat.array_namespace(a)
    is_np = isinstance(a, np.ndarray)
    m, n = (int(d) for d in a.shape)
    if is_np:
        from scipy.linalg import blas

        # BLAS reads an F-ordered operand without a copy: pass A^T for C-ordered A
        if not (a.flags.c_contiguous or a.flags.f_contiguous):
            a = np.ascontiguousarray(a)
        op, flip = (a.T, False) if a.flags.c_contiguous else (a, True)
        # dsyrk: trans=0 -> op op^T, trans=1 -> op^T op; want the smaller side
        want_op_opT = (m >= n) != flip
        neg = blas.dsyrk(-1.0, op, trans=0 if want_op_opT else 1, lower=0)
        diag = -np.diagonal(neg).copy()
    else:
        g = a.T @ a if m >= n else a @ a.T
        g = xp.triu(g) + xp.triu(g, k=1).T  # exactly symmetric (adds zeros)
        neg = -g
        diag = np.asarray(_backends.to_numpy(xp.linalg.diagonal(g)), dtype=np.float64)
    if not np.all(np.isfinite(diag)):
        raise ValueError("the Gram matrix of A overflows; scale A by a power of two")
    return _Gram(neg, diag, m, n, scale, scale_err, xp, is_np, a)


# ----------------------------------------------------------- the factorization
def _cholesky(gram: _Gram, newdiag: np.ndarray, keep: bool) -> Any:
    """The Cholesky factor of the matrix with off-diagonal ``gram.neg`` and
    diagonal ``newdiag`` when the factorization runs to completion, else None
    (``keep``: leave ``gram.neg`` intact).  NumPy: the upper factor R (M = R^T R);
    elsewhere the lower factor L (M = L L^T)."""
    k = gram.k
    if gram.spent:
        raise RuntimeError("this Gram record was factored in place (keep=False); form it again to test another t")
    if gram.numpy:
        from scipy.linalg import lapack

        M = np.array(gram.neg, order="F") if keep else gram.neg
        gram.spent = not keep
        M.flat[:: k + 1] = newdiag
        R, info = lapack.dpotrf(M, lower=0, clean=0, overwrite_a=1)
        return R if info == 0 else None
    xp = gram.xp
    idx = xp.arange(k)
    d = xp.asarray(newdiag, dtype=xp.float64, device=array_api_compat.device(gram.neg))
    M = xp.where(idx[:, None] == idx[None, :], d[None, :], gram.neg)
    try:
        if array_api_compat.is_cupy_array(M):  # cuSOLVER reports failure only when asked
            import cupyx

            with cupyx.errstate(linalg="raise"):
                L = xp.linalg.cholesky(M)
        else:
            L = xp.linalg.cholesky(M)
    except (ValueError, RuntimeError, ArithmeticError):  # numpy's LinAlgError is a ValueError
        return None
    dl = xp.linalg.diagonal(L)
    return L if bool(xp.all(xp.isfinite(L))) and bool(xp.all(dl > 0)) else None


def shifted_diagonals(diag: np.ndarray, t: np.ndarray, m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(d, s)``: the diagonals ``d_b = t_b^2 - fl(G_b)_ii - s_b`` the test factors, for a batch of
    computed Gram diagonals ``diag`` (B, N) of m x n matrices at ``t`` (B,):
    every step rounded toward -inf, s from :func:`lipbench._rounding.gram_error`
    and :func:`~lipbench._rounding.rump_shift` bounded before the factorization
    exists (``tr(M~) <= sum_i (t^2 - G~_ii)``, ``max M~_ii <= t^2``); NaN rows
    of d where an entry is not positive (no test), and the shifts s."""
    k = diag.shape[-1]
    with np.errstate(over="ignore", invalid="ignore"):
        t2 = t * t
        t2_up = np.nextafter(t2, np.inf)
        x = _down(_down(t2)[:, None] - diag)  # <= t^2 - G~_ii
        trace_up = abs_sum_upper(np.sum(np.nextafter(t2_up[:, None] - diag, np.inf), axis=-1), k)
        fro2 = fro2_from_trace(abs_sum_upper(np.sum(diag, axis=-1), k), m, n)
        s = up(gram_error(fro2, m, n) + rump_shift(trace_up, t2_up, k))
        newdiag = _down(x - s[:, None])
        valid = np.isfinite(t2) & (t2 >= 2.0**-1000) & np.all(x > 0, axis=-1) & np.all(newdiag > 0, axis=-1)
    return np.where(valid[:, None], newdiag, np.nan), s


def _shifted_diagonal(gram: _Gram, t: float) -> np.ndarray | None:
    """:func:`shifted_diagonals` of one matrix; None when it gives no test."""
    d = shifted_diagonals(gram.diag[None, :], np.array([t], dtype=np.float64), gram.m, gram.n)[0][0]
    return None if np.isnan(d[0]) else d


def _test(gram: _Gram, t: float, keep: bool) -> Any:
    """One factorization; a factor (not None) proves sigma_max(A_scaled) < t
    (see the module docstring)."""
    newdiag = _shifted_diagonal(gram, t)
    return None if newdiag is None else _cholesky(gram, newdiag, keep)


def top_vector(gram: _Gram, factor: Any, rng_seed: int = 0) -> Any:
    """G's top eigenvector from the factor of a passed test: ``INVERSE_STEPS``
    solves with ``t'^2 I - G`` (whose smallest eigenvalue is ``t'^2 -
    sigma_max^2``) from a fixed random start; None if a solve breaks down (the
    caller then has no tight lower bound, never a wrong one)."""
    xp = gram.xp
    x = np.random.default_rng(rng_seed).standard_normal(gram.k)
    if gram.numpy:
        from scipy.linalg import lapack

        for _ in range(INVERSE_STEPS):
            x, info = lapack.dpotrs(factor, x, lower=0)
            if info != 0 or not np.all(np.isfinite(x)):
                return None
            x = x / np.max(np.abs(x))  # (no square to overflow)
        return x
    xv = xp.asarray(x, dtype=xp.float64, device=array_api_compat.device(factor))
    try:
        for _ in range(INVERSE_STEPS):  # L L^T x = b: two solves with the triangular factor
            xv = xp.linalg.solve(xp.matrix_transpose(factor), xp.linalg.solve(factor, xv))
            if not bool(xp.all(xp.isfinite(xv))):
                return None
            xv = xv / xp.max(xp.abs(xv))
    except (ValueError, RuntimeError, ArithmeticError):  # numpy's LinAlgError is a ValueError
        return None
    return xv


def inertia_test(A: Any, t: float) -> bool:
    """One shifted Cholesky factorization; True proves ``sigma_max(A) < t``.

    A: a real float 2-D array (NumPy, CuPy or any array-API array); the caller's
    array is not modified.  False proves nothing (t may lie below sigma_max or
    within the floor of it, :func:`inertia_floor`).
    """
    t = float(t)
    if math.isnan(t):
        raise ValueError("t is NaN")
    gram = _gram(A)
    if gram is None:
        return t > 0
    return _test(gram, _scaled_t(gram, t), keep=False) is not None


def _scaled_t(gram: _Gram, t: float) -> float:
    """t in the scaled matrix's units, lowered by the scaling's error."""
    return _lowered(gram, t / gram.scale)


def _lowered(gram: _Gram, ts: float) -> float:
    """``ts`` (scaled units) lowered by the scaling's error: ``sigma(A/s) <= sigma(A_s) + err``."""
    return math.nextafter(ts * (1 - 2 * U) - gram.scale_err, 0.0) if gram.scale_err else ts


def verify_positive_definite(M: Any) -> bool:
    """Rump's test for a symmetric float64 matrix: Cholesky of ``M - c I`` (c
    from :func:`rump_shift`, the diagonal rounded down) runs to completion.
    True proves M positive definite."""
    xp = array_api_compat.array_namespace(M)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"M has shape {tuple(M.shape)}; expected a non-empty square matrix")
    if str(M.dtype).split(".")[-1] != "float64":
        raise TypeError(f"M has dtype {M.dtype}; expected float64")
    if not bool(xp.all(M == M.T)):  # NaN != NaN: named apart from asymmetry
        if not bool(xp.all(xp.isfinite(M))):
            raise ValueError("M contains NaN or Inf")
        raise ValueError("M is not exactly symmetric")
    if not bool(xp.all(xp.isfinite(M))):
        raise ValueError("M contains NaN or Inf")
    k = int(M.shape[0])
    diag = np.asarray(_backends.to_numpy(xp.linalg.diagonal(M)), dtype=np.float64)
    if not np.all(diag > 0):
        return False
    c = rump_shift(up(math.fsum(diag.tolist())), float(diag.max()), k)
    newdiag = _down(diag - c)
    if not np.all(newdiag > 0):
        return False
    is_np = array_api_compat.is_numpy_array(M)
    neg = np.array(M, order="F") if is_np else M
    gram = _Gram(neg, diag, k, k, 1.0, 0.0, xp, is_np)
    return _cholesky(gram, newdiag, keep=False) is not None


# ---------------------------------------------------------------- the search
def inertia_upper(gram: _Gram | None, lower: float, tol: float, *, search: str = "none",
                  max_tests: int = 8) -> Certificate:
    """A certified upper bound on sigma_max(A) from a lower bound ``lower``,
    from A's Gram record (:func:`_gram` or :func:`gram_of`; None: A is zero);
    arguments validated by the caller (:func:`.certify.certify_upper`).  With
    ``search="none"`` the one factorization overwrites the record's matrix:
    the record is spent and must not be tested again.

    Tests ``t = lower (1 + max(tol, 2 w))`` (w this matrix's
    :func:`inertia_floor`, doubled to leave room for the factorization's own
    rounding), rounded up.  If the factorization fails, ``lower`` was not
    within tol of sigma_max (the estimate missed the top singular vector):
    ``holds=False`` and, with ``search="none"``, ``upper`` is ``||A||_F``
    rounded up.  ``search="bisect"`` then widens t by factors of 16 until a
    test passes (at most up to ``||A||_F``) and bisects the width
    geometrically, within ``max_tests`` factorizations in all, returning the
    smallest t proven.
    """
    lower, tol = float(lower), float(tol)
    if gram is None:
        return Certificate(0.0, "inertia", True, True, 0, "A is the zero matrix: sigma_max = 0")
    fro_up = up(up(up(math.sqrt(gram.fro2_up())) * gram.scale) + gram.scale_err * gram.scale)
    base = lower / gram.scale
    if base <= 0:  # no estimate: start from the largest column norm
        base = norm_bounds(float(gram.diag.max()) * (1 - 2 * U), max(gram.m, gram.n))[0]
    ratio = gram.fro2_up() / (base * base)
    w = max(tol, 2 * inertia_floor(gram.m, gram.n, ratio))
    side = "right" if gram.m >= gram.n else "left"

    def attempt(width: float, keep: bool) -> tuple[float | None, Any]:
        ts = up(base * (1 + width))
        factor = _test(gram, _lowered(gram, ts), keep)
        return (None, None) if factor is None else (up(ts * gram.scale), factor)

    tests = 1
    first, factor = attempt(w, keep=search == "bisect")
    if first is not None:
        return Certificate(min(first, fro_up), "inertia", True, True, tests,
                           f"t = lower (1 + {w:.3g}) proven by one factorization", top_vector(gram, factor), side)
    if search == "none":
        return Certificate(fro_up, "inertia", True, False, tests,
                           f"the test at t = lower (1 + {w:.3g}) failed: lower is not within tol of sigma_max "
                           "(or below the certificate's floor); upper is ||A||_F", side=side)
    lo, hi, best, vec = w, None, fro_up, None
    while tests < max_tests and hi is None:
        lo_next = lo * 16
        if base * (1 + lo_next) * gram.scale >= fro_up:
            break
        tests += 1
        got, factor = attempt(lo_next, keep=True)
        if got is None:
            lo = lo_next
        else:
            hi, best, vec = lo_next, min(got, fro_up), top_vector(gram, factor)
    while hi is not None and tests < max_tests and hi / lo > 2:
        mid = math.sqrt(lo * hi)
        tests += 1
        got, factor = attempt(mid, keep=True)
        if got is None:
            lo = mid
        else:
            hi, best, vec = mid, min(got, best), top_vector(gram, factor)
    how = "||A||_F (no test passed below it)" if hi is None else f"t = lower (1 + {hi:.3g})"
    return Certificate(best, "inertia", True, False, tests,
                       f"the test at t = lower (1 + {w:.3g}) failed; smallest proven: {how}", vec, side)
