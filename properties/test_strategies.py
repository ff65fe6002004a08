"""The strategies produce what they claim (the test machinery is tested too)."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import find, given, settings

from lipbench.lipschitz import Dense

from . import checks, exact
from . import corner_strategies as CS
from . import strategies as S
from . import tolerances as tol

FIND = settings(database=None, derandomize=True, max_examples=300)
REACH = settings(FIND, phases=["generate"])  # whether a corner is reached: no need to shrink what is found


@given(sm=S.spectral_matrices())
def test_spectral_matrices_have_their_spectrum(sm):
    s = np.linalg.svd(sm.matrix.astype(np.float64), compute_uv=False)
    err = float(np.max(np.abs(s - sm.s)))
    assert err <= sm.atol + tol.svd_atol("float64", sm.shape, sm.sigma_max), checks.ctx(
        sm.matrix, computed=s, claimed=sm.s, atol=sm.atol)
    assert np.all(np.diff(sm.s) <= 0) and np.all(sm.s >= 0), checks.ctx(s=sm.s)


@given(sm=S.rank_deficient_matrices(dtype="float64"))
def test_rank_deficient_matrices_are_rank_deficient(sm):
    s = np.linalg.svd(sm.matrix, compute_uv=False)
    cut = sm.atol + tol.svd_atol("float64", sm.shape, max(sm.sigma_max, 1.0))
    assert sm.rank < min(sm.shape), checks.ctx(sm.matrix, rank=sm.rank)
    assert int(np.count_nonzero(s > cut)) == sm.rank, checks.ctx(sm.matrix, computed=s, claimed_rank=sm.rank)


@given(shape=S.shapes())
def test_shapes_are_in_range(shape):
    m, n = shape
    assert 1 <= m <= S.MAX_SIDE and 1 <= n <= S.MAX_SIDE


def test_shapes_reach_every_kind():
    for kind, pred in (("tall", lambda s: s[0] > s[1]), ("wide", lambda s: s[0] < s[1]),
                       ("square", lambda s: s[0] == s[1])):
        find(S.shapes(), pred, settings=FIND)
        find(S.shapes(kind=kind), pred, settings=FIND)


def test_spectrum_kinds_reachable():
    find(S.spectra(6), lambda s: s[0] == s[1], settings=FIND)  # repeated top
    find(S.spectra(6), lambda s: s[-1] == 0.0, settings=FIND)  # rank-deficient
    find(S.spectra(6), lambda s: s[0] / s[-1] > 1e4 if s[-1] else False, settings=FIND)  # ill-conditioned


@given(A=S.dense_matrices(shape=(6, 6)))
def test_dense_matrices_draw_elements_independently(A):
    assert A.shape == (6, 6) and np.all(np.isfinite(A))


def test_dense_matrices_are_generically_full_rank():
    """Not the accidental low rank of a repeated fill value: full rank is easy to find,
    and so is the adversarial rank-deficient case."""
    find(S.dense_matrices(shape=(8, 8)), lambda A: np.linalg.matrix_rank(A) == 8, settings=FIND)
    find(S.dense_matrices(shape=(8, 8)), lambda A: np.linalg.matrix_rank(A) < 8, settings=FIND)


@given(net=S.networks())
def test_networks_chain(net):
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    for a, b in zip(dense, dense[1:]):
        assert a.out_features == b.in_features
    assert net(np.zeros(net.in_features)).shape == (dense[-1].out_features,)


@given(mask=S.dropout_masks(5), p=S.keep_probabilities())
def test_masks_and_probabilities(mask, p):
    assert mask.shape == (5,) and set(np.unique(mask)) <= {0.0, 1.0}
    assert 0.0 < p <= 1.0


@given(A=S.integer_matrices())
def test_integer_matrices(A):
    assert A.dtype == np.int64 and np.all(np.abs(A) <= 3)


@given(S.gram_losing_matrices())
def test_gram_losing_matrices_have_their_structure(A):
    m, n = A.shape
    assert m > n and np.all(A[np.arange(n), np.arange(n)] == 1.0)
    small = np.delete(A.ravel(), np.arange(n) * (n + 1))
    assert np.all(small == small[0]) and 2.0**-30 <= small[0] <= 2.0**-20


@given(S.near_singular_symmetric())
def test_near_singular_symmetric_are_nearly_singular(M):
    a, b, c = M[0, 0], M[0, 1], M[1, 1]
    assert M[1, 0] == b and a > 0
    assert abs(a * c - b * b) <= tol.scalar_rtol("float64", ops=2) * b * b  # a few ulps from singular


# ------------------------------------------------------------------ corners (test_corners.py)

def _exact_sigma_below(A, t):
    return exact.ExactGram(exact.exact_entries(A)).below(t)


@given(A=CS.huge_matrices())
def test_huge_matrices_reach_the_top_of_their_range(A):
    top = 2.0 ** CS.top_exponent(A.dtype.name)
    assert A.dtype.name in CS.FLOAT_CORNER_DTYPES and np.all(np.isfinite(A)), checks.ctx(A=A.tolist())
    assert float(np.max(np.abs(A.astype(np.float64)))) >= top, checks.ctx(A, peak=float(np.max(np.abs(A))), top=top)


def test_huge_matrices_reach_the_largest_float_of_each_dtype():
    for dt in CS.FLOAT_CORNER_DTYPES:
        find(CS.huge_matrices(dtype=dt), lambda A: bool(np.any(np.abs(A) == np.finfo(A.dtype).max)), settings=REACH)


@given(A=CS.tiny_matrices())
def test_tiny_matrices_are_subnormal(A):
    fi = np.finfo(A.dtype)
    a = np.abs(A.astype(np.float64))
    assert np.any(a > 0) and np.all(a < fi.tiny), checks.ctx(A, entries=A.tolist())
    if A.dtype == np.float64:  # sigma_max itself is subnormal, decided exactly
        assert _exact_sigma_below(A, float(fi.tiny)), checks.ctx(A, entries=A.tolist())


def test_tiny_matrices_reach_every_dtype_and_the_smallest_subnormal():
    for dt in CS.FLOAT_CORNER_DTYPES:
        eta = np.finfo(np.dtype(dt)).smallest_subnormal
        find(CS.tiny_matrices(dtype=dt), lambda A, eta=eta: bool(np.any(np.abs(A) == eta)), settings=REACH)


def _scaled_entry_rounds(A):
    """Whether some entry of A times 2^-e (e: max |A| in [2^(e-1), 2^e)) is not a float of A's dtype."""
    e = math.frexp(float(np.max(np.abs(A.astype(np.float64)))))[1]
    for x in A.ravel():
        v = Fraction(float(x)) / Fraction(2) ** e
        if Fraction(float(A.dtype.type(float(v)))) != v:
            return True
    return False


@given(A=CS.mixed_range_matrices())
def test_mixed_range_matrices_have_one_huge_entry_among_small_ones(A):
    a = np.abs(A.astype(np.float64)).ravel()
    assert a.max() >= 2.0 ** CS.top_exponent(A.dtype.name), checks.ctx(A, entries=A.tolist())
    assert np.sum(a > 1.0) == 1 and a.size >= 2, checks.ctx(A, entries=A.tolist())


def test_mixed_range_matrices_round_when_scaled_down():
    for dt in CS.FLOAT_CORNER_DTYPES:
        find(CS.mixed_range_matrices(dtype=dt), _scaled_entry_rounds, settings=REACH)


def _long_sum_parts(A):
    col = A[:, 0].astype(np.float64)
    ones = int(np.sum(col == 1.0))
    small = col[col != 1.0]
    return ones, small


@given(A=CS.long_sum_matrices())
def test_long_sum_squares_straddle_half_an_ulp_of_the_running_sum(A):
    ones, small = _long_sum_parts(A)
    p = np.finfo(A.dtype).nmant + 1
    assert 1 <= ones <= 8 and small.size >= 56 and np.all(small == small[0]), checks.ctx(A, ones=ones)
    s2 = Fraction(float(small[0])) ** 2
    near = [s2 / Fraction(2) ** (j - p) for j in range(ones.bit_length())]  # half an ulp of 2^j is 2^(j - p)
    assert any(abs(r - 1) <= Fraction(1, 2**7) for r in near), checks.ctx(A, s=float(small[0]),
                                                                        ratios=[float(r) for r in near])


def test_long_sums_lose_far_more_than_a_few_units_of_roundoff():
    """Summed ones first, the squares lose 8 u or more of the sum (the old lower bound allowed 3 u)."""

    def loses(A):
        col = A[:, 0].astype(np.float64)
        u = Fraction(float(np.finfo(A.dtype).eps)) / 2
        acc = A.dtype.type(0)
        for x in sorted(col, reverse=True):
            acc = A.dtype.type(acc + A.dtype.type(x) * A.dtype.type(x))
        exact = sum(Fraction(float(x)) ** 2 for x in col)
        return abs(Fraction(float(acc)) - exact) >= 8 * u * exact

    for dt in ("float64", "float32"):
        find(CS.long_sum_matrices(dtype=dt), loses, settings=REACH)
    for d in (lambda A: A[0, 0] != 1.0, lambda A: A.shape[1] == 2 and np.all(A[:, 1] == A[:, 0])):
        find(CS.long_sum_matrices(), d, settings=REACH)  # shuffled order, a copied column


@given(A=CS.complex_matrices())
def test_complex_matrices_are_complex_and_finite(A):
    assert A.dtype.name in CS.COMPLEX_DTYPES and np.all(np.isfinite(A)), checks.ctx(A=A.tolist())


def test_complex_matrices_reach_their_corners():
    find(CS.complex_matrices(), lambda A: bool(np.any(A.imag != 0)), settings=REACH)
    for dt in CS.COMPLEX_DTYPES:
        fi = np.finfo(np.dtype(dt))
        find(CS.complex_matrices(dtype=dt), lambda A, fi=fi: bool(np.any(np.abs(A.real) >= 2.0 ** (fi.maxexp - 1))),
             settings=REACH)
        find(CS.complex_matrices(dtype=dt), lambda A, fi=fi: bool(np.any((A.imag != 0) & (np.abs(A.imag) < fi.tiny))),
             settings=REACH)


@given(A=CS.integer_corner_matrices())
def test_integer_corner_matrices_are_integer_or_bool(A):
    assert A.dtype.name in CS.INTEGER_DTYPES, A.dtype


def test_integer_corner_matrices_reach_beyond_two_to_the_53():
    for dt in ("int64", "uint64"):
        find(CS.integer_corner_matrices(dtype=dt), lambda A: any(int(float(x)) != x for x in A.ravel().tolist()),
             settings=REACH)
    find(CS.integer_corner_matrices(dtype="uint64"), lambda A: int(A.max()) == 2**64 - 1, settings=REACH)
    find(CS.integer_corner_matrices(), lambda A: A.dtype.name == "bool", settings=REACH)


@given(kt=CS.repeated_top_matrices())
def test_repeated_top_matrices_have_their_exact_top(kt):
    """sigma_max^2 is exactly the claimed value, with the claimed multiplicity:
    ``sigma2 I - G`` is positive semidefinite with rank N - multiplicity."""
    g = exact.ExactGram(exact.exact_entries(kt.matrix))
    shifted = g._shifted(kt.sigma2)
    msg = checks.ctx(kt.matrix, sigma2=kt.sigma2, multiplicity=kt.multiplicity, entries=kt.matrix.tolist())
    assert kt.multiplicity >= 2 and g.at_most_sq(kt.sigma2) and not g.below_sq(kt.sigma2), msg
    assert exact.exact_rank(shifted) == len(shifted) - kt.multiplicity, msg


def test_repeated_top_matrices_reach_rank_deficiency_and_both_ends():
    find(CS.repeated_top_matrices(), lambda kt: min(kt.matrix.shape) > np.linalg.matrix_rank(kt.matrix), settings=REACH)
    find(CS.repeated_top_matrices(), lambda kt: kt.multiplicity > 2, settings=REACH)
    find(CS.repeated_top_matrices(), lambda kt: bool(np.max(np.abs(kt.matrix)) >= 2.0**100), settings=REACH)
    find(CS.repeated_top_matrices(), lambda kt: bool(0 < np.max(np.abs(kt.matrix)) < np.finfo(kt.matrix.dtype).tiny),
         settings=REACH)


@given(case=CS.corner_conv_cases())
def test_corner_conv_cases_are_finite_convolutions(case):
    assert np.all(np.isfinite(case.kernel)) and case.kernel.ndim in (3, 4), case.describe()


def test_corner_conv_cases_reach_both_ends_of_the_range():
    find(CS.corner_conv_cases(), lambda c: bool(np.max(np.abs(c.kernel)) >= 2.0**1000), settings=REACH)
    find(CS.corner_conv_cases(), lambda c: bool(0 < np.max(np.abs(c.kernel)) < np.finfo(np.float64).tiny),
         settings=REACH)
    find(CS.corner_conv_cases(), lambda c: c.padding_mode == "circular" and c.same, settings=REACH)
