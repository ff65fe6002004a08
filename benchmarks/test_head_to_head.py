"""Does ``auto`` pick the winner?  Every method of a regime, timed round-robin.

The grid times each method in its own test, one after another, so two
methods of one regime are measured seconds to minutes apart; on a shared
machine a burst of load then decides which is "faster" at the small sizes
where they are within a factor of two.  Here one test per regime (backend,
shape, dtype, spectrum, tol) at 256^2 and 1024^2 calls every method once to
warm it up, drops those that took over :data:`EXCLUDE_FACTOR` times as long
as ``auto`` (they cannot win), and times the rest in turns -- every method
once per turn, in a fresh random order each turn (a method that always ran
right after the full SVD would always find the matrix out of cache) -- so
that drift hits them alike, for :data:`BUDGET_FACTOR` times the profile's
budget per case.  The row
(``kind="head_to_head"``) stores each contender's median, quartiles,
rounds and its last call's relative error, target and convergence in
``extra_info['contenders']``, and the dropped methods' warm-up times in
``extra_info['excluded']``; the report's "auto picks the winner" target
uses these rows where they exist.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from benchmarks import grid, profiles
from benchmarks.runners import applicability, baseline_runner, device_name, lipbench_runner, require_backend
from benchmarks.timing import budget

#: the sizes where methods are close enough for the order of measurement to matter
SHAPES = ("256x256", "1024x1024")
#: seconds of round-robin per regime: this many times the profile's budget per
#: grid case (1.5 s in the quick profile)
BUDGET_FACTOR = 2.5
MIN_ROUNDS, MAX_ROUNDS = 5, 400
#: methods whose warm-up call took longer than this many times auto's are not timed further
EXCLUDE_FACTOR = 4.0


def regimes() -> list[grid.Case]:
    """One (method-less) case per regime at :data:`SHAPES`: method ``auto``
    stands for the regime."""
    return [c for c in grid.grid() if c.method == "auto" and c.shape in SHAPES]


def planned(profile: profiles.Profile, case: grid.Case) -> bool:
    """Whether the regime ``case`` runs in ``profile`` (for the session's estimate)."""
    return profiles.skip_reason(case, profile.name) is None


def _runners(case: grid.Case, A) -> tuple[dict, dict]:
    """(runners by method, why each other method does not run here)."""
    runners, left_out = {}, {}
    for method in grid.all_methods():
        if (method == "cupy-eigsh" and case.backend != "cupy") or method == "auto+certify":
            continue  # auto+certify is auto plus its certificate: timed in the grid, not head to head
        try:
            applicability(method, A, case.backend, case.sparse)
            if method in grid.BASELINES:
                runners[method], _ = baseline_runner(method, A, case.tol, case.backend, sparse=case.sparse)
            else:
                runners[method] = lipbench_runner(method, A, case.tol, case.backend)
        except pytest.skip.Exception as why:
            left_out[method] = str(why)
    return runners, left_out


def round_robin(runners: dict, seconds: float, *, keep: str = "auto", factor: float = EXCLUDE_FACTOR,
                min_rounds: int = MIN_ROUNDS, max_rounds: int = MAX_ROUNDS) -> tuple[dict, dict, dict, dict]:
    """Warm every runner up once (timed), drop those slower than ``factor``
    times ``keep``'s warm-up, then call the rest in turns until ``seconds``
    have passed (at least ``min_rounds`` and at most ``max_rounds`` turns).
    Returns (times by method, last outcome by method, excluded method ->
    warm-up seconds, failed method -> error)."""
    warm, last, failed = {}, {}, {}
    for method, fn in runners.items():
        t0 = time.perf_counter()
        try:
            last[method] = fn()
        except Exception as exc:  # a method failing on an input it accepts: named, not timed
            failed[method] = f"{type(exc).__name__}: {exc}"
            continue
        warm[method] = time.perf_counter() - t0
    limit = factor * warm[keep] if keep in warm else math.inf
    excluded = {m: t for m, t in warm.items() if t > limit and m != keep}
    timed = [m for m in warm if m not in excluded]
    times: dict = {m: [] for m in timed}
    start = time.perf_counter()
    rounds = 0
    order = np.random.default_rng(0)  # a fresh order every turn: no method always follows the same one
    while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() - start < seconds):
        for m in [timed[i] for i in order.permutation(len(timed))]:
            t0 = time.perf_counter()
            last[m] = runners[m]()
            times[m].append(time.perf_counter() - t0)
        rounds += 1
    return times, last, excluded, failed


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id.replace("-auto", "")) for c in regimes()])
def test_head_to_head(benchmark, request, inputs, case: grid.Case) -> None:
    config = request.config
    profile = config._lipbench_profile
    reason = profiles.skip_reason(case, profile)
    if reason:
        pytest.skip(reason)
    require_backend(config, case.backend)
    benchmark.group = f"head-to-head {case.backend} {case.shape}"
    inp = inputs.get(case.backend, case.shape, case.m, case.n, case.dtype, case.family)
    runners, left_out = _runners(case, inp.A)
    holder: list = []
    seconds = BUDGET_FACTOR * budget(config)[0]
    benchmark.pedantic(lambda: holder.append(round_robin(runners, seconds)), rounds=1, iterations=1,
                       warmup_rounds=0)
    times, last, excluded, failed = holder[-1]
    truth = inp.truth
    contenders = {}
    for m, ts in times.items():
        out = last[m]
        rel = abs(out.value - truth) / truth if truth > 0 and math.isfinite(out.value) else math.inf
        contenders[m] = {
            "median": float(np.median(ts)), "q1": float(np.percentile(ts, 25)), "q3": float(np.percentile(ts, 75)),
            "rounds": len(ts), "rel_error": rel if math.isfinite(rel) else None,
            "met_target": bool(math.isfinite(rel) and rel <= case.tol), "converged": bool(out.converged),
            "matvecs": out.matvecs,
        }
    benchmark.extra_info.update({
        "kind": "head_to_head", "method": "head-to-head", "backend": case.backend,
        "device": device_name(inp.backend), "dtype": case.dtype, "family": case.family, "shape": case.shape,
        "m": case.m, "n": case.n, "tol": case.tol, "target_tol": case.tol, "truth": truth,
        "truth_source": inp.truth_source, "contenders": contenders, "excluded": excluded,
        "note": "; ".join([f"{m} failed: {e}" for m, e in failed.items()]
                          + [f"{m} left out: {why}" for m, why in left_out.items()]),
        "seed": grid.METHOD_SEED, "input_seed": grid.INPUT_SEED, "blas_threads": config._lipbench_threads,
        "profile": profile,
    })
    assert "auto" in contenders, f"auto did not run: {failed.get('auto')}"
