"""Gram iteration (Delattre et al. 2023): a certified upper bound at every step."""

from __future__ import annotations

import math
from typing import Any

from ._operator import Operator
from ._raw import Raw, Tracker
from ._rounding import gram_rounding_floor
from .result import Stage

__all__ = ["gram_iteration"]


def gram_iteration(op: Operator, *, tol: float, maxiter: int | None, track: Tracker, **_: Any) -> Raw:
    """Gram iteration (Delattre, Barthelemy, Araujo & Allauzen, ICML 2023).

    ``G_0 = A`` (or ``A^T`` when m < n, so the Gram matrices are the smaller
    side), ``G_{t+1} = G_t^T G_t``; then ``sigma_max <= ||G_t||_F^(1/2^t)`` at
    every step, converging super-linearly.  Each G_t is kept divided by its
    Frobenius norm and the logarithm of the scale is carried separately, so
    nothing overflows or underflows.  Computed in float64.
    Cost per iteration: one k x k matrix product, O(k^3) with k = min(m, n)
    (O(m n k) for the first).
    Bounds: upper from the Gram certificate (rounded up by ``4 (k + 2)
    sqrt(k) u`` per the products' error); lower certified from the column of
    ``G_t`` with the largest norm (it converges to the top singular vector);
    stops when ``(upper - lower) / upper <= tol``.
    """
    xp = op.xp
    maxiter = 64 if maxiter is None else maxiter
    before = op.matvecs
    g = op.transposed() if op.m < op.n else op  # G_0 has at least as many rows as columns
    G = g.dense64()
    k = min(op.m, op.n)
    inflate = 1 + gram_rounding_floor(op.m, op.n)
    f = float(xp.linalg.vector_norm(G))
    log_c = math.log(f)
    H = G / f
    lower, upper, err = 0.0, math.exp(log_c) * inflate, math.inf
    converged = False
    t = 0
    for t in range(1, maxiter + 1):
        P = H.T @ H
        if t == 1:
            g.matvecs += k  # the first Gram product multiplies A^T by k columns of A
        P = (P + P.T) / 2
        f = float(xp.linalg.vector_norm(P))
        log_c = 2 * log_c + math.log(f)
        H = P / f
        upper = math.exp(log_c / 2**t) * inflate
        col_norms = xp.linalg.vector_norm(H, axis=0)
        j = int(xp.argmax(col_norms))
        vec = H[:, j]
        lower, w, right = g.certified_lower(vec)
        if g is not op:  # vec is a left vector of A: its right vector is A^T u / ||A^T u||
            right = w / xp.linalg.vector_norm(w) if lower > 0 else w
        err = (upper - lower) / upper if upper > 0 else 0.0
        track.add(g, t, lower, lower, upper, err)
        if err <= tol:
            converged = True
            break
    op.matvecs = g.matvecs
    return Raw(value=lower, lower=lower, upper=upper, converged=converged, iterations=t,
               error_estimate=err, vector=right, certificate="gram-iteration", certified=converged, stages=(Stage("gram-iteration", "float64", t, g.matvecs - before, converged),))
