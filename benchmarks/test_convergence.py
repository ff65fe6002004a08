"""Error-vs-cost curves: relative error against matvecs and time, per iteration.

Each iterative method runs once with ``return_history=True`` to a tight
tolerance; its history (estimate, matvecs, time since start) becomes lists in
``extra_info`` (``curve_*``), which the report draws on one set of axes for all
methods.  The time of the run (history kept) is the benchmark's time.
"""

from __future__ import annotations

import math

import pytest

from benchmarks import grid, profiles
from benchmarks.record import record
from benchmarks.runners import applicability, lipbench_runner, require_backend, warm_up

CURVE_TOL = 1e-10
#: Inputs for the curves: (shape, m, n, dtype, family); the same on every machine.
CURVE_INPUTS = (
    ("1024x1024", 1024, 1024, "float64", "gaussian"),
    ("1024x1024", 1024, 1024, "float64", "gap0.99"),
    ("1024x1024", 1024, 1024, "float64", "nn_like"),
    ("4096x4096", 4096, 4096, "float64", "gaussian"),
)
CURVE_METHODS = tuple(m for m in grid.all_methods() if m not in grid.BASELINES and m not in ("svd", "auto+certify"))


def _params():
    out = []
    for backend in grid.BACKENDS:
        for shape, m, n, dtype, family in CURVE_INPUTS:
            for method in CURVE_METHODS:
                case = grid.Case(method, backend, shape, m, n, dtype, family, CURVE_TOL)
                out.append(pytest.param(case, id=f"{backend}-{shape}-{dtype}-{family}-{method}"))
    return out


def _curves_at(profile: profiles.Profile, shape: str) -> bool:
    return profile.curve_shapes is None or shape in profile.curve_shapes


def planned(profile: profiles.Profile, case: grid.Case) -> bool:
    """Whether the curve of ``case`` runs in ``profile`` (for the session's estimate)."""
    return _curves_at(profile, case.shape) and not (case.method == "cupy-eigsh" and case.backend != "cupy")


@pytest.mark.parametrize("case", _params())
def test_error_vs_cost(benchmark, request, inputs, case: grid.Case) -> None:
    config = request.config
    profile = config._lipbench_profile
    if not _curves_at(profiles.get(profile), case.shape):
        pytest.skip(profiles.elsewhere(f"curves at {case.shape} run", profile,
                                       lambda p: _curves_at(p, case.shape)))
    require_backend(config, case.backend)
    if case.method == "cupy-eigsh" and case.backend != "cupy":
        pytest.skip("cupy-eigsh runs on CuPy arrays only")
    benchmark.group = f"curves {case.backend} {case.shape} {case.dtype} {case.family}"
    inp = inputs.get(case.backend, case.shape, case.m, case.n, case.dtype, case.family)
    applicability(case.method, inp.A, case.backend, case.sparse)
    run = lipbench_runner(case.method, inp.A, case.tol, case.backend, return_history=True)
    warm_up(run)
    holder = []
    benchmark.pedantic(lambda: holder.append(run()), rounds=1, iterations=1, warmup_rounds=0)
    out = holder[-1]
    history = out.result.history or ()
    record(benchmark, config, case, inp, out, kind="curve")
    if len(history) < 2:
        benchmark.extra_info["note"] = f"{case.method} recorded {len(history)} history entries: no curve"
        return
    t = inp.truth
    benchmark.extra_info.update({
        "curve_iteration": [int(h.iteration) for h in history],
        "curve_matvecs": [int(h.matvecs) for h in history],
        "curve_time": [float(h.time) for h in history],
        "curve_rel_error": [abs(float(h.estimate) - t) / t for h in history],
        "curve_bracket_width": [
            (float(h.upper) - float(h.lower)) / t if math.isfinite(float(h.upper)) else None
            for h in history
        ],
    })
