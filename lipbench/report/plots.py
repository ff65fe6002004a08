"""Step 4 of the report: PNG plots (matplotlib, imported only when plotting).

* ``time_vs_size_<machine>.png`` -- median time against n for square Gaussian
  inputs, one panel per dtype and tolerance, misses crossed in red;
* ``error_vs_cost_<machine>_<backend>_<dtype>_<family>_<shape>.png`` --
  relative error against matvecs and against time, every method on one axes;
* ``tracking_<machine>_<backend>_<dtype>_<shape>.png`` -- the training
  scenario's tracking error per step.

Each function writes into ``out_dir`` and returns the paths it wrote.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .compare import TOL_INDEPENDENT
from .formatting import fmt_time, fmt_tol, slug
from .load import latest_per_case

__all__ = ["plot_time_vs_size", "plot_error_vs_cost", "plot_tracking"]


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
        axes = list(axes_grid.ravel())
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        methods = sorted(gm["method"].unique())
        cmap = plt.get_cmap("tab20")
        colors = {m: cmap(i % 20) for i, m in enumerate(methods)}
        styles = {"numpy": "-", "cupy": "--", "array_api_strict": ":"}
        for ax, (dt, tol) in zip(axes, panels):
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
            ax.set_title(f"{machine}: {dt}, tol {fmt_tol(tol)}  (red x = missed target)", fontsize=9)
            ax.grid(True, which="both", alpha=0.3)
        axes[min(ncols, len(panels)) - 1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        p = out_dir / f"time_vs_size_{slug(machine)}.png"
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p)
    return paths


def plot_error_vs_cost(curves: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One PNG per machine, backend and input: relative error against matvecs
    and against time, every method on the same axes."""
    plt = _plt()
    paths: list[Path] = []
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
        p = out_dir / ("error_vs_cost_" + "_".join(slug(k) for k in key) + ".png")
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
            ax.plot(np.arange(1, len(e) + 1), e, label=f"{r['method']} ({fmt_time(r['time_median'])})")
        ax.set_yscale("log")
        ax.set_xlabel("training step")
        ax.set_ylabel("relative tracking error of sigma_max")
        ax.set_title("spectral-norm tracking: " + " ".join(str(k) for k in key), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
        fig.tight_layout()
        p = out_dir / ("tracking_" + "_".join(slug(k) for k in key) + ".png")
        fig.savefig(p, dpi=90)
        plt.close(fig)
        paths.append(p)
    return paths
