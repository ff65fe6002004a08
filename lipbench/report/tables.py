"""The report's tables, formatted for reading (text cells, units, ``met``/``MISS``).

Each function takes the tidy frame (with speed-ups, :func:`.compare.add_speedups`)
and returns a frame of strings, one row per benchmark or machine; the render
step writes them as Markdown and HTML.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .compare import TOL_INDEPENDENT
from .formatting import fmt_code, fmt_err, fmt_int, fmt_ratio, fmt_time, fmt_time_iqr, fmt_tol, shape_key

__all__ = ["codes", "HEADLINE_SHAPES", "group_table", "headline_table", "batched_table", "training_table",
           "machines_table", "runs_table", "cross_hardware_table"]

#: the square float64 Gaussian inputs of the headline table
HEADLINE_SHAPES = ("1024x1024", "2048x2048", "4096x4096")


def codes(t: pd.DataFrame) -> list[str]:
    """The ``code`` cell of each row (commit, dirty, stale): :func:`.formatting.fmt_code`."""
    return [fmt_code(c, s, r, b) for c, s, r, b in zip(t["code"], t["stale"], t["auto_rule"], t["backend"])]


def _times_iqr(t: pd.DataFrame) -> list[str]:
    """``median ± IQR`` per row; the IQR only where at least two rounds were timed."""
    return [fmt_time_iqr(m, i if r >= 2 else None)
            for m, i, r in zip(t["time_median"], t["time_iqr"], t["rounds"].fillna(0))]


def group_table(g: pd.DataFrame) -> pd.DataFrame:
    """One machine · backend · dtype · spectrum · tolerance: every method and size."""
    g = g.assign(_sk=g["shape"].map(shape_key)).sort_values(["_sk", "time_median"])
    return pd.DataFrame({
        "shape": g["shape"],
        "method": g["method"] + np.where(g["baseline"].map(lambda v: v is True).astype(bool), " (baseline)", ""),
        "median time ± IQR": _times_iqr(g),
        "rounds": g["rounds"].map(fmt_int),
        "rel. error": g["rel_error"].map(fmt_err),
        "target": np.where(g["status"] == "ok", "met", "MISS"),
        "matvecs": g["matvecs"].map(fmt_int),
        "iters": g["iterations"].map(fmt_int),
        "speed-up vs svd": g["speedup_vs_svd"].map(fmt_ratio),
        "vs arpack": g["speedup_vs_arpack"].map(fmt_ratio),
        "vs numpy.linalg.norm": g["speedup_vs_numpy_norm"].map(fmt_ratio),
        "code": codes(g),
    }).reset_index(drop=True)


def headline_table(d: pd.DataFrame) -> pd.DataFrame:
    """1024², 2048² and 4096² float64 Gaussian at 1e-6: each method's time as a
    ratio to numpy.linalg.norm and to arpack, with its error."""
    h = d[(d["kind"] == "spectral") & (d["dtype"] == "float64") & (d["family"] == "gaussian")
          & d["shape"].isin(HEADLINE_SHAPES)
          & ((d["tol"] == 1e-6) | d["method"].isin(TOL_INDEPENDENT))]
    if h.empty:
        return pd.DataFrame()
    h = h.assign(_sk=h["shape"].map(shape_key)).sort_values(["machine", "backend", "_sk", "time_median"])

    def inverse(r: float) -> str:
        return "" if not math.isfinite(r) else f"{r:.3g}"

    return pd.DataFrame({
        "machine": h["machine"], "backend": h["backend"], "shape": h["shape"], "method": h["method"],
        "median time ± IQR": _times_iqr(h),
        "rounds": h["rounds"].map(fmt_int),
        "rel. error": h["rel_error"].map(fmt_err),
        "target 1e-6": np.where(h["status"] == "ok", "met", "MISS"),
        "matvecs": h["matvecs"].map(fmt_int),
        "time / time(numpy.linalg.norm)": (1.0 / h["speedup_vs_numpy_norm"]).map(inverse),
        "time / time(arpack)": (1.0 / h["speedup_vs_arpack"]).map(inverse),
        "code": codes(h),
    }).reset_index(drop=True)


def batched_table(d: pd.DataFrame) -> pd.DataFrame:
    """Stacks of small matrices: batched power iteration, a loop, batched SVD."""
    b = d[d["kind"] == "batched"]
    if b.empty:
        return pd.DataFrame()
    b = b.sort_values(["machine", "backend", "time_median"])
    return pd.DataFrame({
        "machine": b["machine"], "backend": b["backend"], "stack": b["shape"], "strategy": b["method"],
        "median time": b["time_median"].map(fmt_time), "worst rel. error": b["rel_error"].map(fmt_err),
        "target 1e-6": np.where(b["status"] == "ok", "met", "MISS"),
        "matvecs per matrix": b["matvecs"].map(fmt_int),
        "code": codes(b),
    }).reset_index(drop=True)


def training_table(d: pd.DataFrame) -> pd.DataFrame:
    """The training-like scenario: time for all steps and the tracking error."""
    t = d[d["kind"] == "training"]
    if t.empty:
        return pd.DataFrame()
    t = t.sort_values(["machine", "backend", "shape", "time_median"])
    return pd.DataFrame({
        "machine": t["machine"], "backend": t["backend"], "dtype": t["dtype"], "shape": t["shape"],
        "strategy": t["method"], "steps": t["steps"].map(fmt_int),
        "time for all steps": _times_iqr(t),
        "matvecs": t["matvecs"].map(fmt_int),
        "mean tracking error": t["mean_tracking_error"].map(fmt_err),
        "max tracking error": t["max_tracking_error"].map(fmt_err),
        "max after burn-in": t["max_tracking_error_after_burn_in"].map(fmt_err),
        "target": np.where(t["status"] == "ok", "met", "MISS"),
        "tol": t["tol"].map(fmt_tol),
        "code": codes(t),
    }).reset_index(drop=True)


def runs_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per saved run: its date, the code that produced it, the profile and the
    rule of auto it ran, and how many of its auto rows are stale."""
    g = df.groupby(["machine", "run"], sort=False)
    out = g.agg(date=("datetime", "max"), code=("code", "first"), rows=("name", "size"),
                stale=("stale", "sum"), profile=("profile", "first"), backends=("backend", "unique"))
    out = out.reset_index().sort_values(["machine", "date"])
    rules = g.apply(lambda t: ", ".join(f"{b} v{int(r)}" for b, r in
                                        t[["backend", "auto_rule"]].dropna().drop_duplicates().itertuples(index=False)),
                    include_groups=False)
    return pd.DataFrame({
        "machine": out["machine"], "run": out["run"],
        "date": out["date"].map(lambda t: "" if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M")),
        "code": out["code"], "profile": out["profile"].fillna(""),
        "auto rule": [rules.get((m, r), "") for m, r in zip(out["machine"], out["run"])],
        "rows": out["rows"].astype(int), "stale auto rows": out["stale"].astype(int),
    }).reset_index(drop=True)


def machines_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per machine: runs, rows, GPU, BLAS and the newest run's time."""
    g = df.groupby("machine").agg(runs=("file", "nunique"), rows=("name", "size"),
                                  gpu=("gpu", "first"), blas=("blas", "first"),
                                  latest=("datetime", "max"))
    g["latest"] = g["latest"].map(lambda t: "" if pd.isna(t) else t.strftime("%Y-%m-%d %H:%M"))
    return g.reset_index()


def cross_hardware_table(cross: pd.DataFrame) -> pd.DataFrame:
    """:func:`.compare.cross_hardware` with times and speed-ups written out."""
    out = cross.copy()
    for c in out.columns:
        if str(c).startswith("speedup"):
            out[c] = out[c].map(fmt_ratio)
        elif c not in ("method", "shape", "dtype", "family", "tol"):
            out[c] = out[c].map(fmt_time)
    return out
