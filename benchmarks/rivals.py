"""SciPy's sigma_max solvers as a user would run them: two settings each.

(a) **rule**: the setting a user derives from SciPy's documentation and the
    target ``tol`` without knowing the answer.  ``svds`` documents ``tol`` as
    the tolerance for singular values and hands its square to the solver;
    Ritz values converge quadratically in the residual the solvers test, so
    ``tol = sqrt(target)``.  ARPACK keeps its default ``ncv`` and
    ``maxiter``.  PROPACK's ``maxiter`` is its Krylov basis size and
    LOBPCG's its iterations; their defaults stop both before that tolerance
    on these inputs, and each says so (PROPACK raises, LOBPCG warns), so the
    user doubles ``maxiter`` from 20 until the solver reports convergence --
    the solver's own word, not the answer.
(b) **luckiest**: the fastest setting of a small grid (:func:`search_settings`)
    that met the target on that input, found by timing every setting on it --
    what a user could reach only by knowing the answer.  :func:`search` runs
    such a grid for any library's calls (``benchmarks/torch_rivals.py`` too).

Both are verified in the run that times them (relative error against the
input's known sigma_max).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

RIVALS = ("propack", "arpack", "lobpcg")


def rule_setting(A: Any, rival: str, target: float, seed: int, *,
                 firsts: dict | None = None) -> tuple[dict, list[str]]:
    """Setting (a) of ``rival`` for relative accuracy ``target`` on ``A``, and
    the settings tried on the way (``maxiter`` doubled until the solver
    reports convergence, at most ``min(m, n)``).  ``firsts``, when given,
    receives (seconds, return value) of the last call, the rule's own."""
    tol = math.sqrt(target)
    if rival == "arpack":
        return {"tol": tol}, []
    if rival not in ("propack", "lobpcg"):
        raise ValueError(f"unknown rival {rival!r}; known: {RIVALS}")
    side = min(int(d) for d in A.shape)
    tried, k = [], 20
    while True:
        setting = {"tol": tol, "maxiter": min(k, side)}
        t0 = time.perf_counter()
        value, failed = svds_call(A, rival, setting, seed, strict=True)()
        if firsts is not None:
            firsts[describe(rival, setting)] = (time.perf_counter() - t0, (value, failed))
        tried.append(describe(rival, setting) + (f": {failed}" if failed else ": converged"))
        if not failed or k >= side:
            return setting, tried
        k *= 2


def search_settings(rival: str, m: int, n: int) -> list[dict]:
    """The grid that setting (b) is picked from: looser tolerances and smaller
    Krylov spaces than the rule's.  Four settings per solver at most: the
    settings that won a search of 30 on the 2-core box (run 0028_readme:
    PROPACK at maxiter 40-80 and tol 0.01-0.03, ARPACK at ncv 20, LOBPCG at
    tol 1e-3; every tol of 0.1 and every basis of 3 or 5 vectors missed or
    lost) and their neighbours (docs/benchmarks.md)."""
    side = min(m, n)
    if rival == "propack":
        grid = [{"tol": t, "maxiter": k} for t in (0.03, 1e-2) for k in (40, 80)]
    elif rival == "arpack":
        grid = [{"tol": t, "ncv": k} for t in (0.03, 1e-3) for k in (10, 20)]
    elif rival == "lobpcg":
        grid = [{"tol": 1e-3, "maxiter": k} for k in (50, 100, 200)]
    else:
        raise ValueError(f"unknown rival {rival!r}; known: {RIVALS}")
    return [s for s in grid if s.get("maxiter", 1) <= side and s.get("ncv", 1) <= side]


def describe(rival: str, setting: dict) -> str:
    """``svds(A, k=1, solver='propack', tol=0.001, maxiter=2048)``."""
    args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(setting.items()))
    return f"svds(A, k=1, solver='{rival}', {args})"


def svds_call(A: Any, rival: str, setting: dict, seed: int, *, strict: bool = False) -> Callable[[], tuple[float, str]]:
    """A zero-argument call: (sigma_max estimate, failure message or "").
    A solver that raises (no convergence within its cap) returns NaN and the
    reason: that setting did not meet the target.  With ``strict`` a warning
    (LOBPCG's "not reaching the requested tolerance") is a failure too."""
    from scipy.sparse.linalg import svds

    def run() -> tuple[float, str]:
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                s = svds(A, k=1, solver=rival, return_singular_vectors=False, random_state=seed, **setting)
        except Exception as exc:  # noqa: BLE001 - each solver raises its own non-convergence type
            return math.nan, f"{type(exc).__name__}: {exc}"
        if strict and caught:
            return float(np.max(s)), f"{caught[0].category.__name__}: {str(caught[0].message)[:200]}"
        return float(np.max(s)), ""

    return run


def rel_error(value: float, truth: float) -> float:
    return abs(value - truth) / truth if math.isfinite(value) and truth > 0 else math.inf


def search(calls: list[tuple[dict, str, Callable[[], Any]]], target: float, truth: float, *,
           repeats: int = 1, slow: float = math.inf, firsts: dict | None = None) -> tuple[dict | None, list]:
    """(the fastest setting that met ``target``, or None; every setting tried
    with its best time, error and outcome).  ``calls``: (setting, its call as
    text, a zero-argument call returning (value, failure) or an object with
    ``value`` and ``warning``).  Each setting's first call is timed and checks
    the error; a setting that met the target and took less than ``slow``
    seconds gets ``repeats`` more timed calls (the fastest kept): past
    ``slow`` it cannot win, and one call says so.  ``firsts``, when given,
    receives (best seconds, last return value) per call text."""
    tried = []
    for setting, text, call in calls:
        t0 = time.perf_counter()
        out = call()
        best = time.perf_counter() - t0
        value, failed = _value(out)
        err = rel_error(value, truth)
        met = not failed and err <= target
        for _ in range(repeats if met and best < slow else 0):
            t0 = time.perf_counter()
            out = call()
            best = min(best, time.perf_counter() - t0)
        if firsts is not None:
            firsts[text] = (best, out)
        tried.append({"setting": setting, "call": text, "seconds": best,
                      "value": value if math.isfinite(value) else None,
                      "rel_error": err if math.isfinite(err) else None, "met_target": met, "failed": failed})
    ok = [t for t in tried if t["met_target"]]
    return (min(ok, key=lambda t: t["seconds"])["setting"] if ok else None), tried


def _value(out: Any) -> tuple[float, str]:
    if isinstance(out, tuple):
        return float(out[0]), str(out[1])
    return float(out.value), str(out.warning)


def luckiest(A: Any, rival: str, target: float, truth: float, seed: int, *, repeats: int = 1,
             slow: float = math.inf, firsts: dict | None = None) -> tuple[dict | None, list]:
    """:func:`search` over SciPy ``rival``'s grid (:func:`search_settings`) on ``A``."""
    m, n = (int(d) for d in A.shape)
    calls = [(s, describe(rival, s), svds_call(A, rival, s, seed)) for s in search_settings(rival, m, n)]
    return search(calls, target, truth, repeats=repeats, slow=slow, firsts=firsts)


__all__ = ["RIVALS", "describe", "luckiest", "rel_error", "rule_setting", "search", "search_settings",
           "svds_call"]
