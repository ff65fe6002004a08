"""The inertia test behind ``certify=True`` (``lipbench.spectral.inertia``):
on matrices of known inertia it proves ``sigma_max < t`` exactly for the t
above sigma_max by more than its floor and never for a t at or below it;
Rump's positive-definiteness test says True only for a positive definite
matrix, with a pinned regression on which it fails without its shift; the
search from a lower bound; a spent Gram record refused."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import lapack

from lipbench.spectral import inertia
from lipbench.spectral import inertia as C  # the moved tests' name for the module under test
from lipbench.testing import weakened
from properties.exact import exactly_positive_definite_float

#: exactly indefinite (det < 0 in rational arithmetic), yet LAPACK's Cholesky runs to
#: completion even with the diagonal stepped one float down (found among 20000 random
#: 2 x 2 matrices [[a, b], [b, b^2 / a +- a few ulps]])
FOOLS_CHOLESKY = np.array([[1.2427912445875575, -2.959436052359332],
                           [-2.959436052359332, 7.04725092500211]])


def cholesky_term_check(M: np.ndarray) -> None:
    if C.verify_positive_definite(M):
        assert exactly_positive_definite_float(M), f"verified {M.tolist()} positive definite; it is not"


def test_regression_cholesky_shift():
    assert not exactly_positive_definite_float(FOOLS_CHOLESKY)
    cholesky_term_check(FOOLS_CHOLESKY)


def test_dropping_rumps_shift_is_caught():
    stepped = FOOLS_CHOLESKY.copy()
    stepped.flat[::3] = np.nextafter(np.diagonal(FOOLS_CHOLESKY), -np.inf)
    if lapack.dpotrf(stepped)[1] != 0:
        pytest.skip("this LAPACK's Cholesky fails on the pinned matrix; the mutation is invisible here")
    with weakened("rump_gamma", 0.0), pytest.raises(AssertionError, match="it is not"):
        cholesky_term_check(FOOLS_CHOLESKY)


def test_a_gram_record_factored_in_place_cannot_be_tested_again(rng):
    """A failed test without search overwrites the Gram matrix with its partial
    factor: testing that record again would factor garbage, so it refuses."""
    from lipbench.spectral import inertia

    A = rng.standard_normal((20, 10))
    sigma = float(np.linalg.norm(A, 2))
    gram = inertia.gram_of(A)
    assert not inertia.inertia_upper(gram, 0.9 * sigma, 1e-6).holds and gram.spent
    with pytest.raises(RuntimeError, match="factored in place"):
        inertia.inertia_upper(gram, sigma, 1e-6, search="bisect")
    assert inertia.inertia_upper(inertia.gram_of(A), sigma, 1e-6, search="bisect").upper >= sigma


# ------------------------------------------------------------ the module's own contract
def _diagonal(d, shape):
    A = np.zeros(shape)
    A[np.arange(len(d)), np.arange(len(d))] = d
    return A


@pytest.mark.parametrize("shape", [(12, 12), (20, 7), (7, 20)])
@pytest.mark.parametrize("factor", [1.0, 2.0**-300, 2.0**300])
def test_a_diagonal_matrix_is_certified_exactly_above_its_sigma(shape, factor):
    """sigma_max of a diagonal with entries +-1, ..., +-N (times a power of two) is
    N exactly: no t below N (1 + floor) is proven, t a quarter past it is."""
    k = min(shape)
    d = np.arange(1.0, k + 1.0) * np.where(np.arange(k) % 2, -1.0, 1.0) * factor
    A = _diagonal(d, shape)
    sigma = k * factor
    # the floor for this matrix's ||A||_F^2 / sigma^2: its Gram matrix is exact, so the floor is sharp here
    floor = inertia.inertia_floor(*shape, fro2_ratio=float(np.sum(np.arange(1.0, k + 1.0) ** 2)) / k**2)
    assert inertia.inertia_test(A, sigma * (1 + floor * 5 / 4)), (shape, factor, floor)
    for t in (sigma * (1 + floor * 3 / 4), sigma, math.nextafter(sigma, 0.0), sigma / 2):
        assert not inertia.inertia_test(A, t), f"proved sigma_max < {t!r}, but it is {sigma!r}"
    assert not np.any(A[np.arange(k), np.arange(k)] != d), "the caller's array is left as it is"


@pytest.mark.parametrize("d,definite", [([1.0, 2.0, 3.0], True), ([1.0, 0.0, 3.0], False),
                                        ([1.0, -1e-300, 3.0], False), ([1.0, 2.0**-40, 1.0], True)])
def test_positive_definiteness_of_a_diagonal_of_known_inertia(d, definite):
    assert C.verify_positive_definite(np.diag(d)) is definite, d


def test_an_indefinite_matrix_with_a_positive_diagonal_is_refused():
    M = np.array([[1.0, 2.0], [2.0, 1.0]])  # eigenvalues 3 and -1
    assert not C.verify_positive_definite(M)
    assert C.verify_positive_definite(np.array([[2.0, 1.0], [1.0, 2.0]]))  # eigenvalues 3 and 1


def test_verify_positive_definite_names_bad_input():
    with pytest.raises(ValueError, match="not exactly symmetric"):
        C.verify_positive_definite(np.array([[1.0, 0.5], [0.25, 1.0]]))
    with pytest.raises(ValueError, match=r"shape \(2, 3\); expected a non-empty square matrix"):
        C.verify_positive_definite(np.ones((2, 3)))
    with pytest.raises(TypeError, match="expected float64"):
        C.verify_positive_definite(np.eye(2, dtype=np.float32))
    with pytest.raises(ValueError, match="NaN or Inf"):
        C.verify_positive_definite(np.diag([1.0, np.inf]))
    with pytest.raises(ValueError, match="NaN or Inf"):  # NaN != NaN: not taken for asymmetry
        C.verify_positive_definite(np.diag([1.0, np.nan]))
    with pytest.raises(ValueError, match="t is NaN"):
        inertia.inertia_test(np.eye(2), math.nan)


def test_inertia_upper_from_a_lower_bound_of_a_diagonal():
    k = 30
    A = _diagonal(np.arange(1.0, k + 1.0), (40, k))
    tol = 1e-9
    cert = inertia.inertia_upper(inertia.gram_of(A), float(k), tol)
    assert cert.holds and cert.method == "inertia" and cert.tests == 1, cert
    assert k <= cert.upper <= k * (1 + tol) * (1 + 2 * inertia.inertia_floor(40, k)), cert.upper
    v = np.asarray(cert.vector)
    assert cert.side == "right" and abs(v[-1]) == np.max(np.abs(v)), "the top right vector is e_k"
    short = k * (1 - 1e-4)  # a lower bound that is not within tol of sigma_max
    missed = inertia.inertia_upper(inertia.gram_of(A), short, tol)
    assert not missed.holds and missed.upper >= k, missed
    found = inertia.inertia_upper(inertia.gram_of(A), short, tol, search="bisect")
    assert k <= found.upper < missed.upper and found.tests <= 8, found
