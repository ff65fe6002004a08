"""Randomized block Krylov iteration (Musco & Musco 2015) for sigma_max."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import theory
from ._certify_vector import Outcome, certify_vector, host
from ._operator import Operator
from ._raw import Raw, Tracker, stage, start_vector
from .notes import Note, note
from .theory import kw_lanczos_epsilon

__all__ = ["randomized_block_krylov"]


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
    before = op.matvecs
    n = op.n
    b = int(block_size)
    if b < 1:
        raise ValueError(f"block_size must be a positive integer; got {block_size}")
    b = min(b, n)
    maxiter = 100 if maxiter is None else maxiter
    omega = rng.standard_normal((n, b))
    if v0 is not None:
        omega[:, 0] = host(start_vector(op, rng, v0))
    V0, _ = xp.linalg.qr(xp.asarray(omega, dtype=getattr(xp, op.dtype)))
    Vs, Zs, Ws = [V0], [], []
    theta, err, x = 0.0, math.inf, V0[:, 0]
    converged = False
    k = 0
    notes: tuple[Note, ...] = ()
    for k in range(1, maxiter + 1):
        Z = op.matvec(Vs[-1])
        W = op.rmatvec(Z)
        Zs.append(Z)
        Ws.append(W)
        Zall = xp.concat(Zs, axis=1)
        Wall = xp.concat(Ws, axis=1)
        Vall = xp.concat(Vs, axis=1)
        G = host(Zall.T @ Zall)
        G = (G + G.T) / 2
        lam, Y = np.linalg.eigh(G)
        theta = math.sqrt(max(lam[-1], 0.0))
        y = xp.asarray(Y[:, -1], dtype=Vall.dtype)
        x = Vall @ y
        r = Wall @ y - (theta * theta) * x
        err = theory.residual_error(theta, float(xp.linalg.vector_norm(r)))
        track.add(op, k, theta, theta, math.inf, err)
        if err <= tol:
            converged = True
            break
        if Vall.shape[1] >= n:
            converged = True
            notes = (note("block-krylov-exhausted"),)
            break
        if k == maxiter:
            notes = (note("maxiter", maxiter=maxiter, unit="blocks"),)
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
    raw = certify_vector(op, x, Outcome(converged, k, err, kw, notes), tol=tol)
    raw.stages = stage("block-krylov", op, k, before, raw.converged)
    return raw
