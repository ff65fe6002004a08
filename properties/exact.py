"""Exact truth for certified brackets: sigma_max decided in rational arithmetic.

A float matrix's entries are dyadic rationals, so ``t^2 I - G`` (G its exact
Gram matrix) is a matrix of integers after one power-of-two scaling, and its
definiteness is decided exactly (Sylvester's criterion by Bareiss
elimination).  :class:`ExactGram` holds one matrix's exact Gram matrix and
answers ``sigma_max < t`` and ``sigma_max <= t`` for the corner property test;
:func:`check_exact_bracket` judges a result's bracket against it.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np

from lipbench import backends as lbk

from .checks import host


def _dyadic_integers(values: list[float]) -> tuple[list[int], int]:
    """Integers ``k_i`` and one exponent e with ``values[i] == k_i * 2**e`` exactly."""
    ratios = [Fraction(v) for v in values]  # exact: every float is a dyadic rational
    e = min((-(r.denominator.bit_length() - 1) for r in ratios if r), default=0)
    return [int(r * Fraction(2) ** -e) for r in ratios], e


def exactly_positive_definite(M: list[list[int]]) -> bool:
    """Sylvester's criterion in exact integer arithmetic (Bareiss elimination:
    the k-th pivot is the k-th leading principal minor)."""
    M = [row[:] for row in M]
    n, prev = len(M), 1
    for k in range(n):
        if M[k][k] <= 0:
            return False
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                M[i][j] = (M[i][j] * M[k][k] - M[i][k] * M[k][j]) // prev
        prev = M[k][k]
    return True


def exactly_below(A: Any, t: float) -> bool:
    """Exactly whether ``sigma_max(A) < t`` for the stored float matrix A:
    ``t^2 I - G`` positive definite, G the exact Gram matrix on the smaller
    side, all in integers (A's entries and t are dyadic rationals)."""
    a = np.asarray(host(A), dtype=np.float64)
    if a.shape[0] < a.shape[1]:
        a = a.T
    m, k = a.shape
    ints, e = _dyadic_integers([float(x) for x in a.ravel()] + [float(t)])
    t_int, rows = ints[-1], [ints[i * k:(i + 1) * k] for i in range(m)]
    G = [[sum(r[i] * r[j] for r in rows) for j in range(k)] for i in range(k)]
    return exactly_positive_definite([[(t_int * t_int if i == j else 0) - G[i][j] for j in range(k)]
                                      for i in range(k)])


def exactly_positive_definite_float(M: Any) -> bool:
    """Exactly whether the symmetric float matrix M is positive definite."""
    a = np.asarray(host(M), dtype=np.float64)
    k = a.shape[0]
    ints, _ = _dyadic_integers([float(x) for x in a.ravel()])
    return exactly_positive_definite([ints[i * k:(i + 1) * k] for i in range(k)])


# ---------------------------------------------------------------- exact truth for every certified bracket

def exact_entries(A: Any) -> list[list[Fraction]]:
    """A's entries as exact rationals, row by row: a float is a dyadic rational
    (float16/32 widen to float64 exactly), an integer or bool its own Python
    integer (2^62 + 1 stays 2^62 + 1), a complex matrix its real embedding
    ``[[Re, -Im], [Im, Re]]`` (whose singular values are A's, each twice)."""
    a = np.asarray(lbk.to_numpy(A))
    if a.dtype.kind == "c":
        re, im = exact_entries(a.real), exact_entries(a.imag)
        return [r + [-x for x in i] for r, i in zip(re, im)] + [i + r for r, i in zip(re, im)]
    if a.dtype.kind in "iub":
        return [[Fraction(int(x)) for x in row] for row in a.tolist()]
    return [[Fraction(float(x)) for x in row] for row in a.astype(np.float64).tolist()]


def exact_conv_matrix(kernel: np.ndarray, input_shape: tuple[int, ...], padding: tuple[int, ...],
                      padding_mode: str) -> list[list[Fraction]]:
    """The matrix of ``x -> conv(x, kernel)`` (PyTorch's cross-correlation,
    stride 1, dilation 1, one group; zeros or circular padding) in exact
    rationals, built by the textbook loops over channels, positions and taps:
    an entry is the exact sum of the taps that land on one input."""
    c_out, c_in, *ks = kernel.shape
    outs = [n + 2 * p - k + 1 for n, p, k in zip(input_shape, padding, ks)]
    cols = {idx: j for j, idx in enumerate(itertools.product(range(c_in), *(range(n) for n in input_shape)))}
    rows = []
    for o in range(c_out):
        for pos in itertools.product(*(range(n) for n in outs)):
            row = [Fraction(0)] * len(cols)
            for c in range(c_in):
                for tap in itertools.product(*(range(k) for k in ks)):
                    at = [q + t - p for q, t, p in zip(pos, tap, padding)]
                    if padding_mode == "circular":
                        at = [q % n for q, n in zip(at, input_shape)]
                    elif not all(0 <= q < n for q, n in zip(at, input_shape)):
                        continue
                    row[cols[(c, *at)]] += Fraction(float(kernel[(o, c, *tap)]))
            rows.append(row)
    return rows


def exactly_positive_semidefinite(M: list[list[Any]]) -> bool:
    """Exactly whether the symmetric rational matrix M is positive semidefinite:
    symmetric elimination on the diagonal (``[[d, b^T], [b, C]]`` is PSD iff
    d > 0 and ``d C - b b^T`` is, or d = 0, b = 0 and C is), fraction-free in
    integers (Bareiss: each step divides exactly by the previous pivot; an
    index whose row has vanished is dropped, which keeps the division exact)."""
    den = math.lcm(*(Fraction(x).denominator for row in M for x in row)) if M else 1
    M = [[int(Fraction(x) * den) for x in row] for row in M]
    left, prev = list(range(len(M))), 1
    while left:
        k, rest = left[0], left[1:]
        d = M[k][k]
        if d < 0:
            return False
        if d == 0:
            if any(M[k][j] for j in rest):
                return False
        else:
            for i in rest:
                for j in rest:
                    M[i][j] = (M[i][j] * d - M[i][k] * M[k][j]) // prev
            prev = d
        left = rest
    return True


def exact_rank(M: list[list[Any]]) -> int:
    """The rank of a rational matrix, by Gaussian elimination in fractions."""
    R = [[Fraction(x) for x in row] for row in M]
    rank, cols = 0, len(R[0]) if R else 0
    for c in range(cols):
        p = next((i for i in range(rank, len(R)) if R[i][c] != 0), None)
        if p is None:
            continue
        R[rank], R[p] = R[p], R[rank]
        for i in range(rank + 1, len(R)):
            f = R[i][c] / R[rank][c]
            if f:
                R[i] = [a - f * b for a, b in zip(R[i], R[rank])]
        rank += 1
    return rank


class ExactGram:
    """The Gram matrix of an exact rational matrix on its smaller side, in
    integers (``G = gram / denominator^2``), and exact decisions about
    sigma_max: ``t^2 I - G`` positive definite (sigma < t) or semidefinite
    (sigma <= t), tested in integer and rational arithmetic."""

    def __init__(self, rows: list[list[Fraction]]) -> None:
        self.shape = (len(rows), len(rows[0]))
        self.denominator = math.lcm(*(x.denominator for row in rows for x in row))
        ints = [[int(x * self.denominator) for x in row] for row in rows]
        if self.shape[0] < self.shape[1]:
            ints = [list(col) for col in zip(*ints)]
        k = len(ints[0])
        self.gram = [[sum(r[i] * r[j] for r in ints) for j in range(k)] for i in range(k)]

    def _shifted(self, t2: Fraction) -> list[list[int]]:
        """``q (t^2 D^2 I - gram)`` in integers, q > 0 the denominator of ``t^2 D^2``."""
        s = Fraction(t2) * self.denominator**2
        p, q = s.numerator, s.denominator
        k = len(self.gram)
        return [[(p if i == j else 0) - q * self.gram[i][j] for j in range(k)] for i in range(k)]

    def below_sq(self, t2: Fraction) -> bool:
        """Exactly whether sigma_max^2 < t2."""
        return t2 > 0 and exactly_positive_definite(self._shifted(t2))

    def at_most_sq(self, t2: Fraction) -> bool:
        """Exactly whether sigma_max^2 <= t2."""
        return t2 >= 0 and exactly_positive_semidefinite(self._shifted(t2))

    def below(self, t: float) -> bool:
        """Exactly whether sigma_max < t (t a float; inf: True)."""
        if math.isnan(t):
            raise ValueError("t is NaN")
        return math.isinf(t) and t > 0 or t > 0 and self.below_sq(Fraction(t) ** 2)

    def at_most(self, t: float) -> bool:
        """Exactly whether sigma_max <= t (t a float; inf: True)."""
        if math.isnan(t):
            raise ValueError("t is NaN")
        return math.isinf(t) and t > 0 or t >= 0 and self.at_most_sq(Fraction(t) ** 2)


def check_exact_bracket(r: Any, truth: ExactGram, *, proven: bool, **where: Any) -> str:
    """A result's bracket against exact arithmetic: never NaN; if ``certified``
    or ``proven`` (a method whose bracket is always a proof), ``lower <=
    sigma_max <= upper`` exactly; if ``certified``, also ``upper - lower <=
    tol lower`` in fractions.  ``where`` (method, certify, dtype, shape ...)
    goes into the message.  Returns what was checked: "certified", "proven"
    or "reported" (an estimate's bracket, only checked for NaN)."""
    lower, upper = float(r.lower), float(r.upper)
    msg = "; ".join([*(f"{k}={v}" for k, v in where.items()), f"lower={lower!r}", f"upper={upper!r}",
                     f"value={float(r.value)!r}", f"tol={r.tol!r}", f"certified={r.certified}",
                     f"certificate={r.certificate}", f"message={r.message!r}"])
    assert not (math.isnan(lower) or math.isnan(upper)), "NaN in the bracket: " + msg
    if not (r.certified or proven):
        return "reported"
    assert not truth.below(lower), "lower bound above sigma_max (exact arithmetic): " + msg
    assert truth.at_most(upper), "upper bound below sigma_max (exact arithmetic): " + msg
    if r.certified:
        assert math.isfinite(upper), "certified with an infinite upper end: " + msg
        assert Fraction(upper) - Fraction(lower) <= Fraction(float(r.tol)) * Fraction(lower), \
            "certified bracket wider than tol * lower: " + msg
        return "certified"
    return "proven"
