"""Symmetric Lanczos on the normal operator, with thick restarts (``lipbench.spectral.lanczos.normal``)."""

from __future__ import annotations

import numpy as np
import pytest

import lipbench as lb
from lipbench import matrices
from tests.helpers import FAMILY_KW, SHAPES, assert_certified, run_quietly


@pytest.mark.parametrize("family", ["gaussian", "gap", "low_rank", "badly_scaled"])
def test_backend_neutral_lanczos_normal(backend, xp, family):
    ks = matrices.make(family, 40, 28, seed=5, backend=backend)
    truth = matrices.reference_norm(ks.matrix)
    r, _ = run_quietly(ks.matrix, "lanczos", tol=1e-8, seed=1, normal=True)
    assert r.backend == backend.value
    assert_certified(r, truth, 1e-8, ks.matrix, f"family={family}")
    assert r.converged, r.message


@pytest.mark.parametrize("shape_kind", list(SHAPES))
@pytest.mark.parametrize("family", list(FAMILY_KW))
@pytest.mark.parametrize("work_dtype", [None, "float32"])
@pytest.mark.parametrize("max_basis", [None, 6])
def test_lanczos_on_normal_operator_every_family(family, shape_kind, work_dtype, max_basis):
    """normal=True (symmetric Lanczos on A^T A), alone and with float32 work;
    max_basis=6 forces thick restarts on these sizes."""
    ks = matrices.make(family, *SHAPES[shape_kind], seed=8, **FAMILY_KW[family])
    A = ks.matrix
    truth = np.linalg.norm(A, 2) if family != "zero" else 0.0
    opts = {"normal": True}
    opts |= {} if max_basis is None else {"max_basis": max_basis}
    opts |= {} if work_dtype is None else {"work_dtype": work_dtype}
    r, warned = run_quietly(A, "lanczos", tol=1e-8, seed=4, **opts)
    assert_certified(r, truth, 1e-8, A, f"family={family}")
    assert r.converged and not warned, r.message
    assert r.options == opts


def test_lanczos_normal_same_steps_as_bidiagonalization():
    """Same Krylov space of right vectors: the same number of steps to tol."""
    A, s = matrices.gaussian(400, 300, seed=3)
    tol = 1e-8
    a = lb.spectral_norm(A, method="lanczos", tol=tol, seed=5)
    b = lb.spectral_norm(A, method="lanczos", tol=tol, seed=5, normal=True)
    assert abs(a.iterations - b.iterations) <= 1 and b.matvecs == 2 * b.iterations + 1
    assert abs(b.value - s[0]) <= tol * s[0]


def test_lanczos_normal_start_in_null_space_is_not_converged():
    A = np.zeros((30, 20))
    A[:, 0] = 1.0
    v0 = np.zeros(20)
    v0[3] = 1.0
    r, warned = run_quietly(A, "lanczos", tol=1e-8, v0=v0, normal=True)
    assert not r.converged and warned
    assert r.lower <= np.sqrt(30) <= r.upper


def test_lanczos_normal_float32_small_beta_is_not_called_exact():
    """Regression: a breakdown threshold of 8 n u (about 6e-4 relative at
    n = 1200 in float32) stopped the iteration as 'invariant' after the top
    pair, unverified (a warning for a value that was right); beta at the
    rounding level of one product is the only breakdown."""
    rng = np.random.default_rng(0)
    n = 1200
    s = np.concatenate([[1.0, 1 - 1e-3], 0.01 * rng.random(n - 2)])
    U, V = matrices.haar_orthonormal(n, n, rng), matrices.haar_orthonormal(n, n, rng)
    A = ((U * s) @ V.T).astype(np.float32)
    r, warned = run_quietly(A, "lanczos", tol=1e-6, seed=0, normal=True)
    assert r.converged and not warned, r.message
    assert_certified(r, np.linalg.norm(A.astype(np.float64), 2), 1e-6, A)


def test_lanczos_thick_restarts_bound_memory_and_drop_kw():
    A, s = matrices.gap(300, 200, delta=1e-3, seed=2)
    tol = 1e-10
    plain = lb.spectral_norm(A, method="lanczos", normal=True, tol=tol, seed=1)
    r = lb.spectral_norm(A, method="lanczos", normal=True, max_basis=8, tol=tol, seed=1)
    assert r.converged and r.stages[-1].restarts > 0 and abs(r.value - s[0]) <= tol * s[0]
    assert plain.stages[-1].restarts == 0
    assert r.iterations > plain.iterations > 8, "restarts cost steps; the plain run needs more than 8"
    assert r.upper_probabilistic is None and plain.upper_probabilistic is not None, \
        "Kuczynski-Wozniakowski's bound is for the unrestarted Krylov space only"


def test_lanczos_thick_restarts_stop_at_maxiter_with_a_warning():
    A, _ = matrices.gaussian(200, 150, seed=0)
    r, warned = run_quietly(A, "lanczos", tol=1e-12, seed=0, normal=True, max_basis=4, maxiter=5)
    assert not r.converged and warned and r.iterations == 5 and r.stages[-1].iterations == 5
    assert r.lower <= np.linalg.norm(A, 2) <= r.upper
