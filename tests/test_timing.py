"""The timing core shared by ``lipbench compare`` and the benchmarks (lipbench/timing.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench import timing


@pytest.mark.parametrize("dt", [2.0**-17, 2.0**-9, 2.0**-5, 0.5, 4.0])  # exact in binary
@pytest.mark.parametrize("budget,max_rounds", [(1.0, 15), (8.0, 50), (0.1, 5)])
def test_plan_rounds_fills_the_budget_and_spans_the_minimum(dt, budget, max_rounds):
    rounds = timing.plan_rounds(dt, budget, max_rounds)
    span = min(timing.MIN_SPAN_SECONDS, budget)
    fit = max(1, min(max_rounds, int(budget // dt)))  # what the budget and the maximum allow
    assert rounds >= fit, (rounds, fit)
    if rounds > fit:  # more only to span the minimum, and no more than needed for it
        assert (rounds - 1) * dt < span and rounds <= timing.MAX_FAST_ROUNDS, (rounds, dt, budget)
    assert rounds * dt >= span or rounds == timing.MAX_FAST_ROUNDS, (rounds, dt, budget)


def test_rounds_are_interleaved_after_one_warm_up_each():
    log: list[str] = []
    calls = {name: (lambda name=name: log.append(name) or name) for name in "abc"}
    out = timing.time_interleaved(calls, rounds=4)
    assert log == list("abc") + list("abc") * 4
    for name, t in out.items():
        assert len(t.times) == 4 and t.outcome == name and not t.error
        assert t.median == np.median(t.times)
        q1, q3 = np.percentile(t.times, [25, 75])
        assert t.iqr == q3 - q1 >= 0


def test_a_failing_call_keeps_its_error_and_stops():
    seen = {"n": 0}

    def flaky():
        seen["n"] += 1
        if seen["n"] == 2:
            raise RuntimeError("boom")
        return 1

    out = timing.time_interleaved({"ok": lambda: 0, "flaky": flaky}, rounds=3)
    assert out["flaky"].error == "RuntimeError: boom" and len(out["flaky"].times) == 0 and seen["n"] == 2
    assert len(out["ok"].times) == 3 and not out["ok"].error


def test_gpu_work_is_synchronised_inside_the_timed_call(monkeypatch):
    """The synchronisation is part of what is timed: a slow one shows in every round."""
    synced: list[str] = []

    def slow_sync(backend=None):
        synced.append(backend)
        t0 = timing.time.perf_counter()
        while timing.time.perf_counter() - t0 < 0.02:
            pass

    monkeypatch.setattr(timing._backends, "synchronize", slow_sync)
    out = timing.time_interleaved({"f": lambda: None}, rounds=3, backend="cupy")
    assert synced == ["cupy"] * 4 and all(t >= 0.02 for t in out["f"].times), out["f"].times


def test_planned_rounds_are_at_least_three():
    out = timing.time_interleaved({"f": lambda: None}, budget=0.0)
    assert len(out["f"].times) >= 3


def test_limit_threads_sets_and_restores():
    before = timing.blas_threads()
    with timing.limit_threads(1) as used:
        assert used == 1 == timing.blas_threads()
    assert timing.blas_threads() == before
    with timing.limit_threads(None) as used:
        assert used == before
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        with timing.limit_threads(0):
            pass


def test_limit_threads_holds_torch_s_own_pool_too():
    torch = pytest.importorskip("torch", reason="torch is not installed")
    before = torch.get_num_threads()
    with timing.limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before


def test_provenance_names_the_machine():
    p = timing.provenance()
    for key in ("cpu_count", "blas", "blas_threads", "python", "numpy_version", "scipy_version",
                "lipbench_version", "platform"):
        assert key in p, key
    assert p["cpu_count"] == timing.cpu_count() >= 1
    assert all("/" not in b["filepath"] for b in p["blas"])  # the library's name, not where it is installed
    assert timing.default_threads() == (p["cpu_count"] if p["cpu_count"] > 2 else 1)
    assert not math.isnan(p["cpu_count"])
