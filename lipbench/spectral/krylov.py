"""Matrix-free Krylov estimators, written once for every array backend.

* :func:`power_iteration` -- power iteration on ``A^T A``.
* :func:`lanczos_bidiagonal` -- Golub-Kahan-Lanczos bidiagonalization of A
  (or, with ``normal=True``, symmetric Lanczos on ``A^T A``).
* :func:`randomized_block_krylov` -- block Krylov iteration (Musco & Musco 2015).

All three only multiply by A and A^T, stop on a bound of the *error* derived
from a residual, and return the final right vector's certified lower bound
(``||A v|| / ||v||`` in float64, rounding subtracted).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
from scipy.linalg import get_blas_funcs, get_lapack_funcs

from .. import backends as _backends
from ._common import (
    KW_FAILURE_PROBABILITY,
    Raw,
    Tracker,
    kw_lanczos_epsilon,
    kw_power_epsilon,
    probabilistic_upper,
    residual_error,
    start_vector,
)
from ._operator import Operator

__all__ = ["power_iteration", "lanczos_bidiagonal", "randomized_block_krylov"]

#: the quadratic error estimate of power iteration is an estimate, not a bound: x4
_QUAD_SAFETY = 4.0


def _host(x: Any) -> np.ndarray:
    return np.asarray(_backends.to_numpy(x), dtype=np.float64)


def _finish_single(op: Operator, v: Any, *, converged: bool, iterations: int, err: float,
                   kw_eps: float | None, message: str = "", tol: float | None = None,
                   w: Any = None, rho: float | None = None) -> Raw:
    """Certify the final vector: lower bound from ``||A v||`` in float64 (reusing
    ``w = A v`` when it was already computed in float64), and -- when the work
    ran in float32 -- verify convergence with the float64 residual (linear
    bound, or power iteration's quadratic estimate when ``rho`` is given)."""
    verified = None
    if w is not None and op.dtype == "float64" and op.linop is None:
        lower, w, v64 = op.certified_lower_from(v, w)
    elif op.dtype != "float64" and tol is not None and (both := op.certified_lower_and_residual(v)) is not None:
        lower, w, v64, verified = both  # one float64 pass, no float64 copy of A
    else:
        lower, w, v64 = op.certified_lower(v)
    value = float(op.xp.linalg.vector_norm(w)) if w is not None else 0.0
    if op.dtype != "float64" and w is not None and tol is not None:
        if verified is None:
            verified = op.residual_bound64(w, v64)
        if rho is not None and rho < 1.0:
            verified = min(verified, _QUAD_SAFETY * 2 * verified * verified / (1 - rho))
        if converged and verified > tol:
            converged = False
            message = (f"the float32 iteration stopped at its own residual bound {err:.3g}, but the float64 "
                       f"residual bounds the error only by {verified:.3g} > tol")
        err = verified
    up_p = probabilistic_upper(value, kw_eps) if kw_eps is not None else None
    return Raw(
        value=value, lower=lower, upper=math.inf, converged=converged, iterations=iterations,
        error_estimate=err, message=message, upper_probabilistic=up_p,
        failure_probability=None if kw_eps is None else KW_FAILURE_PROBABILITY, vector=v64,
    )


# ---------------------------------------------------------------------------
def power_iteration(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                    v0: Any, track: Tracker, **_: Any) -> Raw:
    """Power iteration on ``A^T A``: ``v <- A^T A v / ||A^T A v||``.

    Cost per iteration: one product with A and one with A^T, O(m + n) vector work.
    Estimate: ``theta = ||A v||`` (non-decreasing, always <= sigma_max).
    Stopping rule bounds the error, not the change: with the residual
    ``r = A^T A v - theta^2 v``, the error is at most ``||r|| / (2 theta^2)``
    (some eigenvalue of A^T A lies within ||r|| of theta^2), and once the
    residual decays at a steady rate rho (which estimates lambda_2/lambda_1)
    the quadratic estimate ``||r||^2 / (2 theta^4 (1 - rho))`` applies; rho is
    the largest residual ratio seen over the last quarter of the iterations.
    Measured on Gaussian, gap and geometric spectra the quadratic estimate is
    close to the true error from either side, so it is taken times 4.
    Stacks ``(..., m, n)`` iterate every matrix at once.  The returned
    ``vector`` is the next iterate (one step past the certified one), so that
    ``maxiter=1`` calls chained through ``v0`` keep advancing (2 products per
    call: the float64 certificate reuses the last ``A v``).
    Bounds: lower certified from v; upper from the caller's cheap bound (or,
    for a random start, Kuczynski-Wozniakowski's probabilistic bound).
    """
    xp = op.xp
    maxiter = 1000 if maxiter is None else maxiter
    v = start_vector(op, rng, v0)
    res_log: list[np.ndarray] = []
    err = np.full(op.batch_shape, np.inf)
    converged = False
    k = 0
    w_last = None
    rho_last = None
    for k in range(1, maxiter + 1):
        w = op.matvec(v)
        theta = xp.linalg.vector_norm(w, axis=-1)
        z = op.rmatvec(w)
        r = z - (theta * theta)[..., None] * v
        th = _host(theta)
        rn = _host(xp.linalg.vector_norm(r, axis=-1))
        with np.errstate(divide="ignore", invalid="ignore"):
            lin = np.where(th > 0, rn / (2 * th * th), np.inf)
            res_log.append(rn)
            quad = np.full_like(lin, np.inf)
            if k >= 5:
                window = max(3, k // 4)
                hist = np.stack(res_log[-(window + 1):])
                ratios = hist[1:] / hist[:-1]
                rho = np.nanmax(np.where(np.isfinite(ratios), ratios, 1.0), axis=0)
                rho_last = rho
                ok = rho < 1.0
                quad = np.where(ok & (th > 0), _QUAD_SAFETY * rn * rn / (2 * th**4 * np.where(ok, 1 - rho, 1.0)), np.inf)
        err = np.minimum(lin, quad)
        w_last = w
        if not op.is_batched:
            track.add(op, k, float(th), float(th), math.inf, float(err))
        if bool(np.all(err <= tol)):
            converged = True
            break
        if k == maxiter:
            break
        zn = xp.linalg.vector_norm(z, axis=-1, keepdims=True)
        if bool(xp.any(zn == 0)):
            # v lies in the null space of A (only possible for a warm start or an
            # exact-zero matrix, handled earlier): restart those rows at random.
            fresh = start_vector(op, rng, None)
            z = xp.where(zn == 0, fresh, z)
            zn = xp.linalg.vector_norm(z, axis=-1, keepdims=True)
        v = z / zn
        w_last = None
    # The next iterate A^T A v / ||.|| is already computed: it is the better
    # warm start (one more power step) for a following call.
    ahead = z / xp.linalg.vector_norm(z, axis=-1, keepdims=True) if bool(xp.all(xp.isfinite(z))) else None
    if op.is_batched:
        raw = _finish_batched(op, v, converged=converged, iterations=k, err=err)
    else:
        kw = kw_power_epsilon(op.n, k) if v0 is None else None
        raw = _finish_single(op, v, converged=converged, iterations=k, err=float(err), kw_eps=kw, tol=tol,
                             w=w_last, rho=None if rho_last is None else float(rho_last))
    if ahead is not None and bool(xp.all(xp.linalg.vector_norm(z, axis=-1) > 0)):
        raw.vector = xp.astype(ahead, xp.float64)
    return raw


def _finish_batched(op: Operator, v: Any, *, converged: bool, iterations: int, err: np.ndarray) -> Raw:
    xp = op.xp
    A64 = op.dense64()
    v64 = xp.astype(v, xp.float64)
    v64 = v64 / xp.linalg.vector_norm(v64, axis=-1, keepdims=True)
    op.matvecs += 1
    w = (A64 @ v64[..., None])[..., 0]
    nw = _host(xp.linalg.vector_norm(w, axis=-1))
    u64 = np.finfo(np.float64).eps / 2
    fro = np.sqrt(_host(xp.sum(A64 * A64, axis=(-2, -1))) * (1 + (op.m * op.n + 2) * u64)) * (1 + 2 * u64)
    gamma = (op.n + 2) * u64 / (1 - (op.n + 2) * u64)
    lower = np.maximum(0.0, nw * (1 - 3 * u64) - gamma * fro)
    return Raw(value=nw, lower=lower, upper=fro, converged=converged, iterations=iterations,
               error_estimate=err, vector=v64)


@functools.cache
def _nrm2(dtype: np.dtype) -> Any:
    """BLAS ``snrm2`` / ``dnrm2`` (scaled: no overflow or underflow in the squares)."""
    return get_blas_funcs("nrm2", dtype=dtype)


def _norm(xp: Any, x: Any) -> float:
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


def _top_eigenpair(d: np.ndarray, e: np.ndarray) -> tuple[float, np.ndarray]:
    """The largest eigenvalue of the symmetric tridiagonal matrix with
    diagonal ``d`` and off-diagonal ``e`` (host float64) and its unit
    eigenvector: LAPACK bisection (``stebz``, by index) and inverse iteration
    (``stein``) called directly -- what ``scipy.linalg.eigh_tridiagonal``
    does, without its per-call checks, which cost more than the solve at the
    sizes a Lanczos run reaches (21 against 60 us at k = 40).  Not ``stemr``:
    asked for the top index only it returned the middle eigenvalue of
    ``diag(17, 17, 17)`` with off-diagonal ``(1.2e-7, 0)``.  Falls back to
    ``eigh_tridiagonal`` if LAPACK reports a failure.
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


# ---------------------------------------------------------------------------
class _CheckSchedule:
    """When a Lanczos run solves its tridiagonal eigenproblem for the stopping
    test: every step for the first :attr:`WARMUP` steps (and always when a
    history is recorded); after that, from the rate at which the error bound
    fell since the previous check, the steps still needed to reach ``tol``
    are predicted and the next check comes after half of them (at least the
    next step).  Lanczos converges at least as fast as that rate predicts
    (its rate improves), so the run stops within a step or two of where
    checking every step would stop it, while the solves -- which at small
    sizes cost about as much as the products -- drop to a few.  Deterministic:
    the schedule depends on the error bounds only.
    """

    WARMUP = 6
    CAP = 5

    def __init__(self, tol: float, every_step: bool = False):
        self.tol, self.every_step = tol, every_step
        self.next = 1
        self.last: tuple[int, float] | None = None

    def due(self, k: int) -> bool:
        return self.every_step or k >= self.next

    def checked(self, k: int, err: float) -> None:
        self.next = k + 1
        last, self.last = self.last, (k, err)
        if k < self.WARMUP or last is None or not (0.0 < err < last[1] < math.inf) or self.tol <= 0:
            return
        rate = (err / last[1]) ** (1.0 / (k - last[0]))
        if rate >= 1.0 or err <= self.tol:
            return
        needed = math.log(self.tol / err) / math.log(rate)
        self.next = k + max(1, min(int(needed / 2), k // self.CAP))


class _Basis:
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
        before = _norm(xp, x)
        if self.k == 0:
            return x, before
        Q = self.rows
        x = x - (Q @ x) @ Q
        after = _norm(xp, x)
        if after >= before / math.sqrt(2):
            return x, after
        x = x - (Q @ x) @ Q
        return x, _norm(xp, x)


def _stop_test(exhausted: bool, theta: float, err: float, tol: float) -> tuple[bool, bool, str]:
    """(stop, converged, message) after a Lanczos run solved its stopping
    test: an exhausted or invariant Krylov space stops it (converged unless
    theta is 0: the start vector lies in the null space); otherwise the
    error bound meeting tol does."""
    if exhausted:
        return True, theta > 0, "Krylov space exhausted or invariant: the Ritz value is exact up to rounding"
    return err <= tol, err <= tol, ""


def lanczos_bidiagonal(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                       v0: Any, track: Tracker, work_dtype: str | None = None, gram: bool = False,
                       normal: bool = False, max_basis: int | None = None, engine: str | None = None,
                       **_: Any) -> Raw:
    """Golub-Kahan-Lanczos bidiagonalization on A itself (not on A^T A).

    ``A V_k = U_k B_k``, ``A^T U_k = V_k B_k^T + beta_{k+1} v_{k+1} e_k^T`` with
    B_k upper bidiagonal; the top Ritz triplet (theta, p, q) of B_k has residual
    ``||A^T u - theta v|| = beta_{k+1} |p_k|``.  Both bases are fully
    reorthogonalized (CGS2), so no spurious copies appear.
    Cost per iteration: one product with A, one with A^T, O((m + n) k) for the
    reorthogonalization and O(k) for the Ritz values (tridiagonal eigensolver on
    B^T B, top pair only, at the steps :class:`_CheckSchedule` picks: every
    step early on, then fewer).  Memory: k vectors of each side.
    Stops when the residual bound on the relative error ``beta |p_k| / (2 theta)``
    is at most ``tol`` (robust for clustered top singular values), or when
    the Krylov space is exhausted (exact answer).
    Bounds: lower certified from the Ritz vector ``V_k q``; upper from the
    caller's cheap bound; Kuczynski-Wozniakowski's probabilistic bound for a
    random start.

    ``engine="propack"`` (option; NumPy dense or SciPy sparse input, no
    start vector): the bidiagonalization steps run in SciPy's PROPACK
    (``scipy.sparse.linalg.svds(solver="propack")``, compiled, in the
    matrix's own dtype) -- faster per step than this module's loop where a
    step costs microseconds (small matrices).  Its right vector is then
    certified and its residual verified in float64 exactly as this module's
    own answers are; when the check misses ``tol`` (PROPACK in float32 can
    stop short of a tol near float32 rounding), the normal-operator
    iteration continues in float64 from that vector.

    ``work_dtype="float32"`` (option; dense or sparse float64 input): mixed
    precision -- the Krylov work runs on a float32 copy of A (a product costs
    about half), the Ritz vector is certified and its residual verified with
    the float64 matrix, and if the float64 residual misses ``tol`` the
    iteration continues in float64 from that vector.  float32 input always
    works in float32 and is verified the same way; when the check refuses
    its vector (a tol near or below float32 rounding), it continues in
    float64 on a float64 copy (dense or SciPy sparse input).

    ``gram=True`` (option; dense input): the Gram route for tall or wide A --
    form the small Gram matrix ``A^T A`` (or ``A A^T``) once with one BLAS-3
    product (counted as min(m, n) products with A^T), run the Lanczos
    iteration on it (each step then costs min(m, n)^2 instead of m n), and
    certify and verify the resulting vector with A in float64; if the
    verification misses ``tol``, continue on A from that vector.

    ``normal=True`` (option): symmetric Lanczos on the normal operator
    ``A^T A`` instead of the bidiagonalization -- the same Krylov space of
    right vectors (so the same number of steps), but each step is one
    ``A^T (A v)`` that a C-ordered NumPy matrix computes in a single pass over
    A (:meth:`Operator.normal_matvec`), and only one basis is
    reorthogonalized.  Ritz values of ``A^T A`` lose the small singular values
    to rounding, not the largest: the certificate and the float64 residual
    check are the same as above.  Combines with ``work_dtype``.
    ``max_basis`` (with ``normal=True``): thick restarts (Krylov-Schur) keep
    at most that many basis vectors -- memory ``max_basis * n`` and
    reorthogonalization ``O(n max_basis)`` per step instead of growing with
    every step, for operators whose products are cheap (sparse); more steps
    than without restarts.
    """
    if engine is not None:
        if engine != "propack":
            raise ValueError(f"engine must be None or 'propack'; got {engine!r}")
        if gram or normal or max_basis is not None or work_dtype is not None:
            raise ValueError("engine='propack' runs SciPy's own iteration: it takes none of gram, normal, "
                             "max_basis and work_dtype")
        if v0 is not None:
            raise ValueError("engine='propack' draws its own start vector; v0 is not supported")
        if op.backend != "numpy" or op.linop is not None or op.is_batched:
            raise ValueError("engine='propack' needs a NumPy dense or SciPy sparse matrix")
        return _lanczos_propack(op, tol=tol, maxiter=maxiter, rng=rng, track=track)
    if work_dtype not in (None, "float32", "float64"):
        raise ValueError(f"work_dtype must be 'float32' or 'float64'; got {work_dtype!r}")
    if gram and normal:
        raise ValueError("choose one of gram=True (explicit Gram matrix) and normal=True (implicit A^T A)")
    if max_basis is not None:
        if not normal:
            raise ValueError("max_basis (thick restarts) applies to the normal-operator iteration: pass normal=True")
        if isinstance(max_basis, bool) or int(max_basis) != max_basis or max_basis < 4:
            raise ValueError(f"max_basis must be an integer >= 4; got {max_basis!r}")
        max_basis = int(max_basis)
    if gram:
        if op.dense is None:
            raise ValueError("the Gram route (gram=True) needs a dense matrix")
        return _lanczos_gram(op, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, work_dtype=work_dtype)
    if op.linop is None and (op.dtype == "float32" or (work_dtype == "float32" and op.dtype == "float64")):
        return _lanczos_mixed(op, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, normal=normal,
                              max_basis=max_basis)
    return _lanczos_one(op, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, normal=normal,
                        max_basis=max_basis)


def _lanczos_one(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator, v0: Any,
                 track: Tracker, normal: bool = False, max_basis: int | None = None) -> Raw:
    """One Lanczos run in the operator's own dtype: the normal-operator
    iteration or the bidiagonalization (see :func:`lanczos_bidiagonal`)."""
    if normal:
        return _lanczos_normal(op, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, max_basis=max_basis)
    xp = op.xp
    # The Krylov space is exhausted after n steps (V spans R^n) or, when m < n,
    # after m + 1 steps (U spans R^m after m, so the next alpha vanishes and
    # B_{m+1} carries beta_{m+1}: sigma(B_{m+1}) = sigma(U_m^T A) = sigma(A)).
    kmax = min(op.m + 1, op.n)
    maxiter = min(300, kmax) if maxiter is None else min(maxiter, kmax)
    v = start_vector(op, rng, v0)
    dt = v.dtype
    V = _Basis(xp, op.n, dt)
    U = _Basis(xp, op.m, dt)
    V.append(v)
    alphas: list[float] = []
    betas: list[float] = []  # betas[j] couples alpha_j and alpha_{j+1}
    u_prev = None
    beta = 0.0
    theta, err, q_top = 0.0, math.inf, None
    converged = False
    k = 0
    scale_seen = 0.0
    message = ""
    schedule = _CheckSchedule(tol, every_step=track.enabled)
    for k in range(1, maxiter + 1):
        p = op.matvec(v)
        if u_prev is not None:
            p = p - beta * u_prev
        p = U.orthogonalize(p)
        alpha = _norm(xp, p)
        scale_seen = max(scale_seen, alpha, beta)
        breakdown_tol = 8 * max(op.m, op.n) * op.u * scale_seen
        invariant = alpha <= breakdown_tol
        if invariant:
            alpha = 0.0
            alphas.append(0.0)
            betas.append(0.0)
        else:
            u = p / alpha
            U.append(u)
            alphas.append(alpha)
            r = op.rmatvec(u) - alpha * v
            r = V.orthogonalize(r)
            beta = _norm(xp, r)
            betas.append(beta)
        beta_next = betas[-1]
        exhausted = invariant or beta_next <= breakdown_tol or k == kmax
        if exhausted or k == maxiter or schedule.due(k):
            # Ritz values of B_k from the tridiagonal B^T B (top pair only).
            a = np.asarray(alphas)
            b = np.asarray(betas[:-1])
            d = a * a + np.concatenate([[0.0], b * b])
            e = a[:-1] * b
            lam_top, q_top = _top_eigenpair(d, e)
            theta = math.sqrt(max(lam_top, 0.0))
            p_last = a[-1] * q_top[-1] / theta if theta > 0 else 1.0
            res = abs(beta_next * p_last)
            err = residual_error(theta, theta * res) if theta > 0 else math.inf
            track.add(op, k, theta, theta, math.inf, err)
            schedule.checked(k, err)
            stop, converged, message = _stop_test(exhausted, theta, err, tol)
            if stop:
                break
        if k == maxiter:
            break
        u_prev = U.rows[k - 1, :]
        v = r / beta
        V.append(v)
    kk = len(q_top)
    q = xp.asarray(q_top, dtype=dt)
    ritz = q @ V.rows[:kk, :]
    kw = kw_lanczos_epsilon(op.n, k) if v0 is None else None
    if not converged and k >= maxiter:
        message = f"stopped at maxiter={maxiter} Lanczos steps (memory grows with each step)"
    return _finish_single(op, ritz, converged=converged, iterations=k, err=err, kw_eps=kw, message=message,
                          tol=tol)


def _lanczos_normal(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                    v0: Any, track: Tracker, max_basis: int | None = None) -> Raw:
    """Symmetric Lanczos on ``H = A^T A`` with full reorthogonalization
    (classical Gram-Schmidt, a second pass when the DGKS test asks for it),
    thick-restarted (Krylov-Schur) when ``max_basis`` is given.

    Invariant: ``H V_k = V_k T_k + f b^T`` with V_k orthonormal, f orthogonal
    to it and ``T_k = V_k^T H V_k`` (tridiagonal, ``b = e_k``, until the first
    restart).  The Ritz pair (theta^2, y) of T_k has residual
    ``||H V y - theta^2 V y|| = ||f|| |b^T y|``, bounded as in
    :func:`lanczos_bidiagonal`.  A restart keeps the top ``max_basis // 3``
    Ritz vectors (``V <- V Y_l``, ``T <- diag``, ``b <- Y_l^T b``) and expands
    again from f, so memory and reorthogonalization per step stay bounded.
    Default ``maxiter``: 300 steps without restarts (memory), 3000 with them
    (time: a restarted run needs more steps, and nothing else caps them).
    """
    xp = op.xp
    n = op.n
    restart = max_basis is not None and max_basis < n
    maxiter = (min(300, n) if not restart else 3000) if maxiter is None else maxiter
    if not restart:
        maxiter = min(maxiter, n)
    keep = max(2, max_basis // 3) if restart else 0
    u = op.u
    v = start_vector(op, rng, v0)
    dt = v.dtype
    V = _Basis(xp, n, dt)
    V.append(v)
    # T_k: tridiagonal (diagonal dg, off-diagonal off) until the first restart, dense after
    cap = (max_basis if restart else min(maxiter, n)) + 1
    dg, off = np.zeros(cap), np.zeros(cap)
    T = np.zeros((0, 0))
    coupling = None  # V^T H v of the next v after a restart (None: fnorm e_k, the three-term recurrence)
    fnorm = 0.0
    tridiagonal = True
    restarts = 0
    theta, err, y = 0.0, math.inf, np.ones(1)
    converged = False
    k = 0
    scale_seen = 0.0
    message = ""
    schedule = _CheckSchedule(tol, every_step=track.enabled)
    for k in range(1, maxiter + 1):
        kb = V.k
        w = op.normal_matvec(v)
        alpha = float(xp.vecdot(v, w))
        w = w - alpha * v
        if kb > 1 and coupling is None:  # three-term recurrence: V^T H v = fnorm e_{k-1}
            w = w - fnorm * V.rows[kb - 2, :]
        elif kb > 1:  # right after a restart the coupling is known: V^T H v = fnorm * coupling
            w = w - xp.asarray(fnorm * coupling, dtype=dt) @ V.rows[: kb - 1, :]
        w, fnorm = V.orthogonalize_dgks(w)
        if tridiagonal:
            dg[kb - 1] = alpha
        else:
            T[kb - 1, kb - 1] = alpha
        scale_seen = max(scale_seen, abs(alpha), fnorm)
        # Stop as invariant only when f is at the rounding level of one
        # product: with full reorthogonalization a small but noisy f is
        # harmless (the next v is still orthonormal to V), and a threshold
        # growing with n (8 n u: 2e-3 relative at n = 4096 in float32) would
        # call an unconverged Ritz value exact.
        exhausted = fnorm <= u * scale_seen or (kb == n and restarts == 0)
        if exhausted or k == maxiter or schedule.due(k):
            if tridiagonal:
                lam_top, y = _top_eigenpair(dg[:kb], off[: kb - 1])
            else:
                lam, Q = np.linalg.eigh(T)
                lam_top, y = float(lam[-1]), Q[:, -1]
            theta = math.sqrt(max(lam_top, 0.0))
            err = residual_error(theta, fnorm * abs(float(y[-1])))  # H V = V T + f e_k^T
            track.add(op, k, theta, theta, math.inf, err)
            schedule.checked(k, err)
            stop, converged, message = _stop_test(exhausted, theta, err, tol)
            if stop:
                break
        if k == maxiter:
            break
        coupling = None
        if restart and kb >= max_basis:
            if tridiagonal:
                T = np.diag(dg[:kb]) + np.diag(off[: kb - 1], 1) + np.diag(off[: kb - 1], -1)
            lam_all, Y = np.linalg.eigh(T)
            Yl = Y[:, -keep:]
            rows = xp.asarray(Yl.T, dtype=dt) @ V.rows[:kb, :]
            V = _Basis(xp, n, dt)
            for i in range(keep):
                V.append(rows[i, :])
            coupling = Yl[-1, :].copy()  # Y_l^T e_k
            T = np.diag(lam_all[-keep:])
            tridiagonal = False
            restarts += 1
            kb = keep
        v = w / fnorm
        V.append(v)
        if tridiagonal:
            off[kb - 1] = fnorm
        else:
            grown = np.zeros((kb + 1, kb + 1))
            grown[:kb, :kb] = T
            if coupling is None:
                grown[kb - 1, kb] = grown[kb, kb - 1] = fnorm
            else:
                grown[:kb, kb] = grown[kb, :kb] = fnorm * coupling
            T = grown
    kb = len(y)
    ritz = xp.asarray(y, dtype=dt) @ V.rows[:kb, :]
    # KW's bound is for the full Krylov space of the start vector: only without restarts
    kw = kw_lanczos_epsilon(n, k) if v0 is None and restarts == 0 else None
    if restarts:
        message = (message + "; " if message else "") + f"{restarts} thick restart(s) at {max_basis} vectors"
    if not converged and k >= maxiter:
        message = f"stopped at maxiter={maxiter} Lanczos steps" + (
            " (memory grows with each step; max_basis bounds it)" if not restart else "")
    return _finish_single(op, ritz, converged=converged, iterations=k, err=err, kw_eps=kw, message=message,
                          tol=tol)


def _float64_operator(op: Operator) -> Operator:
    """The operator itself in float64, else a float64 copy of its dense or
    sparse matrix (the one certification already made, when it made one);
    its ``matvecs`` count starts from op's: copy it back."""
    if op.dtype == "float64":
        return op
    if op.dense is not None:
        return dataclasses.replace(op, dense=op.dense64(), dtype="float64")
    return dataclasses.replace(op, sparse=op.sparse64(), dtype="float64")


def _lanczos_mixed(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                   v0: Any, track: Tracker, normal: bool = False, max_basis: int | None = None) -> Raw:
    """float32 Krylov work, float64 certificate, float64 refinement if needed.

    float64 input: the work runs on a float32 copy.  float32 input: on the
    matrix itself, and the refinement on the float64 copy that certification
    already made -- the float32 iteration cannot push its residual much below
    float32 rounding, so without it a tol near or below ~1e-6 would end
    unverified.
    """
    xp = op.xp
    if op.dtype == "float32":
        low = op
    elif op.dense is not None:
        low = dataclasses.replace(op, dense=xp.astype(op.dense, xp.float32), dtype="float32", _dense64=op.dense)
    else:
        low = dataclasses.replace(op, sparse=op.sparse.astype("float32"), dtype="float32", _dense64=op.sparse)
    first = _lanczos_one(low, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, normal=normal,
                         max_basis=max_basis)
    op.matvecs = low.matvecs
    op._fro = low._fro
    if first.converged or first.vector is None:
        first.message = "float32 Krylov work, certified and verified in float64" + (
            f"; {first.message}" if first.message else "")
        return first
    high = _float64_operator(op)
    left = None if maxiter is None else max(1, maxiter - first.iterations)
    second = _lanczos_one(high, tol=tol, maxiter=left, rng=rng, v0=first.vector, track=track, normal=normal,
                          max_basis=max_basis)
    op.matvecs = high.matvecs
    second.iterations += first.iterations
    second.message = (f"float32 Krylov work reached a float64 residual bound of {first.error_estimate:.3g}; "
                      f"refined in float64 from its vector" + (f"; {second.message}" if second.message else ""))
    if second.lower < first.lower:  # keep the better certified vector
        second.lower, second.value = first.lower, first.value
    return second


def _lanczos_propack(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                     track: Tracker) -> Raw:
    """SciPy's PROPACK for the steps and lipbench's check for the answer (the
    ``propack`` method, :func:`~.scipy_solvers.svds_solver`), then a float64
    normal-operator refinement if the check misses (see
    :func:`lanczos_bidiagonal`)."""
    from .scipy_solvers import svds_solver

    before = op.matvecs
    first = svds_solver(op, solver="propack", tol=tol, maxiter=maxiter, rng=rng, v0=None, track=track)
    steps = max(0, (op.matvecs - before - 2) // 2)  # PROPACK's products, less the check's two
    if first.converged:
        first.iterations = steps
        first.message = f"SciPy's PROPACK ({steps} steps), certified and verified in float64"
        return first
    # PROPACK stopped short (or failed): float64 normal-operator Lanczos from its vector
    high = _float64_operator(op)
    left = None if maxiter is None else max(1, maxiter - steps)
    rest = _lanczos_one(high, tol=tol, maxiter=left, rng=rng, v0=first.vector, track=track, normal=True)
    op.matvecs = high.matvecs
    rest.iterations += steps
    rest.message = (f"SciPy's PROPACK ({steps} steps): {first.message}; continued with float64 Lanczos"
                    + ("" if first.vector is None else " from its vector")
                    + (f"; {rest.message}" if rest.message else ""))
    if rest.lower < first.lower:  # keep the better certified vector
        rest.lower, rest.value = first.lower, first.value
    return rest


def _lanczos_gram(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                  v0: Any, track: Tracker, work_dtype: str | None) -> Raw:
    """Lanczos on the small Gram matrix, certified with A (see lanczos_bidiagonal)."""
    xp = op.xp
    t = op if op.m >= op.n else op.transposed()
    A = t.dense
    if work_dtype == "float32" and t.dtype == "float64":
        A = xp.astype(A, xp.float32)
    G = A.T @ A
    t.matvecs += t.n
    gop = Operator(kind=op.kind, xp=xp, shape=(t.n, t.n), dtype="float32" if A.dtype == xp.float32 else "float64",
                   input_dtype=op.input_dtype, scale=1.0, backend=op.backend, device=op.device, dense=G)
    start = None
    if v0 is not None:
        start = start_vector(op, rng, v0, dtype=gop.dtype)
        if t is not op:  # wide: the Gram matrix A A^T acts on left vectors; start from A v0
            start = t.rmatvec(start)
    inner = _lanczos_one(gop, tol=tol, maxiter=maxiter, rng=rng, v0=start, track=Tracker(False))
    work_products = gop.matvecs
    lower, w, v64 = t.certified_lower(inner.vector)
    value = float(xp.linalg.vector_norm(w))
    verified = t.residual_bound64(w, v64)
    op.matvecs = t.matvecs
    track.add(op, inner.iterations, value, lower, math.inf, verified)
    note = (f"Gram route: {inner.iterations} Lanczos steps on the {t.n} x {t.n} Gram matrix "
            f"({work_products} products with it), certified with A")
    if inner.converged and verified <= tol:
        return Raw(value=value, lower=lower, upper=math.inf, converged=True, iterations=inner.iterations,
                   error_estimate=verified, message=note, vector=v64)
    left = None if maxiter is None else max(1, maxiter - inner.iterations)
    rest = lanczos_bidiagonal(t, tol=tol, maxiter=left, rng=rng, v0=v64, track=track, work_dtype=work_dtype)
    op.matvecs = t.matvecs
    rest.iterations += inner.iterations
    rest.message = note + f"; its vector's residual bound {verified:.3g} missed tol, continued on A" + (
        f"; {rest.message}" if rest.message else "")
    if rest.lower < lower:
        rest.lower, rest.value = lower, value
    return rest


# ---------------------------------------------------------------------------
def randomized_block_krylov(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                            v0: Any, track: Tracker, block_size: int = 4, **_: Any) -> Raw:
    """Randomized block Krylov iteration (Musco & Musco 2015) for sigma_max.

    Builds an orthonormal basis of ``span{Omega, (A^T A) Omega, ...}`` for a
    Gaussian n x b block Omega, keeping ``Z_j = A V_j`` and ``W_j = A^T Z_j``;
    Rayleigh-Ritz on ``Z^T Z`` gives theta and a Ritz vector x whose residual
    ``W y - theta^2 x`` costs no extra product.  Gap-independent: relative
    error eps after O(log(n) / sqrt(eps)) blocks with high probability.
    Cost per iteration: b products with A and b with A^T (as one block
    product each -- BLAS-3, good when a pass over A is memory-bound), plus
    O(n (b k)^2) for orthogonalization.
    Stops on the residual bound ``||r|| / (2 theta^2) <= tol``.
    Bounds: lower certified from x; upper from the caller's cheap bound.
    """
    xp = op.xp
    n = op.n
    b = int(block_size)
    if b < 1:
        raise ValueError(f"block_size must be a positive integer; got {block_size}")
    b = min(b, n)
    maxiter = 100 if maxiter is None else maxiter
    omega = rng.standard_normal((n, b))
    if v0 is not None:
        omega[:, 0] = _host(start_vector(op, rng, v0))
    V0, _ = xp.linalg.qr(xp.asarray(omega, dtype=getattr(xp, op.dtype)))
    Vs, Zs, Ws = [V0], [], []
    theta, err, x = 0.0, math.inf, V0[:, 0]
    converged = False
    k = 0
    message = ""
    for k in range(1, maxiter + 1):
        Z = op.matvec(Vs[-1])
        W = op.rmatvec(Z)
        Zs.append(Z)
        Ws.append(W)
        Zall = xp.concat(Zs, axis=1)
        Wall = xp.concat(Ws, axis=1)
        Vall = xp.concat(Vs, axis=1)
        G = _host(Zall.T @ Zall)
        G = (G + G.T) / 2
        lam, Y = np.linalg.eigh(G)
        theta = math.sqrt(max(lam[-1], 0.0))
        y = xp.asarray(Y[:, -1], dtype=Vall.dtype)
        x = Vall @ y
        r = Wall @ y - (theta * theta) * x
        err = residual_error(theta, float(xp.linalg.vector_norm(r)))
        track.add(op, k, theta, theta, math.inf, err)
        if err <= tol:
            converged = True
            break
        if Vall.shape[1] >= n:
            converged = True
            message = "Krylov space exhausted: the Ritz value is exact up to rounding"
            break
        if k == maxiter:
            message = f"stopped at maxiter={maxiter} blocks"
            break
        # Next block: A^T A V_j orthogonalized against the basis (CGS2), then
        # normalized and orthogonalized once more -- when the new directions
        # are nearly inside the basis (rank-deficient A), normalization
        # amplifies what is left of the old directions.
        N = W - Vall @ (Vall.T @ W)
        N = N - Vall @ (Vall.T @ N)
        Q, _ = xp.linalg.qr(N)
        Q = Q - Vall @ (Vall.T @ Q)
        Q = Q - Vall @ (Vall.T @ Q)
        Q, _ = xp.linalg.qr(Q)
        room = n - Vall.shape[1]
        Vs.append(Q[:, :room] if room < Q.shape[1] else Q)
    kw = kw_lanczos_epsilon(n, k) if v0 is None else None
    return _finish_single(op, x, converged=converged, iterations=k, err=err, kw_eps=kw, message=message,
                          tol=tol)
