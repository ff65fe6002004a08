"""The inertia certificate never proves sigma_max(A) < t when it is false.

Ground truth is exact: ``t^2 I - A^T A`` (or ``A A^T``) is tested for positive
definiteness in integer arithmetic (``exact.exactly_below``), so t can sit a
few units of roundoff on either side of sigma_max.  Two mutation checks show
the properties bite: without the Gram rounding term Hypothesis finds a matrix
whose certificate is false; Rump's Cholesky shift is pinned by a regression
test in tests/spectral/test_inertia.py (false positives of a shift-free factorization
are too rare for a search: 4 in 20000 near-singular 2 x 2 matrices).
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from hypothesis import example, find, given, settings
from hypothesis import strategies as st

from lipbench.spectral import certify as C
from lipbench.testing import weakened

from . import checks, exact
from . import strategies as S
from . import tolerances as tol

U64 = tol.eps("float64") / 2
FIND = settings(database=None, derandomize=True, max_examples=300, phases=["generate"])

GRAM_LOSING_64x2 = np.full((64, 2), 2.0**-27)
GRAM_LOSING_64x2[[0, 1], [0, 1]] = 1.0

small_matrices = st.one_of(
    S.spectral_matrices(max_side=10).map(lambda sm: sm.matrix),
    S.dense_matrices(max_side=8),
    S.dense_matrices(max_side=8, dtype="float32"),
    S.gram_losing_matrices(),
)


def sigma_hat(A: np.ndarray) -> float:
    return float(np.linalg.svd(np.asarray(A, dtype=np.float64), compute_uv=False)[0])


def fro2_ratio(A: np.ndarray, s: float) -> float:
    """``||A||_F^2 / s^2`` computed exactly in fractions (``s * s`` and the
    squares underflow for entries below about 1e-162: A = [[7.8e-236]])."""
    return float(sum(Fraction(float(x)) ** 2 for x in np.asarray(A, dtype=np.float64).ravel()) / Fraction(s) ** 2)


def check_never_below(A: np.ndarray, j: int) -> float:
    """At t = sigma_hat (1 + j u): a certificate implies sigma_max < t exactly."""
    s = sigma_hat(A)
    t = s * (1 + j * U64)
    if C.inertia_test(A, t):
        assert exact.exactly_below(A, t), "certified sigma_max < t, false in exact arithmetic: " + checks.ctx(
            A, t=repr(t), j=j, sigma_hat=repr(s))
    return s


@given(A=small_matrices, j=st.integers(-64, 64))
@example(A=np.diag([3.0, 1.0]), j=0)  # t = sigma exactly: t^2 I - G is singular
@example(A=GRAM_LOSING_64x2, j=-6)  # certified without the Gram term (it lost 31.5 u)
@example(A=np.array([[7.8e-236]]), j=0)  # s * s underflowed to 0: the ratio divided by zero (issue 23, item 7)
def test_certificate_holds_in_exact_arithmetic(A, j, evidence):
    s = check_never_below(A, j)
    if s > 0:
        m, n = A.shape
        ratio = fro2_ratio(A, s)
        width = 4 * C.inertia_floor(m, n, ratio) + tol.svd_atol("float64", A.shape, 1.0)
        t_far = s * (1 + width)
        assert C.inertia_test(A, t_far), "not certified 4 floors above sigma: " + checks.ctx(
            A, width=width, sigma_hat=repr(s))
        evidence.maximum("largest width needed (in floors)", width / C.inertia_floor(m, n, ratio))


@given(S.near_singular_symmetric())
def test_rump_test_holds_in_exact_arithmetic(M):
    if C.verify_positive_definite(M):
        assert exact.exactly_positive_definite_float(M), "verified positive definite, it is not: " + checks.ctx(
            M, M=M.tolist())


def test_without_the_gram_term_a_false_certificate_is_found():

    def wrong(case):
        try:
            check_never_below(*case)
        except AssertionError:
            return True
        return False

    with weakened("gram_gamma", 0.0):
        find(st.tuples(S.gram_losing_matrices(), st.integers(-64, 0)), wrong, settings=FIND)
