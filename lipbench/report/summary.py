"""The report's first screen: the answers a reader comes for, per machine.

* which method to use there, per size and accuracy (float64, Gaussian
  spectrum: the fastest method that met the target, and how many times
  faster than ``numpy.linalg.norm(A, 2)`` it was in the same run);
* how much faster than ``numpy.linalg.norm`` ``auto`` is;
* whether ``auto`` met its targets (and whether those rows are stale).
"""

from __future__ import annotations

import math

import pandas as pd

from .compare import broadcast_tol_independent
from .formatting import STALE, fmt_tol, shape_key

__all__ = ["choice_table", "auto_speedups", "targets_summary"]


def _ratio(x: float) -> str:
    return f"{x:.0f}x" if x >= 10 else f"{x:.2g}x"


def choice_table(latest: pd.DataFrame, machine: str, backend: str, dtype: str = "float64",
                 family: str = "gaussian") -> pd.DataFrame:
    """Rows: shapes; columns: tolerances; cell: the fastest method that met
    the target there, with its speed-up over ``numpy.linalg.norm`` (same run;
    none where it is the reference itself or was not measured)."""
    d = latest[(latest["kind"] == "spectral") & (latest["machine"] == machine) & (latest["backend"] == backend)
               & (latest["dtype"] == dtype) & (latest["family"] == family)]
    d = broadcast_tol_independent(d)
    d = d[d["met_target"].map(lambda v: v is True).astype(bool) & d["tol"].notna()]
    if d.empty:
        return pd.DataFrame()
    cells: dict = {}
    for (shape, tol), g in d.groupby(["shape", "tol"]):
        best = g.sort_values("time_median").iloc[0]
        s = best.get("speedup_vs_numpy_norm", math.nan)
        vs = "" if pd.isna(s) or best["method"] == "numpy.linalg.norm" else f", {_ratio(float(s))}"
        stale = f" ({STALE})" if bool(best.get("stale")) else ""
        cells.setdefault(shape, {})[f"tol {fmt_tol(tol)}"] = f"{best['method']}{vs}{stale}"
    out = pd.DataFrame.from_dict(cells, orient="index")
    out = out.reindex(sorted(out.index, key=shape_key))
    out = out.reindex(columns=sorted(out.columns, key=lambda c: -float(c.split()[1])))
    return out.rename_axis("shape").reset_index().fillna("")


def auto_speedups(latest: pd.DataFrame, machine: str, backend: str, tol: float = 1e-6) -> str:
    """``"1024x1024: 14x, 2048x2048: 36x"`` -- auto against numpy.linalg.norm
    (float64 Gaussian, square, same run)."""
    d = latest[(latest["kind"] == "spectral") & (latest["machine"] == machine) & (latest["backend"] == backend)
               & (latest["method"] == "auto") & (latest["dtype"] == "float64") & (latest["family"] == "gaussian")
               & (latest["tol"] == tol) & (latest["m"] == latest["n"]) & latest["nnz"].isna()
               & latest["speedup_vs_numpy_norm"].notna()]
    d = d.assign(_sk=d["shape"].map(shape_key)).sort_values("_sk")
    return ", ".join(f"{r['shape']}: {_ratio(float(r['speedup_vs_numpy_norm']))}"
                     + (f" ({STALE})" if bool(r["stale"]) else "") for _, r in d.iterrows())


def targets_summary(targets: pd.DataFrame, machine: str, backend: str) -> str:
    """``"met 15 of 18; not met: ...; 0 stale"`` for one machine and backend."""
    t = targets[(targets["machine"] == machine) & (targets["backend"] == backend)] if not targets.empty else targets
    if t.empty:
        return "no targets judged"
    met = t["verdict"].str.startswith("met")
    stale = int(t["verdict"].str.contains(STALE).sum())
    out = f"met {int(met.sum())} of {len(t)}"
    if stale:
        out += f" ({stale} judged on {STALE} rows: measured before today's auto rule; rerun to judge today's code)"
    return out
