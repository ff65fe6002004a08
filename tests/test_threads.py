"""With more than one BLAS thread the one-pass products become whole BLAS
calls; they give what the one-thread passes give, and a call records its threads."""

from __future__ import annotations

import numpy as np
import pytest

import lipbench as lb
from lipbench.testing import operator_of
from lipbench.timing import limit_threads
from properties.tolerances import matvec_bound, normal_matvec_bound
from tests.helpers import assert_same_certificate

SHAPE = (1101, 300)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_certificate_pass_at_two_threads_matches_one_thread(dtype, rng):
    A = (rng.standard_normal(SHAPE) * 3).astype(dtype)
    v = rng.standard_normal(SHAPE[1])
    u = v / np.linalg.norm(v)
    out = {}
    for threads in (1, 2):
        op = operator_of(A)
        op.threads = threads
        lower, w, v64, resid = op.certified_lower_and_residual(v)
        out[threads] = (lower, w, resid)
        err = np.abs(w - A.astype(np.float64) @ u)
        assert np.all(err <= matvec_bound("float64", A, u)), (threads, dtype)
    assert_same_certificate(A, v, out[2], out[1])


def test_threaded_normal_product_is_two_blas_products(rng):
    A = rng.standard_normal((1500, 1400))  # over the one-pass product's 8 MiB
    x = rng.standard_normal(1400)
    op = operator_of(A)
    op.threads = 2
    err, bound = np.abs(op.normal_matvec(x) - A.T @ (A @ x)), normal_matvec_bound("float64", A, x)
    assert np.all(err <= bound), np.max(err / bound)
    assert op.matvecs == 2


def test_same_answer_and_threads_recorded_at_one_and_two_threads(rng):
    A = rng.standard_normal((1200, 1000))
    tol = 1e-8
    got = {}
    for threads in (1, 2):
        with limit_threads(threads) as used:
            got[threads] = (lb.spectral_norm(A, tol=tol, seed=3), used)
    truth = np.linalg.norm(A, 2)
    for r, used in got.values():
        assert r.threads == used
        assert r.lower <= truth <= r.upper
        assert abs(r.value - truth) <= tol * truth
