"""Step 5 of the report: write REPORT.md, REPORT.html, results.csv, curves.csv and plots/.

:func:`write_report` reads every run under a results folder, runs the steps
before it (load -> compare -> targets -> plots) and writes

* ``REPORT.md`` -- the sections below, tables as Markdown, plots linked;
* ``REPORT.html`` -- the same tables and the plots in one self-contained page;
* ``results.csv`` and ``curves.csv`` -- the tidy frames;
* ``plots/*.png`` and ``plots/written-by-lipbench-report.sha256``, the list of
  the plots it wrote with their SHA-256.

It deletes nothing but its own earlier plots: those the previous list names,
and only while their bytes are still the ones it wrote.  Any other file under
``plots/`` is left alone; a plot of the same name is overwritten.
"""

from __future__ import annotations

import base64
import hashlib
import html
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from .compare import add_speedups, broadcast_tol_independent, cross_hardware, method_picker
from .formatting import fmt_tol, md_table
from .load import LIST_FIELDS, ReportWarning, latest_per_case, load_curves, load_results
from .plots import plot_error_vs_cost, plot_time_vs_size, plot_tracking
from .tables import (batched_table, cross_hardware_table, group_table, headline_table, machines_table,
                     training_table)
from .targets import targets_table

__all__ = ["PLOTS_MANIFEST", "LOCAL_DIR", "default_out_dir", "write_report"]

#: the list of plots a report wrote (``<sha256>  <name>`` per line, as sha256sum writes it)
PLOTS_MANIFEST = "written-by-lipbench-report.sha256"
#: where the report of a results folder goes unless told otherwise: ``<results>/local/``
LOCAL_DIR = "local"

Section = tuple[str, str, "pd.DataFrame | None"]  # (title, prose, table)


def default_out_dir(results_dir: str | Path) -> Path:
    """``<results_dir>/local``: a report of one's own runs, beside them, never
    over the committed report (``results/local/`` is ignored by git)."""
    p = Path(results_dir)
    return (p if p.is_dir() or not p.exists() else p.parent) / LOCAL_DIR


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _remove_own_plots(plots: Path) -> None:
    """Delete the plots the previous report listed in its manifest, where a
    file still holds exactly the bytes that report wrote."""
    manifest = plots / PLOTS_MANIFEST
    if not manifest.is_file():
        return
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        if not name or Path(name).name != name or name in (".", ".."):
            continue  # not a plain file name in plots/: not one of ours
        f = plots / name
        if f.is_file() and not f.is_symlink() and _sha256(f) == digest:
            f.unlink()


def _write_manifest(plots: Path, pngs: list[Path]) -> None:
    lines = [f"{_sha256(p)}  {p.name}" for p in pngs]
    (plots / PLOTS_MANIFEST).write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def _sections(df: pd.DataFrame, latest: pd.DataFrame) -> list[Section]:
    """The report's sections, in order, from every run (``df``) and the latest rows."""
    sections: list[Section] = []
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
        machines_table(df)))
    head = headline_table(latest)
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
            "run-to-run spread, and older code); *matvec floor* is (matvecs used) x (median time of one product "
            "A @ x with that input, measured in the same run). Targets not met are shown as such; where a speed "
            "target asks for less time than the floor of the products auto used, the detail says how far below "
            "it (reachable only with fewer products, or cheaper ones: on a CPU, one pass over A for "
            "A^T (A x)).", targets))
    batched = batched_table(latest)
    if not batched.empty:
        sections.append(("Stacks of small matrices", "A stack of 512 matrices of 64 x 64: batched "
                         "power iteration, a Python loop of single calls, batched SVD.", batched))
    picker = method_picker(df)
    if not picker.empty:
        sections.append(("Which method should I use?",
                         "Fastest method that met the target accuracy, per machine, backend, "
                         "dtype, spectrum, tolerance and shape.", picker))
    spectral = broadcast_tol_independent(lat_spec)
    for (machine, backend, dt, fam, tol), g in spectral.groupby(["machine", "backend", "dtype", "family", "tol"]):
        sections.append((f"{machine} · {backend} · {dt} · {fam} · tol {fmt_tol(tol)}", "", group_table(g)))
    train = training_table(latest)
    if not train.empty:
        sections.append(("Training-like scenario: tracking sigma_max of a drifting weight",
                         "Each strategy estimates sigma_max after every small update of W; the "
                         "time is for all steps, the tracking error is against the exact "
                         "sigma_max of each step's W.", train))
    cross = cross_hardware(df)
    if not cross.empty:
        sections.append(("Across hardware (ratios of medians)",
                         "Median time per machine:backend, latest run of each; speed-up = "
                         "median on the reference hardware / median on the other (above 1: "
                         "the other is faster). Compare regressions only within one machine.",
                         cross_hardware_table(cross)))
    else:
        sections.append(("Across hardware", "Only one machine/backend has results so far; run "
                         "the benchmarks on another box (e.g. benchmarks/run_gpu.sh) and copy "
                         "its results/<machine>/ folder here.", None))
    return sections


def write_report(results_dir: str | Path, out_dir: str | Path | None = None) -> dict[str, Any]:
    """Read every run under ``results_dir`` and write REPORT.md, REPORT.html,
    results.csv, curves.csv and plots/*.png into ``out_dir`` (default:
    :func:`default_out_dir`, ``<results_dir>/local``).  Returns the written paths
    by kind ('md', 'html', 'csv', 'curves_csv', 'png' -> list)."""
    results_dir = Path(results_dir)
    out = Path(out_dir) if out_dir is not None else default_out_dir(results_dir)
    out.mkdir(parents=True, exist_ok=True)
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    _remove_own_plots(plots)

    df = load_results(results_dir)
    paths: dict[str, Any] = {}
    pngs: list[Path] = []
    if df.empty:
        sections: list[Section] = [
            ("No results", f"No lipbench benchmark rows were found under {results_dir}. "
             "Run `pytest benchmarks --benchmark-save=NAME` first.", None)]
    else:
        df = add_speedups(df)
        latest = latest_per_case(df)
        curves = load_curves(latest)
        paths["csv"] = out / "results.csv"
        df.drop(columns=list(LIST_FIELDS)).to_csv(paths["csv"], index=False)
        paths["curves_csv"] = out / "curves.csv"
        curves.to_csv(paths["curves_csv"], index=False)
        try:
            pngs = plot_time_vs_size(df, plots) + plot_error_vs_cost(curves, plots) + plot_tracking(df, plots)
        except ImportError as exc:
            warnings.warn(f"no plots: matplotlib is not importable ({exc}); install lipbench[report]",
                          ReportWarning, stacklevel=2)
        sections = _sections(df, latest)
    _write_manifest(plots, pngs)
    paths["png"] = pngs

    md = ["# lipbench benchmark report", "",
          f"Generated by `lipbench report` from {len(df)} rows in {df['file'].nunique() if not df.empty else 0} "
          "saved run(s). Plots: " + (", ".join(f"[{p.name}](plots/{p.name})" for p in pngs) or "none"), ""]
    for title, prose, table in sections:
        md += [f"## {title}", ""]
        if prose:
            md += [prose, ""]
        if table is not None:
            md += [md_table(table)]
    paths["md"] = out / "REPORT.md"
    paths["md"].write_text("\n".join(md), encoding="utf-8")
    paths["html"] = out / "REPORT.html"
    paths["html"].write_text(_html_page(sections, pngs, len(df)), encoding="utf-8")
    return paths


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1400px}
table{border-collapse:collapse;margin:0.5em 0 1.5em 0;font-size:13px}
th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}
th{background:#f0f0f0}
td.miss{background:#fdd;color:#900;font-weight:bold}
img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
"""


def _html_page(sections: list[Section], pngs: list[Path], n_rows: int) -> str:
    """One self-contained page: the sections' tables, misses in red, plots embedded."""
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
