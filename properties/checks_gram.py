"""Checks for claims C5-C8, the spectral norm through the Gram matrices A^T A and A A^T, as plain functions.

As in :mod:`properties.checks`: each ``check_*`` raises AssertionError with the
values in its message and returns what it measured, and the Gram eigenvalues are
looked up through their module at call time (``lgram.gram_eigenvalues``) so a
monkeypatch reaches them.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from lipbench import backends as lbk
from lipbench.lipschitz import gram as lgram

from . import tolerances as tol
from .checks import ctx, fro, host, svdvals

__all__ = [
    "power_of_two_scaled",
    "check_c5",
    "check_c6_nonnegative",
    "exact_null_vector",
    "gram_has_exact_zero_eigenvalue",
    "computed_gram_eigenvalue_negative",
    "check_c7",
    "check_c8",
]


def power_of_two_scaled(A: Any) -> tuple[Any, int]:
    """``(A * 2**-e, e)`` with e the exponent of max |a_ij| (exact scaling), so the Gram matrix cannot overflow."""
    xp = lbk.namespace_of(A)
    amax = float(host(xp.max(xp.abs(A))))
    if amax == 0.0:
        return A, 0
    e = math.frexp(amax)[1]
    return A * (2.0 ** -e), e


def check_c5(A: Any) -> tuple[float, float, float]:
    """sigma_max(A)^2 = lambda_max(A^T A) = lambda_max(A A^T), checked on A scaled by an
    exact power of two (sigma scales with it; the Gram matrix of the unscaled A may overflow)."""
    A, _ = power_of_two_scaled(A)
    s = svdvals(A)
    sigma = float(s[0])
    lr = lgram.gram_eigenvalues(A, "right", scaled=True)
    ll = lgram.gram_eigenvalues(A, "left", scaled=True)
    f = fro(A)
    atol = tol.gram_atol(A, tuple(A.shape), f) + 2 * sigma * tol.svd_atol(A, tuple(A.shape), sigma)
    for side, lam in (("A^T A", lr), ("A A^T", ll)):
        assert abs(lam[-1] - sigma * sigma) <= atol, f"lambda_max({side}) != sigma_max^2: " + ctx(
            A, lambda_max=float(lam[-1]), sigma_sq=sigma * sigma, atol=atol)
    return sigma, float(lr[-1]), float(ll[-1])


def check_c6_nonnegative(A: Any) -> float:
    """Every computed eigenvalue of A^T A and A A^T is >= -gram_atol. Returns min lambda / ||A||_F^2."""
    f = fro(A)
    atol = tol.gram_atol(A, tuple(A.shape), f)
    worst = math.inf
    for side in ("right", "left"):
        lam = lgram.gram_eigenvalues(A, side)
        assert lam[0] >= -atol, f"Gram ({side}) eigenvalue below -tolerance: " + ctx(A, lambda_min=float(lam[0]),
                                                                                     atol=atol, fro=f)
        worst = min(worst, float(lam[0]) / (f * f) if f else 0.0)
    return worst


def exact_null_vector(A: np.ndarray) -> list[Fraction] | None:
    """A non-zero rational v with A v = 0 exactly (Gauss-Jordan in fractions), or None if rank A = n."""
    m, n = A.shape
    R = [[Fraction(int(a)) for a in row] for row in A]
    pivots: list[int] = []
    r = 0
    for c in range(n):
        p = next((i for i in range(r, m) if R[i][c] != 0), None)
        if p is None:
            continue
        R[r], R[p] = R[p], R[r]
        piv = R[r][c]
        R[r] = [v / piv for v in R[r]]
        for i in range(m):
            if i != r and R[i][c] != 0:
                fac = R[i][c]
                R[i] = [a - fac * b for a, b in zip(R[i], R[r])]
        pivots.append(c)
        r += 1
        if r == m:
            break
    free = [c for c in range(n) if c not in pivots]
    if not free:
        return None
    f = free[0]
    v = [Fraction(0)] * n
    v[f] = Fraction(1)
    for i, c in enumerate(pivots):
        v[c] = -R[i][f]
    return v


def gram_has_exact_zero_eigenvalue(A: np.ndarray) -> bool:
    """Exactly: A^T A has eigenvalue 0 iff A v = 0 for some v != 0."""
    return exact_null_vector(A) is not None


def computed_gram_eigenvalue_negative(A: Any) -> bool:
    """Whether the computed spectrum of A^T A or A A^T has an entry < 0 (rounding)."""
    return any(float(lgram.gram_eigenvalues(A, side)[0]) < 0.0 for side in ("right", "left"))


def check_c7(A: Any) -> float:
    """Non-zero spectra of A^T A and A A^T coincide; the larger one has |m - n| extra
    (numerical) zeros; A v maps eigenvectors of A^T A to eigenvectors of A A^T."""
    xp = lbk.namespace_of(A)
    m, n = A.shape
    f = fro(A)
    atol = tol.gram_atol(A, (m, n), f)
    lr = lgram.gram_eigenvalues(A, "right")
    ll = lgram.gram_eigenvalues(A, "left")
    k = min(m, n)
    top_r, top_l = lr[::-1][:k], ll[::-1][:k]
    diff = float(np.max(np.abs(top_r - top_l)))
    assert diff <= 2 * atol, "top eigenvalues of A^T A and A A^T differ: " + ctx(A, right=top_r, left=top_l, atol=atol)
    extra = np.concatenate([lr[::-1][k:], ll[::-1][k:]])
    assert extra.size == abs(m - n), ctx(A, extra=extra)
    assert np.all(np.abs(extra) <= atol), "extra Gram eigenvalues are not zero: " + ctx(A, extra=extra, atol=atol)
    lam, V = xp.linalg.eigh(A.T @ A)
    lam_h, W = host(lam), host(A @ V)
    G2 = host(A @ A.T)
    sigma = math.sqrt(max(float(lam_h[-1]), 0.0))
    worst = 0.0
    for i in range(n):
        w = W[:, i]
        res = float(np.linalg.norm(G2 @ w - lam_h[i] * w))
        bound = 4 * sigma * atol + tol.matvec_atol(A, (m, m), float(np.linalg.norm(G2)), float(np.linalg.norm(w)))
        assert res <= bound, "A v is not an eigenvector of A A^T: " + ctx(A, index=i, lam=float(lam_h[i]),
                                                                         residual=res, bound=bound)
        worst = max(worst, res / bound if bound else 0.0)
    return worst


def check_c8(A: Any) -> float:
    """svdvals(A)^2 = the top min(m, n) eigenvalues of A^T A (tolerance ~ sigma_max^2)."""
    m, n = A.shape
    s = svdvals(A)
    lam = lgram.gram_eigenvalues(A, "right" if n <= m else "left")[::-1][: min(m, n)]
    f = fro(A)
    atol = tol.gram_atol(A, (m, n), f) + 2 * float(s[0]) * tol.svd_atol(A, (m, n), float(s[0]))
    err = float(np.max(np.abs(s * s - lam)))
    assert err <= atol, "svdvals^2 != Gram eigenvalues: " + ctx(A, svdvals_sq=s * s, eigenvalues=lam, atol=atol)
    return err
