"""The one-pass summary behind validation (issue 24): whatever the scale of A,
one pass gives max|A| and sums that, fed to the rounding model, bracket the
exact sums of ``A 2^-e``, the operator's scaled matrix.  Rows climbing from
2^-1070 to 2^1020 move the blocked pass's running scale over every rung of
its ladder (the rescaled partial sums of the columns); the whole-array path
picks its scale from max|A| first.  On a well-scaled matrix the summary is
A's own sums, as direct reductions give them."""

from __future__ import annotations

import math
from fractions import Fraction as Q

import numpy as np
import pytest

import lipbench as lb
from lipbench.testing import dense_summary, operator_of, rounding, summarize
from properties.tolerances import reference_rtol, sum_rtol

SHAPE = (40, 12)


def _rows_scaled(rng, exps):
    """A Gaussian matrix whose row i is multiplied by ``2^exps[i]``."""
    return np.ldexp(rng.standard_normal((len(exps), SHAPE[1])), np.asarray(exps)[:, None])


CASES = {
    "climbing": lambda rng: _rows_scaled(rng, np.linspace(-1070, 1020, SHAPE[0]).astype(int)),
    "falling": lambda rng: _rows_scaled(rng, np.linspace(1020, -1070, SHAPE[0]).astype(int)),
    "tiny-then-one": lambda rng: _rows_scaled(rng, [-1050] * 20 + [0] * 20),
    # rows just below a rung, then just above it: the rescaled partial sums carry weight
    "across-2^299": lambda rng: _rows_scaled(rng, [297] * 20 + [299] * 20),
    "across-2^-300": lambda rng: _rows_scaled(rng, [-302] * 20 + [-300] * 20),
    "huge": lambda rng: _rows_scaled(rng, [1000] * SHAPE[0]),
    "subnormal": lambda rng: _rows_scaled(rng, [-1060] * SHAPE[0]),
    "plain": lambda rng: _rows_scaled(rng, [0] * SHAPE[0]),
}


def _exact(A: np.ndarray, e: int) -> tuple[Q, Q, Q, Q]:
    """The sum of squares, largest column sum of squares, largest column and
    row sums of |.| of ``A 2^-e``, in exact arithmetic."""
    s = Q(2) ** -e
    q = [[Q(float(x)) * s for x in row] for row in A]
    col2 = [sum(r[j] ** 2 for r in q) for j in range(A.shape[1])]
    col1 = [sum(abs(r[j]) for r in q) for j in range(A.shape[1])]
    return sum(col2), max(col2), max(col1), max(sum(abs(x) for x in r) for r in q)


def _layouts(A: np.ndarray):
    """The blocked pass (C order, three rows a block) and the whole-array path (F order)."""
    yield "blocked", summarize(np, np.ascontiguousarray(A), block_bytes=8 * 3 * A.shape[1])
    yield "whole", summarize(np, np.asfortranarray(A))


@pytest.mark.parametrize("case", list(CASES))
def test_the_sums_bracket_the_exact_sums_of_the_scaled_matrix(case, rng):
    A = CASES[case](rng)
    m, n = A.shape
    for path, s in _layouts(A):
        assert s.peak == float(np.max(np.abs(A))), (case, path, s.peak)
        e = math.frexp(s.peak)[1]
        ss, col2, one, inf = s.sums(s.k - e)
        want = _exact(A, e)
        lo, hi = rounding.sum_bounds(ss, m * n)
        checks = [("ss", Q(lo) <= want[0] <= Q(hi), ss, want[0], sum_rtol("float64", m * n)),
                  ("col2", Q(rounding.sum_bounds(col2, m)[0]) <= want[1], col2, want[1], sum_rtol("float64", m)),
                  ("abs1", Q(rounding.abs_sum_upper(one, m)) >= want[2], one, want[2], sum_rtol("float64", m)),
                  ("absinf", Q(rounding.abs_sum_upper(inf, n)) >= want[3], inf, want[3], sum_rtol("float64", n))]
        for what, holds, got, exact, rtol in checks:
            # a proof, and close: a sum far off (scaled wrongly, inf, 0) fails here
            assert holds and abs(Q(got) - exact) <= Q(rtol) * exact, (case, path, what, got, float(exact))


@pytest.mark.parametrize("case", ["climbing", "falling", "huge", "subnormal"])
def test_the_operator_takes_its_bounds_from_the_one_summary(case, rng):
    """The scaled operator's cheap bounds hold for its own matrix (computed
    here directly from the copy) and are as tight as the copy's own sums."""
    A = CASES[case](rng)
    op = operator_of(A)
    a = np.asarray(op.dense, dtype=np.float64)
    m, n = a.shape
    fro, col = np.linalg.norm(a), np.linalg.norm(a, axis=0).max()
    norm_product = math.sqrt(np.abs(a).sum(0).max() * np.abs(a).sum(1).max())
    assert fro <= op.fro_upper() <= fro * (1 + sum_rtol("float64", m * n)), (case, fro, op.fro_upper())
    assert op.cheap_lower() <= col <= op.cheap_lower() * (1 + sum_rtol("float64", m)), (case, col, op.cheap_lower())
    assert op.cheap_upper() <= min(fro, norm_product) * (1 + sum_rtol("float64", m * n)), (case, op.cheap_upper())


@pytest.mark.parametrize("case", ["climbing", "tiny-then-one", "huge"])
def test_a_badly_scaled_matrix_keeps_a_certified_bracket(case, rng):
    A = CASES[case](rng)
    r = lb.spectral_norm(A, certify=True)
    e = math.frexp(float(np.max(np.abs(A))))[1]
    ref = math.ldexp(float(np.linalg.norm(np.ldexp(A, -e), 2)), e)
    rtol = reference_rtol(A.shape)
    assert r.certified and r.lower <= ref * (1 + rtol) and r.upper >= ref * (1 - rtol), (case, r.lower, ref, r.upper)


def _expected(A):
    a = np.asarray(A, dtype=np.float64)
    col2 = np.sum(a * a, axis=0)
    return (float(col2.sum()), float(col2.max()), float(np.abs(a).sum(0).max()), float(np.abs(a).sum(1).max()),
            float(np.abs(a).max()))


@pytest.mark.parametrize("order", ["C", "F"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(1, 7), (37, 5), (300, 260), (5, 400)])
def test_dense_summary_matches_direct_reductions(shape, dtype, order, rng):
    A = np.asarray(rng.standard_normal(shape) * rng.uniform(0.1, 10, size=shape[1]), dtype=dtype, order=order)
    got = dense_summary(np, A, block_bytes=8 * 3 * shape[1])  # several row blocks, a short last one
    want = _expected(A)
    m, n = shape  # float64 sums of: every square, a column's squares, a column's, a row's |a|; the max is exact
    rtol = np.array([sum_rtol("float64", m * n), sum_rtol("float64", m), sum_rtol("float64", m),
                     sum_rtol("float64", n), 0.0])
    err = np.abs(np.asarray(got) - np.asarray(want))
    assert np.all(err <= rtol * np.abs(want)), (shape, dtype, err / np.abs(want), rtol)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_dense_summary_flags_non_finite_entries(bad, rng):
    A = rng.standard_normal((50, 40))
    A[17, 3] = bad
    assert not all(map(math.isfinite, dense_summary(np, A)))
    with pytest.raises(ValueError, match=r"\(17, 3\)"):
        lb.spectral_norm(A)
