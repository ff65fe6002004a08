"""The report's Lipschitz section: convolution methods, the bound ladder, the spectral-normalization audit.

Each table takes the latest rows (:func:`.load.latest_per_case`) of one
benchmark kind -- ``conv_method`` (benchmarks/test_conv_methods.py),
``sn_audit`` (benchmarks/test_sn_audit.py) -- and returns a frame of strings;
an empty frame when there are no such rows.  :func:`lipschitz_sections` returns
the sections (title, prose, table) in the render step's format, leaving out
empty ones, with the bound ladder's from :mod:`.ladder`.
"""

from __future__ import annotations

import math

import pandas as pd

from .formatting import fmt_err, fmt_ratio, fmt_sig, fmt_time, fmt_time_iqr, num, option, order_key
from .ladder import ladder_sections

__all__ = ["conv_methods_table", "sn_audit_table", "lipschitz_sections"]

_CONV_ORDER = ("fft", "dense", "lanczos", "bound", "reshape")


def conv_methods_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per convolution and method: time, value, relative error against the exact route, and
    whether the method's bracket holds the truth (the reshaped kernel's sigma is no bound)."""
    d = latest[latest["kind"] == "conv_method"]
    if d.empty:
        return pd.DataFrame()
    d = d.assign(_o=order_key(d["method"], _CONV_ORDER)).sort_values(["machine", "family", "_o"])
    return pd.DataFrame({
        "machine": d["machine"],
        "convolution": d["family"],
        "operator": d["shape"],
        "method": d["method"],
        "median time ± IQR": [fmt_time_iqr(t, i if r >= 2 else None)
                              for t, i, r in zip(d["time_median"], d["time_iqr"], d["rounds"].fillna(0))],
        "value": d["value"].map(fmt_sig),
        "value / truth": [fmt_ratio(num(v) / num(t)) if num(t) > 0 else "" for v, t in zip(d["value"], d["truth"])],
        "rel. error": d["rel_error"].map(fmt_err),
        "bracket holds truth": d["bracket_ok"].map(lambda v: "yes" if v is True else "NO" if v is False else ""),
    }).reset_index(drop=True)


def sn_audit_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per layer and estimator: the cost of sigma_hat over all steps and the overshoot of
    sigma(W / sigma_hat) above 1 (median, 90 %, 99 %, max; the share of steps provably above 1)."""
    d = latest[latest["kind"] == "sn_audit"]
    if d.empty:
        return pd.DataFrame()
    d = d.sort_values(["machine", "family", "method"])
    rows = []
    for _, r in d.iterrows():
        above = num(option(r, "provably_above_1"))
        rows.append({
            "machine": r["machine"], "layer": r["family"], "estimator": r["method"],
            "steps": "" if pd.isna(r["steps"]) else str(int(r["steps"])),
            "time, all steps": fmt_time(r["time_median"]),
            **{f"overshoot {q}": fmt_sig(option(r, key)) for q, key in
               (("median", "q50"), ("90%", "q90"), ("99%", "q99"), ("max", "max"))},
            "steps provably > 1": "" if not math.isfinite(above) else f"{100 * above:.0f}%",
        })
    return pd.DataFrame(rows)


def lipschitz_sections(latest: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame | None]]:
    """The non-empty sections, in order: conv methods, the ladder's, the SN audit."""
    out = []
    conv = conv_methods_table(latest)
    if not conv.empty:
        out.append(("Convolution operator norms: exact DFT, assembled matrix, Lanczos, bound, reshape",
                    "Truth is the exact route's certified bracket (DFT for circular padding, the assembled "
                    "matrix for zeros). *reshape* is sigma(kernel.reshape(out, -1)), what spectral "
                    "normalization code divides a convolution by: no bound on the operator norm (the reshape "
                    "trap), so its bracket misses the truth, above or below.", conv))
    out.extend(ladder_sections(latest))
    audit = sn_audit_table(latest)
    if not audit.empty:
        out.append(("Spectral normalization audit: overshoot of sigma(W / sigma_hat) above 1",
                    "A weight drifts over training-like steps; sigma_hat per step from k power iterations "
                    "(warm: kept across steps, cold: fresh start), on the matrix, the reshaped conv kernel or "
                    "the conv operator, or the certified upper bound. Overshoot is the certified upper end "
                    "of sigma(W)/sigma_hat minus 1: the margin a '1-Lipschitz' claim would need.", audit))
    return out
