"""``lipbench compare``: every method that applies, timed side by side on the caller's matrix.

:func:`compare` runs lipbench's methods (and ``auto``) with the same ``tol``
and seed, and two references -- ``numpy.linalg.norm(A, 2)`` (a full SVD) and
``scipy.sparse.linalg.svds(A, k=1)`` -- through :func:`lipbench.timing.time_interleaved`,
the timing core the benchmarks use: one untimed warm-up call each, then
interleaved rounds, median and interquartile range, BLAS threads fixed with
threadpoolctl.  Accuracy is judged against the most accurate *certified*
answer: one untimed ``spectral_norm(A, certify=True)`` at the rounding floor,
or a timed method's certified bracket if it is tighter.  A row meets ``tol``
when it converged and its relative error is within ``tol`` (plus the
reference's own width).  Rows are sorted by median time, those that met
``tol`` first.  pandas is optional (:meth:`Comparison.to_frame`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import array_api_compat
import numpy as np

from . import backends as _backends
from . import timing
from .spectral import METHODS, ConvergenceWarning, default_tol, spectral_norm

__all__ = ["compare", "Comparison", "Row", "REFERENCES", "add_cli_arguments", "run_cli"]

#: the reference rows: the plain NumPy and SciPy calls a user would write
REFERENCES = ("numpy.linalg.norm", "scipy.sparse.linalg.svds")
#: the columns of the table, the CSV and the JSON rows
COLUMNS = ("method", "options", "median_s", "iqr_s", "rounds", "value", "lower", "upper", "relative_error",
           "bracket_width", "matvecs", "iterations", "converged", "met_tol", "error")


@dataclass
class Row:
    """One method on the caller's matrix: its time and what it answered."""

    method: str
    options: dict = field(default_factory=dict)
    median_s: float = math.nan
    iqr_s: float = math.nan
    rounds: int = 0
    value: float = math.nan
    lower: float = math.nan
    upper: float = math.nan
    relative_error: float = math.nan
    bracket_width: float = math.nan
    matvecs: int | None = None
    iterations: int | None = None
    converged: bool = False
    met_tol: bool = False
    error: str = ""


@dataclass
class Comparison:
    """The rows of :func:`compare`, the reference they are judged against, and
    where they were measured."""

    shape: tuple[int, ...]
    dtype: str
    tol: float
    seed: int
    threads: int | None
    rounds: int
    reference: dict
    provenance: dict
    rows: list[Row]
    source: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows"] = [_clean(asdict(r)) for r in self.rows]
        return _clean(d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for r in self.rows:
            row = asdict(r)
            row["options"] = json.dumps(row["options"], sort_keys=True) if row["options"] else ""
            w.writerow({k: ("" if v is None else v) for k, v in row.items()})
        return buf.getvalue()

    def to_frame(self) -> Any:
        """The rows as a pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame([asdict(r) for r in self.rows], columns=list(COLUMNS))

    def table(self) -> str:
        """The header (matrix, tol, machine, timing, reference) and a plain-text table."""
        p, ref = self.provenance, self.reference
        blas = ", ".join(f"{b.get('internal_api')} {b.get('version')}" for b in p.get("blas", [])) or "none found"
        head = [
            f"lipbench compare  {self.source}  shape {self.shape} {self.dtype}  tol {self.tol:.3g}  seed {self.seed}",
            f"machine   {p['cpu_count']} CPU(s) {p['processor']}; BLAS {blas}, {self.threads} thread(s); "
            f"Python {p['python']}, NumPy {p['numpy_version']}, SciPy {p['scipy_version']}, "
            f"lipbench {p['lipbench_version']}; {p['platform']}",
            f"timing    1 untimed warm-up call each, then {self.rounds} interleaved round(s); median and IQR",
            f"reference sigma_max = {ref['value']:.17g}, certified bracket width {ref['bracket_width']:.3g} "
            f"({ref['method']}, certificate {ref['certificate']})",
            "",
        ]
        cells = [("method", "median", "+- IQR", "rel. error", "bracket width", "matvecs", "converged", "met tol")]
        for r in self.rows:
            name = r.method + (f" {_options(r.options)}" if r.options else "")
            if r.error:
                cells.append((name, "failed", "", "", "", "", "", r.error[:60]))
                continue
            cells.append((name, _secs(r.median_s), _secs(r.iqr_s), f"{r.relative_error:.2e}",
                          "-" if math.isnan(r.bracket_width) else f"{r.bracket_width:.2e}",
                          "-" if r.matvecs is None else str(r.matvecs), "yes" if r.converged else "NO",
                          "yes" if r.met_tol else "NO"))
        widths = [max(len(c[i]) for c in cells) for i in range(len(cells[0]))]
        lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths)))
                 for row in cells]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(head + lines)


def _options(options: dict) -> str:
    return "(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"


def _secs(s: float) -> str:
    if math.isnan(s):
        return "-"
    return f"{s * 1e3:.3g} ms" if s < 1 else f"{s:.3g} s"


def _clean(x: Any) -> Any:
    """Non-finite floats as their names (JSON has no such numbers), tuples as lists."""
    if isinstance(x, dict):
        return {k: _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    return x


def _lipbench_call(A: Any, method: str, tol: float, seed: int) -> Callable[[], Any]:
    def run() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # converged=False is in the row
            return spectral_norm(A, method=method, tol=tol, seed=seed)

    return run


def _reference_call(A: Any, name: str, tol: float, seed: int) -> Callable[[], Any]:
    if name == "numpy.linalg.norm":
        return lambda: {"value": float(np.linalg.norm(A, 2)), "converged": True}

    def svds_top() -> dict:
        from scipy.sparse.linalg import ArpackNoConvergence, svds

        try:
            s = svds(A, k=1, tol=tol, return_singular_vectors=False, rng=np.random.default_rng(seed))
        except ArpackNoConvergence as exc:
            return {"value": math.nan, "converged": False, "error": f"ArpackNoConvergence: {exc}"}
        return {"value": float(np.max(s)), "converged": True}

    return svds_top


def applicable_methods(A: Any) -> list[str]:
    """``auto``, the lipbench methods that take ``A`` here, and the references."""
    return ["auto", *[name for name, info in METHODS.items() if info.applies_to(A)[0]], *REFERENCES]


def _check_methods(A: Any, methods: Sequence[str]) -> list[str]:
    out = []
    for name in methods:
        if name in REFERENCES or name == "auto":
            out.append(name)
            continue
        if name not in METHODS:
            raise ValueError(f"unknown method {name!r}; choose from: auto, {', '.join(METHODS)}, "
                             f"{', '.join(REFERENCES)}")
        ok, why = METHODS[name].applies_to(A)
        if not ok:
            raise ValueError(why)
        out.append(name)
    return out


def compare(A: Any, *, tol: float | None = None, methods: Sequence[str] | None = None, repeat: int | None = None,
            threads: int | None = None, seed: int | None = None, budget: float = 10.0,
            source: str = "") -> Comparison:
    """Time every method that applies to the 2-D matrix ``A`` (or ``methods``)
    side by side and judge each answer against a certified reference (see the
    module doc).  ``repeat`` timed rounds (None: as many as ``budget`` seconds
    allow, at least 3), BLAS ``threads`` (None: :func:`lipbench.timing.default_threads`),
    ``seed`` shared by every method (None: drawn and recorded)."""
    A = _backends.host_view(A)  # a CPU torch tensor: its NumPy view, what the rivals take
    if array_api_compat.is_array_api_obj(A) and not isinstance(A, np.ndarray):  # a GPU or native tensor
        raise ValueError(f"compare times NumPy and SciPy methods on the host; got a {_backends.backend_name_of(A)} "
                         "array (move it to the CPU as a NumPy array, e.g. tensor.cpu().float().numpy())")
    if np.ndim(A) != 2:
        raise ValueError(f"compare takes one 2-D matrix; got an array of shape {np.shape(A)}")
    names = _check_methods(A, methods) if methods else applicable_methods(A)
    if seed is None:
        seed = int(cast(int, np.random.SeedSequence().entropy) % (2**63))  # a fresh one's entropy is an int
    work = "float64" if np.dtype(A.dtype).name in ("float64", "complex128") or np.dtype(A.dtype).kind in "biu" \
        else "float32"
    tol = default_tol(work) if tol is None else float(tol)
    if not 0.0 < tol < 1.0:
        raise ValueError(f"tol must lie in (0, 1) (a relative accuracy); got {tol!r}")
    threads = timing.default_threads() if threads is None else threads
    with timing.limit_threads(threads) as used:
        calls = {name: (_reference_call(A, name, tol, seed) if name in REFERENCES
                        else _lipbench_call(A, name, tol, seed)) for name in names}
        timed = timing.time_interleaved(calls, rounds=repeat, budget=budget)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            best = spectral_norm(A, tol=1e-300, seed=seed, certify=True)  # raised to the rounding floor
        prov = timing.provenance()
    candidates = [best] + [t.outcome for t in timed.values()
                           if not isinstance(t.outcome, dict) and t.outcome is not None and t.outcome.certified]
    ref = min(candidates, key=lambda r: r.relative_width)
    reference = {"value": float(ref.value), "lower": float(ref.lower), "upper": float(ref.upper),
                 "bracket_width": float(ref.relative_width), "method": ref.method, "certificate": ref.certificate,
                 "seconds": float(ref.seconds)}
    rows = [_row(name, timed[name], reference, tol) for name in names]
    rows.sort(key=lambda r: (not r.met_tol, bool(r.error), r.median_s if not math.isnan(r.median_s) else math.inf))
    return Comparison(shape=tuple(int(d) for d in np.shape(A)), dtype=np.dtype(A.dtype).name, tol=tol, seed=seed,
                      threads=used, rounds=max((len(t.times) for t in timed.values()), default=0),
                      reference=reference, provenance=prov, rows=rows, source=source)


def _row(name: str, t: timing.Timing, ref: dict, tol: float) -> Row:
    row = Row(method=name, median_s=t.median, iqr_s=t.iqr, rounds=len(t.times), error=t.error)
    out = t.outcome
    if out is None:
        return row
    if isinstance(out, dict):  # a reference call
        row.value, row.converged = out["value"], out["converged"]
        row.error = row.error or out.get("error", "")
    else:
        row.value, row.lower, row.upper = float(out.value), float(out.lower), float(out.upper)
        row.bracket_width = float(out.relative_width)
        row.matvecs, row.iterations, row.converged = int(out.matvecs), int(out.iterations), bool(out.converged)
        if name == "auto":
            row.method = f"auto -> {out.method}"
            row.options = dict(out.options)
    row.relative_error = abs(row.value - ref["value"]) / ref["value"] if ref["value"] > 0 else abs(row.value)
    row.met_tol = bool(row.converged and not row.error and row.relative_error <= tol + ref["bracket_width"])
    return row


# --------------------------------------------------------------------------- command line


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="a .npy, .npz or .pt file holding one matrix")
    parser.add_argument("--key", default=None, help="array name in a .npz archive, tensor name in a .pt state_dict")
    parser.add_argument("--tol", type=float, default=None,
                        help="relative accuracy every method is asked for (default: 1e-8 float64, 1e-5 float32)")
    parser.add_argument("--methods", nargs="+", default=None, metavar="METHOD",
                        help="methods to run (default: every one that applies, auto and the references "
                             f"{', '.join(REFERENCES)})")
    parser.add_argument("--repeat", type=int, default=None,
                        help="timed rounds (default: as many as --budget allows, at least 3)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds of timed rounds when --repeat is not given")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (default: every CPU, 1 on machines with 2 CPUs or fewer)")
    parser.add_argument("--seed", type=int, default=None, help="seed shared by every method (default: drawn, printed)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the comparison as JSON")
    out.add_argument("--csv", action="store_true", help="print the rows as CSV")


def run_cli(args: argparse.Namespace) -> int:
    from .cli_input import CLIError, load_matrix

    A = load_matrix(args.file, args.key)
    if args.repeat is not None and args.repeat < 1:
        raise CLIError(f"--repeat must be a positive integer; got {args.repeat}")
    try:
        res = compare(A, tol=args.tol, methods=args.methods, repeat=args.repeat, threads=args.threads,
                      seed=args.seed, budget=args.budget,
                      source=str(args.file) + (f" [{args.key}]" if args.key else ""))
    except (ValueError, TypeError) as exc:
        raise CLIError(f"{args.file}: {exc}") from None
    if args.json:
        print(res.to_json())
    elif args.csv:
        print(res.to_csv(), end="")
    else:
        print(res.table())
    return 0
