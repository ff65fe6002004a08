"""LipSDP's matrix inequality assembled in floating point and verified: never trust the solver.

For a chain ``f = W_l o phi_{l-1} o ... o phi_1 o W_1`` whose activation k has
slopes in ``[a_k, b_k]`` (``Chain.slopes``), LipSDP (Fazlyab et al., NeurIPS
2019, Theorem 2) proves ``L(f) <= sqrt(rho)`` from diagonal multipliers
``T_k = diag(t_k) >= 0`` when the symmetric block-tridiagonal matrix ``G`` over
the stacked differences ``z = (x_0, x_1, ..., x_h)`` (input, then each
activation's output, ``h = l - 1``) is positive semidefinite:

    G_00 = rho I + c_1 W_1^T T_1 W_1,       c_k = 2 a_k b_k,  s_k = a_k + b_k
    G_kk = 2 T_k + c_{k+1} W_{k+1}^T T_{k+1} W_{k+1}     (0 < k < h)
    G_hh = 2 T_h - W_l^T W_l
    G_k,k-1 = -s_k T_k W_k                               (0 < k <= h)

Proof (the S-procedure with the slope-restriction quadratic constraint): for
``w = W_k x_{k-1}`` and ``v = x_k`` the differences of two inputs, each neuron
has ``(v_j - a_k w_j)(b_k w_j - v_j) >= 0``, so
``q_k = 2 sum_j t_kj (v_j - a_k w_j)(b_k w_j - v_j) >= 0``; expanding,
``z^T G z = rho ||x_0||^2 - ||W_l x_h||^2 - sum_k q_k``, so ``G >= 0`` gives
``||f(x) - f(x')||^2 <= rho ||x - x'||^2``.  This is the LMI ``(A; B)^T Q (A; B)
- M <= 0`` of LipSDP's code, negated.

**The reduced form** (``reduced=True``, for a first weight with fewer rows than
columns): with ``Gamma = W_1 W_1^T`` and ``K = blkdiag(W_1^T, I)``, the matrix
``K^T G K`` has ``G_00`` replaced by ``rho Gamma + c_1 Gamma T_1 Gamma`` and
``G_10`` by ``-s_1 T_1 Gamma``: it is ``G`` with ``(I, W_1)`` replaced by
``(Gamma, Gamma)``, of size ``n_1 + N`` instead of ``n_0 + N``.  Exactly, ``G >= 0``
follows from ``K^T G K >= 0`` and ``rho >= 0``: write ``x_0 = W_1^T y + n`` with
``W_1 n = 0``; ``G`` acts on ``x_0`` only through ``rho x_0`` and ``W_1 x_0``, so
the cross terms of ``(n, 0)`` with ``(W_1^T y, x_1, ...)`` vanish and
``z^T G z = rho ||n||^2 + z'^T K^T G K z'`` with ``z' = (y, x_1, ..., x_h)``.  No
SVD enters the proof: the solver may work on ``U S`` of ``W_1 = U S V^T``
(whose LMI has the same ``K``-congruent matrix), and the verification only needs
``Gamma`` with its rounding (:func:`lipbench._rounding.gram_error`).

**In floating point** every block is computed from the floats ``t_k``, ``rho``
and the chain's matrices, and bounded against the exact block built from the
exact weights (``||W_k - exact W_k||_2 <= e_k``, the chain's errors,
:func:`.chain.perturbation`) and the exact coefficients ``2 a b``, ``a + b``:
the products' rounding by :func:`lipbench._rounding_maps.product_rounding`, each
scaling and the final sum of a block by
:func:`lipbench._rounding_maps.entrywise_rounding` (all term ``lipsdp_assembly``),
``W_l^T W_l`` and ``Gamma`` by ``gram_error``.  A block matrix's 2-norm is at most
the sum of its diagonal blocks' norms plus, once per symmetric pair, its
off-diagonal blocks' norms; that sum is the ``exact_error`` of
:func:`.chain.psd_margin`, a certified lower bound on ``lambda_min`` of the exact
``G``: when it is positive the bound ``sqrt(rho)`` is proven.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .._rounding import fro_bounds, gram_error, prod_up, sum_up, up
from .._rounding_maps import entrywise_rounding, product_rounding
from .chain import perturbation, psd_margin

__all__ = ["lmi", "lmi_margin", "weighted_gram", "TERM"]

TERM = "lipsdp_assembly"


def _fro(A: np.ndarray) -> float:
    return fro_bounds(A)[1]


def _coefficient(exact: Fraction) -> tuple[float, float]:
    """The float nearest ``exact`` and an upper bound on its distance from it."""
    f = float(exact)
    return f, up(abs(Fraction(f) - exact))


def weighted_gram(W: np.ndarray, e: float, t: np.ndarray, c: Fraction) -> tuple[np.ndarray, float]:
    """``fl(c_f fl(W^T fl(diag(t) W)))`` and a bound on its 2-norm distance from ``c W_x^T diag(t) W_x``
    for every exact ``W_x`` with ``||W_x - W||_2 <= e`` (``c_f`` the float nearest ``c``)."""
    n_out, n_in = W.shape
    cf, dc = _coefficient(c)
    X = cf * (W.T @ (t[:, None] * W))
    fw, tmax = _fro(W), float(np.max(t))
    rounding = product_rounding(fw, [(tmax, 1, W.size), (fw, n_out, n_in * n_in), (abs(cf), 1, n_in * n_in)], TERM)
    norm = prod_up([fw, tmax, fw])
    pert = perturbation([fw, tmax, fw], [e, 0.0, e])
    return X, sum_up([rounding, prod_up([dc, norm]), prod_up([up(abs(c)), pert])])


def _off_block(W: np.ndarray, e: float, t: np.ndarray, s: Fraction) -> tuple[np.ndarray, float]:
    """``fl(-s_f fl(diag(t) W))`` and its distance from ``-s diag(t) W_x``."""
    sf, ds = _coefficient(s)
    Off = -sf * (t[:, None] * W)
    fw, tmax = _fro(W), float(np.max(t))
    rounding = product_rounding(fw, [(tmax, 1, W.size), (abs(sf), 1, W.size)], TERM)
    return Off, sum_up([rounding, prod_up([ds, tmax, fw]), prod_up([up(abs(s)), tmax, e])])


def _gram(W: np.ndarray, e: float, rows: bool) -> tuple[np.ndarray, float]:
    """``fl(W W^T)`` (``rows``) or ``fl(W^T W)`` and its distance from the exact weight's."""
    G = W @ W.T if rows else W.T @ W
    fw = _fro(W)
    return G, sum_up([gram_error(up(fw * fw), *W.shape), perturbation([fw, fw], [e, e])])


def _sum(A: np.ndarray, ea: float, B: np.ndarray | None, eb: float) -> tuple[np.ndarray, float]:
    """``fl(A + B)`` and its error: both operands' errors plus one rounding per entry."""
    if B is None:
        return A, ea
    S = A + B
    return S, sum_up([ea, eb, entrywise_rounding(_fro(S), S.size, TERM)])


def _scaled(rho: float, R: np.ndarray, eR: float) -> tuple[np.ndarray, float]:
    """``fl(rho R)`` and its distance from ``rho R_x`` (``||R_x - R||_2 <= eR``)."""
    X = rho * R
    return X, sum_up([prod_up([rho, eR]), entrywise_rounding(up(rho * _fro(R)), R.size, TERM)])


def lmi(weights: tuple[np.ndarray, ...], errors: tuple[float, ...], slopes: tuple[tuple[float, float], ...],
        t: list[np.ndarray], rho: float, *, reduced: bool = False,
        neurons: list[tuple[np.ndarray, np.ndarray]] | None = None) -> tuple[np.ndarray, float]:
    """The computed ``G`` (or its reduced form) and a bound on its 2-norm distance from the exact one.

    ``neurons`` (per hidden layer, the vectors ``c_j t_j`` and ``s_j t_j``, each *exactly* the
    product of neuron ``j``'s ``c_j = 2 a_j b_j``, ``s_j = a_j + b_j`` and ``t_j``) replaces
    ``slopes`` by a slope interval ``[a_j, b_j]`` per neuron: the same proof, each neuron's
    constraint weighted by its ``t_j``, so ``c_k T_k`` and ``s_k T_k`` become those diagonals."""
    h = len(weights) - 1
    c = [2 * Fraction(a) * Fraction(b) for a, b in slopes]
    s = [Fraction(a) + Fraction(b) for a, b in slopes]
    tc, ts = list(t), list(t)
    if neurons is not None:
        tc, ts = [n[0] for n in neurons], [n[1] for n in neurons]
        c = [Fraction(1 if np.any(k) else 0) for k in tc]
        s = [Fraction(1)] * len(ts)
    first, e_first = weights[0], errors[0]
    if reduced:
        first, e_first = _gram(weights[0], errors[0], rows=True)
        R, eR = _scaled(rho, first, e_first)
    else:
        R, eR = rho * np.eye(first.shape[1]), 0.0
    diag, errs = [], []
    mats = [first, *weights[1:]]
    errs_w = [e_first, *errors[1:]]
    for k in range(h + 1):
        if k == 0:
            base, e_base = R, eR
        elif k < h:
            base, e_base = np.diag(2 * t[k - 1]), 0.0
        else:
            G, eG = _gram(weights[-1], errors[-1], rows=False)
            base, e_base = _sum(np.diag(2 * t[k - 1]), 0.0, -G, eG)
        P, eP = (None, 0.0) if k == h or c[k] == 0 else weighted_gram(mats[k], errs_w[k], tc[k], c[k])
        D, eD = _sum(base, e_base, P, eP)
        diag.append(D)
        errs.append(eD)
    offs = []
    for k in range(1, h + 1):
        Off, eOff = _off_block(mats[k - 1], errs_w[k - 1], ts[k - 1], s[k - 1])
        offs.append(Off)
        errs.append(eOff)
    sizes = [D.shape[0] for D in diag]
    M = np.zeros((sum(sizes), sum(sizes)))
    at = np.concatenate([[0], np.cumsum(sizes)])
    for k, D in enumerate(diag):
        M[at[k]:at[k + 1], at[k]:at[k + 1]] = D
    for k, Off in enumerate(offs, start=1):
        M[at[k]:at[k + 1], at[k - 1]:at[k]] = Off
        M[at[k - 1]:at[k], at[k]:at[k + 1]] = Off.T
    return M, sum_up(errs)


def lmi_margin(weights: tuple[np.ndarray, ...], errors: tuple[float, ...], slopes: tuple[tuple[float, float], ...],
               t: list[np.ndarray], rho: float, *, reduced: bool = False,
               neurons: list[tuple[np.ndarray, np.ndarray]] | None = None) -> float:
    """A certified lower bound on ``lambda_min`` of the exact ``G`` (reduced: of ``K^T G K``);
    positive proves ``L(f) <= sqrt(rho)`` (with ``neurons``, see :func:`lmi`: for every product
    ``W_l D_h ... D_1 W_1`` whose diagonal ``D_k`` lie in the per-neuron intervals)."""
    if not (rho >= 0 and all(np.all(tk >= 0) for tk in t)):
        raise ValueError("LipSDP's multipliers must be non-negative (rho and every t_k)")
    M, err = lmi(weights, errors, slopes, t, rho, reduced=reduced, neurons=neurons)
    return psd_margin(M, exact_error=err)
