"""The interface under every estimator (``lipbench.spectral._operator``): what a
kind without entries refuses, by name, and the direct LAPACK calls behind every
Lanczos step's Ritz value.  Each kind has its own file: test_dense_operator.py,
test_sparse_operator.py, test_dask_operator.py."""

from __future__ import annotations

import hypothesis.extra.numpy as hnp
import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given, settings
from scipy.sparse.linalg import LinearOperator

from lipbench.testing import operator_of as prepare
from lipbench.testing import top_eigenpair
from properties.tolerances import eigh_atol, matvec_atol, sum_rtol


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




def test_a_kind_without_entries_refuses_what_needs_them_by_name():
    lin = LinearOperator((5, 4), matvec=lambda x: np.ones(5) * x.sum(), rmatvec=lambda y: np.ones(4) * y.sum(),
                         dtype=float)
    op = prepare(lin)
    for call in (op.dense64, op.sparse64, op.transposed, op.explicit_gram):
        with pytest.raises(TypeError, match="a LinearOperator operator"):
            call()
    with pytest.raises(TypeError, match="works in float64 only"):
        op.with_work_dtype("float32")
    assert op.with_work_dtype("float64") is op and op.zero_matrices() is None
