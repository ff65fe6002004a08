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

from .. import theory
from .._certify_vector import Outcome, certify_vector
from .._operator import Operator
from .._raw import Raw, Tracker, stage, start_vector
from ..notes import Note, note
from ..theory import kw_lanczos_epsilon
from ._tools import Basis, CheckSchedule, maxiter_note, top_eigenpair
from .plan import LanczosPlan

__all__ = ["lanczos_normal"]


class _Projection:
    """``T_k = V_k^T H V_k``: tridiagonal (diagonal ``dg``, off-diagonal
    ``off``) until the first thick restart, dense (``T``) after it; and
    ``coupling``, the ``V^T H v`` of the vector after a restart (None: the
    three-term recurrence, ``fnorm e_k``)."""

    def __init__(self, cap: int):
        self.dg, self.off = np.zeros(cap), np.zeros(cap)
        self.T = np.zeros((0, 0))
        self.coupling: np.ndarray | None = None
        self.tridiagonal = True
        self.restarts = 0

    def step(self, op: Operator, V: Basis, v: Any, fnorm: float) -> tuple[Any, float, float]:
        """One step ``w = H v`` orthogonalized against V (the known coupling
        first, then DGKS); sets ``T[k, k] = alpha``.  Returns w, alpha, ||w||."""
        xp, kb = op.xp, V.k
        w = op.normal_matvec(v)
        alpha = float(xp.vecdot(v, w))
        w = w - alpha * v
        if kb > 1 and self.coupling is None:  # three-term recurrence: V^T H v = fnorm e_{k-1}
            w = w - fnorm * V.rows[kb - 2, :]
        elif kb > 1 and self.coupling is not None:  # right after a restart: V^T H v = fnorm * coupling
            w = w - xp.asarray(fnorm * self.coupling, dtype=V.dtype) @ V.rows[: kb - 1, :]
        w, fnorm = V.orthogonalize_dgks(w)
        if self.tridiagonal:
            self.dg[kb - 1] = alpha
        else:
            self.T[kb - 1, kb - 1] = alpha
        return w, alpha, fnorm

    def top(self, kb: int) -> tuple[float, np.ndarray]:
        """The top eigenpair of ``T_kb``."""
        if self.tridiagonal:
            return top_eigenpair(self.dg[:kb], self.off[: kb - 1])
        lam, Q = np.linalg.eigh(self.T)
        return float(lam[-1]), Q[:, -1]

    def restart(self, V: Basis, keep: int) -> Basis:
        """Keep the top ``keep`` Ritz vectors: ``V <- V Y_l``, ``T <- diag``,
        coupling ``Y_l^T e_k``; returns the new basis."""
        kb, xp = V.k, V.xp
        if self.tridiagonal:
            self.T = np.diag(self.dg[:kb]) + np.diag(self.off[: kb - 1], 1) + np.diag(self.off[: kb - 1], -1)
        lam_all, Y = np.linalg.eigh(self.T)
        Yl = Y[:, -keep:]
        rows = xp.asarray(Yl.T, dtype=V.dtype) @ V.rows[:kb, :]
        V = Basis(xp, V.length, V.dtype)
        for i in range(keep):
            V.append(rows[i, :])
        self.coupling = Yl[-1, :].copy()  # Y_l^T e_k
        self.T = np.diag(lam_all[-keep:])
        self.tridiagonal = False
        self.restarts += 1
        return V

    def grow(self, kb: int, fnorm: float) -> None:
        """Border ``T_kb`` with the new vector's coupling."""
        if self.tridiagonal:
            self.off[kb - 1] = fnorm
            return
        grown = np.zeros((kb + 1, kb + 1))
        grown[:kb, :kb] = self.T
        if self.coupling is None:
            grown[kb - 1, kb] = grown[kb, kb - 1] = fnorm
        else:
            grown[:kb, kb] = grown[kb, :kb] = fnorm * self.coupling
        self.T = grown


def lanczos_normal(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any, track: Tracker) -> Raw:
    """Symmetric Lanczos on ``H = A^T A`` with full reorthogonalization
    (classical Gram-Schmidt, a second pass when the DGKS test asks for it),
    thick-restarted (Krylov-Schur) when ``max_basis`` is given.

    Invariant: ``H V_k = V_k T_k + f b^T`` with V_k orthonormal, f orthogonal
    to it and ``T_k = V_k^T H V_k`` (tridiagonal, ``b = e_k``, until the first
    restart).  The Ritz pair (theta^2, y) of T_k has residual
    ``||H V y - theta^2 V y|| = ||f|| |b^T y|``, bounded as in
    :func:`.bidiag.lanczos_bidiagonal`.  A restart keeps the top ``max_basis // 3``
    Ritz vectors (``V <- V Y_l``, ``T <- diag``, ``b <- Y_l^T b``) and expands
    again from f, so memory and reorthogonalization per step stay bounded.
    Default ``maxiter``: :data:`.plan.STEP_CAP` steps without restarts (memory),
    :data:`.plan.RESTARTED_STEP_CAP` with them (time: a restarted run needs
    more steps, and nothing else caps them).
    """
    xp = op.xp
    before = op.matvecs
    n = op.n
    tol, max_basis = plan.tol, n if plan.max_basis is None else plan.max_basis
    restart = plan.restarts(n)
    maxiter = plan.restarted_steps() if restart else plan.steps(n)
    keep = max(2, max_basis // 3) if restart else 0
    v = start_vector(op, rng, v0)
    dt = v.dtype
    V = Basis(xp, n, dt)
    V.append(v)
    proj = _Projection((max_basis if restart else min(maxiter, n)) + 1)
    fnorm, theta, err, y = 0.0, 0.0, math.inf, np.ones(1)
    notes: tuple[Note, ...] = ()
    converged, k, scale_seen = False, 0, 0.0
    schedule = CheckSchedule(tol, every_step=track.enabled, warmup=plan.check_warmup)
    for k in range(1, maxiter + 1):
        kb = V.k
        w, alpha, fnorm = proj.step(op, V, v, fnorm)
        scale_seen = max(scale_seen, abs(alpha), fnorm)
        # Stop as invariant only when f is at the rounding level of one
        # product: with full reorthogonalization a small but noisy f is
        # harmless (the next v is still orthonormal to V), and a threshold
        # growing with n (8 n u: 2e-3 relative at n = 4096 in float32) would
        # call an unconverged Ritz value exact.
        exhausted = fnorm <= op.u * scale_seen or (kb == n and proj.restarts == 0)
        if exhausted or k == maxiter or schedule.due(k):
            lam_top, y = proj.top(kb)
            theta = math.sqrt(max(lam_top, 0.0))
            err = theory.residual_error(theta, fnorm * abs(float(y[-1])))  # H V = V T + f e_k^T
            stop, converged, notes = schedule.record(track, op, k, theta, err, exhausted)
            if stop:
                break
        if k == maxiter:
            break
        proj.coupling = None
        if restart and kb >= max_basis:
            V = proj.restart(V, keep)
            kb = keep
        v = w / fnorm
        V.append(v)
        proj.grow(kb, fnorm)
    ritz = xp.asarray(y, dtype=dt) @ V.rows[: len(y), :]
    restarts = proj.restarts
    # KW's bound is for the full Krylov space of the start vector: only without restarts
    kw = kw_lanczos_epsilon(n, k) if v0 is None and restarts == 0 else None
    if restarts:
        notes = (*notes, note("thick-restarts", restarts=restarts, max_basis=max_basis))
    if not converged and k >= maxiter:
        notes = (maxiter_note(maxiter, memory="" if restart else "max_basis"),)
    raw = certify_vector(op, ritz, Outcome(converged, k, err, kw, notes), tol=tol)
    raw.stages = stage("lanczos-normal", op, k, before, raw.converged, restarts=restarts)
    return raw
