"""A certified node bound for branch and bound when a node's free units lie in one layer.

Such a node's products are ``P D Q`` with ``P`` (the layers after, slopes fixed)
and ``Q`` (the layers before) fixed and ``D = C + R S``, ``|S| <= 1`` diagonal,
``R`` zero on the fixed units.  With ``A = P C Q``, ``p = P^T u`` and ``q = Q v``,

    max ||P D Q|| = max_{|u| = |v| = 1} u^T A v + sum_i r_i |p_i| |q_i|,

and ``r_i |p_i| |q_i| <= a_i p_i^2 + b_i q_i^2`` whenever ``4 a_i b_i >= r_i^2``, so
with ``F = P diag(a) P^T`` and ``H = Q^T diag(b) Q`` the maximum is at most that of
``u^T F u + u^T A v + v^T H v`` over the two spheres, which for any ``mu`` is at most
``2 lambda_max(B)``, ``B = [[F + mu I, A / 2], [A^T / 2, H - mu I]]`` (the Lagrangian
dual of the two sphere constraints; ``z = (u, v)`` has ``|z|^2 = 2``).  The bound
is exact when no unit is free; ``a`` and ``mu`` are found by :func:`optimise` (the
relaxation is convex in them: the best choice is a small SDP, LipSDP-Neuron's shape
on one layer; a first-order method gets close, and any choice is a valid bound).

Certified (:func:`certify_blocks`): ``lambda_max`` of the exact ``B`` (built from the
exact ``P``, ``Q``, ``A`` within ``dP``, ``dQ``, ``dA`` of the computed ones) is bounded by
a shift and the proven sigma_max of the shifted computed ``B``, plus its distance to the exact one:
each Gram block's rounding (:func:`lipbench._rounding.gram_error`, inner products of
length n + 1 with the weights), the computed factors' errors carried through
(``max a (2 |P| dP + dP^2)``), ``dA / 2`` (and ``n eta`` for halving subnormal
entries of A), and the rounding of adding ``mu`` on the diagonal (term ``one_rounding``).
"""

from __future__ import annotations

import warnings
from fractions import Fraction

import numpy as np

from .._rounding import ETA, fro_bounds, gram_error, one_rounding, sum_up, up
from ..spectral import ConvergenceWarning, spectral_norm

__all__ = ["optimise", "certify_blocks", "norms_upper"]

_STEPS = 30  # Adam steps on (log a, mu)
_RATE = 0.1
_TOP = 4  # eigenvalues in the soft maximum
_LOG_RANGE = 30.0
_SHARPNESS = 20.0  # its inverse temperature, relative to the node's scale


def norms_upper(stack: np.ndarray) -> np.ndarray:
    """The proven upper end of sigma_max of each matrix of a stack, at the narrowest width."""
    from ..spectral._certification import certified_width

    if stack.shape[0] == 0 or stack.shape[1] == 0 or stack.shape[2] == 0:
        return np.zeros(stack.shape[0])
    tol = certified_width(0.0, "float64", *stack.shape[1:])
    with warnings.catch_warnings():  # a width not reached still leaves a proven upper end
        warnings.simplefilter("ignore", ConvergenceWarning)
        return np.atleast_1d(np.asarray(spectral_norm(stack, method="svd", tol=tol).upper, dtype=np.float64))


def _weights(r: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b) = (r e^x / 2, r e^-x / 2)`` on the free units, ``b`` stepped up so that
    ``4 a b >= r^2`` holds exactly whatever the rounding of ``a``."""
    free = r > 0
    a = np.where(free, r / 2 * np.exp(x), 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        b = np.where(free, up(up(up(r * r) / (4 * a))), 0.0)  # each operation stepped up: >= r^2 / (4 a)
    return a, b


def _assemble(A: np.ndarray, P: np.ndarray, Q: np.ndarray, a: np.ndarray, b: np.ndarray, mu: np.ndarray
              ) -> np.ndarray:
    """The stack of computed ``B`` (symmetric: each Gram block's upper triangle mirrored)."""
    F = (P * a[:, None, :]) @ np.swapaxes(P, 1, 2)
    H = np.swapaxes(Q, 1, 2) @ (Q * b[:, :, None])
    F = np.triu(F) + np.swapaxes(np.triu(F, 1), 1, 2)
    H = np.triu(H) + np.swapaxes(np.triu(H, 1), 1, 2)
    m, p = F.shape[1], H.shape[1]
    F = F + mu[:, None, None] * np.eye(m)
    H = H - mu[:, None, None] * np.eye(p)
    half = A / 2
    return np.concatenate([np.concatenate([F, half], axis=2),
                           np.concatenate([np.swapaxes(half, 1, 2), H], axis=2)], axis=1)


def optimise(A: np.ndarray, P: np.ndarray, Q: np.ndarray, r: np.ndarray, *, x0: np.ndarray | None = None,
             mu0: np.ndarray | None = None, steps: int = _STEPS
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(log a - log(r / 2), mu, a, b, estimate)`` for a stack of nodes, the estimate
    ``2 lambda_max(B)`` (floats); ``x0``, ``mu0`` a warm start (e.g. the parent node's).

    lambda_max(B) is convex in ``(log a, mu)`` (B is affine in a, b, mu and nondecreasing in b,
    ``b = r^2 / (4 a)`` convex), so a first-order method finds its minimum: Adam on the
    soft maximum of the top eigenvalues (their eigenvectors give the gradient:
    ``a_i (P_i.u)^2 - b_i (Q_i.v)^2`` for ``log a_i`` and ``|u|^2 - |v|^2`` for mu), all nodes at
    once, keeping each node's best point.  Starts from ``a_i = r_i |Q_i| / (2 |P_i|)``, mu = 0,
    unless warm started."""
    k, m = A.shape[0], A.shape[1]
    free = r > 0
    tiny = np.finfo(np.float64).tiny
    with np.errstate(over="ignore", divide="ignore"):  # a unit with no weight on one side: clipped below
        x = np.where(free, np.log((np.linalg.norm(Q, axis=2) + tiny) / (np.linalg.norm(P, axis=1) + tiny)), 0.0)
    if x0 is not None:  # nan: no warm start for that node
        x = np.where(free & np.isfinite(x0), x0, x)
    np.clip(x, -_LOG_RANGE, _LOG_RANGE, out=x)
    scale = np.linalg.norm(A, axis=(1, 2)) + np.abs(r).max(axis=1) * (
        np.linalg.norm(P, axis=(1, 2)) * np.linalg.norm(Q, axis=(1, 2)))
    scale = np.where(scale > 1e-150, scale, 1.0)  # a node whose products vanish: any scale will do
    mu = np.zeros(k) if mu0 is None else np.nan_to_num(mu0 / scale)
    moments = [np.zeros_like(x), np.zeros_like(x), np.zeros(k), np.zeros(k)]
    best, best_x, best_mu = np.full(k, np.inf), x.copy(), mu.copy()
    for t in range(1, steps + 1):
        a, b = _weights(r, x)
        w, V = np.linalg.eigh(_assemble(A, P, Q, a, b, mu * scale))
        top = w[:, -1]
        better = top < best
        best, best_mu = np.where(better, top, best), np.where(better, mu, best_mu)
        best_x[better] = x[better]
        soft = np.exp(_SHARPNESS * (w[:, -_TOP:] - top[:, None]) / scale[:, None])
        soft /= soft.sum(axis=1, keepdims=True)
        Zu, Zv = V[:, :m, -_TOP:], V[:, m:, -_TOP:]
        pj = np.einsum("kmn,kmj->knj", P, Zu)
        qj = np.einsum("knp,kpj->knj", Q, Zv)
        gx = np.einsum("kj,knj->kn", soft, a[:, :, None] * pj**2 - b[:, :, None] * qj**2) / scale[:, None]
        gm = np.einsum("kj,kj->k", soft, (Zu**2).sum(axis=1) - (Zv**2).sum(axis=1))
        np.clip(gx, -1.0, 1.0, out=gx)  # relative to the node's scale: a step never overflows the moments
        for g, (m1, m2), var in ((gx, moments[:2], x), (gm, moments[2:], mu)):
            m1 *= 0.9
            m1 += 0.1 * g
            m2 *= 0.999
            m2 += 0.001 * g * g
            var -= _RATE * (m1 / (1 - 0.9**t)) / (np.sqrt(m2 / (1 - 0.999**t)) + 1e-12)
        np.clip(x, -_LOG_RANGE, _LOG_RANGE, out=x)  # a unit with no weight on one side: keep B finite
    a, b = _weights(r, best_x)
    return best_x, best_mu * scale, a, b, 2 * best


def _gram_block_error(X: np.ndarray, w: np.ndarray, dX: float) -> float:
    """Bound on ``||X_ex diag(w) X_ex^T - fl(fl(X diag(w)) X^T)||_2`` for ``||X_ex - X|| <= dX``
    (X with units as columns; w >= 0 zero off the free units)."""
    free = w > 0
    if not free.any():
        return 0.0
    wmax = float(w.max())
    fro = fro_bounds(X[:, free])[1]
    rounding = gram_error(up(wmax * up(fro * fro)), X.shape[0], int(free.sum()) + 1)
    carried = up(Fraction(wmax) * (2 * Fraction(fro) * Fraction(dX) + Fraction(dX) ** 2)) if dX else 0.0
    return sum_up([rounding, carried])


def certify_blocks(A: np.ndarray, P: np.ndarray, Q: np.ndarray, a: np.ndarray, b: np.ndarray, mu: np.ndarray,
                   dA: float, dP: float, dQ: float) -> np.ndarray:
    """Certified upper bounds on ``max ||P_ex D Q_ex||`` over each node's box, for a stack of
    nodes (module docstring); ``inf`` where the check cannot be made.

    ``lambda_max(B_ex) <= lambda_max(B) + e <= c + ||N|| + s + e`` for any float c, with
    ``N = fl(B - c I)``, s >= the distance of N's diagonal from ``B_ii - c`` (one subtraction
    each, term ``one_rounding``), e the distance of ``B`` to ``B_ex`` and ``||N||`` the proven upper end
    of :func:`lipbench.spectral_norm`; c = the computed lambda_min(B) makes N positive
    semidefinite, so ``||N|| = lambda_max(N)`` and the bound is tight (the same step as
    :func:`.chain.psd_margin`, for a stack)."""
    B = _assemble(A, P, Q, a, b, mu)
    out = np.full(len(B), np.inf)
    ok = np.isfinite(B).all(axis=(1, 2))
    if not ok.any():
        return out
    B = B[ok]
    c = np.linalg.eigvalsh(B)[:, 0]
    N = B - c[:, None, None] * np.eye(B.shape[1])
    sigma = norms_upper(N)
    under = up(B.shape[1] * ETA)  # A / 2 halving a subnormal entry: eta / 2 each, n of them per row
    for t, node in enumerate(np.flatnonzero(ok)):
        diag = one_rounding(float(np.abs(np.diag(B[t])).max()))  # fl(F_ii + mu), fl(H_ii - mu)
        shift = one_rounding(float(np.abs(np.diag(N[t])).max()))  # fl(B_ii - c)
        err = sum_up([_gram_block_error(P[node], a[node], dP), _gram_block_error(Q[node].T, b[node], dQ),
                      up(dA / 2), diag, shift, float(sigma[t]), under])
        out[node] = max(up(2 * (Fraction(float(c[t])) + Fraction(err))), 0.0) if np.isfinite(err) else np.inf
    return out
