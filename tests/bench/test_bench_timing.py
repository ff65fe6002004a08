"""How the benchmark harness picks its number of timed rounds (benchmarks/timing.py)."""

from __future__ import annotations

import math
import time

import pytest

from benchmarks import timing


class _FakeBenchmark:
    """pytest-benchmark's fixture, reduced to what time_call uses."""

    def __init__(self):
        self.extra_info: dict = {}
        self.rounds = None

    def pedantic(self, fn, rounds, iterations, warmup_rounds):
        self.rounds = rounds
        for _ in range(rounds):
            fn()


class _Config:
    def __init__(self, profile: str):
        self._lipbench_profile = profile

    def getoption(self, name):
        return None


@pytest.mark.parametrize("profile", ["quick", "full", "tiny"])
@pytest.mark.parametrize("call_seconds", [2.0**-17, 2.0**-9, 2.0**-7, 2.0**-5, 0.5])  # exact in binary
def test_rounds_fill_the_budget_and_span_the_minimum(monkeypatch, profile, call_seconds):
    clock = [0.0]
    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])

    def call():
        clock[0] += call_seconds
        return "outcome"

    bench = _FakeBenchmark()
    assert timing.time_call(bench, call, _Config(profile)) == "outcome"
    secs, max_rounds = timing.budget(_Config(profile))
    by_budget = max(1, min(max_rounds, int(secs // call_seconds)))
    span = min(timing.MIN_SPAN_SECONDS, secs)
    if by_budget * call_seconds >= span:
        assert bench.rounds == by_budget  # the budget's rounds already span long enough
    else:  # a cheap call: more rounds, until they span the minimum or reach the cap
        assert bench.rounds == min(timing.MAX_FAST_ROUNDS, math.ceil(span / call_seconds)) > by_budget
    assert bench.extra_info["timing"] == f"1 warm-up call, {bench.rounds} timed round(s)"


def test_head_to_head_times_in_turns_and_drops_the_slow(monkeypatch):
    from benchmarks.test_head_to_head import round_robin

    clock = [0.0]
    monkeypatch.setattr(time, "perf_counter", lambda: clock[0])
    order = []

    def runner(name, seconds):
        def call():
            clock[0] += seconds
            order.append(name)
            return name
        return call

    def broken():
        raise RuntimeError("no")

    runners = {"auto": runner("auto", 0.01), "fast": runner("fast", 0.005), "slow": runner("slow", 0.05),
               "broken": broken}
    times, last, excluded, failed = round_robin(runners, 0.2, factor=4.0, min_rounds=3, max_rounds=100)
    assert set(times) == {"auto", "fast"} and set(excluded) == {"slow"} and excluded["slow"] == pytest.approx(0.05)
    assert failed == {"broken": "RuntimeError: no"}
    rounds = len(times["auto"])
    assert rounds == len(times["fast"]) == 14  # 0.015 s per turn: the 14th turn passes 0.2 s
    turns = [sorted(order[3 + 2 * i: 5 + 2 * i]) for i in range(rounds)]
    assert turns == [["auto", "fast"]] * rounds  # in turns, after one warm-up call each
    assert len({tuple(order[3 + 2 * i: 5 + 2 * i]) for i in range(rounds)}) == 2  # in both orders
    assert times["auto"] == [pytest.approx(0.01)] * rounds and last["fast"] == "fast"
    # a budget already spent still gives the minimum number of turns
    times, *_ = round_robin({"auto": runner("auto", 1.0)}, 0.1, min_rounds=5)
    assert len(times["auto"]) == 5
