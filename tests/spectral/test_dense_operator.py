"""A dense array as an operator (``lipbench.spectral._dense_operator``):
counted products, the float64 view, the cheap bounds around sigma_max, the
one certified lower bound of a vector, the fused one-pass ``A^T (A x)`` and
the one-pass certificate."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.testing import operator_of as prepare
from lipbench.testing import row_block_normal
from properties.tolerances import gram_atol, matvec_atol, matvec_bound, normal_matvec_bound, sum_rtol, svd_atol
from tests.helpers import assert_same_certificate


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("rows_per_block", [1, 3, 64, 1000])
def test_normal_matvec_one_pass_equals_two_products(rows_per_block, dtype, rng):
    A = rng.standard_normal((130, 70)).astype(dtype)
    op = prepare(A)
    op.block_bytes = rows_per_block * 70 * A.itemsize
    op.fused_min_bytes = 0  # fuse even this small matrix
    x = rng.standard_normal(70).astype(dtype)
    got = op.normal_matvec(x)
    assert op.matvecs == 2 and got.dtype == A.dtype
    want = A.astype(np.float64).T @ (A.astype(np.float64) @ x.astype(np.float64))
    err, bound = np.abs(got - want), normal_matvec_bound(dtype, A, x)
    assert np.all(err <= bound), (dtype, rows_per_block, np.max(err / bound))


def test_normal_matvec_on_a_non_contiguous_matrix_uses_two_products(rng):
    A = np.asfortranarray(rng.standard_normal((50, 20)))
    op = prepare(A)
    x = rng.standard_normal(20)
    err, bound = np.abs(op.normal_matvec(x) - A.T @ (A @ x)), normal_matvec_bound("float64", A, x)
    assert np.all(err <= bound), np.max(err / bound)
    assert op.matvecs == 2


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("rows_per_block", [1, 7, 1000])
def test_one_pass_certificate_equals_the_two_products(dtype, rows_per_block, rng):
    """The one-pass float64 certificate (lower bound, A v, residual bound)
    equals certified_lower followed by residual_bound64, and makes no
    float64 copy of a float32 matrix."""
    A = rng.standard_normal((90, 60)).astype(dtype)
    v = rng.standard_normal(60).astype(dtype)
    op = prepare(A)
    op.block_bytes = rows_per_block * 60 * 8
    lower, w, v64, res = op.certified_lower_and_residual(v)
    assert op.matvecs == 2 and op._exact64 is None
    ref = prepare(A)
    lower2, w2, v642 = ref.certified_lower(v)
    res2 = ref.residual_bound64(w2, v642)
    assert_same_certificate(A, v, (lower, w, res), (lower2, w2, res2))
    assert lower <= float(np.linalg.norm(A.astype(np.float64), 2))


# ------------------------------------------------------------ the module's own contract
def test_products_are_counted_and_right(rng):
    A = rng.standard_normal((30, 20))
    op = prepare(A)
    x, X, y = rng.standard_normal(20), rng.standard_normal((20, 3)), rng.standard_normal(30)
    fro = float(np.linalg.norm(A))
    assert np.linalg.norm(op.matvec(x) - A @ x) <= matvec_atol("float64", A.shape, fro, np.linalg.norm(x))
    assert op.matvecs == 1
    assert np.linalg.norm(op.matvec(X) - A @ X) <= matvec_atol("float64", A.shape, fro, np.linalg.norm(X))
    assert op.matvecs == 4  # a block of three vectors counts three
    assert np.linalg.norm(op.rmatvec(y) - A.T @ y) <= matvec_atol("float64", A.T.shape, fro, np.linalg.norm(y))
    op.normal_matvec(x)
    assert op.matvecs == 7
    G = op.explicit_gram()
    assert op.matvecs == 27 and np.all(np.abs(G - A.T @ A) <= gram_atol("float64", A.shape, fro))
    t = op.transposed()
    t.matvec(y)
    assert op.matvecs == t.matvecs == 28, "a transposed view counts into the same count"


def test_a_stack_counts_one_product_per_stacked_vector(rng):
    S = rng.standard_normal((4, 6, 5))
    op = prepare(S)
    out = op.matvec(rng.standard_normal((4, 5)))
    assert out.shape == (4, 6) and op.matvecs == 1 and op.is_batched


def test_float64_view_is_the_matrix_itself_or_one_cached_copy(rng):
    A = rng.standard_normal((12, 8))
    op = prepare(A)
    assert op.dense64() is A, "a float64 matrix in the safe range is certified as it is"
    A32 = A.astype(np.float32)
    op32 = prepare(A32)
    view = op32.dense64()
    assert view.dtype == np.float64 and op32.dense64() is view
    np.testing.assert_array_equal(view * op32.scale, A32.astype(np.float64))
    work = op.with_work_dtype("float32")
    assert work.dtype == "float32" and work.dense.dtype == np.float32 and work.dense64() is A
    work.matvec(np.ones(8, dtype=np.float32))
    assert op.matvecs == 1, "a working copy counts into the call's count"


@pytest.mark.parametrize("shape", [(40, 25), (25, 40), (1, 9), (9, 1)])
def test_cheap_bounds_bracket_sigma(shape, rng):
    A = rng.standard_normal(shape) * 3.0
    op = prepare(A)
    sigma = float(np.linalg.norm(A, 2))
    slack = svd_atol("float64", shape, sigma)
    assert op.cheap_lower() * op.scale <= sigma + slack <= op.cheap_upper() * op.scale + 2 * slack, (
        shape, op.cheap_lower(), sigma, op.cheap_upper())


@pytest.mark.parametrize("factor", [1.0, 2.0**-600, 2.0**600])
def test_bounds_of_a_diagonal_hold_its_exact_sigma(factor):
    """diag(1, ..., k) times a power of two: sigma_max = k * factor exactly, as
    are the largest column norm and sqrt(||A||_1 ||A||_inf); every bound holds
    it, the top unit vector's certified lower bound within one sum's rounding."""
    k = 37
    op = prepare(np.diag(np.arange(1.0, k + 1.0)) * factor)
    sigma = k * factor / op.scale  # in the scaled operator's units (exact: powers of two)
    assert op.cheap_lower() <= sigma <= op.cheap_upper() and op.fro_upper() >= sigma
    assert op.cheap_upper() <= sigma * (1 + sum_rtol("float64", k * k))
    e = np.zeros(k)
    e[-1] = 1.0
    lower, w, v64 = op.certified_lower(e)
    assert lower <= sigma <= lower * (1 + sum_rtol("float64", k * k)), (lower, sigma)
    assert np.linalg.norm(v64) == 1.0 and w[-1] == sigma


def test_certified_lower_of_any_vector_is_below_sigma(rng):
    A = rng.standard_normal((50, 30)).astype(np.float32)
    op = prepare(A)
    sigma = float(np.linalg.norm(A.astype(np.float64), 2))
    for _ in range(5):
        v = rng.standard_normal(30).astype(np.float32)
        lower, w, _ = op.certified_lower(v)
        ratio = float(np.linalg.norm(A.astype(np.float64) @ v) / np.linalg.norm(v.astype(np.float64)))
        assert lower <= sigma + svd_atol("float64", A.shape, sigma), (lower, sigma)
        # the bound gives up one product's rounding, and the reference ratio carries another
        assert lower <= ratio and ratio - lower <= 2 * matvec_atol("float64", A.shape, np.linalg.norm(A)), (
            lower, ratio)
    assert op.certified_lower(np.zeros(30, dtype=np.float32))[0] == 0.0


def test_row_block_normal_writes_a_x_when_asked(rng):
    A = rng.standard_normal((33, 10))
    x = rng.standard_normal(10)
    w = np.empty(33)
    y = row_block_normal(A, x, w, block_bytes=5 * 10 * 8)
    assert np.all(np.abs(w - A @ x) <= matvec_bound("float64", A, x))
    assert np.all(np.abs(y - A.T @ (A @ x)) <= normal_matvec_bound("float64", A, x))
