"""Contenders timed in turns, in one loop, at several thread counts.

Every contender at the default threads is called once first, timed: its
first round (the caller has run each library's code on the input before --
searches, rules' derivations, a warm-up -- so no call here pays first-call
costs); a call made before the loop at these threads (a search's) may stand
for it.  One that took over ``factor`` times as long as the kept contender
(``auto``), and over ``min_seconds`` (below it a single call says little and
more cost little), cannot win: that one call is its measurement.  At fewer
threads a ``pool`` (one library's own functions, over all their settings)
is timed by its fastest verified contender alone -- by one call where that
one could not win either -- and every contender outside a pool (``auto``,
the product, fixed-step iterations) as at the default threads.  The rest are
then called in turns (as many as fit ``budget`` seconds, by
:func:`lipbench.timing.plan_rounds`, at least ``min_rounds``), each in a
fresh seeded order (no contender always follows the same one), so that load
that comes and goes hits them alike and every ratio, the speed-up from
threads included, comes from one measurement.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lipbench.timing import Timing, plan_rounds


@dataclass
class Contender:
    """One call to time: its base name (without ``@threads``) and thread count;
    ``first``: (seconds, outcome) of a call of it made already at these
    threads (a search's), which then stands for its first call."""

    base: str
    threads: int
    call: Callable[[], Any]
    meta: dict = field(default_factory=dict)
    first: tuple[float, Any] | None = None

    @property
    def name(self) -> str:
        return f"{self.base}@{self.threads}"


@dataclass
class Turns(Timing):
    """What the loop measured of one contender: its timed rounds, its last
    outcome or error (:class:`lipbench.timing.Timing`), and a note."""

    note: str = ""


def _call(c: Contender, out: Turns) -> float:
    t0 = time.perf_counter()
    try:
        out.outcome = c.call()
    except Exception as exc:  # a contender failing is data, not a crash of the comparison
        out.error = f"{type(exc).__name__}: {exc}"
    return time.perf_counter() - t0


def _fastest(contenders: list[Contender], first: dict[str, float], key: str) -> dict[str, str]:
    """Per value of ``meta[key]``: the base name with the fastest first call."""
    out: dict[str, str] = {}
    for c in contenders:
        k = c.meta.get(key)
        if k and c.base in first and (k not in out or first[c.base] < first[out[k]]):
            out[k] = c.base
    return out


def take_turns(contenders: list[Contender], *, keep: str, factor: float, budget: float,
               verified: Callable[[Any], bool], min_seconds: float = 0.25, min_rounds: int = 3,
               max_rounds: int = 50, seed: int = 0) -> dict[str, Turns]:
    """Time ``contenders`` (module docstring); ``keep`` is the base name of
    the contender the others are measured against, ``verified(outcome)``
    says whether a call met the target.  Returns each timed contender's
    :class:`Turns` by name (``base@threads``)."""
    hi = max(c.threads for c in contenders)
    out: dict[str, Turns] = {}
    first: dict[str, float] = {}
    for c in (c for c in contenders if c.threads == hi):
        out[c.name] = t = Turns()
        if c.first is not None:
            first[c.base], t.outcome = c.first
        else:
            dt = _call(c, t)
            if not t.error:
                first[c.base] = dt
    ok = [c for c in contenders if c.threads == hi and c.base in first and verified(out[c.name].outcome)]
    pool_best = _fastest(ok, first, "pool")
    limit = max(factor * first[keep], min_seconds) if keep in first else math.inf
    slow = {b for b, t in first.items() if t > limit and b != keep}
    for b in slow:
        out[f"{b}@{hi}"].times = [first[b]]
        out[f"{b}@{hi}"].note = f"one call: {first[b] / first[keep]:.1f}x {keep}'s; it cannot win"
    for c in contenders:
        if c.threads != hi and c.base in slow and pool_best.get(c.meta.get("pool")) == c.base:
            out[c.name] = t = Turns()
            t.times = [_call(c, t)]
            t.note = f"one call: its pool's fastest at {hi} threads, where it took over {factor:g}x {keep}'s"
    live = [c for c in contenders if c.base in first and c.base not in slow
            and (c.threads == hi or not c.meta.get("pool") or pool_best.get(c.meta["pool"]) == c.base)]
    for c in live:
        out.setdefault(c.name, Turns())
        if c.threads == hi and c.first is None:
            out[c.name].times = [first[c.base]]  # the first round
    turn = sum(first[c.base] for c in live)  # one turn, from the first calls (fewer threads: longer)
    rounds = max(min_rounds, plan_rounds(turn, budget, max_rounds)) if live else 0
    order = np.random.default_rng(seed)
    for _ in range(rounds):
        for i in order.permutation(len(live)):
            c, t = live[i], out[live[i].name]
            if not t.error and len(t.times) < rounds:
                dt = _call(c, t)
                if not t.error:
                    t.times.append(dt)
    return out


__all__ = ["Contender", "Turns", "take_turns"]
