"""What a result says about its own computation: the tol it could meet, what
its iterations count, its wall time and BLAS threads, the caller's shape."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import lipbench as lb
from lipbench import matrices
from lipbench.testing import certified_width, gram_rounding_floor, residual_floor, svd_backward_p, unit_roundoff
from tests.helpers import said


def _quiet(A, method="auto", **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)
        return lb.spectral_norm(A, method=method, **kw)


@pytest.fixture(scope="module")
def layer32():
    """A float32 384 x 384 weight, the shape of the report that a tol of 1e-20 was 'converged'."""
    return np.random.default_rng(7).standard_normal((384, 384)).astype(np.float32)


def _floor(method: str, m: int, n: int) -> float:
    """The smallest error estimate each computation can produce, from the rounding model."""
    if method == "svd":  # the backward-error estimate, or the width its certificate proves
        return max(svd_backward_p(m, n) * unit_roundoff("float64"), certified_width(0.0, "float64", m, n))
    if method == "gram":
        return 2 * gram_rounding_floor(m, n)
    return residual_floor(m, n)


@pytest.mark.parametrize("method", ["auto", "lanczos", "power", "randomized", "arpack", "svd", "gram"])
def test_tol_below_the_floor_is_raised_to_it(layer32, method):
    m, n = layer32.shape
    r = _quiet(layer32, method, tol=1e-20, seed=0, maxiter={"power": 50, "randomized": 10}.get(method))
    floor = _floor(r.method, m, n)
    where = f"method={method} -> {r.method}, dtype float32, shape {layer32.shape}"
    assert r.tol == floor, f"tol {r.tol!r} should be raised to the floor {floor!r}: {where}"
    assert r.error_estimate >= floor, f"error estimate {r.error_estimate!r} below the floor {floor!r}: {where}"
    assert [n["floor"] for n in said(r, "tol-raised")] == [floor], f"no note of the raised tol in {r.notes}: {where}"
    if method in ("auto", "lanczos", "svd", "gram"):  # these finish in float64; the others' float32
        assert r.converged, f"{where}: {r.message}"  # vectors stop short of it (or their maxiter), and say so
    sigma = float(np.linalg.norm(layer32.astype(np.float64), 2))
    assert r.lower <= sigma * (1 + floor) and sigma * (1 - floor) <= r.upper, where


def test_certify_raises_tol_to_what_the_certificate_proves(layer32):
    m, n = layer32.shape
    r = lb.spectral_norm(layer32, tol=1e-20, seed=0, certify=True)
    want = certified_width(0.0, "float64", m, n)
    assert r.tol == want and r.certified and r.converged, (r.tol, want, r.message)
    assert r.upper - r.lower <= r.tol * r.lower
    assert [n["floor"] for n in said(r, "tol-raised")] == [want], r.notes


def test_a_tol_above_the_floor_is_left_alone(layer32):
    r = lb.spectral_norm(layer32, tol=1e-6, seed=0)
    assert r.tol == 1e-6 and not said(r, "tol-raised")
    assert r.error_estimate >= residual_floor(*layer32.shape)


def test_stack_power_floor_is_its_own_dtype():
    """A stack's power iteration computes its residuals in the stack's dtype."""
    W = np.random.default_rng(0).standard_normal((3, 64, 64)).astype(np.float32)
    r = _quiet(W, "power", tol=1e-20, seed=0, maxiter=50)
    floor = residual_floor(64, 64, "float32")
    assert r.tol == floor and np.all(np.asarray(r.error_estimate) >= floor), (r.tol, floor, r.error_estimate)


# ----------------------------------------------------------------------- maxiter


@pytest.fixture(scope="module")
def slow():
    """A matrix with a relative gap of 1e-4 at the top: no method converges in 2 iterations."""
    A, _ = matrices.gap(300, 200, delta=1e-4, seed=3)
    return A


ROUTES = [
    ("power", {}), ("randomized", {}), ("gram", {}), ("interpolative", {}), ("propack", {}),
    ("lanczos", {}), ("lanczos", {"normal": True}), ("lanczos", {"gram": True}),
    ("lanczos", {"work_dtype": "float32"}), ("lanczos", {"gram": True, "work_dtype": "float32"}),
    ("lanczos", {"normal": True, "work_dtype": "float32"}), ("lanczos", {"engine": "propack"}),
]


@pytest.mark.parametrize("maxiter", [1, 2, 3])
@pytest.mark.parametrize("method,options", ROUTES)
def test_iterations_count_what_maxiter_caps(slow, method, options, maxiter):
    """Unconverged, a method reports exactly maxiter of the units maxiter
    counts, summed over the route's stages, and says so in those units."""
    r = _quiet(slow, method, tol=1e-12, seed=1, maxiter=maxiter, **options)
    where = f"method={method} {options} maxiter={maxiter}: {r.message}"
    assert not r.converged, where
    assert r.iterations == maxiter, f"{r.iterations} iterations: {where}"
    work = [s for s in r.stages if s.engine != "inertia"]
    assert sum(s.iterations for s in work) == r.iterations, f"stages {r.stages}: {where}"
    assert lb.METHODS[method].maxiter_meaning == lb.METHODS[method].counts
    assert lb.METHODS[method].counts in r.summary()
    if method == "lanczos":
        assert [n["maxiter"] for n in said(r, "maxiter")] == [maxiter], where  # the caller's cap, said once


def test_arpack_says_its_maxiter_counts_restarts(slow):
    info = lb.METHODS["arpack"]
    assert "restart" in info.maxiter_meaning and info.counts == "steps with A^T A"
    r = _quiet(slow, "arpack", tol=1e-12, seed=1, maxiter=1)
    assert 0 < r.iterations and 2 * r.iterations <= r.matvecs
    assert "maxiter counts ARPACK restart cycles" in r.summary()


def test_svd_notes_an_ignored_maxiter(slow):
    r = lb.spectral_norm(slow, "svd", maxiter=3)
    assert r.iterations == 1 and said(r, "svd-maxiter")


def test_non_convergence_advice_in_api_words(slow):
    with pytest.warns(lb.ConvergenceWarning, match=r"Raise maxiter or tol, or use method='svd'") as rec:
        lb.spectral_norm(slow, "power", tol=1e-12, maxiter=2, seed=0)
    assert "2 power steps" in str(rec[0].message)


# ----------------------------------------------------------------------- time, threads, shape, seed


def test_seconds_is_the_wall_time_of_the_call(slow):
    t0 = time.perf_counter()
    r = lb.spectral_norm(slow, "lanczos", seed=0)
    outer = time.perf_counter() - t0
    assert 0 < r.seconds <= outer, (r.seconds, outer)
    assert f"{r.seconds:.4g} s" in r.summary()


@pytest.mark.parametrize("threads", [1, 2])
def test_threads_are_recorded(slow, threads):
    with threadpool_limits(limits=threads, user_api="blas"):
        r = lb.spectral_norm(slow, "svd")
    assert r.threads == threads and f"{threads} BLAS thread(s)" in r.summary()


def test_complex_input_reports_the_callers_shape():
    rng = np.random.default_rng(0)
    A = (rng.standard_normal((20, 10)) + 1j * rng.standard_normal((20, 10))).astype(np.complex64)
    r = lb.spectral_norm(A, seed=0)
    assert r.shape == (20, 10) and r.input_dtype == "complex64"
    assert [n["shape"] for n in said(r, "complex-embedding")] == [(40, 20)]
    sigma = np.linalg.norm(A.astype(np.complex128), 2)
    assert r.lower <= sigma <= r.upper


def test_seed_none_is_drawn_and_recorded(slow):
    a, b = lb.spectral_norm(slow, "lanczos"), lb.spectral_norm(slow, "lanczos")
    assert a.seed != b.seed  # drawn from 2^63 values
    again = lb.spectral_norm(slow, "lanczos", seed=a.seed)
    assert again.value == a.value and again.iterations == a.iterations
