"""Out-of-core sigma_max on Dask arrays (opt-in: ``pytest benchmarks --dask-out-of-core``).

Each case (:mod:`benchmarks.dask_cases`: ``virtual``, ``zarr``, ``tall``) runs
lipbench's default (``auto``), its block Krylov method (``randomized``) at
block sizes 1 to 16, and ``da.linalg.svd_compressed(A, 1, n_power_iter=q)``
for q = 0, 2, 4, the reference a Dask user would pick.  One run each (a run
is dozens of passes over A); the row stores the accuracy against the known
sigma_max, the bracket, the passes and seconds per pass next to a bare pass
over A timed just before it, the peak memory (VmHWM, reset before the run),
and -- for the comparison with ``svd_compressed`` -- lipbench's error after
every number of passes, and for each ``svd_compressed`` row the passes each
lipbench run needed to reach its error.

Sizes: ``--dask-side`` (default 10000) and ``--dask-rows`` (default 100000);
the issue's sizes are ``--dask-side 60000 --dask-rows 1000000``.  A case is
skipped with the reason when memory, the disk (Zarr) or ``--dask-budget``
is short.
"""

from __future__ import annotations

import math
import os
import tempfile
import time

import pytest

from benchmarks import dask_cases as dc

pytest.importorskip("dask.array", reason="the out-of-core benchmarks need the dask extra")

CASES = ("virtual", "zarr", "tall")
RUNS = (("auto", {}),) + tuple((f"randomized-b{b}", {"block_size": b}) for b in dc.BLOCK_SIZES) \
    + tuple((f"svd_compressed-q{q}", {"q": q}) for q in dc.SVD_COMPRESSED_Q)
#: passes a run is expected to take, for the time-budget estimate (bare passes; svd_compressed's
#: passes build a dense sketch and cost about two)
EXPECTED_PASSES = {"auto": 40, "randomized": 25, "svd_compressed": 2}
#: a bare pass longer than this is measured once per case, not before every row
REMEASURE_BARE_BELOW = 30.0

_STATE: dict = {"cases": {}, "t0": None}


@pytest.fixture(scope="module")
def cases(request):
    yield _STATE["cases"]
    for case in _STATE["cases"].values():
        if case is not None:
            case.close()


def _estimate(case: dc.Case, run: str, opts: dict, maxiter: int | None) -> float:
    bare = min(case.bare_seconds)
    if run.startswith("svd_compressed"):
        return bare * EXPECTED_PASSES["svd_compressed"] * (2 + 2 * opts["q"])
    expected = EXPECTED_PASSES[run.split("-")[0]]
    return bare * (expected if maxiter is None else min(expected, maxiter + 3))


@pytest.mark.parametrize("case_name,run,opts",
                         [(c, r, o) for c in CASES for r, o in RUNS], ids=[f"{c}-{r}" for c in CASES for r, _ in RUNS])
def test_dask_out_of_core(benchmark, request, cases, case_name, run, opts):
    config = request.config
    side, rows = config.getoption("--dask-side"), config.getoption("--dask-rows")
    store_root = config.getoption("--dask-store") or tempfile.gettempdir()
    budget = config.getoption("--dask-budget")
    if _STATE["t0"] is None:
        _STATE["t0"] = time.perf_counter()
    left = budget - (time.perf_counter() - _STATE["t0"])
    fresh = False  # whether the case's bare passes were measured just now
    if case_name not in cases:
        why = dc.why_not(case_name, side, rows, store_root)
        if why is None and case_name == "zarr":
            # writing the store costs about two bare passes of the virtual matrix plus a read
            V = dc.virtual_matrix(case_name, side, rows)
            if left < 3 * V.nbytes / 0.2e9:
                why = f"zarr: writing and reading {V.nbytes / 1e9:.1f} GB does not fit the {left:.0f} s left"
        cases[case_name] = dc.build_case(case_name, side, rows, store_root) if why is None else why
        if why is None:
            # the first pass also warms what Dask caches: a second one unless a pass takes minutes
            if cases[case_name].measure_bare() < REMEASURE_BARE_BELOW:
                cases[case_name].measure_bare()
            fresh = True
    case = cases[case_name]
    if isinstance(case, str):
        pytest.skip(case)
    estimate = _estimate(case, run, opts, config.getoption("--dask-maxiter"))
    if estimate > left:
        pytest.skip(f"{case_name} {run}: about {estimate:.0f} s (from its {min(case.bare_seconds):.1f} s bare pass), "
                    f"{left:.0f} s left of --dask-budget={budget:g}")
    if not fresh and case.bare_seconds[-1] < REMEASURE_BARE_BELOW:
        case.measure_bare()  # the floor, timed next to the row it is compared with
    if run.startswith("svd_compressed"):
        call, row = dc.svd_compressed_row(case, opts["q"])
        impl = f"dask.array.linalg.svd_compressed(A, 1, n_power_iter={opts['q']}, seed={dc.SEED})"
    else:
        maxiter = config.getoption("--dask-maxiter")
        call, row = dc.lipbench_row(case, run, "randomized" if opts else "auto", maxiter=maxiter, **opts)
        impl = f"lipbench.spectral_norm(A, {'randomized' if opts else 'auto'!r}, tol={dc.TOL:g}, seed={dc.SEED}" \
               + "".join(f", {k}={v}" for k, v in opts.items()) + (f", maxiter={maxiter}" if maxiter else "") + ")"
    got: dict = {}

    def timed_call():
        got["out"], got["seconds"], got["peak"] = dc.timed(call)

    benchmark.group = f"dask out of core: {case_name}"
    benchmark.pedantic(timed_call, rounds=1, iterations=1, warmup_rounds=0)
    info = row(got["out"])
    bare = case.bare_median()
    if "seconds_per_pass" not in info:
        info["seconds_per_pass"] = got["seconds"] / info["passes"]
        info["pass_over_bare"] = info["seconds_per_pass"] / bare
    import dask

    m, n = (int(d) for d in case.array.shape)
    benchmark.extra_info.update({
        "kind": "dask_out_of_core", "method": run, "impl": impl, "backend": "dask", "device": "cpu",
        "case": case_name, "family": case.description, "dtype": str(case.array.dtype),
        "shape": f"{m}x{n}", "m": m, "n": n, "gigabytes": case.nbytes / 1e9,
        "chunks": [len(c) for c in case.array.chunks],
        "chunk_bytes": max(case.array.chunks[0]) * max(case.array.chunks[1]) * case.array.dtype.itemsize,
        "truth": case.sigma_max, "truth_bracket": list(case.sigma_bracket),
        "tol": None if run.startswith("svd_compressed") else dc.TOL,
        "seconds": got["seconds"],
        "bare_pass_seconds": bare, "bare_pass_all": [round(s, 4) for s in case.bare_seconds],
        "bandwidth_GBps": case.nbytes / 1e9 / bare,
        "peak_bytes": got["peak"], "peak_fraction": got["peak"] / case.nbytes if math.isfinite(got["peak"]) else None,
        "seed": dc.SEED, "blas_threads": config._lipbench_threads,
        "dask_scheduler": str(dask.config.get("scheduler", "threads")), "dask_threads": os.cpu_count(),
        "profile": config._lipbench_profile,
        **info,
    })
    if not run.startswith("svd_compressed"):
        assert info["bracket_ok"], (f"{case_name} {run}: bracket [{info['lower']!r}, {info['upper']!r}] misses the "
                                    f"known sigma_max in {case.sigma_bracket}")
