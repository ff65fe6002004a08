"""Pieces the Lanczos loops share: BLAS vector norms, the tridiagonal top
eigenpair, the check schedule of the stopping test, the orthonormal basis."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from scipy.linalg import get_blas_funcs, get_lapack_funcs

from .. import theory
from ..notes import Note, note
from .plan import CHECK_WARMUP

__all__ = ["vector_norm", "top_eigenpair", "bidiagonal_ritz", "CheckSchedule", "Basis", "stop_test", "maxiter_note"]


@functools.cache
def _nrm2(dtype: np.dtype) -> Any:
    """BLAS ``snrm2`` / ``dnrm2`` (scaled: no overflow or underflow in the squares)."""
    return get_blas_funcs("nrm2", dtype=dtype)


def vector_norm(xp: Any, x: Any) -> float:
    """``||x||`` of a vector: BLAS nrm2 for a float NumPy vector (a fraction of
    ``numpy.linalg.vector_norm``'s call overhead, which a Lanczos step pays
    three times), the namespace's ``vector_norm`` elsewhere."""
    if isinstance(x, np.ndarray) and x.ndim == 1 and x.dtype in (np.float32, np.float64):
        return float(_nrm2(x.dtype)(x))
    return float(xp.linalg.vector_norm(x))


@functools.cache
def _stebz_stein() -> tuple[Any, Any]:
    """LAPACK's float64 ``stebz`` (bisection) and ``stein`` (inverse iteration), looked up once."""
    return tuple(get_lapack_funcs(("stebz", "stein"), (np.ones(1),)))


def top_eigenpair(d: np.ndarray, e: np.ndarray) -> tuple[float, np.ndarray]:
    """The largest eigenvalue of the symmetric tridiagonal matrix with
    diagonal ``d`` and off-diagonal ``e`` (host float64) and its unit
    eigenvector: LAPACK bisection (``stebz``, by index) and inverse iteration
    (``stein``) called directly -- what ``scipy.linalg.eigh_tridiagonal``
    does, without its per-call checks, which cost more than the solve at the
    sizes a Lanczos run reaches.  Not ``stemr``:
    asked for the top index only it returned the middle eigenvalue of
    ``diag(17, 17, 17)`` with off-diagonal ``(1.2e-7, 0)``.  Falls back to
    ``eigh_tridiagonal`` if LAPACK reports a failure.  Measured cost:
    ``docs/methods.md``, "Tridiagonal eigensolver".
    """
    k = d.shape[0]
    if k == 1:
        return float(d[0]), np.ones(1)
    stebz, stein = _stebz_stein()
    d = np.asarray(d, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    m, w, iblock, isplit, info = stebz(d, e, 2, 0.0, 0.0, k, k, 0.0, "B")
    if info == 0 and m == 1:
        z, info = stein(d, e, w[:1], iblock, isplit)
        if info == 0 and math.isfinite(w[0]):
            return float(w[0]), z[:, 0]
    from scipy.linalg import eigh_tridiagonal

    lam, Q = eigh_tridiagonal(d, e, select="i", select_range=(k - 1, k - 1))
    return float(lam[-1]), Q[:, -1]


class CheckSchedule:
    """When a Lanczos run solves its tridiagonal eigenproblem for the stopping
    test: every step for the first ``warmup`` steps (and always when a
    history is recorded); after that, from the rate at which the error bound
    fell since the previous check, the steps still needed to reach ``tol``
    are predicted and the next check comes after half of them (at least the
    next step).  Lanczos converges at least as fast as that rate predicts
    (its rate improves), so the run stops within a step or two of where
    checking every step would stop it, while the solves -- which at small
    sizes cost about as much as the products -- drop to a few.  Deterministic:
    the schedule depends on the error bounds only.  What it adds and saves:
    ``docs/methods.md``, "Check schedule".
    """

    CAP = 5

    def __init__(self, tol: float, every_step: bool = False, warmup: int = CHECK_WARMUP):
        self.tol, self.every_step, self.warmup = tol, every_step, warmup
        self.next = 1
        self.last: tuple[int, float] | None = None

    def due(self, k: int) -> bool:
        return self.every_step or k >= self.next

    def record(self, track: Any, op: Any, k: int, theta: float, err: float,
               exhausted: bool) -> tuple[bool, bool, tuple[Note, ...]]:
        """A host loop's check at step k: the history row, the schedule's next
        check, and :func:`stop_test`'s (stop, converged, notes)."""
        track.add(op, k, theta, theta, math.inf, err)
        self.checked(k, err)
        return stop_test(exhausted, theta, err, self.tol)

    def checked(self, k: int, err: float) -> None:
        self.next = k + 1
        last, self.last = self.last, (k, err)
        if k < self.warmup or last is None or not (0.0 < err < last[1] < math.inf) or self.tol <= 0:
            return
        rate = (err / last[1]) ** (1.0 / (k - last[0]))
        if rate >= 1.0 or err <= self.tol:
            return
        needed = math.log(self.tol / err) / math.log(rate)
        self.next = k + max(1, min(int(needed / 2), k // self.CAP))


class Basis:
    """Rows of orthonormal vectors in a growing buffer (backend arrays)."""

    def __init__(self, xp: Any, length: int, dtype: Any):
        self.xp, self.length, self.dtype = xp, length, dtype
        self.buf = xp.zeros((16, length), dtype=dtype)
        self.k = 0

    def append(self, x: Any) -> None:
        if self.k == self.buf.shape[0]:
            grown = self.xp.zeros((2 * self.k, self.length), dtype=self.dtype)
            grown[: self.k, :] = self.buf
            self.buf = grown
        self.buf[self.k, :] = x
        self.k += 1

    @property
    def rows(self) -> Any:
        return self.buf[: self.k, :]

    def orthogonalize(self, x: Any) -> Any:
        """Classical Gram-Schmidt, twice (CGS2): x minus its projection on the rows."""
        if self.k == 0:
            return x
        Q = self.rows
        x = x - (Q @ x) @ Q
        return x - (Q @ x) @ Q

    def orthogonalize_dgks(self, x: Any) -> tuple[Any, float]:
        """Classical Gram-Schmidt with a second pass only when the
        Daniel-Gragg-Kaufman-Stewart test asks for it (the first pass removed
        more than 1 - 1/sqrt(2) of x's norm; otherwise one pass already left x
        orthogonal to the rows to working accuracy).  Returns x and its norm."""
        xp = self.xp
        before = vector_norm(xp, x)
        if self.k == 0:
            return x, before
        Q = self.rows
        x = x - (Q @ x) @ Q
        after = vector_norm(xp, x)
        if after >= before / math.sqrt(2):
            return x, after
        x = x - (Q @ x) @ Q
        return x, vector_norm(xp, x)


def bidiagonal_ritz(a: np.ndarray, b: np.ndarray, beta_next: float) -> tuple[float, np.ndarray, float]:
    """The top Ritz triplet of the bidiagonal ``B_k`` (diagonal ``a``,
    superdiagonal ``b``, both host float64) from the tridiagonal ``B^T B``:
    ``(theta, q, err)`` with q the right Ritz vector in the basis ``V_k`` and
    err the residual bound of the pair, ``||A^T u - theta v|| = beta_{k+1}
    |p_k|`` with ``p_k = a_k q_k / theta``."""
    d = a * a + np.concatenate([[0.0], b * b])
    e = a[:-1] * b
    lam, q = top_eigenpair(d, e)
    theta = math.sqrt(max(lam, 0.0))
    if theta <= 0:
        return theta, q, math.inf
    p_last = a[-1] * q[-1] / theta
    res = abs(beta_next * p_last)
    return theta, q, theory.residual_error(theta, theta * res)


def stop_test(exhausted: bool, theta: float, err: float, tol: float) -> tuple[bool, bool, tuple[Note, ...]]:
    """(stop, converged, notes) after a Lanczos run solved its stopping
    test: an exhausted or invariant Krylov space stops it (converged unless
    theta is 0: the start vector lies in the null space); otherwise the
    error bound meeting tol does."""
    if exhausted:
        return True, theta > 0, (note("krylov-exhausted"),)
    return err <= tol, err <= tol, ()


def maxiter_note(maxiter: int, memory: str = "") -> Note:
    """What a Lanczos run that used up ``maxiter`` says (one code, so that a
    route of several runs can restate it with the caller's cap)."""
    return note("maxiter", maxiter=maxiter, memory=memory)
