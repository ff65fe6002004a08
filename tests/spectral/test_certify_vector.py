"""The answer of a Krylov method (``lipbench.spectral._certify_vector``): its
final vector's certified lower bound, never above sigma_max; a float32 run's
convergence re-decided by the float64 residual; the probabilistic upper bound
of a random start."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lipbench as lb
from lipbench import matrices
from lipbench.testing import Outcome, certify_vector
from lipbench.testing import operator_of as prepare
from properties.tolerances import matvec_atol, sum_rtol
from tests.helpers import run_quietly


@pytest.mark.parametrize("method", ["power", "lanczos", "randomized", "gram", "arpack", "propack", "lobpcg"])
def test_result_vector_certifies_lower_and_warm_starts(method):
    A, s = matrices.nn_like(150, 90, seed=6)
    r, _ = run_quietly(A, method, tol=1e-8, seed=0)
    v = r.vector
    assert v.shape == (90,) and abs(np.linalg.norm(v) - 1) <= sum_rtol("float64", v.size)
    assert r.lower <= np.linalg.norm(A @ v) + matvec_atol("float64", A.shape, np.linalg.norm(A), np.linalg.norm(v))
    if method in ("power", "lanczos"):
        drifted = A + 1e-3 * np.random.default_rng(0).standard_normal(A.shape) / np.sqrt(150)
        warm = lb.spectral_norm(drifted, method=method, tol=1e-8, v0=v)
        cold = lb.spectral_norm(drifted, method=method, tol=1e-8, seed=0)
        assert warm.matvecs < cold.matvecs, (warm.matvecs, cold.matvecs)
    assert lb.spectral_norm(A, method="svd").vector is None


# ------------------------------------------------------------ the module's own contract
K = 23  # diag(1, ..., K): sigma_max = K exactly, its top right vector e_K


def _top(k: int = K) -> np.ndarray:
    e = np.zeros(k)
    e[-1] = 1.0
    return e


@pytest.mark.parametrize("mix", [0.0, 1e-3, 0.5])
def test_lower_bound_of_a_vector_is_below_the_exact_sigma(mix, rng):
    op = prepare(np.diag(np.arange(1.0, K + 1.0)))
    v = _top() + mix * rng.standard_normal(K)
    r = certify_vector(op, v, Outcome(converged=True, iterations=4, err=1e-12, kw_eps=None))
    assert r.lower <= K and r.upper == math.inf and r.converged and r.iterations == 4
    ratio = float(np.linalg.norm(np.arange(1.0, K + 1.0) * v) / np.linalg.norm(v))
    assert r.lower <= ratio <= r.lower * (1 + sum_rtol("float64", K * K)), (r.lower, ratio)
    assert abs(float(np.linalg.norm(r.vector)) - 1) <= sum_rtol("float64", K)
    assert r.failure_probability is None and r.upper_probabilistic is None


def test_a_product_already_in_float64_is_reused():
    op = prepare(np.diag(np.arange(1.0, K + 1.0)))
    v = _top()
    w = op.matvec(v)
    before = op.matvecs
    r = certify_vector(op, v, Outcome(True, 2, 1e-12, None), w=w)
    fro = float(np.linalg.norm(np.arange(1.0, K + 1.0)))  # the lower bound gives up the product's rounding
    assert op.matvecs == before and r.lower <= K <= r.lower + matvec_atol("float64", (K, K), fro)


def test_a_float32_claim_of_convergence_is_checked_in_float64(rng):
    A = rng.standard_normal((40, 30)).astype(np.float32)
    op = prepare(A)
    assert op.dtype == "float32"
    tol = 1e-6
    poor = rng.standard_normal(30).astype(np.float32)  # nowhere near the top vector
    r = certify_vector(op, poor, Outcome(True, 5, 1e-9, None), tol=tol)
    assert not r.converged and r.error_estimate > tol, (r.converged, r.error_estimate)
    assert [n.code for n in r.notes] == ["float32-unverified"], r.notes
    top = np.linalg.svd(A.astype(np.float64))[2][0].astype(np.float32)
    good = certify_vector(op, top, Outcome(True, 5, 1e-9, None), tol=tol)
    assert good.converged and good.error_estimate <= tol and not good.notes
    sigma = float(np.linalg.norm(A.astype(np.float64), 2))
    assert good.lower <= sigma <= good.lower * (1 + tol), (good.lower, sigma)


def test_a_random_start_gets_a_probabilistic_upper_bound():
    op = prepare(np.diag(np.arange(1.0, K + 1.0)))
    r = certify_vector(op, _top(), Outcome(True, 3, 1e-12, kw_eps=0.25))
    assert r.failure_probability is not None and 0 < r.failure_probability < 1
    assert r.upper_probabilistic >= r.value >= r.lower
