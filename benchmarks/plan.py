"""What a benchmark session will run, about how long it will take, and its progress.

The estimate of a case is what the same case cost in a reference run: the
whole test where the row recorded it (``wall_seconds``: the rivals, whose
searches and full SVDs lie outside the timed loop), else its timed rounds
(pytest-benchmark's ``total``) plus the untimed warm-up and calibration calls
that :func:`benchmarks.timing.time_call` adds, plus the first build of each
input in the session (the suites share one cache of inputs).  The sum over
the reference run's cases falls short of that run's wall time (collection,
imports); :func:`calibration` scales every estimate by that ratio, with the
wall time the run recorded (``lipbench_wall_seconds`` in its machine info),
else :data:`REFERENCE_WALL_SECONDS`.  The reference is the newest run of
your own machine under the results folder, else the committed run of the
2-core box (:data:`REFERENCE_RUN`) that the README's timing is for.  A case
the reference did not run is estimated at :data:`UNSEEN_BUDGETS` times the
profile's budget.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

#: the README's run: quick profile, 2-core box, fresh clone
REFERENCE_RUN = "cpu-2c-openblas/Linux-CPython-3.11-64bit/0029_readme.json"
#: the wall time of a run that did not record its own (0028_readme, the previous reference, took 11 min 50 s
#: with the install, whose share was not recorded: estimates from such a run err high by that much)
REFERENCE_WALL_SECONDS = 710.0
#: a case the reference never ran: this many times the profile's budget per case (a guess, and the
#: summary line says how many cases it covers)
UNSEEN_BUDGETS = 2.0

#: the suites, by test function, as the progress lines name them
GROUPS = {
    "test_spectral_norm": "grid",
    "test_head_to_head": "head to head",
    "test_auto_accuracy": "auto on every family",
    "test_batched_stack": "stacks",
    "test_error_vs_cost": "error curves",
    "test_tracking": "training",
    "test_rivals": "rivals",
}


def _warm_calls(bench: dict) -> float:
    """Seconds of the untimed calls around a case's timed rounds."""
    s, e, name = bench["stats"], bench.get("extra_info") or {}, bench.get("name", "")
    if name.startswith("test_head_to_head"):
        return 0.0  # its one timed round holds the warm-ups
    if "no warm-up" in str(e.get("timing", "")):
        return 0.0
    if name.startswith(("test_spectral_norm", "test_error_vs_cost")) and s["median"] < 0.6:
        return 2 * s["median"]  # warm-up and calibration
    return s["median"]


def case_seconds(doc: dict) -> dict[str, float]:
    """Test name -> seconds it cost in the saved run ``doc``: the whole test
    where it recorded ``wall_seconds`` (its input's build included when it
    built it), else its rounds, its untimed calls and, for the session's
    first case of an input, the input's build."""
    out, built = {}, set()
    for b in doc.get("benchmarks", []):
        e = b.get("extra_info") or {}
        key = (e.get("backend"), e.get("shape"), e.get("dtype"), e.get("family"))
        first = key not in built
        built.add(key)
        if e.get("wall_seconds") is not None:
            out[b["name"]] = float(e["wall_seconds"])
            continue
        build = float(e.get("input_build_seconds") or 0.0) if first else 0.0
        out[b["name"]] = float(b["stats"]["total"]) + _warm_calls(b) + build
    return out


def calibration(doc: dict, wall_seconds: float | None = None) -> float:
    """Wall time of the reference run (``wall_seconds``, else the one it
    recorded, else :data:`REFERENCE_WALL_SECONDS`) over the sum of its cases' estimates."""
    if wall_seconds is None:
        wall_seconds = float((doc.get("machine_info") or {}).get("lipbench_wall_seconds") or REFERENCE_WALL_SECONDS)
    total = sum(case_seconds(doc).values())
    return wall_seconds / total if total > 0 else 1.0


def reference_doc(results: Path, machine: str, names: Iterable[str] = ()) -> tuple[dict | None, str]:
    """(the newest saved run of ``machine`` under ``results`` that ran at
    least half of the cases ``names`` (any, when none are given), else the
    committed reference run, else None; what it is).  A run of a slice (``-k``)
    or of other suites says little about the cases of this session."""
    wanted = set(names)
    own = sorted((results / machine).glob("*/*.json"), key=lambda p: p.stat().st_mtime) \
        if (results / machine).is_dir() else []
    for p in reversed(own):
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        ran = {b.get("name") for b in doc.get("benchmarks") or []}
        if ran and (not wanted or 2 * len(ran & wanted) >= len(wanted)):
            return doc, f"your last run {p.parent.parent.name}/{p.name}"
    ref = results / REFERENCE_RUN
    try:
        return json.loads(ref.read_text(encoding="utf-8")), "the README's run on a 2-core box"
    except (OSError, ValueError):
        return None, "no reference run"


@dataclass(frozen=True)
class Planned:
    """One case that will run: its test name, group and estimated seconds."""

    name: str
    group: str
    seconds: float
    seen: bool = True  #: the reference ran it (else its estimate is a guess from the budget)


def estimate(names: Iterable[tuple[str, str]], costs: dict[str, float], factor: float,
             unseen: float) -> list[Planned]:
    """``(test name, group)`` pairs -> their estimates: the reference's cost
    times ``factor``, or ``unseen`` seconds for a case it did not run."""
    return [Planned(n, g, costs[n] * factor, True) if n in costs else Planned(n, g, unseen, False)
            for n, g in names]


def fmt_duration(seconds: float) -> str:
    """``45 s``, ``3 min 05 s``, ``1 h 02 min``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def summary(plan: list[Planned], profile: str, source: str) -> str:
    """The session-start line: what will run and about how long it will take."""
    groups: dict[str, list[Planned]] = {}
    for p in plan:
        groups.setdefault(p.group, []).append(p)
    parts = ", ".join(f"{g} {len(ps)} ({fmt_duration(sum(p.seconds for p in ps))})" for g, ps in groups.items())
    total = sum(p.seconds for p in plan)
    unseen = sum(1 for p in plan if not p.seen)
    guess = f"; {unseen} cases it did not run are guessed at twice the budget each, so more" if unseen else ""
    return (f"lipbench benchmarks, {profile} profile: {len(plan)} cases, about {fmt_duration(total)} "
            f"(estimated from {source}{guess}): {parts}")


@dataclass
class Progress:
    """Per-group progress lines: cases done of the group's total, time spent,
    and time left (the estimates still to run, scaled by how the cases done so
    far compared with their estimates).  A line at each group's end, and at
    most every ``every`` seconds within one."""

    plan: list[Planned]
    clock: Callable[[], float] = time.monotonic
    every: float = 30.0
    _by_name: dict = field(default_factory=dict)
    _done: dict = field(default_factory=dict)
    _start: float = math.nan
    _last: float = -math.inf
    _estimated_done: float = 0.0

    def __post_init__(self) -> None:
        self._by_name = {p.name: p for p in self.plan}
        self._start = self.clock()

    def total(self, group: str) -> int:
        return sum(1 for p in self.plan if p.group == group)

    def finished(self, name: str) -> str | None:
        """Record that case ``name`` ran; returns a progress line, or None."""
        p = self._by_name.get(name)
        if p is None or name in self._done:
            return None
        now = self.clock()
        self._done[name] = now
        self._estimated_done += p.seconds
        done = sum(1 for n in self._done if self._by_name[n].group == p.group)
        total = self.total(p.group)
        if done < total and now - self._last < self.every:
            return None
        self._last = now
        elapsed = now - self._start
        pace = min(4.0, max(0.25, elapsed / self._estimated_done)) if self._estimated_done > 0 else 1.0
        left_group = sum(q.seconds for q in self.plan if q.group == p.group and q.name not in self._done) * pace
        left_all = sum(q.seconds for q in self.plan if q.name not in self._done) * pace
        return (f"[{p.group}: {done}/{total} cases; {fmt_duration(elapsed)} elapsed, about "
                f"{fmt_duration(left_group)} left in this group, {fmt_duration(left_all)} in all]")


__all__ = ["GROUPS", "Planned", "Progress", "REFERENCE_RUN", "REFERENCE_WALL_SECONDS", "UNSEEN_BUDGETS",
           "calibration", "case_seconds", "estimate", "fmt_duration", "reference_doc", "summary"]
