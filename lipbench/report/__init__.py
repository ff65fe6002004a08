"""Saved benchmark runs -> one tidy pandas frame -> Markdown, CSV, PNG and HTML reports.

One module per step, data flowing one way:

1. :mod:`.load` -- every pytest-benchmark JSON run under a results folder
   (``results/<machine>/<machine id>/NNNN_NAME.json``) into one tidy frame, one
   row per benchmark, time next to accuracy; corrupt or foreign files are
   named in a :class:`ReportWarning` and skipped; each row says which code
   produced it (commit, dirty) and whether it measured ``auto`` under an older
   rule than today's (``stale``);
2. :mod:`.compare` -- speed-ups (ratios of medians within one run),
   machines side by side, the method picker;
3. :mod:`.targets` -- the targets of ``method="auto"`` as a table of data
   (:data:`TARGETS`) and their verdicts; :mod:`.regimes` judges "auto picks
   the winner" over every regime of the grid;
4. :mod:`.plots` -- PNGs with matplotlib, every method in its one look
   (:mod:`.style`);
5. :mod:`.summary`, :mod:`.tables`, :mod:`.render` and :mod:`.html` -- the
   first screen's answers, the formatted tables, then REPORT.md, REPORT.html,
   results.csv, curves.csv and plots/ (:func:`write_report`);
6. :mod:`.cli` -- ``lipbench report`` (also ``python -m lipbench.report``).

The report reads results only: it never imports the estimators (matrices ->
estimators -> results -> report).
"""

from .cli import add_cli_arguments, main, run_cli
from .compare import (
    REFERENCE_METHODS,
    TOL_INDEPENDENT,
    add_speedups,
    broadcast_tol_independent,
    cross_hardware,
    method_picker,
)
from .load import ReportWarning, find_result_files, latest_per_case, load_curves, load_results
from .plots import plot_error_vs_cost, plot_headline, plot_time_vs_size, plot_tracking
from .render import PLOTS_MANIFEST, default_out_dir, write_report
from .targets import TARGETS, Target, targets_table

__all__ = [
    "ReportWarning",
    "REFERENCE_METHODS",
    "TOL_INDEPENDENT",
    "TARGETS",
    "Target",
    "PLOTS_MANIFEST",
    "find_result_files",
    "load_results",
    "load_curves",
    "add_speedups",
    "latest_per_case",
    "cross_hardware",
    "broadcast_tol_independent",
    "method_picker",
    "targets_table",
    "plot_headline",
    "plot_time_vs_size",
    "plot_error_vs_cost",
    "plot_tracking",
    "default_out_dir",
    "write_report",
    "add_cli_arguments",
    "run_cli",
    "main",
]
