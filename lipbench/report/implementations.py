"""Which library and which method to use here: NumPy/SciPy against PyTorch on the same inputs.

From the rivals rows (``benchmarks/test_rivals.py``) that hold PyTorch
contenders: per machine, input and thread setting, the fastest verified
contender of each library -- on the NumPy array, lipbench's ``auto``, SciPy's
solvers at either setting and ``numpy.linalg.norm``; on the tensor made from
the same data, torch's functions at either setting, ``torch.linalg.matrix_norm``
and ``auto`` on the tensor -- with its time, its error and the ratio of the
two, once with lipbench among them and once among the libraries' own
functions only; then ``auto`` on the tensor against ``auto`` on the NumPy
array.  Both at
one thread and at the default threads, from one loop of turns; the thread
setting at which the input's fastest ran is marked.  The SN power iteration
has no target and never counts.  The judges of PyTorch's targets
(:data:`TORCH_JUDGES`) read the same rows.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .formatting import fmt_err, fmt_time
from .rivals import latest_rivals, library

__all__ = ["TORCH_JUDGES", "auto_torch_table", "implementations_table"]

#: the roles that count as a library's way to sigma_max (not the product, not the fixed-step SN iteration)
_ROLES = ("lipbench", "rule", "luckiest", "reference")
_NAMES = {"numpy": "NumPy/SciPy", "torch": "PyTorch"}


def _timed(v: dict | None) -> bool:
    return v is not None and v.get("median") is not None and math.isfinite(v["median"])


def _median(v: dict | None) -> float:
    """A contender's median time (nan when missing, refused or untimed)."""
    return float(v["median"]) if v is not None and _timed(v) else math.nan


def _ratio(num: dict | None, den: dict | None) -> str:
    r = _median(num) / _median(den)
    return f"{r:.2f}x" if math.isfinite(r) else ""


def _with_torch(d: pd.DataFrame) -> list[tuple[pd.Series, dict]]:
    """(row, contenders) of the newest rivals rows that hold a PyTorch contender."""
    out = []
    for _, r in latest_rivals(d).iterrows():
        c = r.get("contenders")
        if isinstance(c, dict) and any(library(v) == "torch" for v in c.values()):
            out.append((r, c))
    return out


def _threads(c: dict) -> list[int]:
    return sorted({int(v["threads"]) for v in c.values()})


def _best(c: dict, threads: int, lib: str, roles: tuple = _ROLES) -> tuple[str, dict] | None:
    """(contender, entry) of the fastest verified one of ``lib`` in ``roles`` at ``threads``."""
    pool = [(k.rsplit("@", 1)[0], v) for k, v in c.items() if int(v["threads"]) == threads and library(v) == lib
            and v.get("role") in roles and v.get("met_target") and _timed(v)]
    return min(pool, key=lambda kv: kv[1]["median"]) if pool else None


def _entry(b: tuple[str, dict] | None) -> dict | None:
    return None if b is None else b[1]


def _label(b: tuple[str, dict] | None) -> str:
    return "none verified" if b is None else f"{b[0]}: {b[1]['setting']}"


#: which contenders a row of the comparison weighs: with lipbench, and the libraries' own functions only
_SCOPES = (("with lipbench", _ROLES), ("own functions", tuple(r for r in _ROLES if r != "lipbench")))


def implementations_table(d: pd.DataFrame) -> pd.DataFrame:
    """Per machine, input, thread setting and scope (lipbench among the
    contenders, or the libraries' own functions only): the fastest verified
    contender of NumPy/SciPy and of PyTorch, the ratio of their times, which
    to use."""
    rows = []
    for r, c in _with_torch(d):
        ts = _threads(c)
        for scope, roles in _SCOPES:
            best = {t: {lib: _best(c, t, lib, roles) for lib in _NAMES} for t in ts}
            winner = {t: min((b for b in best[t].values() if b), key=lambda b: b[1]["median"], default=None)
                      for t in ts}
            fastest = min(ts, key=lambda t: _median(_entry(winner[t])) if winner[t] else math.inf)
            for t in ts:
                n, p, w = best[t]["numpy"], best[t]["torch"], winner[t]
                nv, pv = _entry(n), _entry(p)
                rows.append({
                    "machine": r["machine"], "input": f"{r['shape']} {r['dtype']} {r['family']}", "threads": t,
                    "contenders": scope,
                    "NumPy/SciPy: fastest verified": _label(n), "time": fmt_time(_median(nv)),
                    "rel. error": fmt_err(nv.get("rel_error")) if nv else "",
                    "PyTorch: fastest verified": _label(p), "time ": fmt_time(_median(pv)),
                    "rel. error ": fmt_err(pv.get("rel_error")) if pv else "",
                    "PyTorch / NumPy": _ratio(pv, nv),
                    "use here": "" if w is None else f"{_NAMES[library(w[1])]}: {w[0]}",
                    "fastest of the thread settings": "yes" if w is not None and t == fastest else "",
                })
    return pd.DataFrame(rows)


def _auto_pair(c: dict, t: int) -> tuple[dict | None, dict | None]:
    """(auto on NumPy, auto on the tensor) at ``t`` threads; a refusal is
    recorded once, at the default threads."""
    return c.get(f"auto@{t}"), c.get(f"auto (torch)@{t}") or c.get(f"auto (torch)@{_threads(c)[-1]}")


def auto_torch_table(d: pd.DataFrame) -> pd.DataFrame:
    """Per machine, input and thread setting: ``auto`` on the tensor against
    ``auto`` on the same data as a NumPy array (or why lipbench refused it)."""
    rows = []
    for r, c in _with_torch(d):
        ts = _threads(c)
        pairs = {t: (a, b if b is not None and int(b["threads"]) == t else None)
                 for t, (a, b) in ((t, _auto_pair(c, t)) for t in ts)}
        fastest = min(ts, key=lambda t: _median(pairs[t][1]) if _timed(pairs[t][1]) else math.inf)
        for t, (a, b) in pairs.items():
            rows.append({
                "machine": r["machine"], "input": f"{r['shape']} {r['dtype']} {r['family']}", "threads": t,
                "auto on NumPy": fmt_time(_median(a)), "rel. error": fmt_err(a.get("rel_error")) if a else "",
                "auto on torch": fmt_time(_median(b)), "rel. error ": fmt_err(b.get("rel_error")) if b else "",
                "torch / NumPy": _ratio(b, a),
                "note": str(b.get("note") or "") if b is not None and not _timed(b) else "",
                "fastest of the thread settings": "yes" if _timed(b) and t == fastest else "",
            })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- targets
# each judge: (target, contenders, thread count) -> list of (target text, measured, met, detail)

def _auto_on_torch(t: Any, c: dict, n: int) -> list[tuple]:
    a, b = _auto_pair(c, n)
    text = f"auto on a torch tensor <= {t.threshold:g}x auto on the same data as NumPy"
    if a is None or b is None or int(b["threads"]) != n:
        return []
    if not _timed(b):
        return [(text, "refused", False, str(b.get("note") or ""))]
    if not _timed(a):
        return []
    ratio = _median(b) / _median(a)
    return [(text, f"{ratio:.2f}x", ratio <= t.threshold and bool(b.get("met_target")),
             f"torch {fmt_time(b['median'])} (rel. error {fmt_err(b.get('rel_error'))}), "
             f"NumPy {fmt_time(a['median'])}")]


def _versus(a: dict | None, ref: dict | None, text: str, threshold: float) -> list[tuple]:
    if a is None or ref is None or not (_timed(a) and _timed(ref) and a.get("met_target")):
        return []
    ratio = _median(ref) / _median(a)
    return [(text, f"{ratio:.2f}x", ratio >= threshold,
             f"{ref['setting']}: {fmt_time(ref['median'])} ({ref.get('rounds')} call(s), rel. error "
             f"{fmt_err(ref.get('rel_error'))}); auto {fmt_time(a['median'])}")]


def _torch_svd(t: Any, c: dict, n: int) -> list[tuple]:
    return _versus(c.get(f"auto@{n}"), c.get(f"torch.linalg.matrix_norm@{n}"),
                   f"auto >= {t.threshold:g}x faster than torch.linalg.matrix_norm(A, 2)", t.threshold)


def _torch_luckiest(t: Any, c: dict, n: int) -> list[tuple]:
    out = []
    for rival in sorted({v["method"] for v in c.values() if library(v) == "torch"
                         and v.get("role") in ("rule", "luckiest")}):
        pool = [v for v in c.values() if v["method"] == rival and int(v["threads"]) == n
                and v.get("role") in ("rule", "luckiest") and v.get("met_target") and _timed(v)]
        ref = min(pool, key=lambda v: v["median"]) if pool else None
        out += _versus(c.get(f"auto@{n}"), ref, f"auto not slower than {rival} at its luckiest verified setting",
                       t.threshold)
    return out


#: what ``lipbench.report.targets.TARGETS`` rows with these names are judged by, at every thread setting
TORCH_JUDGES = {
    "torch tensor, time / NumPy's": _auto_on_torch,
    "faster than, torch full SVD": _torch_svd,
    "not slower than, torch luckiest setting": _torch_luckiest,
}
