"""The host loop of one Lanczos run: when it checks, and what its last step reports
(``lipbench.spectral.lanczos.loop``)."""

from __future__ import annotations

import pytest

import lipbench as lb
from lipbench import matrices
from properties.tolerances import reference_rtol
from tests.helpers import run_quietly


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
