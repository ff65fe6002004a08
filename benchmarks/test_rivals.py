"""``auto`` against SciPy's solvers and PyTorch's functions at their best, at one
thread and at all of them.

One test per input (Gaussian spectrum, target 1e-6): float64 at the headline
sizes, tall and wide; float32 at the headline sizes where torch is installed
(the comparison of libraries is what those rows are for).  At the default
threads (every CPU of the process) each SciPy rival of
:mod:`benchmarks.rivals` and each torch rival of :mod:`benchmarks.torch_rivals`
gets its rule-derived setting (a) and its luckiest setting (b), from one
small search on that input (the pick was the same, or within 2%, at one
thread in the searches of run 0028_readme, which searched at both).  Then
``auto`` on the NumPy array, each rival's (a) and (b), torch's SN power
iteration, ``auto`` on the tensor, and one ``A^T (A x)`` product (the floor)
are timed in turns in one loop at the default threads and at one thread
(:mod:`benchmarks.turns`: the thread counts switched per call, torch's
included; at one thread each library's own functions by their fastest
verified setting); one that took over :data:`SLOW_FACTOR` times ``auto``'s
first call is timed by that one call.  The full SVDs (``numpy.linalg.norm(A, 2)``
on float64 rows, ``torch.linalg.matrix_norm(A, 2)``) are one call per thread
setting.  Each contender's last call is checked against the known sigma_max.
The row (``kind="rivals"``) stores it all in ``extra_info['contenders']``,
the searches in ``extra_info['search']``, and what did not run and why in
``extra_info['left_out']``.
"""

from __future__ import annotations

import importlib.util
import math
import time

import numpy as np
import pytest

from benchmarks import grid, profiles
from benchmarks import torch_rivals as tr
from benchmarks.rivals import RIVALS, describe, luckiest, rel_error, rule_setting, svds_call
from benchmarks.runners import Outcome, device_name, lipbench_runner
from benchmarks.timing import budget
from benchmarks.turns import Contender, take_turns
from lipbench.timing import cpu_count, limit_threads

TOL = 1e-6
#: the inputs: the grid's shape label, ``-float32`` for the float32 rounding of the
#: same matrix; 256x256 is the tiny profile's self-test
INPUTS = ("256x256", "2048x2048", "4096x4096", "8192x1024", "1024x8192",
          "256x256-float32", "2048x2048-float32", "4096x4096-float32")
#: seconds of turns: this many times the profile's budget per grid case
BUDGET_FACTOR = 6.0
MIN_ROUNDS, MAX_ROUNDS = 3, 50
#: the inputs PyTorch's rivals run on: the square headline sizes (and the tiny self-test)
TORCH_SHAPES = ("256x256", "2048x2048", "4096x4096")
#: SciPy's solvers on the float32 (square) inputs: LOBPCG's search alone took 57 s at 4096^2 float32 at one
#: thread, and it was the fastest SciPy solver on no square input of run 0028_readme
FLOAT32_RIVALS = ("propack", "arpack")
#: a contender whose first call took over this many times auto's (and over MIN_SLOW
#: seconds) is timed by that call
SLOW_FACTOR, MIN_SLOW = 3.0, 0.25


def thread_settings() -> tuple[int, ...]:
    """One thread, and every CPU of the process where it has more than one."""
    return tuple(sorted({1, cpu_count()}))


def parse(rival_input: str) -> tuple[str, str, int, int]:
    """``2048x2048-float32`` -> (shape, dtype, m, n)."""
    shape, _, dtype = rival_input.partition("-")
    m, n = shape.split("x")
    return shape, dtype or "float64", int(m), int(n)


def planned(profile: profiles.Profile, rival_input: str | None = None, **_: object) -> bool:
    """Whether the test of ``rival_input`` runs in ``profile`` (for the session's estimate)."""
    if rival_input is None:
        return True
    return rival_input in profile.rival_inputs and (
        parse(rival_input)[1] == "float64" or importlib.util.find_spec("torch") is not None)


def _value(out) -> tuple[float, str, bool]:
    """(estimate, failure message, converged) of a contender's outcome."""
    if isinstance(out, tuple):  # a SciPy rival: (value, failure)
        return out[0], out[1], not out[1]
    if isinstance(out, np.ndarray):  # the product
        return math.nan, "", True
    return out.value, out.warning, bool(out.converged)


def _entry(meta: dict, threads: int, times: list[float], outcome, note: str, truth: float) -> dict:
    """One contender as the row stores it: setting, time, accuracy, work, convergence."""
    value, failed, converged = _value(outcome) if outcome is not None else (math.nan, "", False)
    err = rel_error(value, truth)
    q1, q3 = (np.percentile(times, [25, 75]) if times else (math.nan, math.nan))
    counted = meta["role"] not in ("product", "sn")  # fixed work, no target: never "met"
    return {**meta, "threads": threads, "median": float(np.median(times)) if times else None,
            "q1": float(q1) if times else None, "q3": float(q3) if times else None, "rounds": len(times),
            "rel_error": err if math.isfinite(err) else None, "met_target": bool(counted and err <= TOL),
            "converged": converged, "iterations": getattr(outcome, "iterations", None),
            "products": getattr(outcome, "matvecs", None), "note": "; ".join(x for x in (failed, note) if x)}


def _numpy_meta(method: str, role: str, setting: str, dtype: str) -> dict:
    return {"method": method, "role": role, "setting": setting, "library": "numpy", "backend": "numpy",
            "device": "cpu", "dtype": dtype, "seed": grid.METHOD_SEED}


def _scipy(A, truth: float, dtype: str, ts: tuple[int, ...], search: dict) -> list[Contender]:
    """Each SciPy rival's rule-derived and luckiest settings (searched at the default threads)."""
    out = []
    for rival in RIVALS if dtype == "float64" else FLOAT32_RIVALS:
        firsts: dict = {}
        best, tried = luckiest(A, rival, TOL, truth, grid.METHOD_SEED, repeats=0, firsts=firsts)
        rule, derived = rule_setting(A, rival, TOL, grid.METHOD_SEED, firsts=firsts)
        search[f"{rival}@{ts[-1]}"], search[f"{rival}@{ts[-1]} rule"] = tried, derived
        settings = {"rule": (rule, firsts.get(describe(rival, rule)))}
        if best is not None and best != rule:
            settings["luckiest"] = (best, firsts[describe(rival, best)])
        for role, (setting, first) in settings.items():
            meta = {**_numpy_meta(rival, role, describe(rival, setting), dtype), "pool": "scipy"}
            call = svds_call(A, rival, setting, grid.METHOD_SEED)
            out += [Contender(f"{rival} ({role})", t, tr.threaded(call, t), meta, first if t == ts[-1] else None)
                    for t in ts]
    return out


def _once(fn) -> tuple[float, object, str]:
    t0 = time.perf_counter()
    try:
        out = fn()
    except Exception as exc:  # noqa: BLE001 - recorded, not raised
        return time.perf_counter() - t0, None, f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - t0, out, ""


@pytest.mark.parametrize("rival_input", INPUTS)
def test_rivals(benchmark, request, inputs, rival_input) -> None:
    start = time.perf_counter()
    config = request.config
    profile = config._lipbench_profile
    if rival_input not in profiles.get(profile).rival_inputs:
        pytest.skip(profiles.elsewhere(f"rivals on {rival_input} run", profile,
                                       lambda p: rival_input in p.rival_inputs))
    torch, no_torch = tr.torch_or_reason()
    shape, dtype, m, n = parse(rival_input)
    if dtype == "float32" and torch is None:
        pytest.skip(f"the float32 rows compare NumPy/SciPy with PyTorch: {no_torch}")
    inp = inputs.get("numpy", shape, m, n, dtype, "gaussian")
    A, truth = inp.A, inp.truth
    x = np.random.default_rng(grid.METHOD_SEED).standard_normal(n).astype(dtype)
    ts = thread_settings()
    hi = ts[-1]
    auto = lipbench_runner("auto", A, TOL, "numpy")
    with limit_threads(hi):
        auto()  # warm: every contender has run on this input before the loop of turns
        search: dict = {}
        contenders = _scipy(A, truth, dtype, ts, search)
        side = (tr.prepare(torch, A, truth, TOL, grid.METHOD_SEED, ts)
                if torch is not None and shape in TORCH_SHAPES else None)
    for t in ts:
        contenders.append(Contender("auto", t, tr.threaded(auto, t),
                                    _numpy_meta("auto", "lipbench", f"spectral_norm(A, tol={TOL:g})", dtype)))
        contenders.append(Contender("A^T(Ax)", t, tr.threaded(lambda: A.T @ (A @ x), t),
                                    _numpy_meta("A^T(Ax)", "product", "A.T @ (A @ x)", dtype)))
    contenders += side.contenders if side is not None else []
    seconds = BUDGET_FACTOR * budget(config)[0]

    def verified(out) -> bool:
        value, failed, _ = _value(out)
        return not failed and rel_error(value, truth) <= TOL

    holder: list = []
    benchmark.pedantic(lambda: holder.append(take_turns(contenders, keep="auto", factor=SLOW_FACTOR, budget=seconds,
                                                        verified=verified, min_seconds=MIN_SLOW,
                                                        min_rounds=MIN_ROUNDS, max_rounds=MAX_ROUNDS)),
                       rounds=1, iterations=1, warmup_rounds=0)
    meta = {c.name: c.meta for c in contenders}
    entries = {name: _entry(meta[name], int(name.rsplit("@", 1)[1]), t.times, t.outcome, t.error or t.note, truth)
               for name, t in holder[-1].items()}
    left_out = {}
    after = list(side.after) if side is not None else []
    if dtype == "float64":  # float32's full SVD runs in the full profile's grid
        norm = _numpy_meta("numpy.linalg.norm", "reference", "numpy.linalg.norm(A, 2)", dtype)
        grid_threads = config._lipbench_threads
        after += [("numpy.linalg.norm", t, lambda: Outcome(float(np.linalg.norm(A, 2)), matvecs=0), norm)
                  for t in ts if t == hi or t != grid_threads]
        if grid_threads != hi and grid_threads in ts:
            left_out[f"numpy.linalg.norm@{grid_threads}"] = (f"the grid's own row: this session runs the grid "
                                                              f"at {grid_threads} BLAS thread(s)")
    else:
        left_out["numpy.linalg.norm"] = "float32's full SVD: in the grid of the full profile"
    for base, t, fn, m_ in after:  # a full SVD: seconds, one call
        dt, out, err = _once(tr.threaded(fn, t))
        entries[f"{base}@{t}"] = _entry(m_, t, [dt], out, err or "one call, after the turns", truth)
    if side is not None:
        for name, (m_, dt, out) in side.references.items():
            entries[name] = _entry(m_, hi, [dt], out, "one call, before the searches", truth)
        for name, (m_, why) in side.refused.items():
            entries[f"{name}@{hi}"] = _entry(m_, hi, [], None, f"refused: {why}", truth)
        search.update(side.search)
    else:
        left_out["torch"] = no_torch or f"PyTorch's rivals run on the square inputs {', '.join(TORCH_SHAPES)}"
    if dtype == "float32":
        left_out.update({r: f"on float32 inputs SciPy's rivals are {', '.join(FLOAT32_RIVALS)} (see FLOAT32_RIVALS)"
                         for r in RIVALS if r not in FLOAT32_RIVALS})
    benchmark.group = f"rivals numpy {rival_input}"
    benchmark.extra_info.update({
        "kind": "rivals", "method": "rivals", "backend": "numpy", "device": device_name("numpy"),
        "dtype": dtype, "family": "gaussian", "shape": shape, "m": m, "n": n, "tol": TOL,
        "target_tol": TOL, "truth": truth, "truth_source": inp.truth_source, "contenders": entries,
        "search": search, "left_out": left_out, "thread_settings": list(ts), "seed": grid.METHOD_SEED,
        "input_seed": grid.INPUT_SEED, "blas_threads": config._lipbench_threads, "profile": profile,
        "torch_version": getattr(torch, "__version__", None), "input_build_seconds": round(inp.build_seconds, 3),
        "wall_seconds": round(time.perf_counter() - start, 3),
    })
    for t in ts:
        a = entries.get(f"auto@{t}")
        assert a is not None and a["met_target"], f"auto at {t} thread(s) missed its target: {a}"
