"""ECLipsE-Fast (Xu & Sivaranjani, NeurIPS 2024), with each step certified in floating point.

For a chain ``f = W_l o phi o ... o phi o W_1`` whose activations have slopes
in ``[0, b_i]``, every difference ``v = phi(y) - phi(y')`` satisfies
``v_j (b_i dy_j - v_j) >= 0``.  With ``X_0 = I`` and ``a`` the input difference
of layer i, a step ``v^T X_i v <= a^T X_{i-1} a`` holds whenever (S-procedure,
multiplier ``lambda_i >= 0``)

    M_i = [[X_{i-1},                 -(lambda_i b_i / 2) W_i^T],
           [-(lambda_i b_i / 2) W_i,  lambda_i I - X_i        ]]  is PSD,

and at the end ``||W_l v||^2 <= c v^T X_{l-1} v`` when
``[[c X_{l-1}, W_l^T], [W_l, I]]`` is PSD, so ``L(f) <= sqrt(c)``.  The
closed form picks, with ``K_i = W_i X_{i-1}^{-1} W_i^T`` and ``k_i = lambda_max(K_i)``,
``lambda_i = 2 / (b_i^2 k_i)`` and ``X_i = lambda_i I - (lambda_i b_i / 2)^2 K_i``
(the Schur complement set to zero; ``lambda_i`` maximises ``lambda_min(X_i)``), and ``c``
the largest generalized eigenvalue of ``(W_l^T W_l, X_{l-1})``.

In floating point the computed ``X_i`` need not satisfy the exact inequalities,
so this implementation lowers each ``X_i`` by ``tau lambda_i / 2`` (a relative
``tau`` of its smallest eigenvalue, ``lambda_i / 2``), raises ``c`` by a relative
``tau``, and *verifies* every block matrix with :func:`chain.psd_margin` (a
certified lower bound on its smallest eigenvalue, including the chain's error
bounds on each ``W_i``).  The exact block matrices use the floats ``X_i``,
``lambda_i``, ``b_i`` and ``c`` as they are; the computed blocks hold each entry
once rounded (``psd_margin``'s term), except the off-diagonal block, whose
multiplier ``fl(lambda_i b_i / 2)`` is itself rounded: its distance to
``lambda_i b_i / 2`` (exact rationals) times ``||W_i||_F`` is the term
``eclipse_multiplier``, and the chain's error ``e_i`` enters as
``lambda_i b_i / 2 e_i``.  ``tau`` starts at ``2**-20`` and grows 64-fold while
a check fails; if it never passes, the result is returned as an estimate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import linalg

from .._rounding import fro_bounds, term, up
from .chain import Chain, psd_margin

__all__ = ["EclipseResult", "eclipse_fast"]

_TAUS = tuple(2.0 ** -e for e in (20, 14, 8, 2))


@dataclass(frozen=True)
class EclipseResult:
    """``value`` bounds L(f) from above; ``certified`` says whether every step was verified."""

    value: float
    certified: bool
    tau: float
    closed_form: float  # sqrt(c) of the unshifted recursion (the paper's number, in floating point)


def _sym(A: np.ndarray) -> np.ndarray:
    return (A + A.T) / 2


def _recursion(chain: Chain, tau: float) -> tuple[list[np.ndarray], list[float]]:
    X = np.eye(chain.weights[0].shape[1])
    Xs, lams = [X], []
    for W, (lo, hi) in zip(chain.weights[:-1], chain.slopes):
        if lo < 0:
            raise ValueError(f"ECLipsE-Fast needs slopes in [0, b]; got [{lo}, {hi}]")
        K = _sym(W @ linalg.solve(X, W.T, assume_a="pos"))
        k = float(np.linalg.eigvalsh(K)[-1])
        if not (k > 0 and hi > 0):
            raise ValueError(f"a layer maps everything to 0 (lambda_max(K) = {k}, slope bound {hi}); the network "
                             f"is constant and L = 0")
        lam = 2.0 / (hi * hi * k)
        X = _sym(lam * np.eye(W.shape[0]) - (lam * hi / 2) ** 2 * K) - tau * lam / 2 * np.eye(W.shape[0])
        Xs.append(X)
        lams.append(lam)
    return Xs, lams


def _final_c(X: np.ndarray, W: np.ndarray) -> float:
    return float(linalg.eigh(W.T @ W, X, eigvals_only=True)[-1])


def off_block_error(lam: float, hi: float, W: np.ndarray, e: float) -> float:
    """Bound on ``||fl(-(lam hi / 2)) W - (-(lam hi / 2)) W_exact||_2`` beyond the one
    rounding of each product that :func:`.chain.psd_margin` counts: the multiplier's
    own rounding (term ``eclipse_multiplier``) and the chain's error ``e`` scaled by it."""
    mu = Fraction(lam) * Fraction(hi) / 2
    mu_f = Fraction(lam * hi / 2)
    mult = up(abs(mu_f - mu) * Fraction(fro_bounds(W)[1]) * Fraction(term("eclipse_multiplier")))
    return up(Fraction(mult) + mu * Fraction(e)) if np.isfinite(e) else math.inf


def _verified(chain: Chain, Xs: list[np.ndarray], lams: list[float], c: float) -> bool:
    for i, (W, e, (_, hi), lam) in enumerate(zip(chain.weights[:-1], chain.errors, chain.slopes, lams)):
        off = -(lam * hi / 2) * W
        M = np.block([[Xs[i], off.T], [off, lam * np.eye(W.shape[0]) - Xs[i + 1]]])
        if not psd_margin(M, exact_error=off_block_error(lam, hi, W, e)) > 0:
            return False
    W, e = chain.weights[-1], chain.errors[-1]
    M = np.block([[c * Xs[-1], W.T], [W, np.eye(W.shape[0])]])
    return psd_margin(M, exact_error=e) > 0


def eclipse_fast(chain: Chain) -> EclipseResult:
    """The certified ECLipsE-Fast bound on L(f) for a chain (see the module docstring)."""
    if any(not np.any(W) for W in chain.weights):
        return EclipseResult(0.0 if not any(chain.errors) else math.inf, not any(chain.errors), 0.0, 0.0)
    Xs0, _ = _recursion(chain, 0.0)
    closed = math.sqrt(max(_final_c(Xs0[-1], chain.weights[-1]), 0.0))
    for tau in _TAUS:
        Xs, lams = _recursion(chain, tau)
        c = _final_c(Xs[-1], chain.weights[-1]) * (1 + tau)
        if _verified(chain, Xs, lams, c):
            return EclipseResult(up(math.sqrt(c)), True, tau, closed)  # IEEE sqrt: correctly rounded
    return EclipseResult(closed, False, math.nan, closed)
