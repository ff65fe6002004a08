"""Step 6 of the report: ``lipbench report`` (and ``python -m lipbench.report``).

By default the report of a results folder is written to ``<results>/local/``,
which git ignores: a benchmark run followed by ``lipbench report`` leaves the
committed files as they were.  ``--update-committed`` rewrites the committed
report instead: ``REPORT.md`` and ``plots/`` in the results folder itself.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path

from .load import ReportWarning
from .render import LOCAL_DIR, write_report

__all__ = ["add_cli_arguments", "run_cli", "main"]


def _default_results_dir() -> Path:
    """``results/`` of the checkout this package lives in, else ./results."""
    here = Path(__file__).resolve().parents[2] / "results"
    return here if here.is_dir() else Path("results")


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``lipbench report``."""
    parser.add_argument("results_dir", nargs="?", default=None,
                        help="folder with saved pytest-benchmark JSON runs (default: results/)")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("-o", "--out", default=None,
                       help="where to write REPORT.md, REPORT.html, results.csv and plots/ "
                            f"(default: RESULTS_DIR/{LOCAL_DIR}/, which git ignores)")
    where.add_argument("--update-committed", action="store_true",
                       help="rewrite the committed report, REPORT.md and plots/ in RESULTS_DIR itself, "
                            "from every run there (see results/README.md)")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``lipbench report``; returns the exit status (2: no such folder)."""
    results_dir = Path(args.results_dir) if getattr(args, "results_dir", None) else _default_results_dir()
    if not results_dir.exists():
        print(f"lipbench report: results folder {str(results_dir)!r} does not exist; run "
              "`pytest benchmarks --benchmark-save=NAME` first or pass the folder", file=sys.stderr)
        return 2
    out = getattr(args, "out", None)
    if getattr(args, "update_committed", False):
        out = results_dir if results_dir.is_dir() else results_dir.parent
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReportWarning)
        paths = write_report(results_dir, out)
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
    parser = argparse.ArgumentParser(
        prog="python -m lipbench.report",
        description="Saved benchmark runs -> one tidy pandas frame -> Markdown, CSV, PNG and HTML reports.")
    add_cli_arguments(parser)
    return run_cli(parser.parse_args(None if argv is None else list(argv)))
