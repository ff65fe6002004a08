"""Step 4 of the report: PNG plots (matplotlib, imported only when plotting).

* ``time_vs_size_<machine>.png`` -- median time against n for square Gaussian
  inputs, one panel per dtype and tolerance, misses marked with
  :data:`.style.MISS_STYLE`, one legend shared by the panels;
* ``error_vs_cost_<machine>_<backend>_<dtype>_<family>_<shape>.png`` --
  relative error against work (in products with A: see
  :func:`matvec_equivalents`) and against time, every method on one axes;
* ``tracking_<machine>_<backend>_<dtype>_<shape>.png`` -- the training
  scenario's tracking error per step.

Every method is drawn in its one look (:mod:`.style`).  Each function writes
into ``out_dir`` and returns the paths it wrote.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .compare import TOL_INDEPENDENT
from .formatting import fmt_time, fmt_tol, slug
from .load import latest_per_case
from .style import BACKEND_LINESTYLES, MISS_STYLE, method_of_strategy, method_style, series_label

__all__ = ["plot_name", "plot_headline", "plot_time_vs_size", "plot_error_vs_cost", "plot_tracking",
           "matvec_equivalents"]


def _save(plt, fig, path: Path) -> Path:
    """Lay out, write (PNG, 90 dpi) and close one figure; its path."""
    fig.tight_layout()
    fig.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(fig)
    return path


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plot_name(kind: str, *keys: object) -> str:
    """The file name of a plot: ``<kind>_<key>_<key>....png``."""
    return kind + "".join("_" + slug(str(k)) for k in keys) + ".png"


def _line(ax, x, y, method: str, label: str, linestyle: str = "-", **kw):
    s = method_style(method)
    (line,) = ax.plot(x, y, linestyle, color=s.color, marker=s.marker,
                      lw=s.linewidth, zorder=s.zorder, ms=kw.pop("ms", 5), label=label, **kw)
    line.set_gid(f"method={method}")
    return line


def _miss_handle(plt):
    from matplotlib.lines import Line2D

    return Line2D([], [], ls="none", marker=MISS_STYLE.marker, color=MISS_STYLE.color, ms=9, mew=2,
                  label="missed its target")


def plot_time_vs_size(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One PNG per machine: median time against matrix size (square dense
    Gaussian inputs), one line per method and backend, log axes; misses
    crossed; one legend for all panels."""
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
        fig, axes_grid = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 4.2 * nrows), squeeze=False)
        axes = list(axes_grid.ravel())
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        several = gm["backend"].nunique() > 1
        handles: dict = {}
        any_miss = False
        for ax, (dt, tol) in zip(axes, panels):
            gp = gm[(gm["dtype"] == dt) & ((gm["tol"] == tol) | gm["method"].isin(TOL_INDEPENDENT))]
            for (method, backend), gl in gp.groupby(["method", "backend"]):
                gl = gl.sort_values("m")
                label = series_label(method, backend, show_backend=several)
                style = BACKEND_LINESTYLES.get(backend, "-.") if several else "-"
                handles.setdefault(label, _line(ax, gl["m"], gl["time_median"], method, label, style))
                miss = gl[gl["status"] != "ok"]
                if not miss.empty:
                    any_miss = True
                    ax.plot(miss["m"], miss["time_median"], MISS_STYLE.marker, color=MISS_STYLE.color, ms=9,
                            mew=2, zorder=MISS_STYLE.zorder, gid="missed-target")
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel("n (n x n, Gaussian spectrum)")
            ax.set_ylabel("median time [s]")
            ax.set_title(f"{dt}, tol {fmt_tol(tol)}", fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
        backends = ", ".join(sorted(gm["backend"].unique()))
        fig.suptitle(f"{machine} ({backends} arrays): time against size", fontsize=11)
        order = sorted(handles, key=lambda k: (k != "auto", k))
        legend = [handles[k] for k in order] + ([_miss_handle(plt)] if any_miss else [])
        fig.legend(handles=legend, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
        paths.append(_save(plt, fig, out_dir / plot_name("time_vs_size", machine)))
    return paths


def matvec_equivalents(method: str, shape: str, iteration: float, matvecs: float) -> float:
    """Work in products with A (each m·n multiply-adds).  Every method counts
    its products with A or A^T, except gram's squarings of its k x k matrix
    (k = min(m, n)): each costs k^3 multiply-adds, k^2 / max(m, n) products'
    worth, which its matvec count leaves out."""
    if method != "gram":
        return float(matvecs)
    m = re.match(r"(\d+)x(\d+)", str(shape))
    if not m or not np.isfinite(iteration):
        return float(matvecs)
    a, b = int(m.group(1)), int(m.group(2))
    k, big = min(a, b), max(a, b)
    return float(matvecs) + max(float(iteration) - 1, 0.0) * k * k / big


def plot_error_vs_cost(curves: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One PNG per machine, backend and input: relative error against work
    (products with A, :func:`matvec_equivalents`) and against time, every
    method on the same axes, one legend."""
    plt = _plt()
    paths: list[Path] = []
    if curves.empty:
        return paths
    keys = ["machine", "backend", "dtype", "family", "shape"]
    for key, g in curves.groupby(keys):
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.3))
        methods = sorted(g["method"].unique(), key=lambda m: (m != "auto", m))
        for method in methods:
            gl = g[g["method"] == method]
            err = np.maximum(gl["rel_error"].to_numpy(dtype=float), 1e-17)
            work = [matvec_equivalents(method, s, i, mv)
                    for s, i, mv in zip(gl["shape"], gl["iteration"], gl["matvecs"])]
            label = series_label(method, key[1])
            _line(a1, work, err, method, label, ms=3)
            _line(a2, gl["time"], err, method, label, ms=3)
        for ax, xl in ((a1, "work: products with A or A^T (gram's k x k squarings\ncounted by their flops, "
                             "k^2/max(m,n) products each)"), (a2, "time [s]")):
            ax.set_yscale("log")
            ax.set_xlabel(xl, fontsize=8)
            ax.set_ylabel("|estimate - sigma| / sigma")
            ax.grid(True, which="both", alpha=0.3)
        a1.set_xscale("log")
        a2.set_xscale("log")
        fig.suptitle(f"{key[0]} ({key[1]} arrays): error against cost, {key[4]} {key[2]} {key[3]} spectrum",
                     fontsize=10)
        fig.legend(handles=a1.get_lines(), fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
        paths.append(_save(plt, fig, out_dir / plot_name("error_vs_cost", *key)))
    return paths


def plot_tracking(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """Training scenario: tracking error per step for every strategy (the
    colour of the method it runs; warm strategies solid, cold dashed)."""
    plt = _plt()
    d = latest_per_case(df[df["kind"] == "training"])
    d = d[d["tracking_rel_error"].map(lambda v: isinstance(v, list) and len(v) > 0).astype(bool)]
    paths = []
    for key, g in d.groupby(["machine", "backend", "dtype", "shape"]):
        fig, ax = plt.subplots(figsize=(7, 4.3))
        for _, r in g.sort_values("method").iterrows():
            e = np.maximum(np.asarray(r["tracking_rel_error"], dtype=float), 1e-17)
            method = method_of_strategy(str(r["method"]))
            s = method_style(method)
            (line,) = ax.plot(np.arange(1, len(e) + 1), e, "--" if str(r["method"]).endswith("-cold") else "-",
                              color=s.color, lw=s.linewidth, zorder=s.zorder,
                              label=f"{r['method']} ({fmt_time(r['time_median'])} for all steps)")
            line.set_gid(f"method={method}")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("relative tracking error of sigma_max")
        ax.set_title(f"{key[0]} ({key[1]} arrays): tracking sigma_max of a drifting {key[3]} {key[2]} weight",
                     fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
        paths.append(_save(plt, fig, out_dir / plot_name("tracking", *key)))
    return paths


def plot_headline(df: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``headline.png``: how many times faster than ``numpy.linalg.norm(A, 2)``
    (the backend's full SVD, measured in the same run) ``auto`` is, against n,
    for square float64 Gaussian inputs: auto's colour, one marker per machine and backend, solid at
    tol 1e-6 and dashed at 1e-3; auto's rows measured under an older rule than today's are drawn
    hollow and labelled stale."""
    plt = _plt()
    d = latest_per_case(df[(df["kind"] == "spectral") & (df["family"] == "gaussian") & (df["dtype"] == "float64")
                           & (df["method"] == "auto")])
    d = d[(d["m"] == d["n"]) & d["nnz"].isna() & d["speedup_vs_numpy_norm"].notna()]
    if d.empty:
        return []
    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    s = method_style("auto")
    markers = ["*", "o", "s", "^", "D"]  # one per machine and backend: the colour is auto's everywhere
    for i, ((machine, backend), g) in enumerate(d.groupby(["machine", "backend"])):
        for tol, gt in g.groupby("tol"):
            gt = gt.sort_values("m")
            stale = bool(gt["stale"].any())
            (line,) = ax.plot(gt["m"], gt["speedup_vs_numpy_norm"], "-" if tol <= 1e-6 else "--",
                              color=s.color, marker=markers[i % len(markers)], ms=8, lw=2,
                              mfc="none" if stale else s.color,
                              label=f"{machine} ({backend}), tol {fmt_tol(tol)}" + (" (STALE)" if stale else ""))
            line.set_gid("method=auto")
    ax.axhline(1.0, color="#000000", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (n x n float64, Gaussian spectrum)")
    ax.set_ylabel("time(full-SVD norm) / time(auto)")
    ax.set_title("How many times faster auto is than the full-SVD norm of its backend\n(numpy.linalg.norm(A, 2); "
                 "cupy.linalg.norm(A, 2) on CuPy), same run, same input", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return [_save(plt, fig, out_dir / plot_name("headline"))]
