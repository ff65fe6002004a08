"""``auto`` against SciPy's (and PyTorch's) solvers at their best, at one thread and at all of them.

The rows come from ``benchmarks/test_rivals.py`` (``kind="rivals"``): per
input, every contender at every thread setting, timed in turns in one loop,
each with its setting, median and relative error, and the library it runs on
(``library``: ``numpy`` -- SciPy and lipbench on the NumPy array, the default
of rows that predate the field -- or ``torch``).  Each rival has two
settings: the one derived from its documentation and the target (``rule``)
and the fastest of a search that met the target on that input
(``luckiest``).  "Luckiest" here is the faster of the two verified settings
in the turns, since the rule's setting is one the search could have found.
The default threads are the most a row measured (every CPU of the process).
The judges here hold auto to SciPy's solvers; :mod:`.implementations` holds
it to PyTorch's.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .formatting import fmt_code, fmt_err, fmt_time

__all__ = ["RIVAL_JUDGES", "library", "latest_rivals", "rivals_table", "threads_table",
           "rivals_target_rows"]


def latest_rivals(d: pd.DataFrame) -> pd.DataFrame:
    """The newest rivals row per machine and input."""
    r = d[d["kind"] == "rivals"]
    if r.empty:
        return r
    r = r.sort_values(["datetime", "file"], na_position="first")
    return r.groupby(["machine", "backend", "shape", "dtype"], as_index=False).tail(1)


def library(v: dict) -> str:
    """The library a contender runs on (``numpy`` for rows that predate the field)."""
    return str(v.get("library") or "numpy")


def _timed(v: dict) -> bool:
    return v.get("median") is not None and math.isfinite(v["median"])


def _contenders(row: pd.Series) -> dict:
    c = row.get("contenders")
    return c if isinstance(c, dict) else {}


def _threads(c: dict) -> list[int]:
    return sorted({int(v["threads"]) for v in c.values()})


def _auto(c: dict, threads: int) -> dict | None:
    a = c.get(f"auto@{threads}")
    return a if a and a.get("met_target") else None


def _best(c: dict, threads: int, method: str | None = None, roles: tuple = ("rule", "luckiest"),
          lib: str = "numpy") -> dict | None:
    """The fastest verified contender of library ``lib`` at ``threads`` in
    ``roles`` (of one rival when ``method`` is given)."""
    pool = [v for v in c.values() if int(v["threads"]) == threads and v.get("role") in roles
            and v.get("met_target") and _timed(v) and library(v) == lib and (method is None or v["method"] == method)]
    return min(pool, key=lambda v: v["median"]) if pool else None


def _rivals(c: dict, lib: str = "numpy") -> list[str]:
    return sorted({v["method"] for v in c.values() if v.get("role") in ("rule", "luckiest") and library(v) == lib})


def rivals_table(d: pd.DataFrame) -> pd.DataFrame:
    """Every contender of the newest rivals row per machine and input: its
    setting, median time, ratio to auto at the same threads, error."""
    rows = []
    for _, r in latest_rivals(d).iterrows():
        c = _contenders(r)
        for name, v in sorted(c.items(), key=lambda kv: (kv[1]["threads"], kv[1]["median"] or math.inf)):
            auto = c.get(f"auto@{v['threads']}")
            ratio = v["median"] / auto["median"] if _timed(v) and auto and auto["median"] > 0 else math.nan
            note = str(v.get("note") or "")
            rows.append({
                "machine": r["machine"], "input": f"{r['shape']} {r['dtype']} {r['family']}",
                "threads": int(v["threads"]), "library": library(v), "contender": name.rsplit("@", 1)[0],
                "setting": v["setting"],
                "median time": fmt_time(v["median"]) if _timed(v) else note.split(":")[0],
                "time / auto's": ("" if name.rsplit("@", 1)[0] == "auto" or not math.isfinite(ratio)
                                  else f"{ratio:.2f}x"),
                "rel. error": "" if v["role"] == "product" else fmt_err(v.get("rel_error")),
                "met 1e-6": ("" if v["role"] == "product" or not _timed(v) else "never (fixed steps)"
                             if v["role"] == "sn" else "yes" if v.get("met_target") else "NO"),
                "rounds": int(v["rounds"]),
            })
    return pd.DataFrame(rows)


def threads_table(d: pd.DataFrame) -> pd.DataFrame:
    """Per machine, input and contender: the median at one thread, at the
    default threads, and the speed-up from threads (one loop of turns)."""
    rows = []
    for _, r in latest_rivals(d).iterrows():
        c = _contenders(r)
        ts = _threads(c)
        if len(ts) < 2:
            continue
        lo, hi = ts[0], ts[-1]
        for name, v in c.items():
            if int(v["threads"]) != lo:
                continue
            other = c.get(name.rsplit("@", 1)[0] + f"@{hi}")
            if other is None or not (_timed(v) and _timed(other)):
                continue
            rows.append({"machine": r["machine"], "input": f"{r['shape']} {r['dtype']}",
                         "contender": name.rsplit("@", 1)[0], f"{lo} thread": fmt_time(v["median"]),
                         f"{hi} threads": fmt_time(other["median"]),
                         "speed-up": f"{v['median'] / other['median']:.2f}x" if other["median"] > 0 else ""})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- targets
# each judge: (target, row, contenders, default threads) -> list of (target text, measured, met, detail)

def _versus(auto: dict | None, ref: dict | None, target: str, threshold: float, detail: str,
            verified: bool = True) -> list[tuple]:
    """One verdict: ``ref``'s median over ``auto``'s, met at ``threshold``
    (and only if ``verified``); nothing when either is missing."""
    if auto is None or ref is None:
        return []
    ratio = ref["median"] / auto["median"]
    return [(target, f"{ratio:.2f}x", ratio >= threshold and verified,
             f"{detail}; auto {fmt_time(auto['median'])}")]


def _setting(ref: dict | None) -> str:
    return "" if ref is None else (f"{ref['setting']}: {fmt_time(ref['median'])} "
                                   f"(rel. error {fmt_err(ref.get('rel_error'))})")


def _rule(t: Any, c: dict, hi: int) -> list[tuple]:
    out = []
    for rival in _rivals(c):
        ref = c.get(f"{rival} (rule)@{hi}")
        out += _versus(_auto(c, hi), ref,
                       f"auto >= {t.threshold:g}x faster than {rival} at the setting derived from its documentation",
                       t.threshold, _setting(ref), verified=bool(ref and ref.get("met_target")))
    return out


def _luckiest(t: Any, c: dict, hi: int) -> list[tuple]:
    out = []
    for rival in _rivals(c):
        ref = _best(c, hi, rival)
        out += _versus(_auto(c, hi), ref, f"auto not slower than {rival} at its luckiest verified setting",
                       t.threshold, _setting(ref))
    return out


def _best_scipy(t: Any, c: dict, hi: int) -> list[tuple]:
    ref = _best(c, hi)
    return _versus(_auto(c, hi), ref, f"auto >= {t.threshold:g}x faster than the best verified SciPy setting",
                   t.threshold, "" if ref is None else f"{ref['setting']}: {fmt_time(ref['median'])}")


def _full_svd(t: Any, c: dict, hi: int) -> list[tuple]:
    ref = c.get(f"numpy.linalg.norm@{hi}")
    return _versus(_auto(c, hi), ref, f"auto >= {t.threshold:g}x faster than numpy.linalg.norm(A, 2)",
                   t.threshold, "" if ref is None else f"full SVD {fmt_time(ref['median'])} (one call)")


def _speedup(t: Any, c: dict, hi: int) -> list[tuple]:
    ts = _threads(c)
    one, many = c.get(f"auto@{ts[0]}"), c.get(f"auto@{hi}")
    if len(ts) < 2 or one is None or many is None:
        return []
    s = one["median"] / many["median"]
    p1, p2 = (c.get(f"A^T(Ax)@{x}") for x in (ts[0], hi))
    floor = (f"; one A^T(A x): {p1['median'] / p2['median']:.2f}x" if p1 and p2 else "")
    props = [(v["method"], c[k.replace(f"@{hi}", f"@{ts[0]}")]["median"] / v["median"])
             for k, v in c.items() if k.endswith(f"@{hi}") and v.get("role") in ("rule", "luckiest")
             and library(v) == "numpy" and k.replace(f"@{hi}", f"@{ts[0]}") in c]
    best = max(props, key=lambda p: p[1]) if props else None
    return [(f"auto at {hi} threads >= {t.threshold:g}x faster than at {ts[0]}", f"{s:.2f}x", s >= t.threshold,
             f"{fmt_time(one['median'])} -> {fmt_time(many['median'])}" + floor
             + (f"; best SciPy gain: {best[0]} {best[1]:.2f}x" if best else ""))]


#: what ``lipbench.report.targets.TARGETS`` rows with these names are judged by
RIVAL_JUDGES = {
    "faster than, rule-derived setting": _rule,
    "not slower than, luckiest setting": _luckiest,
    "faster than, best verified SciPy setting": _best_scipy,
    "faster than, all cores": _full_svd,
    "speed-up from threads": _speedup,
}


def rivals_target_rows(d: pd.DataFrame, targets: tuple, judges: dict | None = None, *,
                       every_thread_count: bool = False) -> list[dict]:
    """The verdicts of the ``targets`` judged by ``judges`` (default
    :data:`RIVAL_JUDGES`), per machine, on the newest rivals row of each
    target's input: at its default threads, or at each of its thread
    settings with ``every_thread_count``."""
    judges = RIVAL_JUDGES if judges is None else judges
    rows = []
    latest = latest_rivals(d)
    for t in targets:
        if t.target not in judges:
            continue
        shape, dtype, family = t.regime.split()[:3]
        for _, r in latest[(latest["shape"] == shape) & (latest["dtype"] == dtype)
                           & (latest["family"] == family)].iterrows():
            c = _contenders(r)
            if not c:
                continue
            counts = _threads(c) if every_thread_count else _threads(c)[-1:]
            for target, measured, ok, detail, hi in [j + (n,) for n in counts for j in judges[t.target](t, c, n)]:
                rows.append({"machine": r["machine"], "backend": r["backend"],
                             "target": f"{shape} {dtype} {family.capitalize()}, {hi} thread(s): {target}",
                             "measured": measured, "verdict": "met" if ok else "NOT met", "detail": detail,
                             "code": fmt_code(r.get("code"), r.get("stale"), r.get("auto_rule"), r.get("backend"))})
    return rows
