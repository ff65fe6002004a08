"""Power iteration on ``A^T A``, for one matrix or a stack of them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._rounding import lower_from_product, norm_bounds
from . import theory
from ._certify_vector import QUAD_SAFETY, Outcome, certify_vector, host
from ._operator import Operator
from ._raw import Raw, Tracker, stage, start_vector
from .theory import kw_power_epsilon

__all__ = ["power_iteration"]


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
    before = op.matvecs
    maxiter = 1000 if maxiter is None else maxiter
    v = start_vector(op, rng, v0)
    res_log: list[np.ndarray] = []
    err = np.full(op.batch_shape, np.inf)
    converged = False
    k = 0
    w_last = None
    rho_last = None
    zero = _zero_matrices(op)
    for k in range(1, maxiter + 1):
        w = op.matvec(v)
        theta = xp.linalg.vector_norm(w, axis=-1)
        z = op.rmatvec(w)
        if zero is not None and bool(zero.any()):  # A^T A v = 0 there: keep v as the next iterate
            z = xp.where(xp.asarray(zero)[..., None], v, z)
        r = z - (theta * theta)[..., None] * v
        th = host(theta)
        rn = host(xp.linalg.vector_norm(r, axis=-1))
        err, rho = _error_estimate(th, rn, res_log, k)
        if rho is not None:
            rho_last = rho
        if zero is not None:
            err = np.where(zero, 0.0, err)
        w_last = w
        if not op.is_batched:
            track.add(op, k, float(th), float(th), math.inf, float(err))
        if bool(np.all(err <= tol)):
            converged = True
            break
        if k == maxiter:
            break
        v = _normalize(op, z, rng)
        w_last = None
    # The next iterate A^T A v / ||.|| is already computed: it is the better
    # warm start (one more power step) for a following call.
    ahead = z / xp.linalg.vector_norm(z, axis=-1, keepdims=True) if bool(xp.all(xp.isfinite(z))) else None
    if op.is_batched:
        raw = _finish_batched(op, v, converged=converged, iterations=k, err=err)
    else:
        kw = kw_power_epsilon(op.n, k) if v0 is None else None
        raw = certify_vector(op, v, Outcome(converged, k, float(err), kw), tol=tol, w=w_last,
                             rho=None if rho_last is None else float(rho_last))
    if ahead is not None and bool(xp.all(xp.linalg.vector_norm(z, axis=-1) > 0)):
        raw.vector = xp.astype(ahead, xp.float64)
    raw.stages = stage("power", op, k, before, raw.converged)
    return raw


def _zero_matrices(op: Operator) -> np.ndarray | None:
    """Which matrices of a dense stack are exactly zero (sigma = 0: nothing to iterate, their v is kept).

    ``None`` for a single matrix or an operator with no dense array, where no such mask applies.
    """
    return op.zero_matrices()


def _error_estimate(th: np.ndarray, rn: np.ndarray, res_log: list[np.ndarray],
                    k: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The stopping rule's error estimate at iteration ``k``, and the rate rho when it was measured.

    ``th`` is ``||A v||``, ``rn`` the residual norm; ``rn`` is appended to ``res_log``.
    The estimate is the smaller of the linear bound ``||r|| / (2 theta^2)`` and, from the
    fifth iteration on, the quadratic estimate ``QUAD_SAFETY ||r||^2 / (2 theta^4 (1 - rho))``
    with rho the largest finite residual ratio over the last quarter of the iterations
    (at least 3); rho is ``None`` before then.
    """
    lin = np.asarray(theory.residual_error(th, rn))
    rho = None
    with np.errstate(divide="ignore", invalid="ignore"):
        res_log.append(rn)
        quad = np.full_like(lin, np.inf)
        if k >= 5:
            window = max(3, k // 4)
            hist = np.stack(res_log[-(window + 1):])
            ratios = hist[1:] / hist[:-1]
            rho = np.nanmax(np.where(np.isfinite(ratios), ratios, 1.0), axis=0)
            ok = rho < 1.0
            quad = np.where(ok & (th > 0), QUAD_SAFETY * rn * rn / (2 * th**4 * np.where(ok, 1 - rho, 1.0)), np.inf)
    return np.minimum(lin, quad), rho


def _normalize(op: Operator, z: Any, rng: np.random.Generator) -> Any:
    """The next iterate ``z / ||z||``, with rows where ``z = 0`` restarted at random.

    ``z = A^T A v = 0`` means v lies in the null space of A (only possible for a warm
    start or an exact-zero matrix, which the caller handles): those rows start afresh.
    """
    xp = op.xp
    zn = xp.linalg.vector_norm(z, axis=-1, keepdims=True)
    if bool(xp.any(zn == 0)):
        fresh = start_vector(op, rng, None)
        z = xp.where(zn == 0, fresh, z)
        zn = xp.linalg.vector_norm(z, axis=-1, keepdims=True)
    return z / zn


def _finish_batched(op: Operator, v: Any, *, converged: bool, iterations: int, err: np.ndarray) -> Raw:
    xp = op.xp
    A64 = op.dense64()
    v64 = xp.astype(v, xp.float64)
    v64 = v64 / xp.linalg.vector_norm(v64, axis=-1, keepdims=True)
    op.matvecs += 1
    w = (A64 @ v64[..., None])[..., 0]
    ss_w, ss_v = host(xp.sum(w * w, axis=-1)), host(xp.sum(v64 * v64, axis=-1))
    ss = host(xp.sum(A64 * A64, axis=(-2, -1)))
    fro = norm_bounds(np.asarray(ss, dtype=np.float64), op.m * op.n)[1]
    lower = lower_from_product(ss_w, op.m, ss_v, op.n, op.n, fro)
    return Raw(value=np.sqrt(ss_w / ss_v), lower=lower, upper=fro, converged=converged, iterations=iterations,
               error_estimate=err, vector=v64)
