"""Saved benchmark runs -> one tidy pandas frame -> Markdown, CSV, PNG and HTML reports.

``pytest benchmarks --benchmark-save=NAME`` writes pytest-benchmark JSON files
under ``results/<machine>/<pytest-benchmark machine id>/NNNN_NAME.json``.  This
module reads every such file under a results folder (any machine, any depth),
turns each benchmark into one row of a :class:`pandas.DataFrame` (time
statistics next to the accuracy the benchmark recorded in ``extra_info``), and
writes

* ``REPORT.md``    -- tables per group: median time with IQR, relative error,
  matvecs, speed-ups against ``svd``, ``arpack`` and ``numpy.linalg.norm``
  (ratios of medians from the *same* run), misses marked; a method picker; a
  cross-hardware table (ratios of medians between machines);
* ``results.csv`` and ``curves.csv`` -- the tidy frames;
* ``plots/*.png`` -- time against size per method and backend (log axes),
  relative error against matvecs and time, training-style tracking error;
* ``REPORT.html`` -- the same tables and plots in one self-contained page.

A file that is not valid JSON, or valid JSON that is not a lipbench
pytest-benchmark run, is named in a :class:`ReportWarning` and skipped; the
rest is still reported.  This module reads results only: it never imports the
estimators (data flows one way, results -> report).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = [
    "ReportWarning",
    "REFERENCE_METHODS",
    "find_result_files",
    "load_results",
    "load_curves",
    "add_speedups",
    "latest_per_case",
    "cross_hardware",
    "method_picker",
    "write_report",
    "add_cli_arguments",
    "run_cli",
]


class ReportWarning(UserWarning):
    """A results file was skipped (corrupt or foreign) or a row was unusable."""


#: Reference methods for speed-ups: column suffix -> method name in the rows.
REFERENCE_METHODS = {
    "svd": "svd",
    "arpack": "arpack",
    "numpy_norm": "numpy.linalg.norm",
}
#: Methods whose result does not depend on the target tolerance: their time is
#: measured once per input and compared with every tolerance's rows.
TOL_INDEPENDENT = frozenset({"svd", "numpy.linalg.norm"})

_CASE = ["backend", "dtype", "family", "shape"]
_LIST_FIELDS = ("curve_matvecs", "curve_time", "curve_rel_error", "curve_iteration",
                "tracking_rel_error")

_STAT_FIELDS = {
    "median": "time_median",
    "iqr": "time_iqr",
    "q1": "time_q1",
    "q3": "time_q3",
    "mean": "time_mean",
    "min": "time_min",
    "max": "time_max",
    "stddev": "time_stddev",
    "rounds": "rounds",
}

_EXTRA_FIELDS = (
    "kind", "method", "baseline", "backend", "device", "dtype", "family", "shape", "m", "n",
    "nnz", "tol", "rel_error", "value", "truth", "truth_source", "lower", "upper",
    "bracket_ok", "iterations", "matvecs", "converged", "met_target", "seed",
    "blas_threads", "impl", "profile", "note", "steps", "mean_tracking_error",
    "max_tracking_error", "final_tracking_error", "max_tracking_error_after_burn_in",
    "error_estimate", "warning", "truth_uncertainty", "target_tol", "timing", "result_method",
    "matvec_seconds", "options", "matvecs_per_step_after_first", "theory_steps", "contenders", "excluded",
)


# --------------------------------------------------------------------------- loading


def find_result_files(path: str | Path) -> list[Path]:
    """Every ``*.json`` file under ``path`` (or ``path`` itself), sorted."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.exists():
        raise FileNotFoundError(f"results path {str(p)!r} does not exist; run "
                                f"`pytest benchmarks --benchmark-save=NAME` first")
    return sorted(f for f in p.rglob("*.json") if f.is_file())


def _machine_from_path(file: Path, root: Path) -> str:
    try:
        rel = file.relative_to(root)
    except ValueError:
        return "unknown"
    return rel.parts[0] if len(rel.parts) >= 2 else "unknown"


def _blas_summary(machine_info: dict) -> str:
    blas = machine_info.get("blas") or []
    if isinstance(blas, list) and blas:
        b = blas[0]
        return f"{b.get('internal_api', '?')} {b.get('version', '')} x{b.get('num_threads', '?')}".strip()
    return ""


def _rows_from_file(file: Path, root: Path) -> list[dict]:
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        warnings.warn(f"skipping {file}: cannot be read ({exc})", ReportWarning, stacklevel=3)
        return []
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        warnings.warn(f"skipping {file}: not valid JSON ({exc}); is the file truncated?",
                      ReportWarning, stacklevel=3)
        return []
    if not (isinstance(doc, dict) and isinstance(doc.get("benchmarks"), list)
            and isinstance(doc.get("machine_info"), dict)):
        warnings.warn(f"skipping {file}: not a pytest-benchmark results file "
                      f"(expected an object with 'machine_info' and a 'benchmarks' list)",
                      ReportWarning, stacklevel=3)
        return []
    mi = doc["machine_info"]
    machine = str(mi.get("lipbench_machine") or _machine_from_path(file, root))
    try:
        rel = str(file.relative_to(root))
    except ValueError:
        rel = str(file)
    commit = (doc.get("commit_info") or {}).get("id") or ""
    rows, foreign = [], 0
    for bench in doc["benchmarks"]:
        extra = bench.get("extra_info") if isinstance(bench, dict) else None
        stats = bench.get("stats") if isinstance(bench, dict) else None
        if not isinstance(extra, dict) or "method" not in extra or not isinstance(stats, dict):
            foreign += 1
            continue
        row: dict[str, Any] = {
            "machine": machine,
            "run": file.stem,
            "file": rel,
            "datetime": doc.get("datetime"),
            "commit": str(commit)[:12],
            "name": bench.get("name"),
            "fullname": bench.get("fullname"),
            "group": bench.get("group"),
            "gpu": mi.get("gpu_name") or "",
            "blas": _blas_summary(mi),
        }
        for key in _EXTRA_FIELDS:
            row[key] = extra.get(key)
        for key in _LIST_FIELDS:
            row[key] = extra.get(key)
        for src, dst in _STAT_FIELDS.items():
            row[dst] = stats.get(src)
        rows.append(row)
    if foreign:
        warnings.warn(f"{file}: skipped {foreign} of {len(doc['benchmarks'])} benchmarks that "
                      f"carry no lipbench extra_info (not produced by lipbench's benchmarks/)",
                      ReportWarning, stacklevel=3)
    return rows


def load_results(path: str | Path) -> pd.DataFrame:
    """Read every saved run under ``path`` into one tidy frame (one row per benchmark).

    Columns: provenance (machine, run, file, datetime, commit, gpu, blas), the
    case (kind, method, baseline, backend, device, dtype, family, shape, m, n,
    nnz, tol, seed), accuracy (rel_error, value, truth, lower, upper,
    bracket_ok, iterations, matvecs, converged, met_target) and time (seconds:
    time_median, time_iqr, time_q1, time_q3, time_mean, time_min, time_max,
    time_stddev, rounds).  List-valued extras (error curves, tracking errors)
    are kept as object columns.  Corrupt or foreign files are skipped with a
    :class:`ReportWarning` naming them.
    """
    root = Path(path)
    root_dir = root if root.is_dir() else root.parent
    rows: list[dict] = []
    for f in find_result_files(root):
        rows.extend(_rows_from_file(f, root_dir))
    columns = (["machine", "run", "file", "datetime", "commit", "name", "fullname", "group",
                "gpu", "blas"] + list(_EXTRA_FIELDS) + list(_LIST_FIELDS) + list(_STAT_FIELDS.values()))
    df = pd.DataFrame(rows, columns=columns)
    if df.empty:
        return df
    for col in ("m", "n", "nnz", "iterations", "matvecs", "seed", "blas_threads", "rounds", "steps"):
        df[col] = pd.to_numeric(df[col], errors="coerce")
    for col in ("tol", "rel_error", "value", "truth", "lower", "upper", "mean_tracking_error",
                "max_tracking_error", "final_tracking_error", "max_tracking_error_after_burn_in",
                "error_estimate", "truth_uncertainty", "target_tol", "matvec_seconds",
                "matvecs_per_step_after_first") + tuple(_STAT_FIELDS.values()):
        if col in df:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    for col in ("baseline", "converged", "met_target", "bracket_ok"):
        df[col] = df[col].map(lambda v: bool(v) if v is not None and not _isnan(v) else None).astype(object)
    df["kind"] = df["kind"].fillna("spectral")
    df["datetime"] = pd.to_datetime(df["datetime"], utc=True, errors="coerce")
    df["entries"] = np.where(df["nnz"].notna(), df["nnz"], df["m"] * df["n"])
    df["status"] = np.where(df["met_target"].map(lambda v: v is True).astype(bool), "ok", "MISS")
    return df


def _isnan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def load_curves(df: pd.DataFrame) -> pd.DataFrame:
    """Long frame of error-vs-cost curves (one row per recorded iteration)."""
    out = []
    if df.empty:
        return pd.DataFrame(columns=["machine", "run", "method", "backend", "dtype", "family",
                                     "shape", "tol", "iteration", "matvecs", "time", "rel_error"])
    for _, r in df[df["curve_rel_error"].map(lambda v: isinstance(v, list) and len(v) > 0).astype(bool)].iterrows():
        n = len(r["curve_rel_error"])
        def col(name: str) -> list:
            v = r[name]
            return list(v) if isinstance(v, list) and len(v) == n else [math.nan] * n
        out.append(pd.DataFrame({
            "machine": r["machine"], "run": r["run"], "method": r["method"], "backend": r["backend"],
            "dtype": r["dtype"], "family": r["family"], "shape": r["shape"], "tol": r["tol"],
            "iteration": col("curve_iteration"), "matvecs": col("curve_matvecs"),
            "time": col("curve_time"), "rel_error": col("curve_rel_error"),
        }))
    if not out:
        return pd.DataFrame(columns=["machine", "run", "method", "backend", "dtype", "family",
                                     "shape", "tol", "iteration", "matvecs", "time", "rel_error"])
    return pd.concat(out, ignore_index=True)


# --------------------------------------------------------------------------- analysis


def add_speedups(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``speedup_vs_<ref>`` = median(ref) / median(method), within one run.

    A speed-up above 1 means the method is faster than the reference.  The
    reference is the row of the same machine, run, backend, dtype, family and
    shape; for ``arpack`` also the same tolerance, while ``svd`` and
    ``numpy.linalg.norm`` (tolerance-independent) are matched at any tolerance.
    """
    out = df.copy()
    spectral = out["kind"] == "spectral"
    keys = ["machine", "run"] + _CASE
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


def latest_per_case(df: pd.DataFrame) -> pd.DataFrame:
    """For each machine and benchmark (``fullname``), the row of the newest run."""
    if df.empty:
        return df
    d = df.sort_values(["datetime", "file"], na_position="first")
    return d.drop_duplicates(["machine", "fullname"], keep="last").reset_index(drop=True)


def _shape_key(shape: str) -> tuple:
    m = re.match(r"(\d+)x(\d+)", str(shape))
    if not m:
        return (math.inf, str(shape))
    a, b = int(m.group(1)), int(m.group(2))
    return (a * b, a, b, str(shape))


def _hardware(row: pd.Series) -> str:
    return f"{row['machine']}:{row['backend']}"


def cross_hardware(df: pd.DataFrame) -> pd.DataFrame:
    """Machines (and backends) side by side: median time per case, and
    ``ratio_<hw>`` = median on the reference hardware / median on ``hw`` (above 1:
    ``hw`` is faster).  The reference is the first CPU hardware in sort order.
    Only cases measured on at least two hardware keys are listed."""
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
    piv = piv.assign(_sk=piv["shape"].map(_shape_key)).sort_values(["method", "_sk", "dtype", "family", "tol"])
    return piv.drop(columns="_sk").reset_index(drop=True)


def broadcast_tol_independent(d: pd.DataFrame) -> pd.DataFrame:
    """Copy each tolerance-independent row (svd, numpy.linalg.norm; ``tol`` NaN)
    to every tolerance measured for the same machine, run, backend, dtype,
    family and shape, so that it appears in each tolerance's table."""
    keys = ["machine", "run"] + _CASE
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
            "median time": _fmt_time(best["time_median"]), "rel. error": _fmt_err(best["rel_error"]),
            "runner-up": "" if second is None else second["method"],
            "runner-up time": "" if second is None else _fmt_time(second["time_median"]),
        })
    out = pd.DataFrame(rows)
    if not out.empty:
        out = out.sort_values(["machine", "backend", "dtype", "family", "tol", "shape"],
                              key=lambda s: s.map(_shape_key) if s.name == "shape" else s)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- formatting


def _fmt_time(t: Any) -> str:
    if t is None or (isinstance(t, float) and not math.isfinite(t)):
        return ""
    t = float(t)
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if t >= scale or unit == "ns":
            return f"{t / scale:.3g} {unit}"
    return f"{t:.3g} s"  # pragma: no cover


def _fmt_time_iqr(t: Any, iqr: Any) -> str:
    s = _fmt_time(t)
    if s and iqr is not None and not pd.isna(iqr) and math.isfinite(float(iqr)):
        return f"{s} ± {_fmt_time(iqr).replace(' ', ' ')}"
    return s


def _fmt_err(e: Any) -> str:
    if e is None or (isinstance(e, float) and math.isnan(e)):
        return ""
    return f"{float(e):.1e}"


def _fmt_ratio(r: Any) -> str:
    if r is None or (isinstance(r, float) and not math.isfinite(r)):
        return ""
    return f"{float(r):.3g}x"


def _fmt_int(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(int(v))


def _fmt_tol(t: Any) -> str:
    if t is None or (isinstance(t, float) and math.isnan(t)):
        return "-"
    return f"{float(t):g}"


def _group_table(g: pd.DataFrame) -> pd.DataFrame:
    g = g.assign(_sk=g["shape"].map(_shape_key)).sort_values(["_sk", "time_median"])
    return pd.DataFrame({
        "shape": g["shape"],
        "method": g["method"] + np.where(g["baseline"].map(lambda v: v is True).astype(bool), " (baseline)", ""),
        "median time ± IQR": [_fmt_time_iqr(t, i if r >= 2 else None)
                              for t, i, r in zip(g["time_median"], g["time_iqr"], g["rounds"].fillna(0))],
        "rounds": g["rounds"].map(_fmt_int),
        "rel. error": g["rel_error"].map(_fmt_err),
        "target": np.where(g["status"] == "ok", "met", "MISS"),
        "matvecs": g["matvecs"].map(_fmt_int),
        "iters": g["iterations"].map(_fmt_int),
        "speed-up vs svd": g["speedup_vs_svd"].map(_fmt_ratio),
        "vs arpack": g["speedup_vs_arpack"].map(_fmt_ratio),
        "vs numpy.linalg.norm": g["speedup_vs_numpy_norm"].map(_fmt_ratio),
    }).reset_index(drop=True)


def _md_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_(no rows)_\n"
    cols = [str(c) for c in df.columns]
    def cell(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v).replace("|", "\\|")
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(s)).strip("-").lower() or "x"


# --------------------------------------------------------------------------- plots


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_time_vs_size(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One PNG per machine: median time against matrix size (square dense
    Gaussian inputs), one line per method and backend, log axes; hollow
    markers with a cross are misses."""
    plt = _plt()
    d = latest_per_case(df[(df["kind"] == "spectral") & (df["family"] == "gaussian")])
    d = d[(d["m"] == d["n"]) & d["nnz"].isna() & d["time_median"].notna()]
    paths = []
    for machine, gm in d.groupby("machine"):
        tols = gm[gm["tol"].notna()]
        panels = sorted({(dt, float(t)) for dt, t in zip(tols["dtype"], tols["tol"])},
                        key=lambda k: (str(k[0]), -k[1]))
        if not panels:
            continue
        ncols = min(2, len(panels))
        nrows = -(-len(panels) // ncols)
        fig, axes_grid = plt.subplots(nrows, ncols, figsize=(6.5 * ncols, 4.6 * nrows), squeeze=False)
        axes = [list(axes_grid.ravel())]
        for ax in axes[0][len(panels):]:
            ax.set_visible(False)
        methods = sorted(gm["method"].unique())
        cmap = plt.get_cmap("tab20")
        colors = {m: cmap(i % 20) for i, m in enumerate(methods)}
        styles = {"numpy": "-", "cupy": "--", "array_api_strict": ":"}
        for ax, (dt, tol) in zip(axes[0], panels):
            gp = gm[(gm["dtype"] == dt) & ((gm["tol"] == tol) | gm["method"].isin(TOL_INDEPENDENT))]
            for (method, backend), gl in gp.groupby(["method", "backend"]):
                gl = gl.sort_values("m")
                ax.plot(gl["m"], gl["time_median"], styles.get(backend, "-."), color=colors[method],
                        marker="o", ms=4, label=f"{method} ({backend})")
                miss = gl[gl["status"] != "ok"]
                if not miss.empty:
                    ax.plot(miss["m"], miss["time_median"], "x", color="red", ms=9, mew=2)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("n (n x n Gaussian-spectrum matrix)")
            ax.set_ylabel("median time [s]")
            ax.set_title(f"{machine}: {dt}, tol {_fmt_tol(tol)}  (red x = missed target)", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
        axes[0][min(ncols, len(panels)) - 1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        p = out_dir / f"time_vs_size_{_slug(machine)}.png"
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p)
    return paths


def plot_error_vs_cost(curves: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One PNG per machine, backend and input: relative error against matvecs
    and against time, every method on the same axes."""
    plt = _plt()
    paths = []
    if curves.empty:
        return paths
    keys = ["machine", "backend", "dtype", "family", "shape"]
    for key, g in curves.groupby(keys):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.5))
        for method, gl in g.groupby("method"):
            err = np.maximum(gl["rel_error"].to_numpy(dtype=float), 1e-17)
            a1.plot(gl["matvecs"], err, marker=".", label=method)
            a2.plot(gl["time"], err, marker=".", label=method)
        for ax, xl in ((a1, "matvecs (products with A or A^T)"), (a2, "time [s]")):
            ax.set_yscale("log")
            ax.set_xlabel(xl)
            ax.set_ylabel("relative error |estimate - sigma| / sigma")
            ax.grid(True, which="both", alpha=0.3)
        a2.set_xscale("log")
        a1.set_title(" ".join(str(k) for k in key), fontsize=9)
        a2.legend(fontsize=7)
        fig.tight_layout()
        p = out_dir / ("error_vs_cost_" + "_".join(_slug(k) for k in key) + ".png")
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p)
    return paths


def plot_tracking(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Training scenario: tracking error per step for every strategy."""
    plt = _plt()
    d = latest_per_case(df[df["kind"] == "training"])
    d = d[d["tracking_rel_error"].map(lambda v: isinstance(v, list) and len(v) > 0).astype(bool)]
    paths = []
    for key, g in d.groupby(["machine", "backend", "dtype", "shape"]):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for _, r in g.sort_values("method").iterrows():
            e = np.maximum(np.asarray(r["tracking_rel_error"], dtype=float), 1e-17)
            ax.plot(np.arange(1, len(e) + 1), e, label=f"{r['method']} ({_fmt_time(r['time_median'])})")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("relative tracking error of sigma_max")
        ax.set_title("spectral-norm tracking: " + " ".join(str(k) for k in key), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = out_dir / ("tracking_" + "_".join(_slug(k) for k in key) + ".png")
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p)
    return paths


# --------------------------------------------------------------------------- report


HEADLINE_SHAPES = ("1024x1024", "2048x2048", "4096x4096")


def _headline(d: pd.DataFrame) -> pd.DataFrame:
    h = d[(d["kind"] == "spectral") & (d["dtype"] == "float64") & (d["family"] == "gaussian")
          & d["shape"].isin(HEADLINE_SHAPES)
          & ((d["tol"] == 1e-6) | d["method"].isin(TOL_INDEPENDENT))]
    if h.empty:
        return pd.DataFrame()
    h = h.assign(_sk=h["shape"].map(_shape_key)).sort_values(["machine", "backend", "_sk", "time_median"])
    return pd.DataFrame({
        "machine": h["machine"], "backend": h["backend"], "shape": h["shape"], "method": h["method"],
        "median time ± IQR": [_fmt_time_iqr(t, i if r >= 2 else None)
                              for t, i, r in zip(h["time_median"], h["time_iqr"], h["rounds"].fillna(0))],
        "rounds": h["rounds"].map(_fmt_int),
        "rel. error": h["rel_error"].map(_fmt_err),
        "target 1e-6": np.where(h["status"] == "ok", "met", "MISS"),
        "matvecs": h["matvecs"].map(_fmt_int),
        "time / time(numpy.linalg.norm)": (1.0 / h["speedup_vs_numpy_norm"]).map(
            lambda r: "" if not math.isfinite(r) else f"{r:.3g}"),
        "time / time(arpack)": (1.0 / h["speedup_vs_arpack"]).map(
            lambda r: "" if not math.isfinite(r) else f"{r:.3g}"),
    }).reset_index(drop=True)


def _pick(d: pd.DataFrame, **eq: Any) -> pd.DataFrame:
    m = pd.Series(True, index=d.index)
    for k, v in eq.items():
        m &= d[k] == v
    return d[m]


def _median_time(d: pd.DataFrame, method: str, tol_dependent: bool = True) -> float:
    rows = d[d["method"] == method]
    if tol_dependent:
        rows = rows[rows["tol"] == 1e-6]
    return float(rows["time_median"].median()) if not rows.empty else math.nan


def _verdict(ok: Any) -> str:
    return "" if ok is None else ("met" if ok else "NOT met")


def _latest_auto(h: pd.DataFrame) -> pd.DataFrame:
    a = h[(h["method"] == "auto") & (h["tol"] == 1e-6)]
    return a.sort_values(["datetime", "file"], na_position="first").tail(1)


def _earlier_ratios(h: pd.DataFrame, latest_run: str, ref: str, tol_dependent: bool, keep: int = 3) -> str:
    """``"; earlier runs: 46.75x (0005_normal), ..."`` -- the same ratio (reference
    median / auto median, both from one run) in the newest ``keep`` earlier runs
    holding both, so that run-to-run spread and older code stay in view."""
    out = []
    auto = h[(h["method"] == "auto") & (h["tol"] == 1e-6)]
    order = auto.sort_values(["datetime", "file"], na_position="first")["run"].drop_duplicates().tolist()
    for run in reversed(order):
        if run == latest_run:
            continue
        hr = h[h["run"] == run]
        ta, tr = _median_time(hr, "auto"), _median_time(hr, ref, tol_dependent=tol_dependent)
        if math.isfinite(ta) and math.isfinite(tr) and ta > 0:
            out.append(f"{tr / ta:.2f}x ({run})")
        if len(out) == keep:
            break
    return f"; earlier runs: {', '.join(out)}" if out else ""


#: within this factor of the fastest method, auto counts as picking the winner (run-to-run noise)
AUTO_NEAR_FACTOR = 1.1


def _judge(where: str, auto_time: float, auto_met: bool, rivals: list[tuple]) -> dict:
    """One regime: is auto the fastest method that met the target, within
    AUTO_NEAR_FACTOR of it, and the same counting only the rivals whose own
    residual check passed (``verified_*``); ``lost``: what beat it.
    ``rivals`` are (method, median time, met target, converged)."""
    out = {"fastest": False, "near": False, "verified_fastest": False, "verified_near": False, "lost": None}
    if not auto_met:
        out["lost"] = f"{where}: auto missed its target"
        return out

    def unverified(r: tuple) -> bool:  # right, but its own check failed
        return r[3] is not None and not _isnan(r[3]) and not bool(r[3])

    for prefix, pool in (("", [r for r in rivals if r[2]]),
                         ("verified_", [r for r in rivals if r[2] and not unverified(r)])):
        best = min(pool, key=lambda r: r[1]) if pool else None
        out[prefix + "fastest"] = best is None or auto_time <= best[1]
        out[prefix + "near"] = best is None or auto_time <= AUTO_NEAR_FACTOR * best[1]
        if not prefix and best is not None and auto_time > best[1]:
            out["lost"] = (f"{where}: {best[0]} {auto_time / best[1]:.2f}x faster"
                           + (" (unverified: its residual check failed)" if unverified(best) else ""))
    return out


def _auto_regimes(spec: pd.DataFrame, h2h: pd.DataFrame | None = None) -> list[dict]:
    """Does ``auto`` pick the winner?  Per machine and backend, over every
    regime (dtype, spectrum, tolerance, shape): from the newest head-to-head
    row of the regime where there is one (every method timed in turns in one
    test, ``benchmarks/test_head_to_head.py``), else from the grid -- the
    newest run with an ``auto`` row that measured other methods too, against
    every method that met the target *in that same run* on the same input."""
    rows: list[dict] = []
    keys = ["machine", "backend", "dtype", "family", "tol", "shape"]
    interleaved: dict = {}
    if h2h is not None and not h2h.empty and set(keys) | {"contenders", "datetime", "file"} <= set(h2h.columns):
        for key, hh in h2h.groupby(keys, dropna=False):
            r = hh.sort_values(["datetime", "file"], na_position="first").iloc[-1]
            if isinstance(r["contenders"], dict) and "auto" in r["contenders"]:
                interleaved[key] = r
    need = {"method", "run", "datetime", "file", "dtype", "family", "tol", "shape", "time_median", "met_target"}
    grid_ok = not spec.empty and need <= set(spec.columns)
    d = broadcast_tol_independent(spec) if grid_ok else spec
    regimes: dict = {}  # (machine, backend) -> {(dtype, family, tol, shape): judged}
    for key, r in interleaved.items():
        c = r["contenders"]
        a = c["auto"]
        where = f"{key[5]} {key[2]} {key[3]} tol {_fmt_tol(key[4])} ({r['run']}, interleaved)"
        rivals = [(m, float(v["median"]), bool(v.get("met_target")), v.get("converged"))
                  for m, v in c.items() if m != "auto"]
        regimes.setdefault(key[:2], {})[key[2:]] = _judge(where, float(a["median"]), bool(a.get("met_target")),
                                                          rivals)
    if grid_ok:
        met = d["met_target"].map(lambda v: v is True).astype(bool)
        for (machine, backend, dt, fam, tol, shape), gg in d.groupby(keys, dropna=False):
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
            where = f"{shape} {dt} {fam} tol {_fmt_tol(tol)} ({run})"
            regimes.setdefault((machine, backend), {})[(dt, fam, tol, shape)] = _judge(
                where, float(a["time_median"].iloc[0]), bool(met[a.index[0]]), rivals)
    for (machine, backend), judged in sorted(regimes.items()):
        order = sorted(judged, key=lambda k: (k[0], k[1], -k[2], _shape_key(k[3])))
        total = len(order)
        fastest, near, vfastest, vnear = (sum(judged[k][f] for k in order)
                                          for f in ("fastest", "near", "verified_fastest", "verified_near"))
        lost = [judged[k]["lost"] for k in order if judged[k]["lost"]]
        n_inter = sum(1 for k in order if (machine, backend) + k in interleaved)
        shown = "; ".join(lost[:12]) + (f"; and {len(lost) - 12} more" if len(lost) > 12 else "")
        rows.append({"machine": machine, "backend": backend,
                     "target": f"auto picks the winner: the fastest method that met the target, per regime "
                               f"(dtype, spectrum, tol, shape; within {AUTO_NEAR_FACTOR:g}x counts)",
                     "measured": f"fastest in {fastest}/{total}, within {AUTO_NEAR_FACTOR:g}x in {near}/{total}",
                     "verdict": _verdict(near == total),
                     "detail": (f"{n_inter} of {total} regimes timed head to head (methods in turns); against "
                                f"verified rivals only (their own residual check passed): fastest in "
                                f"{vfastest}/{total}, within {AUTO_NEAR_FACTOR:g}x in {vnear}/{total}; "
                                + (("not the winner: " + shown) if lost else "fastest in every regime"))})
    return rows


def _steps_against_theory(shape: str, steps: int, matvecs: int | None, th: dict,
                          tol: float = 1e-6) -> tuple[str, str, bool, str]:
    """A target row: auto's Lanczos steps against what theory says Lanczos
    needs on that input's spectrum (``th``: the ``theory_steps`` the benchmark
    recorded, from ``lipbench.spectral.lanczos_steps_theory``); met when auto
    took no more steps than the gap-dependent estimate for its stopping rule."""
    used = f"{steps} steps" + (f" ({matvecs} matvecs)" if matvecs is not None else "")
    return (f"{shape} float64 Gaussian: auto's Lanczos steps at {tol:g} against theory (no more than the "
            "gap-dependent estimate for its residual stopping rule)",
            f"{used}: {steps / th['residual']:.2f}x the residual-rule estimate, {steps / th['value']:.2f}x the "
            "true-error estimate",
            steps <= th["residual"],
            f"Kaniel-Paige-Saad with a random start: {th['value']} steps until the Ritz value's error is within "
            f"tol, {th['residual']} until the residual bound auto stops on is; gap-free bounds: "
            f"Kuczynski-Wozniakowski {th['kw']} steps (failure probability {th['kw_failure_probability']:g}), "
            f"Musco & Musco block Krylov ln(n)/sqrt(2 tol) = {th['block_krylov']} iterations")


def targets_table(d: pd.DataFrame) -> pd.DataFrame:
    """The speed and accuracy targets of ``method="auto"``, per machine and
    backend, as ratios of medians measured side by side in one run: each
    target takes the newest run holding ``auto`` for that input, and its
    references from that same run (pass every run, not only the latest rows)."""
    rows: list[dict] = []
    spec = d[d["kind"] == "spectral"]
    for (machine, backend), g in spec.groupby(["machine", "backend"]):
        def add(target: str, measured: str, ok: Any, detail: str = "") -> None:
            rows.append({"machine": machine, "backend": backend, "target": target, "measured": measured,
                         "verdict": _verdict(ok), "detail": detail})

        for shape in ("2048x2048", "4096x4096"):
            h = _pick(g, dtype="float64", family="gaussian", shape=shape)
            a = _latest_auto(h)
            if a.empty:
                continue
            every = h
            h = h[h["run"] == a["run"].iloc[0]]  # references from the same run only
            ta = float(a["time_median"].iloc[0])
            err = float(a["rel_error"].iloc[0])
            mv, ms = a["matvecs"].iloc[0], a["matvec_seconds"].iloc[0] if "matvec_seconds" in a else math.nan
            a32 = _latest_auto(_pick(g, dtype="float32", family="gaussian", shape=shape))
            ms32 = a32["matvec_seconds"].iloc[0] if not a32.empty and "matvec_seconds" in a32 else math.nan
            worked32 = "float32" in str(a["options"].iloc[0] if "options" in a else "")
            work_ms, work_dt = (ms32, "float32") if worked32 else (ms, "float64")
            # the products auto used, one by one, at this run's cost per product of its work dtype
            work_floor = float(mv) * float(work_ms) if pd.notna(mv) and mv > 0 and pd.notna(work_ms) else math.nan
            for ref, label, need in (("numpy.linalg.norm", "numpy.linalg.norm(A, 2)", 50.0),
                                     ("propack", "svds(solver='propack'), kmax raised, same accuracy", 3.0),
                                     ("scipy.sparse.linalg.svds", "svds default (arpack)", 1.0),
                                     ("lanczos", "plain float64 lanczos (mixed precision gain)", 3.0)):
                tr = _median_time(h, ref, tol_dependent=ref != "numpy.linalg.norm")
                if math.isfinite(tr):
                    ratio = tr / ta
                    met = ratio >= need if need > 1 else ratio > 1
                    limit = ""
                    if not met and work_floor > 0 and tr / need < work_floor:
                        # the target asks for less than the time of the products auto used, one by one
                        limit = (f"; needs auto at <= {tr / need / work_floor:.2f}x the {work_dt} matvec floor of "
                                 f"this run ({int(mv)} matvecs x {_fmt_time(work_ms)}; auto: {ta / work_floor:.2f}x)")
                    add(f"{shape} float64 Gaussian: auto >= {need:g}x faster than {label}",
                        f"{ratio:.2f}x", met,
                        f"auto {_fmt_time(ta)} (rel. error {_fmt_err(err)}), reference {_fmt_time(tr)}" + limit
                        + _earlier_ratios(every, a["run"].iloc[0], ref, ref != "numpy.linalg.norm"))
            if pd.notna(mv) and pd.notna(ms) and mv > 0 and ms > 0:
                floor = float(mv) * float(ms)
                add(f"{shape} float64 Gaussian: auto time <= 1.2x the matvec floor",
                    f"{ta / floor:.2f}x", ta / floor <= 1.2,
                    f"{int(mv)} matvecs x {_fmt_time(ms)} per float64 product = {_fmt_time(floor)}")
            steps = a["iterations"].iloc[0] if "iterations" in a else math.nan
            th = a["theory_steps"].iloc[0] if "theory_steps" in a else None
            if isinstance(th, dict) and {"value", "residual"} <= set(th) and pd.notna(steps) and steps > 0:
                add(*_steps_against_theory(shape, int(steps), int(mv) if pd.notna(mv) else None, th))
            if worked32 and work_floor > 0:
                # auto worked in float32: hold it to the floor of the products it actually did too
                add(f"{shape} float64 Gaussian: auto time <= 1.2x the float32 matvec floor (its work dtype)",
                    f"{ta / work_floor:.2f}x", ta / work_floor <= 1.2,
                    f"{int(mv)} matvecs x {_fmt_time(ms32)} per float32 product = {_fmt_time(work_floor)}")
            if not a32.empty:
                e32 = float(a32["rel_error"].iloc[0])
                add(f"{shape} float32 Gaussian: auto rel. error <= 1e-6", _fmt_err(e32), e32 <= 1e-6,
                    f"{_fmt_time(float(a32['time_median'].iloc[0]))}")
        for shape in ("8192x1024", "1024x8192"):
            h = every = _pick(g, dtype="float64", family="gaussian", shape=shape)
            a = _latest_auto(h)
            if not a.empty:
                h = h[h["run"] == a["run"].iloc[0]]
            tr = _median_time(h, "numpy.linalg.norm", tol_dependent=False)
            if a.empty or not math.isfinite(tr):
                continue
            ta = float(a["time_median"].iloc[0])
            add(f"{shape} float64 Gaussian: auto >= 5x faster than numpy.linalg.norm(A, 2)",
                f"{tr / ta:.2f}x", tr / ta >= 5, f"auto {_fmt_time(ta)} (rel. error "
                f"{_fmt_err(float(a['rel_error'].iloc[0]))}), numpy.linalg.norm {_fmt_time(tr)}"
                + _earlier_ratios(every, a["run"].iloc[0], "numpy.linalg.norm", False))
    rows += _auto_regimes(spec, d[d["kind"] == "head_to_head"])
    acc = d[d["kind"] == "auto_accuracy"]
    for (machine, backend), g in acc.groupby(["machine", "backend"]):
        for (shape, dt), gg in g.groupby(["shape", "dtype"]):
            met = int((gg["met_target"] == True).sum())  # noqa: E712 - object column
            brk = int((gg["bracket_ok"] == True).sum())  # noqa: E712
            worst = gg["rel_error"].max()
            rows.append({"machine": machine, "backend": backend,
                         "target": f"{shape} {dt}: auto rel. error <= 1e-6 on every family, bracket holds",
                         "measured": f"{met}/{len(gg)} met, {brk}/{len(gg)} brackets hold",
                         "verdict": _verdict(met == len(gg) and brk == len(gg)),
                         "detail": f"worst rel. error {_fmt_err(worst)}"})
    tr = d[(d["kind"] == "training") & (d["method"].astype(str).str.contains("power-1step-warm"))]
    for _, r in tr.iterrows():
        per_step, what = r.get("matvecs_per_step_after_first"), "products/step after step 0"
        if per_step is None or _isnan(per_step):  # older runs: the average over all steps
            per_step = float(r["matvecs"]) / float(r["steps"]) if r["steps"] else math.nan
            what = "products/step (all steps, cold step 0 included)"
        per_step = float(per_step)
        ok = per_step <= 2 and float(r["max_tracking_error_after_burn_in"]) <= 1e-3
        rows.append({"machine": r["machine"], "backend": r["backend"],
                     "target": "training: warm power (converged once, then 1 step per update), <= 2 products "
                               "per step at <= 1e-3 tracking error",
                     "measured": f"{per_step:.2f} {what}, max error after burn-in "
                                 f"{_fmt_err(r['max_tracking_error_after_burn_in'])}",
                     "verdict": _verdict(ok), "detail": f"{int(r['steps'])} steps, {r['shape']}"})
    return pd.DataFrame(rows, columns=["machine", "backend", "target", "measured", "verdict", "detail"])


def _batched_table(d: pd.DataFrame) -> pd.DataFrame:
    b = d[d["kind"] == "batched"]
    if b.empty:
        return pd.DataFrame()
    b = b.sort_values(["machine", "backend", "time_median"])
    return pd.DataFrame({
        "machine": b["machine"], "backend": b["backend"], "stack": b["shape"], "strategy": b["method"],
        "median time": b["time_median"].map(_fmt_time), "worst rel. error": b["rel_error"].map(_fmt_err),
        "target 1e-6": np.where(b["status"] == "ok", "met", "MISS"),
        "matvecs per matrix": b["matvecs"].map(_fmt_int),
    }).reset_index(drop=True)


def _training_table(d: pd.DataFrame) -> pd.DataFrame:
    t = d[d["kind"] == "training"]
    if t.empty:
        return pd.DataFrame()
    t = t.sort_values(["machine", "backend", "shape", "time_median"])
    return pd.DataFrame({
        "machine": t["machine"], "backend": t["backend"], "dtype": t["dtype"], "shape": t["shape"],
        "strategy": t["method"], "steps": t["steps"].map(_fmt_int),
        "time for all steps": [_fmt_time_iqr(a, b if r >= 2 else None)
                               for a, b, r in zip(t["time_median"], t["time_iqr"], t["rounds"].fillna(0))],
        "matvecs": t["matvecs"].map(_fmt_int),
        "mean tracking error": t["mean_tracking_error"].map(_fmt_err),
        "max tracking error": t["max_tracking_error"].map(_fmt_err),
        "max after burn-in": t["max_tracking_error_after_burn_in"].map(_fmt_err),
        "target": np.where(t["status"] == "ok", "met", "MISS"),
        "tol": t["tol"].map(_fmt_tol),
    }).reset_index(drop=True)


def _machines_table(df: pd.DataFrame) -> pd.DataFrame:
    g = df.groupby("machine").agg(runs=("file", "nunique"), rows=("name", "size"),
                                  gpu=("gpu", "first"), blas=("blas", "first"),
                                  latest=("datetime", "max"))
    return g.reset_index()


def write_report(results_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Path]:
    """Read every run under ``results_dir`` and write REPORT.md, REPORT.html,
    results.csv, curves.csv and plots/*.png into ``out_dir`` (default:
    ``results_dir``).  Returns the written paths by kind ('md', 'html', 'csv',
    'curves_csv', 'png' -> list)."""
    results_dir = Path(results_dir)
    out = Path(out_dir) if out_dir is not None else (results_dir if results_dir.is_dir() else results_dir.parent)
    out.mkdir(parents=True, exist_ok=True)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    for old in plots.glob("*.png"):
        old.unlink()

    df = load_results(results_dir)
    paths: dict[str, Any] = {}
    sections: list[tuple[str, str, pd.DataFrame | None]] = []  # (title, prose, table)

    if df.empty:
        sections.append(("No results", f"No lipbench benchmark rows were found under {results_dir}. "
                         "Run `pytest benchmarks --benchmark-save=NAME` first.", None))
        curves = load_curves(df)
        pngs: list[Path] = []
    else:
        df = add_speedups(df)
        latest = latest_per_case(df)
        curves = load_curves(latest)
        flat = df.drop(columns=list(_LIST_FIELDS))
        csv_path = out / "results.csv"
        flat.to_csv(csv_path, index=False)
        paths["csv"] = csv_path
        curves_path = out / "curves.csv"
        curves.to_csv(curves_path, index=False)
        paths["curves_csv"] = curves_path

        try:
            pngs = plot_time_vs_size(df, plots) + plot_error_vs_cost(curves, plots) + plot_tracking(df, plots)
        except ImportError as exc:
            warnings.warn(f"no plots: matplotlib is not importable ({exc}); install lipbench[report]",
                          ReportWarning, stacklevel=2)
            pngs = []

        lat_spec = latest[latest["kind"] == "spectral"]
        n_miss = int((lat_spec["status"] != "ok").sum())
        sections.append((
            "How to read this report",
            "Each row is one benchmark of the latest run on that machine (older runs stay in "
            "results.csv). Times are medians over the timed rounds, ± the interquartile range. "
            "*rel. error* is |estimate - sigma_max| / sigma_max against ground truth (known by "
            "construction, or a float64 SVD on the host). *target* is `met` when rel. error <= tol, "
            "`MISS` otherwise: a missed target is not a fast success. *speed-up vs X* is "
            "median(X) / median(method) from the same run on the same input (above 1: faster than X); "
            "svd and numpy.linalg.norm do not depend on tol and are measured once per input. "
            f"Grid rows in the latest runs: {len(lat_spec)}, of which {n_miss} missed their target "
            f"(plus {len(latest) - len(lat_spec)} training and error-curve rows).",
            _machines_table(df)))
        head = _headline(latest)
        if not head.empty:
            sections.append((
                "Headline: 1024², 2048² and 4096² float64 Gaussian spectrum, target 1e-6",
                "Time ratios below 1 mean faster than the reference (numpy.linalg.norm(A, 2) is a "
                "full LAPACK SVD; arpack is scipy.sparse.linalg.svds through lipbench).", head))
        targets = targets_table(pd.concat([latest[latest["kind"] != "spectral"], df[df["kind"] == "spectral"]]))
        if not targets.empty:
            sections.append((
                "Targets for method=\"auto\"",
                "Each speed target is a ratio of medians measured side by side in one run on one "
                "machine (the detail column adds the same ratio from up to three earlier runs: "
                "run-to-run spread, and older code); *matvec floor* is (matvecs used) x (median time of one product A @ x with "
                "that input, measured in the same run). Targets not met are shown as such; where a speed target "
                "asks for less time than the floor of the products auto used, the detail says how far below "
                "it (reachable only with fewer products, or cheaper ones: on a CPU, one pass over A for "
                "A^T (A x)).", targets))
        batched = _batched_table(latest)
        if not batched.empty:
            sections.append(("Stacks of small matrices", "A stack of 512 matrices of 64 x 64: batched "
                             "power iteration, a Python loop of single calls, batched SVD.", batched))
        picker = method_picker(df)
        if not picker.empty:
            sections.append(("Which method should I use?",
                             "Fastest method that met the target accuracy, per machine, backend, "
                             "dtype, spectrum, tolerance and shape.", picker))
        spectral = broadcast_tol_independent(latest[latest["kind"] == "spectral"])
        for key, g in spectral.groupby(["machine", "backend", "dtype", "family", "tol"]):
            machine, backend, dt, fam, tol = key
            sections.append((f"{machine} · {backend} · {dt} · {fam} · tol {_fmt_tol(tol)}", "",
                             _group_table(g)))
        train = _training_table(latest)
        if not train.empty:
            sections.append(("Training-like scenario: tracking sigma_max of a drifting weight",
                             "Each strategy estimates sigma_max after every small update of W; the "
                             "time is for all steps, the tracking error is against the exact "
                             "sigma_max of each step's W.", train))
        cross = cross_hardware(df)
        if not cross.empty:
            cross_fmt = cross.copy()
            for c in cross_fmt.columns:
                if str(c).startswith("speedup"):
                    cross_fmt[c] = cross_fmt[c].map(_fmt_ratio)
                elif c not in ("method", "shape", "dtype", "family", "tol"):
                    cross_fmt[c] = cross_fmt[c].map(_fmt_time)
            sections.append(("Across hardware (ratios of medians)",
                             "Median time per machine:backend, latest run of each; speed-up = "
                             "median on the reference hardware / median on the other (above 1: "
                             "the other is faster). Compare regressions only within one machine.",
                             cross_fmt))
        else:
            sections.append(("Across hardware", "Only one machine/backend has results so far; run "
                             "the benchmarks on another box (e.g. benchmarks/run_gpu.sh) and copy "
                             "its results/<machine>/ folder here.", None))
    paths["png"] = pngs

    md = ["# lipbench benchmark report", "",
          f"Generated by `lipbench report` from {len(df)} rows in {df['file'].nunique() if not df.empty else 0} "
          "saved run(s). Plots: " + (", ".join(f"[{p.name}](plots/{p.name})" for p in pngs) or "none"), ""]
    for title, prose, table in sections:
        md += [f"## {title}", ""]
        if prose:
            md += [prose, ""]
        if table is not None:
            md += [_md_table(table)]
    md_path = out / "REPORT.md"
    md_path.write_text("\n".join(md), encoding="utf-8")
    paths["md"] = md_path

    html_path = out / "REPORT.html"
    html_path.write_text(_html_page(sections, pngs, len(df)), encoding="utf-8")
    paths["html"] = html_path
    return paths


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1.5em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}
td.miss{background:#fdd;color:#900;font-weight:bold}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
"""


def _html_page(sections: list, pngs: list[Path], n_rows: int) -> str:
    parts = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>lipbench benchmark report</title>",
             f"<style>{_CSS}</style></head><body>", "<h1>lipbench benchmark report</h1>",
             f"<p>{n_rows} rows. Misses (rel. error above the target tolerance) are marked red.</p>"]
    for title, prose, table in sections:
        parts.append(f"<h2>{html.escape(title)}</h2>")
        if prose:
            parts.append(f"<p>{html.escape(prose)}</p>")
        if table is not None:
            t = table.to_html(index=False, escape=True, na_rep="")
            t = t.replace("<td>MISS</td>", "<td class='miss'>MISS</td>")
            parts.append(t)
    if pngs:
        parts.append("<h2>Plots</h2>")
        for p in pngs:
            data = base64.b64encode(p.read_bytes()).decode("ascii")
            parts.append(f"<h3>{html.escape(p.stem)}</h3><img alt='{html.escape(p.stem)}' "
                         f"src='data:image/png;base64,{data}'>")
    parts.append("</body></html>")
    return "\n".join(parts)


# --------------------------------------------------------------------------- CLI


def _default_results_dir() -> Path:
    """``results/`` of the checkout this module lives in, else ./results."""
    here = Path(__file__).resolve().parent.parent / "results"
    return here if here.is_dir() else Path("results")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``lipbench report``."""
    parser.add_argument("results_dir", nargs="?", default=None,
                        help="folder with saved pytest-benchmark JSON runs (default: results/)")
    parser.add_argument("-o", "--out", default=None,
                        help="where to write REPORT.md, REPORT.html, results.csv and plots/ "
                             "(default: the results folder)")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``lipbench report``; returns the exit status (2: no such folder)."""
    results_dir = Path(args.results_dir) if getattr(args, "results_dir", None) else _default_results_dir()
    if not results_dir.exists():
        print(f"lipbench report: results folder {str(results_dir)!r} does not exist; run "
              "`pytest benchmarks --benchmark-save=NAME` first or pass the folder", file=sys.stderr)
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReportWarning)
        paths = write_report(results_dir, getattr(args, "out", None))
    for w in caught:
        print(f"lipbench report: warning: {w.message}", file=sys.stderr)
    print(f"wrote {paths['md']}")
    print(f"wrote {paths['html']}")
    for key in ("csv", "curves_csv"):
        if key in paths:
            print(f"wrote {paths[key]}")
    print(f"wrote {len(paths['png'])} plot(s) under {Path(paths['md']).parent / 'plots'}")
    return 0


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lipbench.report", description=__doc__.split("\n")[0])
    add_cli_arguments(parser)
    return run_cli(parser.parse_args(None if argv is None else list(argv)))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
