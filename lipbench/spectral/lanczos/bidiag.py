"""Golub-Kahan-Lanczos bidiagonalization with full reorthogonalization."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._certify_vector import Outcome, certify_vector
from .._operator import Operator
from .._raw import Raw, Tracker, stage, start_vector
from ..notes import Note
from ..theory import kw_lanczos_epsilon
from ._tools import Basis, CheckSchedule, bidiagonal_ritz, maxiter_note, vector_norm
from .plan import LanczosPlan

__all__ = ["lanczos_bidiagonal"]


def lanczos_bidiagonal(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any,
                       track: Tracker) -> Raw:
    """Golub-Kahan-Lanczos bidiagonalization on A itself, in the operator's dtype.

    ``A V_k = U_k B_k``, ``A^T U_k = V_k B_k^T + beta_{k+1} v_{k+1} e_k^T`` with
    B_k upper bidiagonal; the top Ritz triplet (theta, p, q) of B_k has residual
    ``||A^T u - theta v|| = beta_{k+1} |p_k|``.  Both bases are fully
    reorthogonalized (CGS2), so no spurious copies appear.
    Cost per iteration: one product with A, one with A^T, O((m + n) k) for the
    reorthogonalization and O(k) for the Ritz values (tridiagonal eigensolver on
    B^T B, top pair only, at the steps :class:`CheckSchedule` picks).
    Memory: k vectors of each side.
    Stops when the residual bound on the relative error ``beta |p_k| / (2 theta)``
    is at most ``tol``, or when the Krylov space is exhausted (exact answer).
    """
    xp = op.xp
    before = op.matvecs
    # The Krylov space is exhausted after n steps (V spans R^n) or, when m < n,
    # after m + 1 steps (U spans R^m after m, so the next alpha vanishes and
    # B_{m+1} carries beta_{m+1}: sigma(B_{m+1}) = sigma(U_m^T A) = sigma(A)).
    kmax = min(op.m + 1, op.n)
    maxiter = plan.steps(kmax)
    tol = plan.tol
    v = start_vector(op, rng, v0)
    dt = v.dtype
    V = Basis(xp, op.n, dt)
    U = Basis(xp, op.m, dt)
    V.append(v)
    alphas: list[float] = []
    betas: list[float] = []  # betas[j] couples alpha_j and alpha_{j+1}
    u_prev = None
    beta = 0.0
    theta, err, q_top = 0.0, math.inf, None
    notes: tuple[Note, ...] = ()
    converged, k, scale_seen = False, 0, 0.0
    schedule = CheckSchedule(tol, every_step=track.enabled, warmup=plan.check_warmup)
    for k in range(1, maxiter + 1):
        p = op.matvec(v)
        if u_prev is not None:
            p = p - beta * u_prev
        p = U.orthogonalize(p)
        alpha = vector_norm(xp, p)
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
            beta = vector_norm(xp, r)
            betas.append(beta)
        beta_next = betas[-1]
        exhausted = invariant or beta_next <= breakdown_tol or k == kmax
        if exhausted or k == maxiter or schedule.due(k):
            # Ritz values of B_k from the tridiagonal B^T B (top pair only).
            theta, q_top, err = bidiagonal_ritz(np.asarray(alphas), np.asarray(betas[:-1]), beta_next)
            stop, converged, notes = schedule.record(track, op, k, theta, err, exhausted)
            if stop:
                break
        if k == maxiter:
            break
        u_prev = U.rows[k - 1, :]
        v = r / beta
        V.append(v)
    assert q_top is not None  # the last step computed the Ritz pair
    ritz = xp.asarray(q_top, dtype=dt) @ V.rows[: len(q_top), :]
    kw = kw_lanczos_epsilon(op.n, k) if v0 is None else None
    if not converged and k >= maxiter:
        notes = (maxiter_note(maxiter, memory="grows"),)
    raw = certify_vector(op, ritz, Outcome(converged, k, err, kw, notes), tol=tol)
    raw.stages = stage("lanczos-bidiagonal", op, k, before, raw.converged)
    return raw
