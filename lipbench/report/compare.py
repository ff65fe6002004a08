"""Step 2 of the report: comparisons, always as ratios of medians.

* :func:`add_speedups` -- each method against ``svd``, ``arpack`` and
  ``numpy.linalg.norm`` measured in the *same* run on the same input;
* :func:`cross_hardware` -- machines (and backends) side by side, the latest
  run of each;
* :func:`method_picker` -- the fastest method that met its target, and the
  runner-up, per machine, backend, dtype, spectrum, tolerance and shape.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..benchmark_meta import TOL_INDEPENDENT
from .formatting import fmt_code, fmt_err, fmt_time, shape_key
from .load import latest_per_case

__all__ = ["REFERENCE_METHODS", "TOL_INDEPENDENT", "CASE", "add_speedups", "cross_hardware",
           "broadcast_tol_independent", "method_picker"]

#: Reference methods for speed-ups: column suffix -> method name in the rows.
REFERENCE_METHODS = {
    "svd": "svd",
    "arpack": "arpack",
    "numpy_norm": "numpy.linalg.norm",
}

#: the columns that name one input of the grid
CASE = ["backend", "dtype", "family", "shape"]


def add_speedups(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``speedup_vs_<ref>`` = median(ref) / median(method), within one run.

    A speed-up above 1 means the method is faster than the reference.  The
    reference is the row of the same machine, run, backend, dtype, family and
    shape; for ``arpack`` also the same tolerance, while ``svd`` and
    ``numpy.linalg.norm`` (tolerance-independent) are matched at any tolerance.
    """
    out = df.copy()
    spectral = out["kind"] == "spectral"
    keys = ["machine", "run"] + CASE
    for suffix, ref in REFERENCE_METHODS.items():
        col = f"speedup_vs_{suffix}"
        refs = out[spectral & (out["method"] == ref)]
        if ref in TOL_INDEPENDENT:
            ref_t = refs.groupby(keys, dropna=False)["time_median"].median().rename("_ref")
            merged = out[keys].merge(ref_t.reset_index(), on=keys, how="left")
        else:
            ref_t = refs.groupby(keys + ["tol"], dropna=False)["time_median"].median().rename("_ref")
            merged = out[keys + ["tol"]].merge(ref_t.reset_index(), on=keys + ["tol"], how="left")
        out[col] = np.where(spectral, merged["_ref"].to_numpy() / out["time_median"].to_numpy(), np.nan)
    return out


def _hardware(row: pd.Series) -> str:
    return f"{row['machine']}:{row['backend']}"


def cross_hardware(df: pd.DataFrame) -> pd.DataFrame:
    """Machines (and backends) side by side: median time per case, and
    ``speedup <hw> vs <ref>`` = median on the reference hardware / median on
    ``hw`` (above 1: ``hw`` is faster).  The reference is the first CPU hardware
    in sort order.  Only cases measured on at least two hardware keys are listed."""
    d = latest_per_case(df[df["kind"] == "spectral"])
    if d.empty:
        return pd.DataFrame()
    d = d.assign(hardware=d.apply(_hardware, axis=1),
                 tol=d["tol"].map(lambda t: "-" if pd.isna(t) else f"{float(t):g}"))
    hws = sorted(d["hardware"].unique(), key=lambda h: (not h.startswith("cpu"), h))
    if len(hws) < 2:
        return pd.DataFrame()
    idx = ["method", "shape", "dtype", "family", "tol"]
    piv = d.pivot_table(index=idx, columns="hardware", values="time_median", aggfunc="median", dropna=False)
    piv = piv.reindex(columns=hws)
    piv = piv[piv.notna().sum(axis=1) >= 2]
    ref = hws[0]
    for hw in hws[1:]:
        piv[f"speedup {hw} vs {ref}"] = piv[ref] / piv[hw]
    piv = piv.reset_index()
    piv = piv.assign(_sk=piv["shape"].map(shape_key)).sort_values(["method", "_sk", "dtype", "family", "tol"])
    return piv.drop(columns="_sk").reset_index(drop=True)


def broadcast_tol_independent(d: pd.DataFrame) -> pd.DataFrame:
    """Copy each tolerance-independent row (svd, numpy.linalg.norm; ``tol`` NaN)
    to every tolerance measured for the same machine, run, backend, dtype,
    family and shape, so that it appears in each tolerance's table."""
    keys = ["machine", "run"] + CASE
    indep = d[d["method"].isin(TOL_INDEPENDENT) & d["tol"].isna()]
    rest = d[~d.index.isin(indep.index)]
    tols = rest[rest["tol"].notna()][keys + ["tol"]].drop_duplicates()
    if indep.empty or tols.empty:
        return rest.reset_index(drop=True)
    expanded = indep.drop(columns=["tol"]).merge(tols, on=keys, how="inner")
    return pd.concat([rest, expanded[d.columns]], ignore_index=True)


def method_picker(df: pd.DataFrame) -> pd.DataFrame:
    """For each machine, backend, dtype, family, tolerance and shape: the fastest
    method that met its target accuracy, and the runner-up."""
    d = broadcast_tol_independent(latest_per_case(df[df["kind"] == "spectral"]))
    d = d[d["met_target"].map(lambda v: v is True).astype(bool)]
    rows = []
    for key, g in d.groupby(["machine", "backend", "dtype", "family", "tol", "shape"], dropna=False):
        g = g.sort_values("time_median")
        best = g.iloc[0]
        second = g.iloc[1] if len(g) > 1 else None
        rows.append({
            "machine": key[0], "backend": key[1], "dtype": key[2], "family": key[3], "tol": key[4],
            "shape": key[5], "fastest (met target)": best["method"],
            "median time": fmt_time(best["time_median"]), "rel. error": fmt_err(best["rel_error"]),
            "runner-up": "" if second is None else second["method"],
            "runner-up time": "" if second is None else fmt_time(second["time_median"]),
            "code": fmt_code(best.get("code"), best.get("stale"), best.get("auto_rule"), best.get("backend")),
        })
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out.sort_values(["machine", "backend", "dtype", "family", "tol", "shape"],
                              key=lambda s: s.map(shape_key) if s.name == "shape" else s)
    return out.reset_index(drop=True)
