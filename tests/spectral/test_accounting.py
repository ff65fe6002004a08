"""What a result says about its own computation: what its iterations count,
its wall time and BLAS threads, the caller's shape (the tol it could meet:
test_floors.py)."""

from __future__ import annotations

import time

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import lipbench as lb
from lipbench import matrices
from tests.helpers import quiet as _quiet
from tests.helpers import said

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
