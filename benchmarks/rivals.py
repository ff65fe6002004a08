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
(b) **luckiest**: the fastest setting of a small grid (:data:`SEARCH`) that
    met the target on that input, found by timing every setting on it -- what
    a user could reach only by knowing the answer.

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


def rule_setting(A: Any, rival: str, target: float, seed: int) -> tuple[dict, list[str]]:
    """Setting (a) of ``rival`` for relative accuracy ``target`` on ``A``, and
    the settings tried on the way (``maxiter`` doubled until the solver
    reports convergence, at most ``min(m, n)``)."""
    tol = math.sqrt(target)
    if rival == "arpack":
        return {"tol": tol}, []
    if rival not in ("propack", "lobpcg"):
        raise ValueError(f"unknown rival {rival!r}; known: {RIVALS}")
    side = min(int(d) for d in A.shape)
    tried, k = [], 20
    while True:
        setting = {"tol": tol, "maxiter": min(k, side)}
        _, failed = svds_call(A, rival, setting, seed, strict=True)()
        tried.append(describe(rival, setting) + (f": {failed}" if failed else ": converged"))
        if not failed or k >= side:
            return setting, tried
        k *= 2


def search_settings(rival: str, m: int, n: int) -> list[dict]:
    """The grid that setting (b) is picked from: looser tolerances and smaller
    Krylov spaces than the rule's, and the rule itself."""
    side = min(m, n)
    if rival == "propack":
        grid = [{"tol": t, "maxiter": k} for t in (0.1, 0.03, 1e-2, 1e-3) for k in (20, 40, 80)]
    elif rival == "arpack":
        grid = [{"tol": t, "ncv": k} for t in (0.1, 0.03, 1e-3) for k in (3, 5, 10, 20)]
    elif rival == "lobpcg":
        grid = [{"tol": t, "maxiter": k} for t in (0.1, 1e-3) for k in (20, 50, 200)]
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


def luckiest(A: Any, rival: str, target: float, truth: float, seed: int, *,
             repeats: int = 2) -> tuple[dict | None, list]:
    """(the fastest setting that met ``target``, or None; every setting tried
    with its best time, error and outcome).  Each setting runs once to warm
    up and check its error, then ``repeats`` timed calls (the fastest kept)."""
    m, n = (int(d) for d in A.shape)
    tried = []
    for setting in search_settings(rival, m, n):
        call = svds_call(A, rival, setting, seed)
        value, failed = call()
        err = rel_error(value, truth)
        met = not failed and err <= target
        best = math.inf
        if met:
            for _ in range(repeats):
                t0 = time.perf_counter()
                call()
                best = min(best, time.perf_counter() - t0)
        tried.append({"setting": setting, "call": describe(rival, setting), "seconds": best if met else None,
                      "rel_error": err if math.isfinite(err) else None, "met_target": met, "failed": failed})
    ok = [t for t in tried if t["met_target"]]
    return (min(ok, key=lambda t: t["seconds"])["setting"] if ok else None), tried


__all__ = ["RIVALS", "describe", "luckiest", "rel_error", "rule_setting", "search_settings", "svds_call"]
