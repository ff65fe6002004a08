"""Every bad input gets a clear error that names the problem (``lipbench.spectral._validate``
and ``_inputs``: NaN and inf by position, shapes, dtypes, containers)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import lipbench as lb


@pytest.mark.parametrize("method", ["svd", "power", "lanczos", "arpack", "gram", "randomized"])
def test_nan_named_with_position(method):
    A = np.ones((6, 9))
    A[3, 7] = np.nan
    with pytest.raises(ValueError, match=r"A contains NaN at \(3, 7\); spectral norm is undefined"):
        lb.spectral_norm(A, method=method)


def test_inf_and_count_of_others():
    A = np.ones((5, 5))
    A[1, 2] = -np.inf
    A[4, 4] = np.inf
    A[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"contains NaN at \(0, 3\) \(and 2 other non-finite entries\)"):
        lb.spectral_norm(A)
    B = np.ones((5, 5))
    B[2, 1] = np.inf
    with pytest.raises(ValueError, match=r"contains Inf at \(2, 1\)"):
        lb.spectral_norm(B)


def test_nan_in_stack_and_sparse_and_array_api_strict():
    S = np.ones((2, 3, 4, 4))
    S[1, 2, 0, 3] = np.nan
    with pytest.raises(ValueError, match=r"NaN at \(1, 2, 0, 3\)"):
        lb.spectral_norm(S, method="svd")
    M = sp.random(20, 30, density=0.2, random_state=0, format="csr")
    M.data[5] = np.inf
    r, c = M.tocoo().row[5], M.tocoo().col[5]
    with pytest.raises(ValueError, match=rf"contains Inf at \({r}, {c}\)"):
        lb.spectral_norm(M, method="lanczos")
    xps = pytest.importorskip("array_api_strict")
    X = xps.asarray(np.where(np.eye(4) > 0, np.nan, 1.0))
    with pytest.raises(ValueError, match=r"NaN at \(0, 0\)"):
        lb.spectral_norm(X, method="lanczos")


def test_nan_from_linear_operator_named():
    op = LinearOperator((10, 8), matvec=lambda x: np.full(10, np.nan), rmatvec=lambda y: np.ones(8), dtype=float)
    with pytest.raises(FloatingPointError,
                       match=r"LinearOperator returned a non-finite value \(nan\) at index \(0\) of A @ x"):
        lb.spectral_norm(op, method="lanczos")


@pytest.mark.parametrize("shape", [(0, 3), (4, 0), (0, 0), (2, 0, 3)])
def test_empty_shapes(shape):
    with pytest.raises(ValueError, match=r"zero-length axis; the spectral norm of an empty matrix is undefined"):
        lb.spectral_norm(np.ones(shape), method="svd")


@pytest.mark.parametrize("value", [np.float64(3.0), 3.0, np.ones(()), np.ones(4)])
def test_0d_and_1d(value):
    with pytest.raises(ValueError, match=r"expected a 2-D matrix \(m, n\) or a stack"):
        lb.spectral_norm(value)


@pytest.mark.parametrize("dtype", [object, "U3", "S2", "datetime64[s]"])
def test_object_string_dtypes(dtype):
    A = np.zeros((3, 3), dtype=dtype)
    with pytest.raises(TypeError, match=r"has dtype .*numeric"):
        lb.spectral_norm(A)


def test_not_an_array():
    with pytest.raises(TypeError, match=r"cannot take an object of type dict"):
        lb.spectral_norm({"a": 1})


def test_linear_operator_without_rmatvec():
    op = LinearOperator((10, 8), matvec=lambda x: np.ones(10) * x.sum(), dtype=float)
    with pytest.raises(TypeError, match=r"LinearOperator without rmatvec; .*pass rmatvec="):
        lb.spectral_norm(op, method="power")


def test_complex_sparse_refused():
    M = sp.random(10, 10, density=0.3, random_state=1, format="csr") * 1j
    with pytest.raises(TypeError, match="complex input is supported for dense arrays only"):
        lb.spectral_norm(M, method="lanczos")
