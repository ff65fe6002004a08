"""Does ``method="auto"`` pick the winner?  One target row per machine and backend.

A regime is one (dtype, spectrum, tolerance, shape) of the grid.  In each, auto
is judged against the methods that met the target *in the same measurement*:
the newest head-to-head row of the regime where there is one (every method
timed in turns in one test, ``benchmarks/test_head_to_head.py``), else the
newest grid run that measured auto and at least one other method.  Auto
"picks the winner" when it is the fastest of them, or within ``factor`` of the
fastest (run-to-run noise).  The same counts are given against *verified*
rivals only: those whose own residual check passed.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .compare import broadcast_tol_independent
from .formatting import STALE, fmt_code, fmt_tol, shape_key
from .load import isnan

__all__ = ["auto_regimes"]

_KEYS = ["machine", "backend", "dtype", "family", "tol", "shape"]


def _verdict(ok: bool, stale: bool = False) -> str:
    return ("met" if ok else "NOT met") + (f" ({STALE})" if stale else "")


def _provenance(judged: dict, row: pd.Series) -> dict:
    """Record on a judged regime which code measured it (``code``, ``stale``)."""
    judged["stale"] = bool(row.get("stale", False))
    judged["code"] = fmt_code(row.get("code"), row.get("stale"), row.get("auto_rule"), row.get("backend"))
    return judged


def _judge(where: str, auto_time: float, auto_met: bool, rivals: list[tuple], factor: float) -> dict:
    """One regime: is auto the fastest method that met the target, within
    ``factor`` of it, and the same counting only the rivals whose own residual
    check passed (``verified_*``); ``lost``: what beat it.  ``rivals`` are
    (method, median time, met target, converged)."""
    out: dict[str, Any] = {"fastest": False, "near": False, "verified_fastest": False, "verified_near": False,
                           "lost": None}
    if not auto_met:
        out["lost"] = f"{where}: auto missed its target"
        return out

    def unverified(r: tuple) -> bool:  # right, but its own check failed
        return r[3] is not None and not isnan(r[3]) and not bool(r[3])

    for prefix, pool in (("", [r for r in rivals if r[2]]),
                         ("verified_", [r for r in rivals if r[2] and not unverified(r)])):
        best = min(pool, key=lambda r: r[1]) if pool else None
        out[prefix + "fastest"] = best is None or auto_time <= best[1]
        out[prefix + "near"] = best is None or auto_time <= factor * best[1]
        if not prefix and best is not None and auto_time > best[1]:
            out["lost"] = (f"{where}: {best[0]} {auto_time / best[1]:.2f}x faster"
                           + (" (unverified: its residual check failed)" if unverified(best) else ""))
    return out


def _interleaved(h2h: pd.DataFrame | None) -> dict:
    """Regime key -> the newest head-to-head row of that regime that timed auto."""
    out: dict = {}
    if h2h is None or h2h.empty or not set(_KEYS) | {"contenders", "datetime", "file"} <= set(h2h.columns):
        return out
    for key, hh in h2h.groupby(_KEYS, dropna=False):
        r = hh.sort_values(["datetime", "file"], na_position="first").iloc[-1]
        if isinstance(r["contenders"], dict) and "auto" in r["contenders"]:
            out[key] = r
    return out


def _judge_grid(spec: pd.DataFrame, regimes: dict, factor: float) -> None:
    """Judge, from the grid, every regime that has no head-to-head row yet."""
    need = {"method", "run", "datetime", "file", "dtype", "family", "tol", "shape", "time_median", "met_target"}
    if spec.empty or not need <= set(spec.columns):
        return
    d = broadcast_tol_independent(spec)
    met = d["met_target"].map(lambda v: v is True).astype(bool)
    for (machine, backend, dt, fam, tol, shape), gg in d.groupby(_KEYS, dropna=False):
        if (dt, fam, tol, shape) in regimes.get((machine, backend), {}):
            continue  # the interleaved measurement stands for this regime
        others = set(gg.loc[gg["method"] != "auto", "run"])  # runs that measured a competitor too
        a = gg[(gg["method"] == "auto") & gg["run"].isin(others)]
        a = a.sort_values(["datetime", "file"], na_position="first").tail(1)
        if a.empty:
            continue
        run = a["run"].iloc[0]
        same = gg[(gg["run"] == run) & met[gg.index] & (gg["method"] != "auto")]
        rivals = [(r["method"], float(r["time_median"]), True, r.get("converged")) for _, r in same.iterrows()]
        where = f"{shape} {dt} {fam} tol {fmt_tol(tol)} ({run})"
        regimes.setdefault((machine, backend), {})[(dt, fam, tol, shape)] = _provenance(_judge(
            where, float(a["time_median"].iloc[0]), bool(met[a.index[0]]), rivals, factor), a.iloc[0])


def auto_regimes(spec: pd.DataFrame, h2h: pd.DataFrame | None, factor: float) -> list[dict]:
    """Target rows "auto picks the winner" (within ``factor`` counts), one per
    machine and backend, from the grid rows ``spec`` (every run) and the
    head-to-head rows ``h2h``."""
    interleaved = _interleaved(h2h)
    regimes: dict = {}  # (machine, backend) -> {(dtype, family, tol, shape): judged}
    for key, r in interleaved.items():
        c = r["contenders"]
        a = c["auto"]
        where = f"{key[5]} {key[2]} {key[3]} tol {fmt_tol(key[4])} ({r['run']}, interleaved)"
        rivals = [(m, float(v["median"]), bool(v.get("met_target")), v.get("converged"))
                  for m, v in c.items() if m != "auto"]
        regimes.setdefault(key[:2], {})[key[2:]] = _provenance(
            _judge(where, float(a["median"]), bool(a.get("met_target")), rivals, factor), r)
    _judge_grid(spec, regimes, factor)
    rows: list[dict] = []
    for (machine, backend), judged in sorted(regimes.items()):
        order = sorted(judged, key=lambda k: (k[0], k[1], -k[2], shape_key(k[3])))
        total = len(order)
        fastest, near, vfastest, vnear = (sum(judged[k][f] for k in order)
                                          for f in ("fastest", "near", "verified_fastest", "verified_near"))
        lost = [judged[k]["lost"] for k in order if judged[k]["lost"]]
        n_inter = sum(1 for k in order if (machine, backend) + k in interleaved)
        shown = "; ".join(lost[:12]) + (f"; and {len(lost) - 12} more" if len(lost) > 12 else "")
        rows.append({"machine": machine, "backend": backend,
                     "target": f"auto picks the winner: the fastest method that met the target, per regime "
                               f"(dtype, spectrum, tol, shape; within {factor:g}x counts)",
                     "measured": f"fastest in {fastest}/{total}, within {factor:g}x in {near}/{total}",
                     "verdict": _verdict(near == total, any(judged[k]["stale"] for k in order)),
                     "code": "; ".join(dict.fromkeys(judged[k]["code"] for k in order)),
                     "detail": (f"{n_inter} of {total} regimes timed head to head (methods in turns); against "
                                f"verified rivals only (their own residual check passed): fastest in "
                                f"{vfastest}/{total}, within {factor:g}x in {vnear}/{total}; "
                                + (("not the winner: " + shown) if lost else "fastest in every regime"))})
    return rows
