"""Time and accuracy of every sigma_max method over the grid.

One row per (method, backend, shape, dtype, spectrum, target tol); the grid is
identical on every machine (see ``benchmarks/_grid.py``).  Each row records
the relative error against ground truth, the bracket, iterations, matvecs,
convergence and whether the target was met, next to the time.
"""

from __future__ import annotations

import pytest

from benchmarks import _grid

CASES = _grid.grid()


@pytest.fixture(scope="session")
def inputs() -> _grid.InputCache:
    return _grid.InputCache()


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in CASES])
def test_spectral_norm(benchmark, request, inputs, case: _grid.Case) -> None:
    config = request.config
    reason = _grid.profile_skip_reason(case, config._lipbench_profile)
    if reason:
        pytest.skip(reason)
    _grid.require_backend(config, case.backend)
    if case.method == "cupy-eigsh" and case.backend != "cupy":
        pytest.skip("cupy-eigsh runs on CuPy arrays only")
    benchmark.group = f"{case.backend} {case.shape} {case.dtype} {case.family} tol={case.tol:g}"
    inp = inputs.get(case.backend, case.shape, case.m, case.n, case.dtype, case.family)
    _grid.applicability(case.method, inp.A, case.backend, case.sparse)
    timing = {"key": (case.method, case.backend, case.dtype), "work": _grid.work_of(case, inp.nnz)}
    if case.method in _grid.BASELINES:
        run, impl = _grid.baseline_runner(case.method, inp.A, case.tol, case.backend, sparse=case.sparse)
        out = _grid.time_call(benchmark, run, config, **timing)
        _grid.record(benchmark, config, case, inp, out, impl=impl, baseline=True)
    else:
        run = _grid.lipbench_runner(case.method, inp.A, case.tol, case.backend)
        out = _grid.time_call(benchmark, run, config, **timing)
        _grid.record(benchmark, config, case, inp, out)
