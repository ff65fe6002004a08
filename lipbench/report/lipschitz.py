"""The report's Lipschitz section: convolution methods, the bound ladder, the spectral-normalization audit.

Each table takes the latest rows (:func:`.load.latest_per_case`) of one
benchmark kind -- ``conv_method`` (benchmarks/test_conv_methods.py),
``ladder`` (benchmarks/test_ladder.py), ``sn_audit``
(benchmarks/test_sn_audit.py) -- and returns a frame of strings; an empty frame
when there are no such rows.  :func:`lipschitz_sections` returns the sections
(title, prose, table) in the render step's format, leaving out empty ones.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .formatting import fmt_err, fmt_ratio, fmt_time, fmt_time_iqr

__all__ = ["conv_methods_table", "ladder_table", "sn_audit_table", "lipschitz_sections"]

_CONV_ORDER = ("fft", "dense", "lanczos", "bound", "reshape")
_RUNG_ORDER = ("product", "eclipse_fast", "patterns", "empirical")


def _num(v: Any) -> float:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return math.nan
    return x


def _sig(v: Any) -> str:
    x = _num(v)
    return "" if not math.isfinite(x) else f"{x:.4g}"


def _opt(row: pd.Series, key: str) -> Any:
    opts = row.get("options")
    return opts.get(key) if isinstance(opts, dict) else None


def _order(values: pd.Series, order: tuple[str, ...]) -> pd.Series:
    return values.map(lambda m: order.index(m) if m in order else len(order))


def conv_methods_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per convolution and method: time, value, relative error against the exact route, and
    whether the method's bracket holds the truth (the reshaped kernel's sigma is no bound)."""
    d = latest[latest["kind"] == "conv_method"]
    if d.empty:
        return pd.DataFrame()
    d = d.assign(_o=_order(d["method"], _CONV_ORDER)).sort_values(["machine", "family", "_o"])
    return pd.DataFrame({
        "machine": d["machine"],
        "convolution": d["family"],
        "operator": d["shape"],
        "method": d["method"],
        "median time ± IQR": [fmt_time_iqr(t, i if r >= 2 else None)
                              for t, i, r in zip(d["time_median"], d["time_iqr"], d["rounds"].fillna(0))],
        "value": d["value"].map(_sig),
        "value / truth": [fmt_ratio(_num(v) / _num(t)) if _num(t) > 0 else "" for v, t in zip(d["value"], d["truth"])],
        "rel. error": d["rel_error"].map(fmt_err),
        "bracket holds truth": d["bracket_ok"].map(lambda v: "yes" if v is True else "NO" if v is False else ""),
    }).reset_index(drop=True)


def _size(row: pd.Series, key: str) -> str:
    """A network's depth or width from the row's options ('' for runs saved before they were recorded)."""
    v = _num(_opt(row, key))
    return str(int(v)) if math.isfinite(v) else ""


def ladder_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per network (by depth and width where the run recorded them) and rung: time, value, and
    tightness against the network's bracket (value / best lower bound, value / best certified
    upper bound; L where they meet)."""
    d = latest[latest["kind"] == "ladder"]
    if d.empty:
        return pd.DataFrame()
    depth = [_num(_opt(r, "depth")) for _, r in d.iterrows()]
    width = [_num(_opt(r, "width")) for _, r in d.iterrows()]
    d = d.assign(_o=_order(d["method"], _RUNG_ORDER), _d=[x if math.isfinite(x) else -1 for x in depth],
                 _w=[x if math.isfinite(x) else -1 for x in width])
    d = d.sort_values(["machine", "_d", "_w", "family", "_o"])
    rows = []
    for _, r in d.iterrows():
        value, low, up = _num(r["value"]), _num(r["lower"]), _num(r["upper"])
        certified = _opt(r, "certified")
        rows.append({
            "machine": r["machine"], "network": r["family"], "depth": _size(r, "depth"), "width": _size(r, "width"),
            "rung": r["method"], "kind": _opt(r, "rung_kind") or "",
            "certified": "yes" if certified is True else "no" if certified is False else "",
            "median time": fmt_time(r["time_median"]), "value": _sig(value),
            "value / best lower": fmt_ratio(value / low) if low > 0 else "",
            "value / best certified": fmt_ratio(value / up) if up > 0 else "",
            "L": _sig(r["truth"]),
        })
    return pd.DataFrame(rows)


def sn_audit_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per layer and estimator: the cost of sigma_hat over all steps and the overshoot of
    sigma(W / sigma_hat) above 1 (median, 90 %, 99 %, max; the share of steps provably above 1)."""
    d = latest[latest["kind"] == "sn_audit"]
    if d.empty:
        return pd.DataFrame()
    d = d.sort_values(["machine", "family", "method"])
    rows = []
    for _, r in d.iterrows():
        above = _num(_opt(r, "provably_above_1"))
        rows.append({
            "machine": r["machine"], "layer": r["family"], "estimator": r["method"],
            "steps": "" if pd.isna(r["steps"]) else str(int(r["steps"])),
            "time, all steps": fmt_time(r["time_median"]),
            **{f"overshoot {q}": _sig(_opt(r, key)) for q, key in
               (("median", "q50"), ("90%", "q90"), ("99%", "q99"), ("max", "max"))},
            "steps provably > 1": "" if not math.isfinite(above) else f"{100 * above:.0f}%",
        })
    return pd.DataFrame(rows)


def lipschitz_sections(latest: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame | None]]:
    """The non-empty sections, in order: conv methods, the ladder, the SN audit."""
    out = []
    conv = conv_methods_table(latest)
    if not conv.empty:
        out.append(("Convolution operator norms: exact DFT, assembled matrix, Lanczos, bound, reshape",
                    "Truth is the exact route's certified bracket (DFT for circular padding, the assembled "
                    "matrix for zeros). *reshape* is sigma(kernel.reshape(out, -1)), what spectral "
                    "normalization code divides a convolution by: no bound on the operator norm (the reshape "
                    "trap), so its bracket misses the truth, above or below.", conv))
    ladder = ladder_table(latest)
    if not ladder.empty:
        out.append(("The bound ladder: time and tightness per rung",
                    "Each rung timed on its own; tightness is against the network's bracket from the full "
                    "ladder (best lower bound, best certified upper bound). The note's product bound (C12) "
                    "is the first row of each network. Networks by depth (linear layers) and hidden width "
                    "(blank for a CNN, and in runs saved before these were recorded); a rung whose cost, read "
                    "from the sizes, passes its limit is skipped and has no row "
                    "(docs/lipschitz-ladder.md lists where each rung stops).", ladder))
    audit = sn_audit_table(latest)
    if not audit.empty:
        out.append(("Spectral normalization audit: overshoot of sigma(W / sigma_hat) above 1",
                    "A weight drifts over training-like steps; sigma_hat per step from k power iterations "
                    "(warm: kept across steps, cold: fresh start), on the matrix, the reshaped conv kernel or "
                    "the conv operator, or the certified upper bound. Overshoot is the certified upper end "
                    "of sigma(W)/sigma_hat minus 1: the margin a '1-Lipschitz' claim would need.", audit))
    return out
