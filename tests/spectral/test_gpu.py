"""CuPy-only paths: every method on CuPy arrays (cupy-eigsh's own contract:
test_cupy_eigsh.py), CuPy sparse input, GPU SVD.  Skipped with the
reason on machines without a usable GPU; run with LIPBENCH_BACKENDS=numpy,cupy
to make a missing GPU an error instead."""

from __future__ import annotations

import numpy as np
import pytest

import lipbench as lb
from lipbench import matrices
from tests.helpers import assert_certified, run_quietly

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("family", ["gaussian", "gap", "nn_like", "low_rank", "badly_scaled"])
@pytest.mark.parametrize("method", ["svd", "power", "lanczos", "randomized", "gram", "cupy-eigsh"])
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-8), ("float32", 1e-5)])
def test_cupy_dense(cp, method, family, dtype, tol):
    ks = matrices.make(family, 300, 200, seed=2, dtype=dtype, backend="cupy")
    truth = matrices.reference_norm(ks.matrix)
    r, _ = run_quietly(ks.matrix, method, tol=tol, seed=0)
    assert r.backend == "cupy" and r.device != "cpu"
    if method == "svd":
        assert r.lower <= truth <= r.upper
    else:
        assert_certified(r, truth, tol, ks.matrix, family)
        assert r.converged, r.message


@pytest.mark.parametrize("method", ["power", "lanczos", "randomized", "cupy-eigsh"])
def test_cupy_sparse(cp, method):
    import cupyx.scipy.sparse as csp
    import scipy.sparse as sp

    host = sp.random(2000, 1500, density=0.01, random_state=1, format="csr")
    truth = np.linalg.norm(host.toarray(), 2)
    A = csp.csr_matrix(host)
    r, _ = run_quietly(A, method, tol=1e-8, seed=0)
    assert_certified(r, truth, 1e-8, host, "cupy sparse")
    assert r.converged, r.message


def test_cupy_matches_numpy(cp):
    A, _ = matrices.gaussian(256, 256, seed=3)
    tol = 1e-10
    a = lb.spectral_norm(A, method="lanczos", tol=tol, seed=0).value
    b = lb.spectral_norm(cp.asarray(A), method="lanczos", tol=tol, seed=0).value
    assert abs(a - b) <= tol * a


def test_cupy_stack_svd_and_power(cp):
    x = cp.asarray(np.random.default_rng(0).standard_normal((8, 32, 24)))
    truth = np.linalg.norm(cp.asnumpy(x), 2, axis=(-2, -1))
    for m in ["svd", "power"]:
        r, _ = run_quietly(x, m, tol=1e-9, seed=0)
        assert np.all(r.lower <= truth) and np.all(truth <= r.upper)
        assert r.converged


def test_cupy_nan_named(cp):
    A = cp.ones((5, 6))
    A[4, 2] = cp.nan
    with pytest.raises(ValueError, match=r"NaN at \(4, 2\)"):
        lb.spectral_norm(A, method="lanczos")


def test_cupy_auto_rule_and_normal_option(cp):
    """On CuPy auto takes the Gram iteration up to a smaller side of 4096 and
    beyond it the bidiagonalization (normal=True is a CPU-cache win) with
    float32 work; normal=True still works there."""
    assert lb.auto_plan(cp.ones((1024, 1024))) == ("gram", {})
    assert lb.auto_plan(cp.ones((2048, 2048))) == ("gram", {})
    assert lb.auto_plan(cp.empty((4097, 4097))) == ("lanczos", {"work_dtype": "float32"})
    ks = matrices.gaussian(300, 200, seed=4, backend="cupy")
    truth = matrices.reference_norm(ks.matrix)
    for opts in ({"normal": True}, {"normal": True, "work_dtype": "float32"}):
        r, _ = run_quietly(ks.matrix, "lanczos", tol=1e-8, seed=0, **opts)
        assert_certified(r, truth, 1e-8, ks.matrix, str(opts))
        assert r.converged, r.message


@pytest.mark.parametrize("family", ["gaussian", "gap", "geometric", "polynomial", "low_rank", "identity", "nn_like",
                                    "badly_scaled"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cupy_auto_gram_iteration_meets_the_default_tol(cp, family, dtype):
    """What auto picks on CuPy (the Gram iteration) converges at the default
    tol on every family, flat spectra (identity: the slowest case) included."""
    kw = {"delta": 1e-2} if family == "gap" else {"end": "huge"} if family == "badly_scaled" else {}
    ks = matrices.make(family, 1024, 700, seed=6, dtype=dtype, backend="cupy", **kw)
    truth = matrices.reference_norm(ks.matrix)
    r, warned = run_quietly(ks.matrix, "auto", tol=1e-8, seed=0)
    assert r.method == "gram"
    assert_certified(r, truth, 1e-8, ks.matrix, family)
    assert r.converged and not warned, r.message


@pytest.mark.parametrize("normal", [False, True])
@pytest.mark.parametrize("dtype,tol", [("float64", 1e-8), ("float32", 1e-5)])
def test_cupy_device_loop(cp, monkeypatch, normal, dtype, tol):
    """Lanczos on CuPy runs the device-resident loop with its cuBLAS step
    (not the array-API fallback), answers within tol, and runs at most
    MAX_LAG steps past its answer while a check is in flight."""
    from lipbench.spectral.lanczos import device as lanczos_device

    kinds = []
    real = lanczos_device.steps_for

    def recording(op, dt):
        work = real(op, dt)
        kinds.append(type(work).__name__)
        return work

    monkeypatch.setattr(lanczos_device, "steps_for", recording)
    ks = matrices.gaussian(1500, 1000, seed=6, dtype=dtype, backend="cupy")
    truth = matrices.reference_norm(ks.matrix)
    r, _ = run_quietly(ks.matrix, "lanczos", tol=tol, seed=0, normal=normal)
    assert kinds and set(kinds) == {"CupySteps"}, kinds
    assert_certified(r, truth, tol, ks.matrix, f"normal={normal}")
    assert r.converged, r.message
    lanczos_steps = sum(s.matvecs for s in r.stages if s.engine.startswith("lanczos"))
    iterations = sum(s.iterations for s in r.stages if s.engine.startswith("lanczos"))
    stages = len([s for s in r.stages if s.engine.startswith("lanczos")])
    # 2 products per step, the certificate's 1 or 2 per stage, and the lag
    assert lanczos_steps <= 2 * iterations + stages * (2 + 2 * lanczos_device.MAX_LAG), (r.stages, r.message)
