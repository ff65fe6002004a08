"""The inertia certificate (lipbench.spectral.certify): it never certifies a t
at or below sigma_max, it certifies t = lower (1 + tol) when lower is within
tol of sigma_max, on every matrix family and dtype; a regression test pins an
input on which a certificate without its Gram rounding term is wrong (the
inertia engine's own tests: test_inertia.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import blas

import lipbench as lb
from lipbench import matrices as lm
from lipbench.spectral import certify as C
from lipbench.testing import weakened
from properties.exact import exactly_below
from properties.tolerances import reference_rtol

U64 = np.finfo(np.float64).eps / 2
FAMILY_KW = {
    "gaussian": {}, "gap": {"delta": 0.0}, "geometric": {}, "polynomial": {}, "low_rank": {},
    "zero": {}, "identity": {}, "nn_like": {}, "badly_scaled_huge": {"end": "huge"},
    "badly_scaled_tiny": {"end": "tiny"},
}
SHAPES = [(48, 48), (64, 40), (40, 64)]


def above(sigma: float, width: float) -> float:
    return math.nextafter(sigma * (1 + width), math.inf)


# ------------------------------------------------------------ exact ground truth
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_diagonal_matrix_sigma_is_exact(dtype):
    s = np.array([3.0, -1.0, 2.5, 0.0, 0.3], dtype=dtype)
    A = np.diag(s)
    sigma = 3.0
    floor = C.inertia_floor(5, 5, float(np.sum(s.astype(np.float64) ** 2)) / 9)
    assert not C.inertia_test(A, sigma), "t = sigma exactly must not be certified (t^2 I - G is singular)"
    assert not C.inertia_test(A, math.nextafter(sigma, 0.0))
    assert C.inertia_test(A, above(sigma, 2 * floor)), f"floor {floor:.3g}"


def test_stored_non_dyadic_diagonal():
    A = np.diag([0.1, 0.3, 0.2])
    sigma = 0.3  # the stored float, exactly
    assert exactly_below(A, math.nextafter(sigma, 1.0)) and not exactly_below(A, sigma)
    assert not C.inertia_test(A, sigma)
    assert C.inertia_test(A, above(sigma, 2 * C.inertia_floor(3, 3)))


@pytest.mark.parametrize("shape", [(12, 12), (20, 7), (7, 20)])
@pytest.mark.parametrize("kind", ["random", "rank_deficient", "repeated_top"])
def test_small_matrices_against_exact_arithmetic(shape, kind, rng):
    k = min(shape)
    s = np.sort(rng.uniform(0.1, 1.0, k))[::-1]
    if kind == "rank_deficient":
        s[k // 2:] = 0.0
    elif kind == "repeated_top":
        s[1] = s[0]
    A = (lm.haar_orthonormal(shape[0], k, rng) * s) @ lm.haar_orthonormal(shape[1], k, rng).T
    sigma = float(np.linalg.svd(A, compute_uv=False)[0])
    floor = C.inertia_floor(*shape)
    for j in range(-40, 41, 4):
        t = sigma * (1 + j * U64)
        if C.inertia_test(A, t):
            assert exactly_below(A, t), f"certified t = sigma_hat (1 + {j} u) but sigma >= t; {shape} {kind}"
    t_ok = above(sigma * (1 + reference_rtol(A.shape)), 2 * floor)
    assert C.inertia_test(A, t_ok), f"not certified at 2 floors above sigma; {shape} {kind}"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_known_spectrum_64(dtype):
    ks = lm.gaussian(64, 64, dtype=dtype, seed=3)
    A, sigma, atol = ks.matrix, ks.sigma_max, ks.atol
    assert not C.inertia_test(A, (sigma - atol) * (1 - 1e-6)), "certified t clearly below sigma"
    assert C.inertia_test(A, above(sigma + atol, 1e-12))


# ------------------------------------------------------------ every family
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("family", list(FAMILY_KW))
def test_every_family(family, dtype, shape):
    A = lm.make(family.replace("_huge", "").replace("_tiny", ""), *shape, dtype=dtype, seed=1,
                **FAMILY_KW[family]).matrix
    before = A.copy()
    sigma = lm.reference_norm(A)
    slack = reference_rtol(A.shape)
    est = lb.spectral_norm(A, method="svd")
    tol = 1e-6
    cert = C.certify_upper(A, est.lower, tol)
    np.testing.assert_array_equal(A, before)
    msg = f"{family} {dtype} {shape}: lower {est.lower!r} upper {cert.upper!r} sigma {sigma!r}"
    assert cert.holds and cert.method == "inertia" and cert.deterministic, msg
    assert cert.upper >= sigma * (1 - slack), msg
    assert cert.upper <= est.lower * (1 + tol) * (1 + 4 * U64), msg
    if sigma > 0:
        assert not C.inertia_test(A, sigma * (1 - 1e-6)), msg


def test_estimate_to_tol_is_certified_to_tol():
    A = lm.nn_like(300, 200, seed=5).matrix
    r = lb.spectral_norm(A, tol=1e-7, seed=0)
    tol = 1e-6
    cert = C.certify_upper(A, r.lower, tol)
    assert cert.holds and cert.tests == 1
    # upper = lower (1 + tol) rounded up: a few roundings of lower, none of the width
    assert (cert.upper - r.lower) / r.lower <= tol + 8 * U64


def test_array_api_strict_matches_numpy(rng):
    xps = pytest.importorskip("array_api_strict")
    A = rng.standard_normal((30, 18))
    sigma = float(np.linalg.svd(A, compute_uv=False)[0])
    Ax = xps.asarray(A)
    for t in (sigma * (1 - 1e-9), sigma * (1 + 1e-9), sigma * (1 + 1e-13)):
        assert C.inertia_test(Ax, t) == C.inertia_test(A, t), t
    cert = C.certify_upper(xps.asarray(A.T.astype(np.float32)), sigma * (1 - 1e-8), 1e-6)
    assert cert.holds and cert.upper >= lm.reference_norm(A.astype(np.float32)) * (1 - reference_rtol(A.shape))


# ------------------------------------------------------------ search and comparisons
def test_failed_test_reports_and_bisection_recovers():
    A = lm.gaussian(80, 50, seed=2).matrix
    sigma = lm.reference_norm(A)
    lower = sigma * (1 - 1e-3)  # an estimate that missed sigma by 1e-3
    plain = C.certify_upper(A, lower, 1e-6)
    assert not plain.holds and plain.tests == 1 and plain.upper >= sigma
    found = C.certify_upper(A, lower, 1e-6, search="bisect", max_tests=8)
    assert not found.holds and found.tests <= 8 and found.upper >= sigma * (1 - reference_rtol(A.shape))
    needed = sigma / lower - 1
    # the bisection stops once hi / lo <= 2, and lo failed: lower (1 + lo) lies below
    # sigma (1 + floor), above which every test passes; so hi <= 2 lo < 2 (needed + 2 floor)
    floor = C.certificate_floor("float64", *A.shape)
    assert found.upper / lower - 1 <= 2 * (needed + 2 * floor), (found, needed, floor)


def test_zero_and_missing_lower():
    assert C.certify_upper(np.zeros((3, 5)), 0.0, 1e-6).upper == 0.0
    A = lm.geometric(40, 30, seed=0).matrix
    cert = C.certify_upper(A, 0.0, 1e-6, search="bisect")
    assert cert.upper >= lm.reference_norm(A) * (1 - reference_rtol(A.shape))


@pytest.mark.parametrize("method", ["gram-iteration", "svd"])
def test_comparison_bounds(method):
    A = lm.gap(60, 40, seed=0).matrix
    sigma = lm.reference_norm(A)
    cert = C.certify_upper(A, sigma * (1 - 1e-9), 1e-6, method=method)
    assert cert.method == method and cert.deterministic and cert.tests == 0 and cert.holds
    assert cert.upper >= sigma * (1 - reference_rtol(A.shape))


def test_floor():
    for dtype in ("float64", "float32", "float16"):
        assert C.certificate_floor(dtype, 4096, 4096) == C.certificate_floor("float64", 4096, 4096)
    assert C.certificate_floor("float64", 4096, 4096) < 1e-8  # the 1e-6 is within reach
    assert C.certificate_floor("float64", 8192, 1024) < C.certificate_floor("float64", 8192, 8192)
    assert C.inertia_floor(500, 300, 3.0) < C.certificate_floor("float64", 500, 300)
    # the worst case is reached (r = N): an orthonormal matrix is certified within 3 floors
    Q = lm.haar_orthonormal(200, 50, np.random.default_rng(0))
    assert C.inertia_test(Q, above(1 + 8 * 200 * U64, 3 * C.certificate_floor("float64", 200, 50)))


def test_bad_input():
    A = np.ones((3, 3))
    with pytest.raises(ValueError, match="NaN or Inf"):
        C.inertia_test(np.array([[1.0, np.nan]]), 1.0)
    with pytest.raises(TypeError, match="dtype"):
        C.certify_upper(np.ones((2, 2), dtype=int), 1.0, 1e-6)
    with pytest.raises(ValueError, match="2-D"):
        C.certify_upper(np.ones(3), 1.0, 1e-6)
    with pytest.raises(ValueError, match="lower"):
        C.certify_upper(A, -1.0, 1e-6)
    with pytest.raises(ValueError, match="tol"):
        C.certify_upper(A, 1.0, 0.0)
    with pytest.raises(ValueError, match="method"):
        C.certify_upper(A, 1.0, 1e-6, method="lanczos")
    with pytest.raises(ValueError, match="search"):
        C.certify_upper(A, 1.0, 1e-6, search="newton")
    with pytest.raises(ValueError, match="symmetric"):
        C.verify_positive_definite(np.array([[1.0, 0.5], [0.4, 1.0]]))


# ------------------------------------------------------------ regressions (the margin's terms)
def gram_losing_column(m: int = 64, n: int = 2) -> np.ndarray:
    """Each column: one 1 on top, 2**-27 below.  Summed from the top, every
    2**-54 product is lost against the 1, so fl(G) falls short of G by up to
    (m - 1) u / 2 on the diagonal: the Gram rounding term is what covers it."""
    A = np.full((m, n), 2.0**-27)
    A[np.arange(n), np.arange(n)] = 1.0
    return A


def gram_term_check(A: np.ndarray) -> None:
    """No t between sqrt(lambda_max(fl(G))) and sigma_max is certified."""
    neg = blas.dsyrk(-1.0, A.T, trans=0)
    g = -(np.triu(neg) + np.triu(neg, 1).T)
    base = math.sqrt(float(np.linalg.eigvalsh(g)[-1]))
    for j in range(0, 64, 2):
        t = base + j * 2.0**-53
        if C.inertia_test(A, t):
            assert exactly_below(A, t), f"certified t = {t!r} (j = {j}) but sigma_max >= t exactly"


def test_regression_gram_rounding():
    A = gram_losing_column()
    gram_term_check(A)


def test_dropping_the_gram_term_is_caught():
    A = gram_losing_column()
    g00 = -blas.dsyrk(-1.0, A.T, trans=0)[0, 0]
    if g00 > 1.0:  # this BLAS summed the small products first: nothing lost
        pytest.skip("this BLAS forms this Gram matrix accurately; the mutation is invisible here")
    with weakened("gram_gamma", 0.0), pytest.raises(AssertionError, match="sigma_max >= t exactly"):
        gram_term_check(A)


