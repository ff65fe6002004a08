"""Contenders in turns (benchmarks/turns.py), on a fake clock: each call
advances it by the contender's cost, so what is timed, how often and at which
thread counts is checked without measuring anything."""

from __future__ import annotations

import pytest

from benchmarks import turns


@pytest.fixture
def clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(turns.time, "perf_counter", lambda: now[0])
    return now


def _contenders(clock, costs: dict, calls: list, **meta):
    """A contender per (base, threads) -> cost; each call returns its base name
    (``verified`` below accepts any name not starting with "wrong")."""
    out = []
    for (base, threads), cost in costs.items():
        def call(base=base, threads=threads, cost=cost):
            clock[0] += cost
            calls.append(f"{base}@{threads}")
            return base
        out.append(turns.Contender(base, threads, call, dict(meta.get(base, {}))))
    return out


def _run(cs, **kw):
    return turns.take_turns(cs, keep="auto", factor=4.0, budget=0.0, min_seconds=0.25,
                            verified=lambda out: not str(out).startswith("wrong"), **kw)


def test_a_contender_slower_than_factor_times_auto_gets_one_call_and_none_at_fewer_threads(clock):
    calls: list = []
    cs = _contenders(clock, {("auto", 2): 0.1, ("auto", 1): 0.2, ("near", 2): 0.3, ("near", 1): 0.5,
                             ("slow", 2): 0.5, ("slow", 1): 1.0}, calls)
    out = _run(cs, min_rounds=3)
    assert out["slow@2"].times == pytest.approx([0.5]) and "cannot win" in out["slow@2"].note
    assert "slow@1" not in out and "slow@1" not in calls
    assert out["auto@2"].times == pytest.approx([0.1] * 3) and out["near@1"].times == pytest.approx([0.5] * 3)
    assert calls.count("near@2") == 3 and calls.count("near@1") == 3  # the first call is the first round


def test_below_min_seconds_a_single_call_decides_nothing(clock):
    calls: list = []
    cs = _contenders(clock, {("auto", 2): 0.01, ("cheap", 2): 0.2}, calls)  # 20x auto, but 0.2 s
    assert len(_run(cs)["cheap@2"].times) == 3


def test_one_contender_per_pool_at_fewer_threads_the_fastest_verified_one(clock):
    calls: list = []
    meta = {"rule": {"pool": "svds"}, "wrong-lucky": {"pool": "svds"}, "lucky": {"pool": "svds"}}
    cs = _contenders(clock, {("auto", 2): 0.1, ("auto", 1): 0.1, ("rule", 2): 0.3, ("rule", 1): 0.3,
                             ("lucky", 2): 0.2, ("lucky", 1): 0.2, ("wrong-lucky", 2): 0.05,
                             ("wrong-lucky", 1): 0.05}, calls, **meta)
    out = _run(cs)
    assert {"rule@2", "lucky@2", "wrong-lucky@2", "lucky@1", "auto@1"} <= set(out)
    assert "rule@1" not in out and "wrong-lucky@1" not in out  # a fast wrong answer is no one's best


def test_a_pools_best_gets_one_call_at_fewer_threads_even_when_slow(clock):
    calls: list = []
    meta = {"t-lobpcg": {"pool": "torch"}, "t-lowrank": {"pool": "torch"}}
    cs = _contenders(clock, {("auto", 2): 0.1, ("auto", 1): 0.1, ("t-lobpcg", 2): 0.6, ("t-lobpcg", 1): 0.9,
                             ("t-lowrank", 2): 2.0, ("t-lowrank", 1): 3.0}, calls, **meta)
    out = _run(cs)
    assert out["t-lobpcg@1"].times == pytest.approx([0.9]) and "its pool's fastest" in out["t-lobpcg@1"].note
    assert "t-lowrank@1" not in out and calls.count("t-lobpcg@1") == 1


def test_a_known_first_call_is_not_repeated_and_a_failure_is_recorded(clock):
    calls: list = []
    cs = _contenders(clock, {("auto", 2): 0.1, ("searched", 2): 5.0}, calls)
    cs[1].first = (5.0, "searched")  # the search called it already

    def boom():
        raise RuntimeError("no convergence")

    cs.append(turns.Contender("broken", 2, boom))
    out = _run(cs)
    assert "searched@2" not in calls and out["searched@2"].times == [5.0]
    assert out["broken@2"].error == "RuntimeError: no convergence" and out["broken@2"].times == []


def test_the_order_changes_from_turn_to_turn(clock):
    calls: list = []
    cs = _contenders(clock, {(f"m{i}", 2): 0.01 for i in range(5)} | {("auto", 2): 0.01}, calls)
    _run(cs, min_rounds=4)
    turns_seen = [tuple(calls[6 + 6 * k: 12 + 6 * k]) for k in range(4)]
    assert len(set(turns_seen)) > 1, turns_seen
