"""The Lanczos family: bidiagonalization, the normal operator with thick
restarts, the Gram route, the float32-then-float64 and PROPACK refinements,
the check schedule and the steps theory predicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import lipbench as lb
from lipbench import matrices
from properties.tolerances import reference_rtol
from tests.helpers import FAMILY_KW, SHAPES, assert_certified, run_quietly


@pytest.mark.parametrize("family", ["gaussian", "gap", "low_rank", "badly_scaled"])
def test_backend_neutral_lanczos_normal(backend, xp, family):
    ks = matrices.make(family, 40, 28, seed=5, backend=backend)
    truth = matrices.reference_norm(ks.matrix)
    r, _ = run_quietly(ks.matrix, "lanczos", tol=1e-8, seed=1, normal=True)
    assert r.backend == backend.value
    assert_certified(r, truth, 1e-8, ks.matrix, f"family={family}")
    assert r.converged, r.message


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


@pytest.mark.parametrize("bad", [3, 0, 2.5, True])
def test_lanczos_max_basis_validated(bad):
    with pytest.raises(ValueError, match="max_basis"):
        lb.spectral_norm(np.eye(300), method="lanczos", normal=True, max_basis=bad)
    with pytest.raises(ValueError, match="normal=True"):
        lb.spectral_norm(np.eye(300), method="lanczos", max_basis=10)


def test_lanczos_gram_and_normal_are_exclusive():
    with pytest.raises(ValueError, match="choose one"):
        lb.spectral_norm(np.eye(300), method="lanczos", gram=True, normal=True)


def test_lanczos_exhausts_wide_krylov_space():
    """Regression (found by the Lanczos-vs-power property): for m < n the
    Krylov space is exhausted after m + 1 steps, not m."""
    rng = np.random.default_rng(1)
    tol = 1e-12
    for m, n in [(2, 3), (3, 7), (5, 6)]:
        A = rng.standard_normal((m, n))
        r = lb.spectral_norm(A, method="lanczos", v0=rng.standard_normal(n), tol=tol)
        truth = np.linalg.norm(A, 2)
        assert r.converged and abs(r.value - truth) <= (tol + reference_rtol(A.shape)) * truth, (
            m, n, r.value, truth, r.iterations)


@pytest.mark.parametrize("opts", [{}, {"normal": True}, {"normal": True, "max_basis": 8}])
@pytest.mark.parametrize("family,kw", [("gaussian", {}), ("gap", {"delta": 1e-4}), ("geometric", {}),
                                       ("low_rank", {})])
@pytest.mark.parametrize("tol", [1e-3, 1e-8])
def test_lanczos_check_schedule_stops_near_every_step_checking(opts, family, kw, tol):
    """Lanczos solves its tridiagonal eigenproblem only at the steps its check
    schedule picks; with a history it checks every step.  The iterates are the
    same either way, so the scheduled run can stop no earlier, and must stop
    within a few steps of the first step whose bound met tol."""
    A, s = matrices.make(family, 200, 160, seed=2, **kw)
    every = lb.spectral_norm(A, method="lanczos", tol=tol, seed=4, return_history=True, **opts)
    sched = lb.spectral_norm(A, method="lanczos", tol=tol, seed=4, **opts)
    assert len(every.history) == every.iterations  # one check per step
    assert every.converged and sched.converged
    assert every.iterations <= sched.iterations <= every.iterations + max(2, every.iterations // 10)
    assert abs(sched.value - s[0]) <= tol * s[0]


def test_check_schedule_on_a_geometric_error_checks_rarely_and_stops_on_time():
    from lipbench.testing import CHECK_WARMUP, CheckSchedule

    tol, rate = 1e-12, 0.8
    schedule = CheckSchedule(tol)
    checked = []
    for k in range(1, 400):
        if schedule.due(k):
            checked.append(k)
            schedule.checked(k, rate**k)
            if rate**k <= tol:
                break
    first = int(np.ceil(np.log(tol) / np.log(rate)))  # the first step whose error meets tol
    assert checked[-1] == first
    assert checked[:CHECK_WARMUP] == list(range(1, CHECK_WARMUP + 1))
    assert len(checked) <= first // 3
    every = CheckSchedule(tol, every_step=True)
    for k in range(1, 50):
        assert every.due(k)
        every.checked(k, rate**k)


@pytest.mark.parametrize("opts", [{}, {"normal": True}])
def test_lanczos_last_step_is_always_checked(opts):
    """A run stopped by maxiter, or by an invariant Krylov space, reports the
    bound and the Ritz value of its last step -- as a run checking every step
    does -- whatever steps its check schedule skipped."""
    A, _ = matrices.gap(300, 200, delta=1e-4, seed=1)
    for maxiter in (35, 36):  # steps the schedule skips (it checks 31 and 37 here)
        every, _ = run_quietly(A, "lanczos", tol=1e-12, maxiter=maxiter, seed=3, return_history=True, **opts)
        sched, warned = run_quietly(A, "lanczos", tol=1e-12, maxiter=maxiter, seed=3, **opts)
        assert warned and not sched.converged and sched.iterations == maxiter
        assert sched.error_estimate == every.error_estimate and sched.value == every.value
    # rank r: the Krylov space of A^T A is invariant after r + 1 steps (r
    # eigenvalues and the null space); only that stop can end a run at tol=1e-300
    for rank in (10, 11, 14, 15, 17):
        ks = matrices.low_rank(60, 50, rank=rank, seed=1)
        B, t = ks
        ex = lb.spectral_norm(B, method="lanczos", tol=1e-300, seed=3, **opts)
        # exhausted: the value is the small eigenproblem's, as good as a float64 SVD of the stored B,
        # whose sigma_max is within ks.atol of the construction's t[0]
        assert ex.converged and ex.iterations <= rank + 2, rank
        assert abs(ex.value - t[0]) <= ks.atol + reference_rtol(B.shape) * t[0], (rank, ex.value, t[0])


def test_lanczos_steps_theory_matches_its_formulas():
    from lipbench.spectral import lanczos_steps_theory
    from lipbench.spectral.theory import kw_lanczos_epsilon

    n, tol = 500, 1e-6
    s = np.concatenate([[2.0, 1.8], np.linspace(1.5, 0.1, n - 2)])
    th = lanczos_steps_theory(s, tol)
    # KW: the first k whose gap-free eigenvalue error bound is within 2 tol
    assert kw_lanczos_epsilon(n, th["kw"]) <= 2 * tol < kw_lanczos_epsilon(n, th["kw"] - 1)
    assert th["block_krylov"] == math.ceil(math.log(n) / math.sqrt(2 * tol))
    # Chebyshev: T_{k-1}(1 + 2 gamma) reaches the needed factor at the estimate, not one step before
    lam = s**2
    x = 1 + 2 * (lam[0] - lam[1]) / (lam[1] - lam[-1])
    spread = (lam[0] - lam[-1]) / lam[0]
    for key, need in (("value", math.sqrt(n) * math.sqrt(spread / (2 * tol))),
                      ("residual", math.sqrt(n) * spread / (2 * tol))):
        k = th[key]
        assert math.cosh((k - 1) * math.acosh(x)) >= need > math.cosh((k - 2) * math.acosh(x)), key
    # a wider gap needs fewer steps; no gap leaves the gap-free bounds only
    assert lanczos_steps_theory(np.concatenate([[3.0], s[1:]]), tol)["value"] < th["value"]
    assert set(lanczos_steps_theory(np.ones(10), tol)) == {"kw", "block_krylov", "kw_failure_probability"}


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


def test_lanczos_propack_engine_refuses_what_it_cannot_do():
    A = matrices.gaussian(64, 48, seed=1).matrix
    with pytest.raises(ValueError, match="engine must be None or 'propack'"):
        lb.spectral_norm(A, method="lanczos", engine="arpack")
    with pytest.raises(ValueError, match="takes none of gram, normal"):
        lb.spectral_norm(A, method="lanczos", engine="propack", normal=True)
    with pytest.raises(ValueError, match="v0 is not supported"):
        lb.spectral_norm(A, method="lanczos", engine="propack", v0=np.ones(48))
    with pytest.raises(ValueError, match="NumPy dense or SciPy sparse"):
        lb.spectral_norm(aslinearoperator(A), method="lanczos", engine="propack")
