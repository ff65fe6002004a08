"""Gram iteration (Delattre et al. 2023): a certified upper bound at every step."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .._rounding import ETA, gamma_up, norm_bounds, sqrt_up, term, up
from ._operator import Operator
from ._raw import Raw, Tracker
from .result import Stage

__all__ = ["gram_iteration", "squarings", "first_product_error"]


def first_product_error(rows: int, k: int, fro_up: float) -> float:
    """Bound on ``||fl(A^T A) - A^T A||_2`` for an m x k matrix (m = ``rows``):
    ``gamma_m ||A||_F^2 + k m eta`` (Higham Thm 3.5 with underflow, any order)."""
    return up(up(gamma_up(rows, "gram_iteration") * up(fro_up * fro_up)) + up(k * rows * ETA)
              * term("gram_iteration"))


def squarings(xp: Any, P: Any, err: float, k: int, *, maxiter: int, tol: float,
              lower_of: Callable[[Any, int], float], track_add: Callable[..., None]) -> tuple[float, float, int, Any]:
    """The squarings from the first Gram matrix ``P`` (k x k, computed, within
    ``err`` of the exact ``A^T A`` in 2-norm).  Returns ``(upper, lower, t, H)``.

    Step t keeps ``H_t = P_t 2^-p_t`` (a power of two near ``||P_t||_F``: an
    exact scaling but for underflow) and ``P_{t+1} = fl(H_t^T H_t)``.  With
    ``e_t`` the bound on ``||P_t - H_{t-1}^T H_{t-1}||`` and S an upper bound
    on ``sigma(H_t)``, ``sigma(H_{t-1})^2 <= 2^p_t (S + k eta / 2) + e_t``;
    applied from ``S_t = ||H_t||_F`` back to ``H_0 = A`` this gives the upper
    bound on sigma_max(A), rounded up at every operation (docs/certify.md,
    "Gram iteration").  ``lower_of(H, t)`` returns a lower bound (or an
    estimate) from the iterate; the loop stops once they are within tol.
    """
    scales: list[float] = []
    errors = [err]
    upper = lower = math.inf
    H = P
    t = 0
    for t in range(1, maxiter + 1):
        ss = float(xp.vecdot(xp.reshape(P, (-1,)), xp.reshape(P, (-1,))))
        p = math.frexp(math.sqrt(ss))[1] if ss > 0 else 0
        H = P * xp.asarray(math.ldexp(1.0, -p), dtype=P.dtype)
        scales.append(math.ldexp(1.0, p))
        S = norm_bounds(float(xp.vecdot(xp.reshape(H, (-1,)), xp.reshape(H, (-1,)))), k * k)[1]
        upper = S
        for f, e in zip(reversed(scales), reversed(errors)):
            upper = sqrt_up(up(up(f * up(upper + k * ETA / 2)) + e))
        lower = lower_of(H, t)
        track_add(t, lower, upper, (upper - lower) / upper if upper > 0 else 0.0)
        if upper - lower <= tol * upper or t == maxiter:
            break
        errors.append(up(up(gamma_up(k, "gram_iteration") * up(S * S)) + up(k * k * ETA) * term("gram_iteration")))
        P = H.T @ H
    return upper, lower, t, H


def gram_iteration(op: Operator, *, tol: float, maxiter: int | None, track: Tracker, **_: Any) -> Raw:
    """Gram iteration (Delattre, Barthelemy, Araujo & Allauzen, ICML 2023).

    ``G_0 = A`` (or ``A^T`` when m < n, so the Gram matrices are the smaller
    side), ``G_{t+1} = G_t^T G_t``; ``sigma_max <= ||G_t||_F^(1/2^t)`` at every
    step, converging super-linearly.  Computed in float64 with every rounding
    bounded (:func:`squarings`).
    Cost per iteration: one k x k matrix product, O(k^3) with k = min(m, n)
    (O(m n k) for the first), and one product with A for the lower bound.
    Bounds: upper certified; lower certified from the column of ``G_t`` with
    the largest norm (it converges to the top singular vector); stops when
    ``(upper - lower) / upper <= tol``.
    """
    xp = op.xp
    maxiter = 64 if maxiter is None else maxiter
    before = op.matvecs
    g = op.transposed() if op.m < op.n else op  # G_0 has at least as many rows as columns
    A = g.dense64()
    k = min(op.m, op.n)
    best: dict = {"lower": 0.0, "vector": None}

    def lower_of(H: Any, t: int) -> float:
        vec = H[:, int(xp.argmax(xp.linalg.vector_norm(H, axis=0)))]
        lower, w, right = g.certified_lower(vec)
        if g is not op:  # vec is a left vector of A: its right vector is A^T u / ||A^T u||
            right = w / xp.linalg.vector_norm(w) if lower > 0 else w
        if lower >= best["lower"]:
            best.update(lower=lower, vector=right)
        return best["lower"]

    def add(t: int, lower: float, upper: float, err: float) -> None:
        track.add(g, t, lower, lower, upper, err)

    P = A.T @ A
    g.matvecs += k  # the first Gram product multiplies A^T by k columns of A
    err = first_product_error(int(A.shape[0]), k, g.fro_upper())
    upper, lower, t, _ = squarings(xp, P, err, k, maxiter=maxiter, tol=tol, lower_of=lower_of, track_add=add)
    converged = upper - lower <= tol * upper
    return Raw(value=lower, lower=lower, upper=upper, converged=converged, iterations=t,
               error_estimate=(upper - lower) / upper if upper > 0 else 0.0, vector=best["vector"],
               certificate="gram-iteration", certified=converged,
               stages=(Stage("gram-iteration", "float64", t, g.matvecs - before, converged),))
