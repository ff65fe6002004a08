"""``auto`` against SciPy's solvers at their best, at one BLAS thread and at all of them.

One test per headline input (float64 Gaussian spectrum, target 1e-6).  At
each thread setting (one thread, and every CPU of the process where there is
more than one) each SciPy rival of :mod:`benchmarks.rivals` gets its
rule-derived setting (a) and its luckiest setting (b), found by a search on
that input at that thread count.  Then every contender at every thread
setting -- ``auto``, each rival's (a) and (b), and one ``A^T (A x)`` product
(the floor) -- is timed in turns in one loop (the thread count switched per
call), so that every ratio, the speed-up from threads included, comes from
one measurement; ``numpy.linalg.norm(A, 2)`` (a full SVD, seconds) is timed
once per thread setting after it.  Each contender's last call is checked
against the known sigma_max.  The row (``kind="rivals"``) stores it all in
``extra_info['contenders']`` and the searches in ``extra_info['search']``.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from benchmarks import grid, profiles
from benchmarks.inputs import InputCache
from benchmarks.rivals import RIVALS, describe, luckiest, rel_error, rule_setting, svds_call
from benchmarks.runners import device_name, lipbench_runner
from benchmarks.timing import budget
from lipbench.timing import cpu_count, limit_threads, time_interleaved

TOL = 1e-6
#: the inputs, by the grid's shape labels; 256x256 is the tiny profile's self-test
SHAPES = ("256x256", "2048x2048", "4096x4096", "8192x1024", "1024x8192")
#: seconds of turns: this many times the profile's budget per grid case
BUDGET_FACTOR = 6.0
MIN_ROUNDS, MAX_ROUNDS = 3, 50


def thread_settings() -> tuple[int, ...]:
    """One thread, and every CPU of the process where it has more than one."""
    return tuple(sorted({1, cpu_count()}))


def planned(profile: profiles.Profile, shape: str | None = None, **_: object) -> bool:
    """Whether the test of ``shape`` runs in ``profile`` (for the session's estimate)."""
    return shape is None or shape in profile.rival_shapes


@pytest.fixture(scope="session")
def inputs() -> InputCache:
    return InputCache()


def _dims(shape: str) -> tuple[int, int]:
    m, n = shape.split("x")
    return int(m), int(n)


def _threaded(fn, threads: int):
    def run():
        with limit_threads(threads):
            return fn()
    return run


def _value(out) -> tuple[float, str, bool]:
    """(estimate, failure message, converged) of a contender's outcome."""
    if isinstance(out, tuple):  # a SciPy rival: (value, failure)
        return out[0], out[1], not out[1]
    if isinstance(out, np.ndarray):  # the product
        return math.nan, "", True
    return out.value, out.warning, bool(out.converged)


@pytest.mark.parametrize("shape", SHAPES)
def test_rivals(benchmark, request, inputs, shape) -> None:
    config = request.config
    profile = config._lipbench_profile
    if not planned(profiles.get(profile), shape):
        pytest.skip(profiles.elsewhere(f"rivals at {shape} run", profile, lambda p: planned(p, shape)))
    m, n = _dims(shape)
    inp = inputs.get("numpy", shape, m, n, "float64", "gaussian")
    A, truth = inp.A, inp.truth
    x = np.random.default_rng(grid.METHOD_SEED).standard_normal(n)
    calls, meta, search = {}, {}, {}
    for threads in thread_settings():
        with limit_threads(threads):
            for rival in RIVALS:
                best, tried = luckiest(A, rival, TOL, truth, grid.METHOD_SEED)
                search[f"{rival}@{threads}"] = tried
                rule, derived = rule_setting(A, rival, TOL, grid.METHOD_SEED)
                search[f"{rival}@{threads} rule"] = derived
                settings = {"rule": rule}
                if best is not None:
                    settings["luckiest"] = best
                for role, setting in settings.items():
                    name = f"{rival} ({role})@{threads}"
                    calls[name] = _threaded(svds_call(A, rival, setting, grid.METHOD_SEED), threads)
                    meta[name] = {"method": rival, "role": role, "setting": describe(rival, setting),
                                  "threads": threads}
        calls[f"auto@{threads}"] = _threaded(lipbench_runner("auto", A, TOL, "numpy"), threads)
        meta[f"auto@{threads}"] = {"method": "auto", "role": "lipbench", "setting": "spectral_norm(A, tol=1e-6)",
                                   "threads": threads}
        calls[f"A^T(Ax)@{threads}"] = _threaded(lambda: A.T @ (A @ x), threads)
        meta[f"A^T(Ax)@{threads}"] = {"method": "A^T(Ax)", "role": "product", "setting": "A.T @ (A @ x)",
                                      "threads": threads}
    seconds = BUDGET_FACTOR * budget(config)[0]
    holder: list = []
    benchmark.pedantic(lambda: holder.append(time_interleaved(calls, budget=seconds, max_rounds=MAX_ROUNDS,
                                                              rounds=None)),
                       rounds=1, iterations=1, warmup_rounds=0)
    timed = holder[-1]
    contenders = {}
    for name, t in timed.items():
        value, failed, converged = _value(t.outcome) if t.outcome is not None else (math.nan, t.error, False)
        err = rel_error(value, truth)
        q1, q3 = t.quartiles
        contenders[name] = {**meta[name], "median": t.median, "q1": q1, "q3": q3, "rounds": len(t.times),
                            "rel_error": err if math.isfinite(err) else None,
                            "met_target": bool(err <= TOL), "converged": converged,
                            "note": failed or t.error}
    for threads in thread_settings():  # a full SVD: seconds, one call
        with limit_threads(threads):
            t0 = time.perf_counter()
            value = float(np.linalg.norm(A, 2))
            dt = time.perf_counter() - t0
        err = rel_error(value, truth)
        contenders[f"numpy.linalg.norm@{threads}"] = {
            "method": "numpy.linalg.norm", "role": "reference", "setting": "numpy.linalg.norm(A, 2)",
            "threads": threads, "median": dt, "q1": dt, "q3": dt, "rounds": 1, "rel_error": err,
            "met_target": bool(err <= TOL), "converged": True, "note": "one call, after the turns"}
    benchmark.group = f"rivals numpy {shape}"
    benchmark.extra_info.update({
        "kind": "rivals", "method": "rivals", "backend": "numpy", "device": device_name("numpy"),
        "dtype": "float64", "family": "gaussian", "shape": shape, "m": m, "n": n, "tol": TOL,
        "target_tol": TOL, "truth": truth, "truth_source": inp.truth_source, "contenders": contenders,
        "search": search, "thread_settings": list(thread_settings()), "seed": grid.METHOD_SEED,
        "input_seed": grid.INPUT_SEED, "blas_threads": config._lipbench_threads, "profile": profile,
    })
    for threads in thread_settings():
        auto = contenders.get(f"auto@{threads}")
        assert auto is not None and auto["met_target"], f"auto at {threads} thread(s) missed its target: {auto}"
