"""The report's bound-ladder sections: its targets, where each rung stops scaling, each rung's time and tightness.

Rows come from benchmarks/test_ladder.py (``kind == "ladder"``: one rung of one
network, with the network's bracket from the full ladder) and
benchmarks/test_ladder_targets.py (``kind == "ladder_target"``: a certified
bracket, or a LipSDP value, with the target it is held to).  A target's verdict
is read again here from the recorded numbers and thresholds, not taken from the
row.  Each table is a frame of strings, empty when there are no such rows.
"""

from __future__ import annotations

import math

import pandas as pd

from .formatting import fmt_code, fmt_ratio, fmt_sig, fmt_time, num, option, order_key

__all__ = ["ladder_table", "ladder_scaling_table", "ladder_targets_table", "ladder_target_met", "ladder_sections"]

RUNG_ORDER = ("product", "eclipse_fast", "lipsdp_layer", "lipsdp_neuron", "patterns", "attained_pattern",
              "empirical", "attained_point")
_RUNG_LABEL = {"product": "product", "eclipse_fast": "ECLipsE-Fast", "lipsdp_layer": "LipSDP-Layer",
               "lipsdp_neuron": "LipSDP-Neuron", "patterns": "patterns", "attained_pattern": "attained",
               "empirical": "empirical", "attained_point": "attained at a point"}
#: a network's rows carry no row for a rung the ladder skipped (past its limit, or not applicable)
SKIPPED = "-"


def _size(row: pd.Series, key: str) -> str:
    """A network's depth or width from the row's options ('' for runs saved before they were recorded)."""
    v = num(option(row, key))
    return str(int(v)) if math.isfinite(v) else ""


def _rows(latest: pd.DataFrame, kind: str) -> pd.DataFrame:
    d = latest[latest["kind"] == kind]
    if d.empty:
        return d
    depth = [num(option(r, "depth")) for _, r in d.iterrows()]
    width = [num(option(r, "width")) for _, r in d.iterrows()]
    d = d.assign(_o=order_key(d["method"], RUNG_ORDER), _d=[x if math.isfinite(x) else -1 for x in depth],
                 _w=[x if math.isfinite(x) else -1 for x in width])
    return d.sort_values(["machine", "_d", "_w", "family", "_o"])


def ladder_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per network (by depth and width where the run recorded them) and rung: time, value, and
    tightness against the network's bracket (value / best lower bound, value / best certified
    upper bound; L where they meet)."""
    d = _rows(latest, "ladder")
    rows = []
    for _, r in d.iterrows():
        value, low, up = num(r["value"]), num(r["lower"]), num(r["upper"])
        certified = option(r, "certified")
        rows.append({
            "machine": r["machine"], "network": r["family"], "depth": _size(r, "depth"), "width": _size(r, "width"),
            "rung": r["method"], "kind": option(r, "rung_kind") or "",
            "certified": "yes" if certified is True else "no" if certified is False else "",
            "median time": fmt_time(r["time_median"]), "value": fmt_sig(value),
            "value / best lower": fmt_ratio(value / low) if low > 0 else "",
            "value / best certified": fmt_ratio(value / up) if up > 0 else "",
            "L": fmt_sig(r["truth"]),
        })
    return pd.DataFrame(rows)


def ladder_scaling_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per network, one line: each rung's median time (``-`` where the ladder skipped it), the
    product bound over the best lower bound and the best certified upper bound over it."""
    d = _rows(latest, "ladder")
    rows = []
    for (machine, family), g in d.groupby(["machine", "family"], sort=False):
        first = g.iloc[0]
        low, up = num(first["lower"]), num(first["upper"])
        times = dict(zip(g["method"], g["time_median"]))
        product = num(g.loc[g["method"] == "product", "value"].iloc[0]) if "product" in times else math.nan
        hidden = num(option(first, "hidden_units"))
        rows.append({
            "machine": machine, "network": family, "depth": _size(first, "depth"), "width": _size(first, "width"),
            "hidden units": str(int(hidden)) if math.isfinite(hidden) else "",
            "trained": "yes" if option(first, "trained") is True else "",
            **{f"{_RUNG_LABEL[r]} time": fmt_time(times[r]) if r in times else SKIPPED for r in RUNG_ORDER},
            "product / best lower": fmt_ratio(product / low) if low > 0 else "",
            "best certified / best lower": fmt_ratio(up / low) if low > 0 else "",
        })
    return pd.DataFrame(rows)


def ladder_target_met(row: pd.Series) -> bool:
    """The verdict of one ``ladder_target`` row from its numbers: a bracket's width (or its
    distance from a published constant) and time against the target's; a LipSDP value's
    agreement with the published one and with the solver's."""
    tol = num(row["tol"])
    if row["method"] == "lipschitz_ladder":
        low, up, truth = num(row["lower"]), num(row["upper"]), num(row["truth"])
        seconds, allowed = num(option(row, "ladder_seconds")), num(option(row, "target_seconds"))
        inside = (up <= truth * (1 + tol) and low >= truth * (1 - tol)) if math.isfinite(truth) \
            else low > 0 and (up - low) / low <= tol
        return bool(inside and low <= up and seconds <= allowed)
    solver, value = num(option(row, "solver_value")), num(row["value"])
    return bool(round(solver, 3) == num(row["truth"]) and option(row, "certified") is True
                and abs(value / solver - 1) <= tol)


def _target_text(row: pd.Series) -> tuple[str, str]:
    """(what the row is held to, what it measured)."""
    tol = num(row["tol"])
    if row["method"] == "lipschitz_ladder":
        low, up, truth = num(row["lower"]), num(row["upper"]), num(row["truth"])
        allowed = num(option(row, "target_seconds"))
        what = (f"certified bracket within {tol:g} (relative) of the published {truth:g}" if math.isfinite(truth)
                else f"certified bracket at most {100 * tol:g}% wide") + f", in {allowed:g} s"
        width = (up - low) / low if low > 0 else math.inf
        return what, f"[{low:.7g}, {up:.7g}], {100 * width:.3g}% wide"
    form = str(row["method"]).removeprefix("lipsdp_").capitalize()
    solver, value = num(option(row, "solver_value")), num(row["value"])
    what = (f"solver's LipSDP-{form} = published {num(row['truth']):g}; verified within {tol:g} (relative) of "
            "the solver's")
    verified = "verified" if option(row, "certified") is True else "NOT verified"
    return what, f"solver {solver:.6g}, {verified} {value:.6g} ({value / solver - 1:.1e} above)"


def ladder_targets_table(latest: pd.DataFrame) -> pd.DataFrame:
    """Per machine and target: what it asks, what was measured, the time, the verdict, the code."""
    d = latest[latest["kind"] == "ladder_target"]
    if d.empty:
        return pd.DataFrame()
    d = d.assign(_o=(d["method"] != "lipschitz_ladder").astype(int)).sort_values(["machine", "_o", "family",
                                                                                 "method"])
    rows = []
    for _, r in d.iterrows():
        what, measured = _target_text(r)
        seconds = option(r, "ladder_seconds") if r["method"] == "lipschitz_ladder" else r["time_median"]
        rows.append({"machine": r["machine"], "network": r["family"], "target": what, "measured": measured,
                     "time": fmt_time(seconds), "met": "yes" if ladder_target_met(r) else "NO",
                     "code": fmt_code(r["code"])})
    return pd.DataFrame(rows)


def ladder_sections(latest: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame | None]]:
    """The non-empty ladder sections, in order: targets, where each rung stops, each rung."""
    out = []
    targets = ladder_targets_table(latest)
    if not targets.empty:
        out.append(("The bound ladder's targets: certified brackets and LipSDP",
                    "Each bracket is one run of `lipschitz_ladder` with its branch and bound, timed whole: "
                    "the best certified upper bound and the best certified lower bound (sigma(J(x)) proven "
                    "at an input x found by the pattern search). Width is (upper - lower) / lower. The "
                    "verdict is read from the recorded numbers (benchmarks/test_ladder_targets.py, full "
                    "profile).", targets))
    scaling = ladder_scaling_table(latest)
    if not scaling.empty:
        out.append(("The bound ladder: where each rung stops scaling",
                    "One line per network: each rung's median time, `-` where the ladder skipped it (its "
                    "cost, read from the sizes, past its limit, or the rung does not apply: "
                    "docs/lipschitz-ladder.md lists the limits). The best lower bound is the largest of "
                    "the lower rungs, certified (attained, attained at a point) or not (realised pattern, "
                    "empirical). *product / best lower* bounds how many times the truth the note's product "
                    "bound (C12) is; *best certified / best lower* is the width of what is known of L (1x: "
                    "L is known), so a weak lower bound inflates both.", scaling))
    ladder = ladder_table(latest)
    if not ladder.empty:
        out.append(("The bound ladder: time and tightness per rung",
                    "Each rung timed on its own; tightness is against the network's bracket from the full "
                    "ladder (best lower bound, best certified upper bound). The note's product bound (C12) "
                    "is the first row of each network. Networks by depth (linear layers) and hidden width "
                    "(blank for a CNN, and in runs saved before these were recorded); a rung the ladder "
                    "skipped has no row.", ladder))
    return out
