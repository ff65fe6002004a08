"""What the caller passed (``lipbench.spectral._inputs``): :func:`classify`
names each kind once, the dtype rules pick the compute dtype, and every bad
input is refused with an error naming the problem (NaN and inf by position,
shapes, dtypes, containers); a real matrix in the safe range is used as it
is, one outside it is scaled into a copy by a power of two."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import lipbench as lb
from lipbench.testing import InputKind, checked_dtypes, classify, compute_dtype
from lipbench.testing import operator_of as prepare
from properties.tolerances import sum_rtol


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


def test_linear_operator_without_rmatvec():
    op = LinearOperator((10, 8), matvec=lambda x: np.ones(10) * x.sum(), dtype=float)
    with pytest.raises(TypeError, match=r"LinearOperator without rmatvec; .*pass rmatvec="):
        lb.spectral_norm(op, method="power")


def test_complex_sparse_refused():
    M = sp.random(10, 10, density=0.3, random_state=1, format="csr") * 1j
    with pytest.raises(TypeError, match="complex input is supported for dense arrays only"):
        lb.spectral_norm(M, method="lanczos")


def test_safe_matrix_is_used_unscaled_and_uncopied(rng):
    A = rng.standard_normal((80, 60))
    op = prepare(A)
    assert op.scale == 1.0 and op.dense is A
    a = np.asarray(A)
    m, n = a.shape  # each bound is a sum rounded outward: within its sum's rounding of the computed norm
    assert np.linalg.norm(a) <= op.fro_upper() <= np.linalg.norm(a) * (1 + sum_rtol("float64", m * n))
    assert op.cheap_lower() <= np.linalg.norm(a, axis=0).max() <= op.cheap_lower() * (1 + sum_rtol("float64", m))
    bound = math.sqrt(np.abs(a).sum(0).max() * np.abs(a).sum(1).max())
    want = min(np.linalg.norm(a), bound)
    assert want <= op.cheap_upper() <= want * (1 + sum_rtol("float64", m * n))
    t = op.transposed()
    assert t.cheap_lower() <= np.linalg.norm(a, axis=1).max() <= t.cheap_lower() * (1 + sum_rtol("float64", n))


@pytest.mark.parametrize("factor", [1e-40, 1e40, 1e200])
def test_matrix_outside_the_safe_range_is_scaled_into_a_copy(factor, rng):
    A = rng.standard_normal((40, 30)) * factor
    op = prepare(A)
    assert op.scale != 1.0 and op.dense is not A
    assert 0.5 <= float(np.max(np.abs(op.dense))) < 1.0
    tol = 1e-10
    r = lb.spectral_norm(A, tol=tol, seed=0)
    truth = np.linalg.norm(A / factor, 2) * factor
    assert r.lower <= truth <= r.upper and abs(r.value - truth) <= tol * truth


# ------------------------------------------------------------ the module's own contract
def test_classify_names_each_kind_without_a_pass(rng):
    A = rng.standard_normal((6, 4))
    lin = LinearOperator((6, 4), matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y, dtype=float)
    cases = [(A, InputKind.DENSE, "numpy", 2), (A[None], InputKind.DENSE, "numpy", 3),
             ([[1.0, 2.0]], InputKind.DENSE, "numpy", 2), (np.float64(2.0), InputKind.DENSE, "numpy", 0),
             (sp.csr_matrix(A), InputKind.SCIPY_SPARSE, "numpy", 2), (sp.coo_array(A), InputKind.SCIPY_SPARSE,
                                                                        "numpy", 2),
             (lin, InputKind.LINEAR_OPERATOR, "numpy", 2)]
    for obj, kind, backend, ndim in cases:
        info = classify(obj)
        assert (info.kind, info.backend, info.ndim) == (kind, backend, ndim), (type(obj), info)
    assert classify({"a": 1}).kind is None and classify({"a": 1}).backend == "builtins"
    assert str(InputKind.SCIPY_SPARSE) == "scipy.sparse" and f"{InputKind.DASK}" == "dask.array"


def test_classify_a_dask_array():
    da = pytest.importorskip("dask.array")
    info = classify(da.ones((5, 3), chunks=2))
    assert (info.kind, info.backend, info.ndim) == (InputKind.DASK, "dask", 2)


@pytest.mark.parametrize("name,want", [("float64", "float64"), ("float32", "float32"), ("float16", "float32"),
                                       ("bfloat16", "float32"), ("bool", "float64"), ("int8", "float64"),
                                       ("uint64", "float64"), ("complex64", "complex"),
                                       ("complex128", "complex")])
def test_compute_dtype_of_each_input_dtype(name, want):
    assert compute_dtype(name, "A") == want


@pytest.mark.parametrize("name,match", [("float128", "extended precision is not supported"),
                                        ("clongdouble", "extended precision is not supported"),
                                        ("object", "needs a real or complex numeric matrix"),
                                        ("datetime64", "needs a real or complex numeric matrix")])
def test_compute_dtype_refuses_by_name(name, match):
    with pytest.raises(TypeError, match=rf"W has dtype '{name}'; .*{match}"):
        compute_dtype(name, "W")


def test_checked_dtypes_names_the_empty_axis():
    assert checked_dtypes(np.ones((2, 3), dtype=np.int16), (2, 3), "A") == ("int16", "float64")
    with pytest.raises(ValueError, match=r"W has shape \(3, 0\) with a zero-length axis"):
        checked_dtypes(np.ones((3, 0)), (3, 0), "W")


@pytest.mark.parametrize("dtype,compute", [("float16", "float32"), ("int32", "float64"), ("bool", "float64"),
                                           ("float32", "float32")])
def test_prepared_dtype_and_the_callers_array_untouched(dtype, compute, rng):
    A = (rng.standard_normal((9, 7)) * 4).astype(dtype)
    before = A.copy()
    op = prepare(A)
    assert (op.dtype, op.input_dtype, op.shape) == (compute, dtype, (9, 7)), (op.dtype, op.input_dtype)
    np.testing.assert_array_equal(A, before)
    # the operator's matrix is A / scale exactly (small integers and floats: nothing rounds)
    np.testing.assert_array_equal(np.asarray(op.dense, dtype=np.float64) * op.scale, A.astype(np.float64))


def test_complex_input_is_the_real_embedding(rng):
    C = rng.standard_normal((5, 3)) + 1j * rng.standard_normal((5, 3))
    op = prepare(C)
    emb = np.block([[C.real, -C.imag], [C.imag, C.real]])
    assert op.shape == (10, 6) and op.input_dtype == "complex128"
    np.testing.assert_array_equal(np.asarray(op.dense) * op.scale, emb)


def test_sparse_duplicates_are_summed_and_scaled_into_a_copy():
    tail = 2.0**-60  # 1 + tail rounds to 1 in float64: the sum of the duplicates loses it
    coo = sp.coo_matrix((np.array([1.0, tail, 3.0, 5.0]), (np.array([0, 0, 1, 1]), np.array([1, 1, 0, 0]))),
                        shape=(2, 2))
    data = coo.data.copy()
    op = prepare(coo)
    assert op.dtype == "float64" and np.array_equal(coo.data, data)
    dense = op.sparse.toarray() * op.scale
    assert dense[1, 0] == 8.0 and dense[0, 1] == 1.0
    lost = tail  # what the stored sum lacks of the exact one, in the caller's units
    assert op.input_error * op.scale >= lost, "the duplicates' rounding is carried in the input error"


def test_linear_operator_is_scaled_by_its_probe():
    big = 2.0**300
    op = LinearOperator((4, 3), matvec=lambda x: big * np.ones(4) * x.sum(), rmatvec=lambda y: big * np.ones(3)
                        * y.sum(), dtype=float)
    prepared = prepare(op)
    assert prepared.kind is InputKind.LINEAR_OPERATOR and prepared.products_assumed
    assert 2.0**290 < prepared.scale < 2.0**310 and not prepared.is_zero
    zero = LinearOperator((4, 3), matvec=lambda x: np.zeros(4), rmatvec=lambda y: np.zeros(3),
                          matmat=lambda X: np.zeros((4, X.shape[1])), dtype=float)
    assert prepare(zero).is_zero
