"""The operator under every estimator: the cheap bounds it takes from the
one-pass summary (the summary itself: test_summary.py), the unscaled no-copy
rule and the fused ``A^T (A x)`` product (``_operator`` and its kinds, ``_dense_operator``
and ``_sparse_operator``)."""

from __future__ import annotations

import math

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings

import lipbench as lb
from lipbench.testing import operator_of as prepare
from lipbench.testing import top_eigenpair
from properties.tolerances import eigh_atol, matvec_atol, normal_matvec_bound, sum_rtol
from tests.helpers import assert_same_certificate


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


@pytest.mark.parametrize("factor", [1.0, 1e300, 1e-300])
def test_cheap_upper_is_tight_for_a_diagonal_matrix(factor):
    """sqrt(||A||_1 ||A||_inf) is sigma_max for a diagonal matrix: the upper
    bound is tight and still holds, in range (used as is) and far out of it
    (scaled copy, its bounds summarized in prepare)."""
    d = np.arange(1.0, 90.0) * factor
    r = lb.spectral_norm(np.diag(d), method="lanczos", normal=True, tol=1e-10, seed=0)
    top = 89.0 * factor  # sqrt(||A||_1 ||A||_inf), each a sum of one |a| rounded outward
    assert r.upper <= top * (1 + sum_rtol("float64", d.size)) and r.lower <= top <= r.upper


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


@settings(max_examples=200, deadline=None)
@given(data=st.data(), k=st.integers(1, 60))
def test_top_eigenpair_matches_a_dense_eigensolver(data, k):
    """The direct LAPACK calls behind every Lanczos step's Ritz value agree
    with a dense eigensolver, clustered and zero off-diagonals included."""
    elems = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
    d = data.draw(hnp.arrays(np.float64, k, elements=elems))
    e = data.draw(hnp.arrays(np.float64, k - 1, elements=elems | st.just(0.0)))
    _check_top_pair(d, e)


def test_top_eigenpair_of_a_split_cluster():
    """LAPACK's stemr asked for the top index only returns the middle
    eigenvalue here (found by the test above); bisection does not."""
    _check_top_pair(np.array([17.0, 17.0, 17.0]), np.array([1.1920929e-07, 0.0]))


def _check_top_pair(d, e):
    k = d.shape[0]
    lam, y = top_eigenpair(d, e)
    T = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    w = np.linalg.eigvalsh(T)
    scale = max(1.0, float(np.abs(w).max()))
    # two backward-stable eigensolvers: each eigenvalue within eigh_atol, the pair within twice it
    assert abs(lam - w[-1]) <= 2 * eigh_atol("float64", k, scale), (lam, w[-1], k)
    assert abs(np.linalg.norm(y) - 1) <= sum_rtol("float64", k), (np.linalg.norm(y), k)
    # an eigenpair exact for T + E: residual ||E y|| plus the product's rounding
    resid = np.linalg.norm(T @ y - lam * y)
    assert resid <= eigh_atol("float64", k, scale) + matvec_atol("float64", T.shape, np.linalg.norm(T)), (resid, k)


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
