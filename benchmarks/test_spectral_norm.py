"""Time and accuracy of every sigma_max method over the grid.

One row per (method, backend, shape, dtype, spectrum, target tol); the grid is
identical on every machine (see ``benchmarks/grid.py``, and
``benchmarks/profiles.py`` for what each profile runs of it).  Each row
records the relative error against ground truth, the bracket, iterations,
matvecs, convergence and whether the target was met, next to the time.
"""

from __future__ import annotations

import pytest

from benchmarks import grid, profiles
from benchmarks.record import record
from benchmarks.runners import applicability, baseline_runner, lipbench_runner, require_backend
from benchmarks.timing import time_call

CASES = grid.grid()


def planned(profile: profiles.Profile, case: grid.Case) -> bool:
    """Whether ``case`` runs in ``profile`` (for the session's estimate; the
    test itself skips with the reason)."""
    if profiles.skip_reason(case, profile.name) or (case.method == "cupy-eigsh" and case.backend != "cupy"):
        return False
    return not (case.sparse and case.method in grid.DENSE_ONLY)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_spectral_norm(benchmark, request, inputs, case: grid.Case) -> None:
    config = request.config
    reason = profiles.skip_reason(case, config._lipbench_profile)
    if reason:
        pytest.skip(reason)
    require_backend(config, case.backend)
    if case.method == "cupy-eigsh" and case.backend != "cupy":
        pytest.skip("cupy-eigsh runs on CuPy arrays only")
    benchmark.group = f"{case.backend} {case.shape} {case.dtype} {case.family} tol={case.tol:g}"
    inp = inputs.get(case.backend, case.shape, case.m, case.n, case.dtype, case.family)
    applicability(case.method, inp.A, case.backend, case.sparse)
    timing = {"key": (case.method, case.backend, case.dtype), "work": grid.work_of(case, inp.nnz)}
    if case.method in grid.BASELINES:
        run, impl = baseline_runner(case.method, inp.A, case.tol, case.backend, sparse=case.sparse)
        out = time_call(benchmark, run, config, **timing)
        record(benchmark, config, case, inp, out, impl=impl, baseline=True)
    else:
        run = lipbench_runner(case.method, inp.A, case.tol, case.backend)
        out = time_call(benchmark, run, config, **timing)
        record(benchmark, config, case, inp, out)
