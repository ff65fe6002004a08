"""How a benchmark case is timed: the profile's budget, the number of rounds, the warm-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from benchmarks import profiles
from benchmarks.runners import Outcome, warm_up
from lipbench.timing import MAX_FAST_ROUNDS, MIN_SPAN_SECONDS, plan_rounds


def budget(config: pytest.Config) -> tuple[float, int]:
    """(seconds of timed rounds per case, maximum rounds) for the profile;
    ``--lipbench-budget`` replaces the seconds."""
    p = profiles.get(config._lipbench_profile)
    b = config.getoption("--lipbench-budget")
    return (p.budget_seconds if b is None else b, p.max_rounds)


def time_call(benchmark: Any, fn: Callable[[], Outcome], config: pytest.Config, *,
              key: tuple = (), work: float = 0.0) -> Outcome:
    """Time ``fn`` with pytest-benchmark and return the outcome of the last
    *timed* call.

    Normally: one untimed warm-up call, a second untimed call to calibrate,
    then as many rounds as fit the profile's budget (at least one; a cheap
    call gets more than the profile's maximum, up to :data:`MAX_FAST_ROUNDS`,
    until the rounds span :data:`MIN_SPAN_SECONDS`).  When the
    same method (``key``) already ran in this session on a smaller input and
    its time scaled by ``work`` predicts a call longer than three budgets, the
    method is warm already and one timed round is all the budget allows: the
    case gets exactly one call.  ``benchmark.extra_info['timing']`` says which.
    """
    secs, max_rounds = budget(config)
    seen: dict = config.__dict__.setdefault("_lipbench_seen", {})
    prev = seen.get(key) if key else None
    holder: list[Outcome] = []
    if prev is not None and work > 0 and prev[0] > 0:
        predicted = prev[1] * (work / prev[0]) ** 1.15
        if predicted > 3 * secs:
            def once() -> None:
                holder.append(warm_up(fn))

            t0 = time.perf_counter()
            benchmark.pedantic(once, rounds=1, iterations=1, warmup_rounds=0)
            seen[key] = (work, time.perf_counter() - t0)
            benchmark.extra_info["timing"] = (f"1 round, no warm-up call: the method warmed up on an "
                                              f"earlier input; predicted {predicted:.2g} s per call")
            return holder[-1]
    t0 = time.perf_counter()
    warm_up(fn)  # first-call costs (imports, caches, page faults) stay out of the rounds
    dt = time.perf_counter() - t0
    if dt < secs:  # cheap: calibrate on a second, warm call
        t0 = time.perf_counter()
        fn()
        dt = min(dt, time.perf_counter() - t0)
    if key:
        seen[key] = (work, dt)
    rounds = plan_rounds(dt, secs, max_rounds)  # the rule lipbench compare uses too

    def timed() -> None:
        holder.append(fn())

    benchmark.pedantic(timed, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info["timing"] = f"1 warm-up call, {rounds} timed round(s)"
    return holder[-1]


__all__ = ["MAX_FAST_ROUNDS", "MIN_SPAN_SECONDS", "budget", "time_call"]
