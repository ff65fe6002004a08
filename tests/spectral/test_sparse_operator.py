"""A SciPy sparse matrix and a matrix-free LinearOperator as operators
(``lipbench.spectral._sparse_operator``): counted products, the float64
view, the cheap bounds around sigma_max, the one certified lower bound of a
vector, and a LinearOperator's non-finite output named."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import lipbench as lb
from lipbench.testing import operator_of as prepare
from properties.tolerances import matvec_bound, sum_rtol, svd_atol


def test_nan_from_linear_operator_named():
    op = LinearOperator((10, 8), matvec=lambda x: np.full(10, np.nan), rmatvec=lambda y: np.ones(8), dtype=float)
    with pytest.raises(FloatingPointError,
                       match=r"LinearOperator returned a non-finite value \(nan\) at index \(0\) of A @ x"):
        lb.spectral_norm(op, method="lanczos")


# ------------------------------------------------------------ the module's own contract
def test_products_are_counted_and_right(rng):
    S = sp.random(40, 25, density=0.2, random_state=3, format="csr")
    D = S.toarray()
    op = prepare(S)
    x, X, y = rng.standard_normal(25), rng.standard_normal((25, 2)), rng.standard_normal(40)
    assert np.all(np.abs(op.matvec(x) * op.scale - D @ x) <= matvec_bound("float64", D, x))
    assert np.all(np.abs(op.matvec(X) * op.scale - D @ X) <= matvec_bound("float64", D, X))
    assert np.all(np.abs(op.rmatvec(y) * op.scale - D.T @ y) <= matvec_bound("float64", D.T, y))
    assert op.matvecs == 4
    op.normal_matvec(x)
    assert op.matvecs == 6
    assert op.nnz_per_row_max() == int(np.max(np.diff(S.indptr)))


def test_float64_view_and_a_float32_working_copy():
    S64 = sp.random(20, 15, density=0.3, random_state=4, format="csr")
    op64 = prepare(S64)
    assert op64.sparse64() is op64.sparse, "a float64 matrix is certified as it is, not copied"
    S = S64.astype(np.float32)
    op = prepare(S)
    view = op.sparse64()
    assert view.dtype == np.float64 and op.sparse64() is view
    np.testing.assert_array_equal(view.toarray() * op.scale, S.toarray().astype(np.float64))
    work = op.with_work_dtype("float64")
    assert work.dtype == "float64" and work.sparse is view
    work.matvec(np.ones(15))
    assert op.matvecs == 1, "the working copy counts into the call's count"
    dense, why = op.assembled64(10)
    assert dense is None and "not assembled" in why and "over 10 entries" in why


@pytest.mark.parametrize("shape,density", [((60, 40), 0.1), ((40, 60), 0.3), ((50, 1), 0.5)])
def test_cheap_bounds_bracket_sigma(shape, density):
    S = sp.random(*shape, density=density, random_state=5, format="csc")
    D = S.toarray()
    op = prepare(S)
    sigma = float(np.linalg.norm(D, 2))
    slack = svd_atol("float64", shape, sigma)
    assert op.cheap_lower() * op.scale <= sigma + slack <= op.cheap_upper() * op.scale + 2 * slack
    assert op.fro_upper() * op.scale >= np.linalg.norm(D) * (1 - sum_rtol("float64", S.nnz))


def test_bounds_of_a_diagonal_hold_its_exact_sigma():
    """A sparse diag(1, ..., k): sigma_max = k exactly; the cheap upper bound and
    the top unit vector's certified lower bound hold it, within one sum's rounding."""
    k = 41
    op = prepare(sp.diags(np.arange(1.0, k + 1.0)).tocsr())
    sigma = k / op.scale
    assert op.cheap_lower() <= sigma <= op.cheap_upper() <= sigma * (1 + sum_rtol("float64", k))
    e = np.zeros(k)
    e[-1] = 1.0
    lower, w, _ = op.certified_lower(e)
    assert lower <= sigma <= lower * (1 + sum_rtol("float64", k)), (lower, sigma)
    assert op.sum_squares64() == float(np.sum(np.arange(1.0, k + 1.0) ** 2)) / op.scale**2


def test_matrix_free_products_are_assumed_and_counted(rng):
    A = rng.standard_normal((12, 7))
    lin = LinearOperator((12, 7), matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y, dtype=float)
    op = prepare(lin)
    count = op.matvecs  # the probe of prepare
    x = rng.standard_normal(7)
    np.testing.assert_array_equal(op.matvec(x) * op.scale, A @ x)
    assert op.matvecs == count + 1 and op.products_assumed
    sigma = float(np.linalg.norm(A, 2))
    top = np.linalg.svd(A)[2][0]  # its ||A v|| is sigma: any excess over the truth shows
    lower, _, _ = op.certified_lower(top)
    assert lower * op.scale <= sigma + svd_atol("float64", A.shape, sigma), (lower * op.scale, sigma)
    assert op.cheap_upper() == np.inf and op.cheap_lower() == 0.0
    assert op.assembled64(10**6)[0] is None


def test_a_linear_operator_non_finite_output_is_named_in_rmatvec():
    lin = LinearOperator((3, 2), matvec=lambda x: np.ones(3), rmatvec=lambda y: np.array([1.0, np.inf]), dtype=float)
    op = prepare(lin)
    with pytest.raises(FloatingPointError, match=r"non-finite value \(inf\) at index \(1\) of A.T @ y"):
        op.rmatvec(np.ones(3))
