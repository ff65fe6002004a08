"""Rounding of assembled maps and chains of products: a convolution's matrix and
its Gram, the circular embedding's blocks, a product of weights, an entrywise
rounded matrix, and an operator's product, each bounded in the one rounding
model of :mod:`lipbench._rounding` (its unit roundoff, gamma and terms; the
proofs in ``docs/certify.md``)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from ._rounding import ETA, U64, dn, fro_bounds, gamma_up, product_error, sqrt_int_up, sum_bounds, term, up

__all__ = ["operator_lower", "assembly_error", "conv_gram_error", "conv_embedding_error", "product_rounding",
           "entrywise_rounding", "linop_lower_bound"]


def operator_lower(matvec: Callable[[np.ndarray], np.ndarray], abs_matvec: Callable[[np.ndarray], np.ndarray],
                   v: np.ndarray, terms: int) -> float:
    """A proven lower bound on ``sigma_max(A) >= ||A v|| / ||v||`` for an operator
    computed as sums of at most ``terms`` products per entry (any order).

    ``abs_matvec`` applies the operator built from the entrywise absolute
    values of the same factors, so that ``fl(|A| |v|)`` bounds Higham's
    ``|fl(A v) - A v| <= gamma_k |A| |v| + (1 + gamma_k) k eta / 2`` (Thm 3.5
    with underflow): each entry of ``fl(|A| |v|)`` is itself a sum of ``terms``
    non-negative products, rounded once each, so its exact value is at most
    ``sum_bounds``' upper end (terms ``sum_gamma``, ``sum_underflow``); the
    product's error is then ``product_error`` (terms ``product_gamma``,
    ``product_underflow``) with that norm in place of ``||A||_F ||v||``."""
    v = np.asarray(v, dtype=np.float64).reshape(-1)
    _, v_hi = fro_bounds(v)
    if v_hi == 0.0:
        return 0.0
    w = np.asarray(matvec(v), dtype=np.float64).reshape(-1)
    wa = np.asarray(abs_matvec(np.abs(v)), dtype=np.float64).reshape(-1)
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(wa))):
        return 0.0
    w_lo, _ = fro_bounds(w)
    entry_hi = np.asarray(sum_bounds(wa, max(int(terms), 1))[1], dtype=np.float64)
    _, abs_hi = fro_bounds(entry_hi)
    err = product_error(max(int(terms), 1), w.size, abs_hi, 1.0)
    if not math.isfinite(err):
        return 0.0
    return max(dn(dn(w_lo - err) / v_hi), 0.0)


def assembly_error(abs_computed: Any, hits: int, name: str = "conv_assembly") -> float:
    """Bound on ``||M - A||_2`` for a matrix M assembled by applying an operator
    to unit vectors, where each entry of A is a sum of at most ``hits`` exact
    terms (kernel entries times 1; the other products are exact zeros, which
    add exactly).  A sum of K exact terms in any order is off by at most
    ``gamma_{K-1}`` times the sum of their absolute values (Higham sec. 4.2),
    so ``||M - A||_F <= gamma_{K-1} || |A| ||_F`` with ``|A|`` the matrix of the
    absolute kernel; ``abs_computed`` is that matrix assembled the same way,
    whose non-negative sums are at most ``gamma_{K-1}`` below the exact ones:
    ``|| |A| ||_F <= ||abs_computed||_F / (1 - gamma_{K-1})``.  0 when ``hits <= 1``."""
    k = int(hits) - 1
    if k < 1:
        return 0.0
    _, fro = fro_bounds(abs_computed)
    fro = up(fro / dn(1 - gamma_up(k)))
    return up(gamma_up(k, name) * fro)


def conv_gram_error(abs_sigma_up: float, products: int, ndim: int, side: int, peak_count: int) -> float:
    """Bound on ``||G~ - G||_2`` for a convolution's Gram matrix (N = ``side``) whose every
    entry is a sum of at most c = ``products`` products ``W W P_1 ... P_d`` (two kernel
    taps, d = ``ndim`` integer counts of at most ``peak_count`` in product), evaluated in
    any order and association: each product passes through at most ``k = c + d + 1``
    roundings, so the entry errs by ``gamma_k`` times the sum of the products' absolute
    values (Higham Lemma 3.1, 3.3), i.e. by ``gamma_k (B^T B)_ij`` with ``B`` the
    convolution with ``|W|``, and ``||.||_2 <= gamma_k sigma(B)^2``; the at most
    ``c (d + 1)`` underflows of a product (``eta / 2`` each, then multiplied by the counts
    and ``1 + gamma_k <= 2``) add ``N c (d + 1) P eta`` (Frobenius over N^2 entries)."""
    g = gamma_up(int(products) + int(ndim) + 1, "conv_gram")
    s2 = up(up(float(abs_sigma_up) ** 2) * g) if g < 1 else math.inf
    if not math.isfinite(s2):
        return math.inf
    under = Fraction(int(side) * int(products) * (int(ndim) + 1) * int(peak_count)) * Fraction(ETA)
    return up(Fraction(s2) + under * Fraction(term("conv_gram")))


def conv_embedding_error(abs_taps: Any, taps: int) -> float:
    """Bound on ``||R~ - R||_2`` for the real embedding ``[[Re B, -Im B], [Im B, Re B]]``
    of a DFT block ``B = sum_t W_t z_t`` summed directly over ``taps`` = T terms, the
    twiddles' components each within ``e_z = u (1 + 2^-20)`` (``|z| = 1``), and
    ``abs_taps = sum_t |W_t|``: each entry of Re B and Im B errs by at most
    ``c (sum_t |W_t|)_ij + T eta / 2``, ``c = gamma_T (1 + e_z) + e_z`` (Higham Thm 3.5
    with underflow), and ``||R~ - R||_2 = ||B~ - B||_2 <= ||B~ - B||_F``, so
    ``<= sqrt 2 c ||abs_taps||_F + T eta sqrt(size)``."""
    e_z = Fraction(U64) * (1 + Fraction(2) ** -20)
    c = Fraction(gamma_up(int(taps), "conv_embedding")) * (1 + e_z) + e_z * Fraction(term("conv_embedding"))
    _, fro = fro_bounds(abs_taps)
    if not math.isfinite(fro):
        return math.inf
    under = int(taps) * Fraction(ETA) * Fraction(sqrt_int_up(int(np.size(abs_taps)))) * Fraction(term("conv_embedding"))
    return up(Fraction(sqrt_int_up(2)) * c * Fraction(fro) + under)


def product_rounding(first_fro: float, steps: Sequence[tuple[float, int, int]], name: str) -> float:
    """Bound on ``||X_k - F_k ... F_1||_F`` for a product computed one factor at a
    time: ``X_1 = F_1`` (no rounding), ``X_j = fl(F_j X_{j-1})``.

    ``first_fro >= ||F_1||_F``; each step is ``(a_j, n_j, size_j)``: ``a_j >=
    ||F_j||_F`` (for a diagonal or scalar factor its largest |entry|), ``n_j``
    the length of each inner product (1 for a diagonal or scalar factor) and
    ``size_j`` the entries of ``X_j``.  Step j errs by at most ``gamma_{n_j}
    ||F_j||_F ||X_{j-1}||_F + n_j eta sqrt(size_j)`` in Frobenius norm (Higham
    Thm 3.5 with underflow, any order: ``|| |F| |X| ||_F <= ||F||_F ||X||_F``),
    the error so far is multiplied by ``||F_j||_2 <= a_j``, and ``||X_j||_F <=
    a_j ||X_{j-1}||_F`` plus step j's error."""
    x, err = float(first_fro), 0.0
    factor = Fraction(term(name))
    for a, n, size in steps:
        a = float(a)
        under = up(Fraction(int(n)) * Fraction(ETA) * Fraction(sqrt_int_up(int(size))) * factor)
        local = up(up(gamma_up(int(n), name) * up(a * x)) + under)
        err = up(up(a * err) + local)
        x = up(up(a * x) + local)
    return err


def entrywise_rounding(fro_up: float, count: int, name: str) -> float:
    """Bound on ``||fl(X) - X||_F`` when each of the ``count`` entries of ``fl(X)`` is
    one operation on floats correctly rounded (a sum, a product): ``|fl(x) - x| <=
    u |fl(x)| / (1 - u) + eta / 2``, so ``u / (1 - u) ||fl(X)||_F + sqrt(count) eta / 2``
    with ``fro_up >= ||fl(X)||_F`` (the ``eta`` covers a product that underflows)."""
    f = Fraction(term(name))
    rel = Fraction(U64) / (1 - Fraction(U64))
    return up((rel * Fraction(float(fro_up)) + Fraction(sqrt_int_up(int(count))) * Fraction(ETA) / 2) * f)


def linop_lower_bound(norm_av: float, m: int, n: int) -> float:
    """A lower bound on ``||A v||`` (unit v) for a matrix-free operator, which
    has no entries to bound its rounding with: its product is *assumed* as
    accurate as a dense float64 one, ``||fl(Av) - Av|| <= gamma_n sqrt(min(m, n))
    sigma``.  An assumption about the caller's operator, not a proof: such a
    bracket is never certified."""
    g = (n + 2) * U64 * math.sqrt(min(m, n))
    return max(0.0, norm_av * (1 - (m + 2) * U64 - g) / (1 + g))
