"""Step 5 of the report: write REPORT.md, REPORT.html, results.csv, curves.csv and plots/.

:func:`write_report` reads every run under a results folder, runs the steps
before it (load -> compare -> targets -> plots) and writes

* ``REPORT.md`` -- first the answers (which method per machine, size and
  accuracy; how much faster than ``numpy.linalg.norm``; whether ``auto`` met
  its targets; one headline figure), then a table of contents, then the
  sections, each with the plots that illustrate it;
* ``REPORT.html`` -- the same page, self-contained (:mod:`.html`);
* ``results.csv`` and ``curves.csv`` -- the tidy frames;
* ``plots/*.png`` and ``plots/written-by-lipbench-report.sha256``, the list of
  the plots it wrote with their SHA-256.

It deletes nothing but its own earlier plots: those the previous list names,
and only while their bytes are still the ones it wrote.  Any other file under
``plots/`` is left alone; a plot of the same name is overwritten.
"""

from __future__ import annotations

import hashlib
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..benchmark_meta import AUTO_RULE_HISTORY, AUTO_RULE_VERSION
from .compare import add_speedups, broadcast_tol_independent, cross_hardware, method_picker
from .formatting import STALE, fmt_tol, md_table
from .html import html_page
from .implementations import auto_torch_table, implementations_table
from .lipschitz import lipschitz_sections
from .load import LIST_FIELDS, ReportWarning, latest_per_case, load_curves, load_results
from .plots import plot_error_vs_cost, plot_headline, plot_name, plot_time_vs_size, plot_tracking
from .rivals import rivals_table, threads_table
from .summary import auto_speedups, choice_table, targets_summary
from .tables import (
    batched_table,
    cross_hardware_table,
    group_table,
    headline_table,
    machines_table,
    runs_table,
    training_table,
)
from .targets import targets_table

__all__ = ["PLOTS_MANIFEST", "LOCAL_DIR", "default_out_dir", "write_report"]

#: the list of plots a report wrote (``<sha256>  <name>`` per line, as sha256sum writes it)
PLOTS_MANIFEST = "written-by-lipbench-report.sha256"
TITLE = "lipbench benchmark report"
#: where the report of a results folder goes unless told otherwise: ``<results>/local/``
LOCAL_DIR = "local"

#: prose is wrapped at this width; no line of REPORT.md is as long as a screen is wide but tables' rows
WRAP = 100


@dataclass
class Section:
    """One part of the report: a heading, prose (Markdown), a table, and the
    plots that illustrate it (file names under plots/)."""

    title: str
    prose: str = ""
    table: pd.DataFrame | None = None
    plots: list[str] = field(default_factory=list)
    level: int = 2


def _wrap(text: str) -> str:
    """``text`` in lines of at most :data:`WRAP` characters; a list item's
    continuation lines indented under it."""
    indent = "  " if text.startswith("- ") else ""
    return "\n".join(textwrap.wrap(text, WRAP, subsequent_indent=indent, break_long_words=False,
                                   break_on_hyphens=False))


#: the function behind the numpy.linalg.norm rows on each backend
_NORM_NAMES = {"cupy": "cupy.linalg.norm(A, 2)"}


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



def _first_screen(df: pd.DataFrame, latest: pd.DataFrame, targets: pd.DataFrame, pngs: set[str]) -> Section:
    """The answers, per machine and backend, and the headline figure."""
    lines = []
    rule = ", ".join(f"{b} v{v}" for b, v in sorted(AUTO_RULE_VERSION.items()))
    spec = latest[latest["kind"] == "spectral"]
    for (machine, backend), _ in spec.groupby(["machine", "backend"]):
        lines.append(f"**{machine}** ({backend} arrays)")
        lines.append("")
        speed = auto_speedups(latest, machine, backend)
        norm = _NORM_NAMES.get(backend, "numpy.linalg.norm(A, 2)")
        lines.append(_wrap(f"- auto's speed-up over `{norm}` (float64, Gaussian spectrum, tol 1e-6, same run): "
                           f"{speed or 'not measured side by side'}."))
        lines.append(_wrap(f"- auto's targets: {targets_summary(targets, machine, backend)}."))
        choice = choice_table(latest, machine, backend)
        if not choice.empty:
            lines.append(_wrap("- which method to use here (float64, Gaussian spectrum): the fastest that met the "
                               f"target, and its speed-up over `{norm}` in the same run:"))
            lines.append("")
            lines.append(md_table(choice))
        lines.append("")
    fig = [plot_name("headline")] if plot_name("headline") in pngs else []
    prose = (_wrap(f"Generated by `lipbench report` from {len(df)} rows in {df['file'].nunique()} saved run(s); "
                   f"auto's rule today: {rule}. A row marked {STALE} measured auto under an older rule "
                   "than the code runs today (see *Runs* below).") + "\n\n" + "\n".join(lines))
    return Section("At a glance", prose.rstrip(), None, fig)


def _regime_plots(machine: str, backend: str, dt: str, fam: str, pngs: set[str], shown: set[str]) -> list[str]:
    """The error-vs-cost plots of one machine, backend, dtype and spectrum, once."""
    prefix = plot_name("error_vs_cost", machine, backend, dt, fam)[: -len(".png")] + "_"
    found = sorted(p for p in pngs if p.startswith(prefix) and p not in shown)
    shown.update(found)
    return found


def _rival_sections(latest: pd.DataFrame) -> list[Section]:
    """The rivals at their best, the speed-up from threads, and which library (NumPy/SciPy or PyTorch)."""
    out: list[Section] = []
    rivals = rivals_table(latest)
    if not rivals.empty:
        out.append(Section(
            "Against SciPy's and PyTorch's solvers at their best, at one thread and at every core",
            _wrap("Every contender of an input at every thread setting is timed in turns in one loop (the thread "
                  "count switched per call, torch's included), so each ratio comes from one measurement; one whose "
                  "first call took over 3x auto's is timed by that call alone (it cannot win), and at fewer threads "
                  "each library's own functions by their fastest verified setting. Each SciPy solver runs at the "
                  "setting a user derives from its documentation and the target (rule: tol = sqrt(target); maxiter "
                  "doubled from 20 until the solver reports convergence) and at the fastest setting of a small search "
                  "that met the target on that input (luckiest); PyTorch's likewise, on a tensor of the same data "
                  "(torch.svd_lowrank: niter doubled until two estimates agree to the target; torch.lobpcg on A^T "
                  "A: tol = the target). The SN power iteration of torch's spectral_norm runs fixed steps and never "
                  "counts as met. The full SVDs are one call per thread setting."),
            rivals))
        speed = threads_table(latest)
        if not speed.empty:
            out.append(Section("Speed-up from threads", _wrap(
                "Median at one BLAS thread over the median at every core of the process, per contender, from "
                "the same loop of turns; A^T(Ax) is one product, the floor a memory-bound method can reach."),
                speed, level=3))
    impl = implementations_table(latest)
    if not impl.empty:
        out.append(Section("NumPy/SciPy or PyTorch: which library and which method", _wrap(
            "Per machine, input and thread setting, the fastest contender of each library that met the target, "
            "from the same loop of turns: on the NumPy array lipbench's auto, SciPy's solvers and "
            "numpy.linalg.norm; on a torch tensor of the same data torch's functions and auto on the tensor; "
            "once with lipbench among them, once among the libraries' own functions only. *fastest of the "
            "thread settings* marks where the input's fastest ran."), impl, level=3))
        auto_t = auto_torch_table(latest)
        out.append(Section("auto on a torch tensor against auto on a NumPy array", _wrap(
            "The cost of handing lipbench a tensor instead of an array of the same data (the note says why a "
            "tensor was refused)."), auto_t, level=3))
    return out


def _sections(df: pd.DataFrame, latest: pd.DataFrame, pngs: set[str]) -> list[Section]:
    """The report's sections, in order, from every run (``df``) and the latest rows."""
    lat_spec = latest[latest["kind"] == "spectral"]
    n_miss = int((lat_spec["status"] != "ok").sum())
    targets = targets_table(pd.concat([latest[latest["kind"] != "spectral"], df[df["kind"] == "spectral"]]))
    sections: list[Section] = [_first_screen(df, latest, targets, pngs)]
    sections.append(Section("How to read this report", _wrap(
        "Each row is one benchmark of the latest run on that machine (older runs stay in results.csv). "
        "Times are medians over the timed rounds, ± the interquartile range. *rel. error* is "
        "|estimate - sigma_max| / sigma_max against ground truth (known by construction, or a float64 SVD on "
        "the host). *target* is `met` when rel. error <= tol, `MISS` otherwise: a missed target is not a fast "
        "success. *speed-up vs X* is median(X) / median(method) from the same run on the same input (above 1: "
        "faster than X); svd and numpy.linalg.norm do not depend on tol and are measured once per input. "
        "*code* is the commit that produced the row (`dirty`: with uncommitted changes; `unknown`: the run "
        f"could not name it), and {STALE} when the row measured auto under an older rule than today's. "
        f"Grid rows in the latest runs: {len(lat_spec)}, of which {n_miss} missed their target "
        f"(plus {len(latest) - len(lat_spec)} other rows)."), machines_table(df)))
    head = headline_table(latest)
    if not head.empty:
        sections.append(Section(
            "Headline: 1024², 2048² and 4096² float64 Gaussian spectrum, target 1e-6",
            _wrap("Time ratios below 1 mean faster than the reference (numpy.linalg.norm(A, 2) is a full "
                  "LAPACK SVD; arpack is scipy.sparse.linalg.svds through lipbench)."), head,
            [p for p in sorted(pngs) if p.startswith("time_vs_size_")]))
    if not targets.empty:
        sections.append(Section(
            'Targets for method="auto"',
            _wrap("Each speed target is a ratio of medians measured side by side in one run on one machine (the "
                  "detail column adds the same ratio from up to three earlier runs: run-to-run spread, and older "
                  "code); *matvec floor* is (matvecs used) x (median time of one product A @ x with that input, "
                  "measured in the same run). Targets not met are shown as such; where a speed target asks for "
                  "less time than the floor of the products auto used, the detail says how far below it. A "
                  f"verdict marked {STALE} judges rows measured under an older rule of auto than today's."),
            targets))
    sections.extend(_rival_sections(latest))
    batched = batched_table(latest)
    if not batched.empty:
        sections.append(Section("Stacks of small matrices", _wrap(
            "A stack of small matrices: batched power iteration, a Python loop of single calls, batched SVD."),
            batched))
    picker = method_picker(df)
    if not picker.empty:
        sections.append(Section("Which method should I use?", _wrap(
            "Fastest method that met the target accuracy, per machine, backend, dtype, spectrum, tolerance and "
            "shape."), picker))
    spectral = broadcast_tol_independent(lat_spec)
    sections.append(Section("Per-regime tables", _wrap(
        "Every method and size, one table per machine, backend, dtype, spectrum and tolerance; each machine's "
        "error-against-cost curves follow the first table of their input.")))
    shown: set[str] = set()
    for (machine, backend, dt, fam, tol), g in spectral.groupby(["machine", "backend", "dtype", "family", "tol"]):
        sections.append(Section(f"{machine} · {backend} · {dt} · {fam} · tol {fmt_tol(tol)}", "", group_table(g),
                                _regime_plots(machine, backend, dt, fam, pngs, shown), level=3))
    train = training_table(latest)
    if not train.empty:
        sections.append(Section(
            "Training-like scenario: tracking sigma_max of a drifting weight", _wrap(
                "Each strategy estimates sigma_max after every small update of W; the time is for all steps, "
                "the tracking error is against the exact sigma_max of each step's W."), train,
            [p for p in sorted(pngs) if p.startswith("tracking_")]))
    for title, prose, table in lipschitz_sections(latest):
        sections.append(Section(title, _wrap(prose), table))
    cross = cross_hardware(df)
    if not cross.empty:
        sections.append(Section("Across hardware (ratios of medians)", _wrap(
            "Median time per machine:backend, latest run of each; speed-up = median on the reference hardware / "
            "median on the other (above 1: the other is faster). Compare regressions only within one machine."),
            cross_hardware_table(cross)))
    leftover = sorted(p for p in pngs if p.startswith("error_vs_cost_") and p not in shown)
    if leftover:
        sections.append(Section("Error against cost, other inputs", "", None, leftover))
    history = "; ".join(f"{c.backend} v{c.version} since {c.since[:16].replace('T', ' ')}: {c.what}"
                        for c in AUTO_RULE_HISTORY if c.version > 1)
    sections.append(Section("Runs", _wrap(
        "Every saved run: the code that produced it and the rule of auto it ran. Runs that did not record "
        "the rule are dated by their commit (or, without one, by the run's date) against the rule's history: "
        + history + "."), runs_table(df)))
    return sections


def _anchor(title: str) -> str:
    """The id GitHub gives a Markdown heading: lower case, spaces to hyphens,
    punctuation dropped."""
    out = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return out.replace(" ", "-")


def _contents(sections: list[Section]) -> str:
    lines = []
    for s in sections[1:]:
        indent = "  " * (s.level - 2)
        lines.append(f"{indent}- [{s.title}](#{_anchor(s.title)})")
    return "\n".join(lines)


def _markdown(sections: list[Section], title: str) -> str:
    md = [f"# {title}", ""]
    for i, s in enumerate(sections):
        md += ["#" * s.level + f" {s.title}", ""]
        if s.prose:
            md += [s.prose, ""]
        if s.table is not None:
            md += [md_table(s.table)]
        for p in s.plots:
            md += [f"![{p[:-4]}](plots/{p})", ""]
        if i == 0:
            md += ["## Contents", "", _contents(sections), ""]
    return "\n".join(md)


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
            Section("No results", f"No lipbench benchmark rows were found under {results_dir}. "
                    "Run `pytest benchmarks --benchmark-save=NAME` first.")]
    else:
        df = add_speedups(df)
        latest = latest_per_case(df)
        curves = load_curves(latest)
        paths["csv"] = out / "results.csv"
        df.drop(columns=list(LIST_FIELDS)).to_csv(paths["csv"], index=False)
        paths["curves_csv"] = out / "curves.csv"
        curves.to_csv(paths["curves_csv"], index=False)
        try:
            pngs = (plot_headline(df, plots) + plot_time_vs_size(df, plots) + plot_error_vs_cost(curves, plots)
                    + plot_tracking(df, plots))
        except ImportError as exc:
            warnings.warn(f"no plots: matplotlib is not importable ({exc}); install lipbench[report]",
                          ReportWarning, stacklevel=2)
        sections = _sections(df, latest, {p.name for p in pngs})
    _write_manifest(plots, pngs)
    paths["png"] = pngs

    markdown = _markdown(sections, TITLE)
    paths["md"] = out / "REPORT.md"
    paths["md"].write_text(markdown, encoding="utf-8")
    paths["html"] = out / "REPORT.html"
    paths["html"].write_text(html_page(TITLE, markdown, base=out, anchor=_anchor), encoding="utf-8")
    return paths


