"""Runs that start cheap (float32 work, SciPy's PROPACK) and finish in float64 when
the check refuses them (``lipbench.spectral.lanczos.refine``)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import lipbench as lb
from lipbench import matrices
from tests.helpers import assert_certified, run_quietly


@pytest.mark.parametrize("opts", [{"gram": True}, {"work_dtype": "float32"}, {"gram": True, "work_dtype": "float32"},
                                  {"normal": True, "work_dtype": "float32"}])
def test_lanczos_fast_paths_fall_back_when_float32_cannot_certify(opts):
    """At tol=1e-11 float32 work cannot verify; the iteration continues in float64."""
    A, s = matrices.gap(600, 150, delta=0.05, seed=2)
    r, _ = run_quietly(A, "lanczos", tol=1e-11, seed=0, **opts)
    assert r.converged and r.options == opts
    if opts.get("work_dtype") == "float32":
        assert r.stages[0].dtype == "float32" and not r.stages[0].converged, r.stages
        assert r.stages[-1].dtype == "float64" and r.stages[-1].converged, r.stages
    assert_certified(r, np.linalg.norm(A, 2), 1e-11, A)


@pytest.mark.parametrize("opts", [{}, {"normal": True}, {"normal": True, "max_basis": 8}, {"gram": True}])
def test_float32_input_refines_in_float64_below_float32_reach(opts):
    """A float32 matrix asked for 1e-10: the float32 iteration cannot verify
    that (its residual stalls near float32 rounding), so it continues in
    float64 on the copy certification made, and converges without a warning."""
    A = matrices.gap(600, 150, delta=0.05, seed=2).matrix.astype(np.float32)
    r, warned = run_quietly(A, "lanczos", tol=1e-10, seed=0, **opts)
    assert r.converged and not warned, r.message
    assert r.stages[0].dtype == "float32" and not r.stages[0].converged, r.stages
    assert r.stages[-1].dtype == "float64" and r.stages[-1].converged, r.stages
    assert_certified(r, np.linalg.norm(A.astype(np.float64), 2), 1e-10, A)


@pytest.mark.parametrize("family,kw,seed,tol,refined", [
    ("gaussian", {}, 0, 1e-6, False), ("nn_like", {}, 1, 1e-3, False),
    ("gaussian", {}, 1, 1e-6, True), ("gap", {"delta": 1e-2}, 1, 1e-6, True),  # PROPACK's float32 vector misses
])
def test_lanczos_propack_engine_verifies_or_refines(family, kw, seed, tol, refined):
    """engine='propack': SciPy's PROPACK runs the steps, lipbench's float64
    check decides; where PROPACK's float32 vector misses tol, float64 Lanczos
    finishes from it.  Either way the answer is verified to tol."""
    K = matrices.make(family, 256, 256, seed=seed, dtype="float32", **kw)
    truth = matrices.reference_norm(K.matrix)
    r = lb.spectral_norm(K.matrix, method="lanczos", engine="propack", tol=tol, seed=1)
    assert r.converged and r.error_estimate <= tol and r.options == {"engine": "propack"}
    assert r.lower <= truth <= r.upper and abs(r.value - truth) <= tol * truth
    assert r.stages[0].engine == "propack" and r.stages[0].converged != refined, r.stages
    assert [(s.engine, s.dtype) for s in r.stages[1:]] == ([("lanczos-normal", "float64")] if refined else [])
    assert r.matvecs >= 2 * r.iterations > 0
    assert r.matvecs == sum(s.matvecs for s in r.stages)
    propack_steps = r.stages[0].iterations
    # a refinement starts from PROPACK's nearly converged vector: a few steps, not a fresh run
    assert propack_steps <= r.iterations <= propack_steps + (10 if refined else 0)
    # the same through auto, and on a SciPy sparse copy (no one-pass certificate there)
    assert lb.spectral_norm(K.matrix, tol=tol, seed=1).options == {"engine": "propack"}
    s = lb.spectral_norm(sp.csr_array(K.matrix), method="lanczos", engine="propack", tol=tol, seed=1)
    assert s.converged and s.error_estimate <= tol and s.lower <= truth <= s.upper
