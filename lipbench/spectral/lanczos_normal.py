"""Symmetric Lanczos on the normal operator ``A^T A``, thick-restarted on request.

The same Krylov space of right vectors as the bidiagonalization (so the same
number of steps), but each step is one ``A^T (A v)`` -- a single pass over a
C-ordered NumPy matrix (:meth:`Operator.normal_matvec`) -- and only one basis
is reorthogonalized.  Ritz values of ``A^T A`` lose the small singular values
to rounding, not the largest; the certificate is the same as everywhere.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import theory
from ._final_vector import certify_vector
from ._krylov_tools import CHECK_WARMUP, Basis, CheckSchedule, maxiter_note, top_eigenpair
from ._operator import Operator
from ._raw import Raw, Tracker, stage, start_vector
from .theory import kw_lanczos_epsilon

__all__ = ["lanczos_normal"]


def lanczos_normal(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                   v0: Any, track: Tracker, max_basis: int | None = None,
                   check_warmup: int = CHECK_WARMUP) -> Raw:
    """Symmetric Lanczos on ``H = A^T A`` with full reorthogonalization
    (classical Gram-Schmidt, a second pass when the DGKS test asks for it),
    thick-restarted (Krylov-Schur) when ``max_basis`` is given.

    Invariant: ``H V_k = V_k T_k + f b^T`` with V_k orthonormal, f orthogonal
    to it and ``T_k = V_k^T H V_k`` (tridiagonal, ``b = e_k``, until the first
    restart).  The Ritz pair (theta^2, y) of T_k has residual
    ``||H V y - theta^2 V y|| = ||f|| |b^T y|``, bounded as in
    :func:`.lanczos_bidiag.lanczos_bidiagonal`.  A restart keeps the top ``max_basis // 3``
    Ritz vectors (``V <- V Y_l``, ``T <- diag``, ``b <- Y_l^T b``) and expands
    again from f, so memory and reorthogonalization per step stay bounded.
    Default ``maxiter``: 300 steps without restarts (memory), 3000 with them
    (time: a restarted run needs more steps, and nothing else caps them).
    """
    xp = op.xp
    before = op.matvecs
    n = op.n
    basis_cap = n if max_basis is None else max_basis
    restart = basis_cap < n
    maxiter = (min(300, n) if not restart else 3000) if maxiter is None else maxiter
    if not restart:
        maxiter = min(maxiter, n)
    keep = max(2, basis_cap // 3) if restart else 0
    u = op.u
    v = start_vector(op, rng, v0)
    dt = v.dtype
    V = Basis(xp, n, dt)
    V.append(v)
    # T_k: tridiagonal (diagonal dg, off-diagonal off) until the first restart, dense after
    cap = (basis_cap if restart else min(maxiter, n)) + 1
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
    schedule = CheckSchedule(tol, every_step=track.enabled, warmup=check_warmup)
    for k in range(1, maxiter + 1):
        kb = V.k
        w = op.normal_matvec(v)
        alpha = float(xp.vecdot(v, w))
        w = w - alpha * v
        if kb > 1 and coupling is None:  # three-term recurrence: V^T H v = fnorm e_{k-1}
            w = w - fnorm * V.rows[kb - 2, :]
        elif kb > 1 and coupling is not None:  # right after a restart the coupling is known: V^T H v = fnorm * coupling
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
                lam_top, y = top_eigenpair(dg[:kb], off[: kb - 1])
            else:
                lam, Q = np.linalg.eigh(T)
                lam_top, y = float(lam[-1]), Q[:, -1]
            theta = math.sqrt(max(lam_top, 0.0))
            err = theory.residual_error(theta, fnorm * abs(float(y[-1])))  # H V = V T + f e_k^T
            stop, converged, message = schedule.record(track, op, k, theta, err, exhausted)
            if stop:
                break
        if k == maxiter:
            break
        coupling = None
        if restart and kb >= basis_cap:
            if tridiagonal:
                T = np.diag(dg[:kb]) + np.diag(off[: kb - 1], 1) + np.diag(off[: kb - 1], -1)
            lam_all, Y = np.linalg.eigh(T)
            Yl = Y[:, -keep:]
            rows = xp.asarray(Yl.T, dtype=dt) @ V.rows[:kb, :]
            V = Basis(xp, n, dt)
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
        message = maxiter_note(maxiter) + (
            " (memory grows with each step; max_basis bounds it)" if not restart else "")
    raw = certify_vector(op, ritz, converged=converged, iterations=k, err=err, kw_eps=kw, message=message, tol=tol)
    raw.stages = stage("lanczos-normal", op, k, before, raw.converged, restarts=restarts)
    return raw
