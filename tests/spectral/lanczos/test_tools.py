"""The pieces every Lanczos loop shares: the tridiagonal solve, the check schedule,
the basis, the stopping test (``lipbench.spectral.lanczos._tools``)."""

from __future__ import annotations

import numpy as np
import pytest

from properties.tolerances import eigh_atol, matvec_atol, scalar_rtol, sum_rtol, svd_atol


def test_check_schedule_on_a_geometric_error_checks_rarely_and_stops_on_time():
    from lipbench.testing import CHECK_WARMUP, CheckSchedule

    tol, rate = 1e-12, 0.8
    schedule = CheckSchedule(tol)
    checked = []
    for k in range(1, 400):
        if schedule.due(k):
            checked.append(k)
            schedule.checked(k, rate**k)
            if rate**k <= tol:
                break
    first = int(np.ceil(np.log(tol) / np.log(rate)))  # the first step whose error meets tol
    assert checked[-1] == first
    assert checked[:CHECK_WARMUP] == list(range(1, CHECK_WARMUP + 1))
    assert len(checked) <= first // 3
    every = CheckSchedule(tol, every_step=True)
    for k in range(1, 50):
        assert every.due(k)
        every.checked(k, rate**k)


def _tridiagonal(d, e):
    return np.diag(d) + np.diag(e, 1) + np.diag(e, -1)


@pytest.mark.parametrize("k", [1, 2, 10, 60])
def test_top_eigenpair_of_a_tridiagonal(k):
    from lipbench.testing import top_eigenpair

    rng = np.random.default_rng(k)
    d, e = rng.standard_normal(k), rng.standard_normal(k - 1)
    T = _tridiagonal(d, e)
    lam, q = top_eigenpair(d, e)
    eigs = np.linalg.eigvalsh(T)
    norm = float(np.max(np.abs(eigs)))
    atol = eigh_atol("float64", k, norm)
    assert abs(lam - eigs[-1]) <= atol, (k, lam, eigs[-1])
    assert abs(np.linalg.norm(q) - 1.0) <= sum_rtol("float64", k), k
    assert np.linalg.norm(T @ q - lam * q) <= atol, k


def test_top_eigenpair_where_stemr_returned_the_middle_one():
    """The input on which LAPACK's stemr, asked for the top index, returned the
    middle eigenvalue: diag(17, 17, 17) with off-diagonal (1.2e-7, 0) has top
    eigenvalue 17 + 1.2e-7."""
    from lipbench.testing import top_eigenpair

    lam, _ = top_eigenpair(np.full(3, 17.0), np.array([1.2e-7, 0.0]))
    top = 17.0 + 1.2e-7
    assert abs(lam - top) <= eigh_atol("float64", 3, top), lam


def test_bidiagonal_ritz_is_the_top_singular_triplet_of_the_bidiagonal():
    """theta and q are sigma_max of B (diagonal a, superdiagonal b) and its
    right vector; the residual bound grows with beta_{k+1} and is 0 when the
    Krylov space is invariant (beta_{k+1} = 0)."""
    from lipbench.spectral.theory import residual_error
    from lipbench.testing import bidiagonal_ritz

    rng = np.random.default_rng(2)
    k = 12
    a, b = rng.uniform(0.5, 2.0, k), rng.uniform(0.1, 1.0, k - 1)
    B = np.diag(a) + np.diag(b, 1)
    theta, q, err = bidiagonal_ritz(a, b, 0.3)
    sigma = np.linalg.svd(B, compute_uv=False)[0]
    assert abs(theta - sigma) <= svd_atol("float64", B.shape, sigma), (theta, sigma)
    assert np.linalg.norm(B.T @ (B @ q) - theta**2 * q) <= eigh_atol("float64", k, sigma**2)
    # ||A^T u - theta v|| = beta_{k+1} |p_k| with p = B q / theta, the left Ritz vector
    p_last = (B @ q)[-1] / theta
    assert abs(err - residual_error(theta, theta * 0.3 * abs(p_last))) <= scalar_rtol("float64", 4 * k) * err
    assert bidiagonal_ritz(a, b, 0.0)[2] == 0.0
    assert bidiagonal_ritz(a, b, 0.6)[2] > err


def test_stop_test():
    """An exhausted Krylov space stops the run, converged unless theta is 0
    (a start in the null space); otherwise the bound meeting tol does."""
    from lipbench.testing import stop_test

    assert stop_test(True, 2.0, 1.0, 1e-8)[:2] == (True, True)
    assert stop_test(True, 0.0, 1.0, 1e-8)[:2] == (True, False)
    assert [n.code for n in stop_test(True, 2.0, 1.0, 1e-8)[2]] == ["krylov-exhausted"]
    assert stop_test(False, 2.0, 1e-9, 1e-8) == (True, True, ())
    assert stop_test(False, 2.0, 1e-7, 1e-8) == (False, False, ())


@pytest.mark.parametrize("dgks", [False, True])
def test_basis_orthogonalizes_a_nearly_dependent_vector(dgks):
    """A vector 1e-10 away from the span of 20 rows (past the buffer's first 16,
    so it grows): what is left is orthogonal to the rows to working accuracy
    relative to itself -- one Gram-Schmidt pass would leave it 1e-6 off."""
    from lipbench.testing import Basis

    rng = np.random.default_rng(4)
    n, k = 200, 20
    Q = np.linalg.qr(rng.standard_normal((n, k)))[0].T
    basis = Basis(np, n, np.float64)
    for row in Q:
        basis.append(row)
    np.testing.assert_array_equal(basis.rows, Q)
    x = Q.T @ rng.standard_normal(k) + 1e-10 * rng.standard_normal(n)
    y, norm = basis.orthogonalize_dgks(x) if dgks else (basis.orthogonalize(x), None)
    ynorm = float(np.linalg.norm(y))
    assert np.linalg.norm(Q @ y) <= matvec_atol("float64", Q.shape, np.sqrt(k), ynorm), (dgks, Q @ y)
    if dgks:
        assert norm == ynorm
