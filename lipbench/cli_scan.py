"""``lipbench scan FILE [--input-shape C,H,W] [--json | --csv] [--tol T] [--threads N]``: every
weight of a checkpoint with a certified bound, largest first
(:func:`lipbench.models.scan.scan_weights`; ``docs/scan.md``)."""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from typing import Any, TextIO

from .cli_input import CLIError, ints, jsonable

__all__ = ["add_cli_arguments", "run_cli", "scan_record", "CSV_COLUMNS"]

#: the columns of ``--csv``, and the keys of each row of ``--json``
CSV_COLUMNS = ("name", "kind", "shape", "dtype", "lower", "upper", "certified", "bound", "seconds", "reason",
               "detail", "input_size", "tied_to")

#: a scan not on a terminal reports progress after this many seconds, and then as often
QUIET_SECONDS = 10.0

_BOUND_TEXT = {
    "sigma": "sigma_max",
    "max-abs": "max |entry|",
    "conv-at-size": "conv at {size}, stride 1, full zero padding",
    "conv-size-free": "conv, size-free upper bound",
}
_REASON_TEXT = {
    "bias": "a translation adds nothing to a Lipschitz constant",
    "statistics": "BatchNorm running statistics: the layer's constant max|gamma|/sqrt(var + eps) needs eps",
    "integer": "counters or indices, not weights",
    "layout": "not a matrix, a kernel or a scale: the layout is not guessed",
    "failed": "failed",
}


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    from .models.scan import DEFAULT_TOL

    parser.add_argument("file", help="a weight file: .safetensors, .pt/.pth/.bin (state_dict), .npz/.npy, .onnx "
                                     "(its initializers) or .mat (LipSDP's 'weights' cell array)")
    parser.add_argument("--input-shape", default=None, metavar="C,H,W",
                        help="the network input's shape: conv kernels of its spatial rank are bounded at that "
                             "spatial size (stride 1, full zero padding); without it, by the size-free bound")
    parser.add_argument("--tol", type=float, default=DEFAULT_TOL,
                        help=f"relative width asked of each bracket (default {DEFAULT_TOL:g})")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (threadpoolctl; default: the BLAS's own setting)")
    out = parser.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print the scan as JSON")
    out.add_argument("--csv", action="store_true", help="print the rows as CSV")


class _Progress:
    """``k/N name`` on stderr: rewritten in place on a terminal; elsewhere a line
    every :data:`QUIET_SECONDS` once the scan has run that long."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.tty = stream, stream.isatty()
        self.start = self.last = time.perf_counter()
        self.width = 0

    def __call__(self, k: int, n: int, name: str) -> None:
        now = time.perf_counter()
        if self.tty:
            text = f"scan {k}/{n} {name}"[:100]
            self.stream.write("\r" + text.ljust(self.width))
            self.width = len(text)
            self.stream.flush()
        elif now - self.last >= QUIET_SECONDS:
            self.last = now
            print(f"lipbench scan: {k}/{n} {name} ({now - self.start:.0f} s)", file=self.stream, flush=True)

    def done(self) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()


def run_cli(args: argparse.Namespace) -> int:
    from .models.scan import scan_weights
    from .models.weights import WeightFileError, read_weights
    from .timing import limit_threads

    shape = ints(args.input_shape, "--input-shape") if args.input_shape else None
    if shape is not None and (len(shape) < 2 or min(shape) < 1):
        raise CLIError(f"--input-shape is C,L or C,H,W or C,D,H,W of positive sizes; got {args.input_shape!r}")
    if not args.tol > 0:
        raise CLIError(f"--tol must be positive; got {args.tol}")
    try:
        weights = read_weights(args.file)
    except WeightFileError as exc:
        raise CLIError(str(exc)) from None
    progress = _Progress(sys.stderr)
    try:
        with limit_threads(args.threads):
            scan = scan_weights(weights, shape, tol=args.tol, progress=progress)
    finally:
        progress.done()
    if args.json:
        print(json.dumps(scan_record(scan), indent=2))
    elif args.csv:
        writer = csv.DictWriter(sys.stdout, fieldnames=CSV_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in scan_record(scan)["rows"]:
            writer.writerow({**row, "shape": "x".join(map(str, row["shape"])),
                             "input_size": "x".join(map(str, row["input_size"] or ()))})
    else:
        _print_text(scan)
    return 0


def scan_record(scan: Any) -> dict[str, Any]:
    """The scan as JSON data: the file, the settings, every row, the chain's product."""
    return {"file": scan.path, "format": scan.format, "tol": scan.tol, "input_shape": scan.input_shape,
            "seconds": scan.seconds,
            "rows": [{c: jsonable(getattr(r, c)) for c in CSV_COLUMNS} for r in scan.rows],
            "ignored": list(scan.ignored),
            "chain": None if scan.chain is None else {"layers": list(scan.chain), "activation": "relu",
                                                      "upper": scan.chain_upper}}


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.9g}"


def _print_text(scan: Any) -> None:
    bounded = [r for r in scan.rows if r.upper is not None]
    print(f"file  {scan.path}  ({scan.format}, {len(scan.rows)} arrays, tol {scan.tol:g}, {scan.seconds:.2f} s)")
    table = [("name", "kind", "shape", "lower", "upper", "certified", "seconds", "bound")]
    for r in bounded:
        bound = _BOUND_TEXT[r.bound].format(size="x".join(map(str, r.input_size or ())))
        bound += f" (tied to {r.tied_to})" if r.tied_to else ""
        table.append((r.name, r.kind, "x".join(map(str, r.shape)), _num(r.lower), _num(r.upper),
                      "yes" if r.certified else "no", f"{r.seconds:.3f}", bound))
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]) - 1)]
    for row in table:
        print("  ".join(c.rjust(w) if i in (3, 4, 6) else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths)))
              + "  " + row[-1])
    if scan.chain is not None:
        print(f"chain  {' -> '.join(scan.chain)} with ReLU between: Lipschitz constant <= "
              f"{_num(scan.chain_upper)} (the product of the upper ends)")
    unbounded = Counter(r.reason for r in scan.rows if r.upper is None)
    for reason, count in unbounded.items():
        if reason == "failed" or reason == "layout":
            for r in scan.rows:
                if r.reason == reason:
                    print(f"not bounded  {r.name} ({r.kind}, {'x'.join(map(str, r.shape))}): "
                          f"{_REASON_TEXT[reason]}" + (f": {r.detail}" if r.detail else ""))
        else:
            print(f"not bounded  {count} {reason} array{'' if count == 1 else 's'}: {_REASON_TEXT[reason]}")
    if scan.ignored:
        print(f"ignored  {len(scan.ignored)} entries that are not arrays: {', '.join(scan.ignored[:8])}"
              + (", ..." if len(scan.ignored) > 8 else ""))
