"""A behaviour record: a fixed, seeded set of public-API calls, one CSV row per call.

Write the record before and after a change that should not change behaviour
(a refactor), then compare the two; any differing row is a change::

    python -m benchmarks.studies.behaviour --out results/behaviour/NAME.csv
    python -m benchmarks.studies.behaviour --compare results/behaviour/baseline.csv results/behaviour/NAME.csv

The calls and the inputs are listed in :mod:`benchmarks.studies.behaviour_cases`
(3606 calls, about a minute on 2 cores); this module runs them and writes and
compares the records.

A row holds the case id, the resolved method, ``value``, ``lower``, ``upper``,
``error_estimate`` and the tol used as ``repr(float)`` (a stack's arrays as
``sha256:<first 16 hex digits of the float64 bytes>;max=...;min=...``),
iterations, matvecs, converged, certified, certificate, the stages, whether a
``ConvergenceWarning`` was raised and the other warning classes, and the
exception class of a call that raised.  Free text (``message``, notes) and
times are left out: their wording and values may change without the
behaviour changing.  The commit (``git rev-parse HEAD``, marked when lipbench/
has uncommitted changes, or ``--commit``) is a header comment, which the
compare ignores.

Every call is seeded (``seed=None`` draws from the operating system's entropy,
so no case uses it) and BLAS runs on one thread (threadpoolctl), so two runs
on one machine give identical files; another machine or BLAS may differ in the
last bits.  Dask runs on its synchronous scheduler, so its reductions have
one order.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import subprocess
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from benchmarks.studies.behaviour_cases import FIELDS, Case, cases

__all__ = ["FIELDS", "Case", "cases", "compare", "main", "read", "record", "run_case"]


# --------------------------------------------------------------------------- record and compare

def run_case(case: Case) -> dict[str, str]:
    """The case's row, every field of :data:`FIELDS` present."""
    row = {f: "" for f in FIELDS}
    row.update(case.call())
    row["case"] = case.id
    return row


def record(selected: Iterable[Case], out: Path, commit: str, progress: bool = False) -> int:
    """Run ``selected`` at one BLAS thread (Dask synchronous) and write the CSV; the row count."""
    from threadpoolctl import threadpool_limits

    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    n = 0
    with contextlib.ExitStack() as stack:
        stack.enter_context(threadpool_limits(1))
        try:
            import dask
            stack.enter_context(dask.config.set(scheduler="synchronous"))
        except ImportError:
            pass
        fh = stack.enter_context(out.open("w", newline=""))
        fh.write(f"# behaviour record of lipbench; commit {commit}\n")
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for case in selected:
            writer.writerow(run_case(case))
            n += 1
            if progress and n % 500 == 0:
                print(f"{n} cases, {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return n


def read(path: Path) -> dict[str, dict[str, str]]:
    """case id -> row, from a record (comment lines skipped)."""
    with Path(path).open(newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {r["case"]: r for r in rows}


def compare(a: Path, b: Path, stream: Any = None) -> int:
    """Print the cases that differ between records ``a`` and ``b``; 1 if any, else 0."""
    stream = stream or sys.stdout
    ra, rb = read(a), read(b)
    differing = 0
    for cid in [*ra, *(k for k in rb if k not in ra)]:
        if cid not in rb:
            print(f"{cid}: only in {a}", file=stream)
        elif cid not in ra:
            print(f"{cid}: only in {b}", file=stream)
        else:
            fields = [f for f in FIELDS if ra[cid].get(f) != rb[cid].get(f)]
            if not fields:
                continue
            print(f"{cid}: " + "; ".join(f"{f} {ra[cid].get(f)!r} -> {rb[cid].get(f)!r}" for f in fields),
                  file=stream)
        differing += 1
    print(f"compared {len(ra.keys() | rb.keys())} cases: {differing} differ", file=stream)
    return 1 if differing else 0


def _head_commit() -> str:
    """``git rev-parse HEAD``, marked when lipbench/ has uncommitted changes; "unknown" outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        top = git("rev-parse", "--show-toplevel")
        return head + (" (lipbench/ modified)" if git("status", "--porcelain", "--", f"{top}/lipbench") else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the record here (CSV)")
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="compare two records")
    ap.add_argument("--commit", help="the commit to write in the header (default: git rev-parse HEAD)")
    ap.add_argument("-k", dest="select", help="only the cases whose id contains this text")
    args = ap.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if not args.out:
        ap.error("give --out FILE or --compare A B")
    selected = [c for c in cases() if args.select is None or args.select in c.id]
    t0 = time.perf_counter()
    n = record(selected, args.out, args.commit or _head_commit(), progress=True)
    print(f"wrote {n} cases to {args.out} in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
