"""``lipbench`` command line (also ``python -m lipbench``): parses, calls the library, prints.

Subcommands:

* ``lipbench norm FILE [--method M --tol T --key NAME ...]`` -- sigma_max of a
  matrix stored in ``.npy`` / ``.npz`` (loaded without pickle) or a ``.pt`` file
  (a tensor, or one of a state_dict's by ``--key``); an array with
  more than two axes needs ``--stack`` (norms of its trailing matrices) or
  ``--conv H,W`` (the operator norm of the convolution with that kernel).
* ``lipbench scan FILE [--input-shape C,H,W] [--json | --csv]`` -- every
  weight of a checkpoint (safetensors, ``.pt``, ``.npz``, ONNX, LipSDP ``.mat``)
  with a certified bound, largest first (:mod:`lipbench.cli_scan`).
* ``lipbench lipschitz FILE.onnx|FILE.pt2`` -- the bound ladder on an imported network
  (:mod:`lipbench.models.lipschitz_cli`).
* ``lipbench compare FILE`` -- every method that applies, timed side by side on
  that matrix (:mod:`lipbench.compare`).
* ``lipbench claims`` -- run the property suite and write the claims ledger.
* ``lipbench report [RESULTS_DIR]`` -- tables and plots from saved benchmarks.

``docs/cli.md`` describes the flags and the output.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from .cli_input import CLIError, axes, check_layout, ints, jsonable, load_matrix

__all__ = ["main", "build_parser", "load_matrix", "CLIError"]

#: subcommands implemented in other modules: name -> (module, help)
_PLUGINS = {
    "lipschitz": ("lipbench.models.lipschitz_cli", "bounds on the Lipschitz constant of a network (.onnx, .pt2)"),
    "compare": ("lipbench.compare", "time every method that applies on a matrix, side by side"),
    "scan": ("lipbench.cli_scan", "every weight of a checkpoint with a certified bound, largest first"),
    "claims": ("lipbench.claims", "run the property suite and write results/claims.md"),
    "report": ("lipbench.report", "turn saved benchmark runs into REPORT.md, CSV, PNG and HTML"),
}

#: exit status after stdout was closed early (``lipbench ... | head``): the
#: shell's status for a process ended by SIGPIPE
BROKEN_PIPE_STATUS = 141


def _norm_arguments(parser: argparse.ArgumentParser) -> None:
    from . import METHODS

    parser.add_argument("file", help="a .npy, .npz or .pt file holding the matrix")
    parser.add_argument("--method", default="auto", choices=["auto", *METHODS, "fft", "bound", "gram-cholesky"],
                        help="estimator (default: auto); 'fft', 'bound' and 'gram-cholesky' apply with --conv")
    parser.add_argument("--tol", type=float, default=None,
                        help="relative accuracy (default: 1e-8 float64, 1e-5 float32); a tol below the rounding "
                             "floor of the computation is raised to it, with a note")
    parser.add_argument("--maxiter", type=int, default=None,
                        help="iteration cap; what it counts depends on the method (Lanczos steps, power steps, "
                             "blocks, squarings; see docs/cli.md), and the output's count is the same")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed of the random start (default: a fresh one, printed, as in the Python API)")
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (threadpoolctl; default: the BLAS's own setting); printed either way")
    parser.add_argument("--key", default=None, help="array name in a .npz archive, tensor name in a .pt state_dict")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when the method does not converge")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--certify", action=argparse.BooleanOptionalAction, default=None,
                        help="prove the upper bound within tol of the lower one (default: on for dense matrices "
                             "whose smaller side is at most 4096, where it is cheap; see docs/certify.md); with "
                             "--conv: the Gram route up to a smaller side of 8192, else the proven ends "
                             "(docs/convolutions.md)")
    shape = parser.add_argument_group("arrays with more than two axes (one of these is required)")
    shape.add_argument("--stack", action="store_true", help="the array is a stack (..., m, n): one norm per matrix")
    shape.add_argument("--conv", metavar="SHAPE", default=None,
                       help="the array is a convolution kernel (out, in/groups, *k); SHAPE is the input's spatial "
                            "shape: L, H,W or D,H,W")
    conv = parser.add_argument_group("convolution options (with --conv; as in PyTorch)")
    conv.add_argument("--stride", default="1", help="int or comma-separated per axis (default 1)")
    conv.add_argument("--padding", default="0", help="int, comma-separated per axis, 'same' or 'valid' (default 0)")
    conv.add_argument("--padding-mode", default="zeros", choices=["zeros", "circular", "reflect", "replicate"])
    conv.add_argument("--dilation", default="1", help="int or comma-separated per axis (default 1)")
    conv.add_argument("--groups", type=int, default=1)
    conv.add_argument("--transposed", action="store_true", help="a transposed convolution, kernel (in, out/groups, *k)")
    conv.add_argument("--output-padding", default="0", help="transposed only: int or comma-separated (default 0)")


def _run_norm(args: argparse.Namespace) -> int:
    from . import ConvergenceWarning, NotConvergedError, spectral_norm
    from .spectral.result import not_converged_message
    from .timing import limit_threads

    A = load_matrix(args.file, args.key)
    check_layout(A, args)
    notes: list[str] = []
    try:
        with warnings.catch_warnings(), limit_threads(args.threads):
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported below instead
            if args.conv is not None:
                from .lipschitz import conv_operator_norm

                r = conv_operator_norm(
                    A, ints(args.conv, "--conv"), stride=axes(args.stride, "--stride"),
                    padding=axes(args.padding, "--padding", words=("same", "valid")),
                    dilation=axes(args.dilation, "--dilation"), groups=args.groups, padding_mode=args.padding_mode,
                    transposed=args.transposed, output_padding=axes(args.output_padding, "--output-padding"),
                    method=args.method, tol=args.tol, maxiter=args.maxiter, seed=args.seed, strict=args.strict,
                    certify=args.certify)
            else:
                certify, why_not = _certify_choice(A, args)
                r = spectral_norm(A, method=args.method, tol=args.tol, maxiter=args.maxiter, seed=args.seed,
                                  strict=args.strict, certify=certify)
                if not certify and not r.certified:
                    notes.append(f"the upper bound is not certified ({why_not}); pass --certify to prove it")
    except NotConvergedError as exc:
        _print_norm(args, exc.result, [])
        print(f"lipbench norm: error: {not_converged_message(exc.result, 'cli')}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, FloatingPointError) as exc:
        raise CLIError(f"{args.file}: {exc}") from None
    if not r.converged:
        notes.append(f"warning: NOT converged: {not_converged_message(r, 'cli')}")
    _print_norm(args, r, notes)
    for note in notes:
        print(f"lipbench norm: {note}", file=sys.stderr)
    return 0


#: the result's fields in ``lipbench norm --json``, in order
_JSON_FIELDS = ("value", "lower", "upper", "relative_width", "converged", "error_estimate", "tol", "method",
                "options", "iterations", "matvecs", "stages", "seed", "seconds", "threads", "backend", "device",
                "dtype", "input_dtype", "shape", "certificate", "certified", "upper_probabilistic",
                "failure_probability", "message")


def norm_record(args: argparse.Namespace, r: Any, notes: Sequence[str]) -> dict:
    """Everything ``lipbench norm`` prints, as data: the file and key, the
    options asked for, the result's fields and the notes it writes to stderr."""
    from . import METHODS

    info = METHODS.get(r.method)
    record = {"file": str(args.file), "key": args.key,
              "requested": {"method": args.method, "tol": args.tol, "maxiter": args.maxiter, "seed": args.seed,
                            "threads": args.threads, "certify": args.certify},
              **{k: jsonable(getattr(r, k)) for k in _JSON_FIELDS},
              "iterations_count": info.counts if info else "iterations",
              "maxiter_count": info.maxiter_meaning if info else "iterations",
              "notes": list(notes), "result_notes": jsonable(r.notes)}
    return record


def _print_norm(args: argparse.Namespace, r: Any, notes: Sequence[str]) -> None:
    if args.json:
        print(json.dumps(norm_record(args, r, notes), indent=2))
        return
    print(f"file       {args.file}" + (f" [{args.key}]" if args.key else "") + f"  shape {r.shape} {r.input_dtype}")
    print(r.summary())


def _certify_choice(A: np.ndarray, args: argparse.Namespace) -> tuple[bool, str]:
    """``--certify`` / ``--no-certify`` as given, else the default rule."""
    from .spectral._certification import certify_by_default

    if args.certify is not None:
        return args.certify, "--no-certify"
    if args.stack:
        return False, "stacks are not certified"
    return certify_by_default("dense", np.shape(A))


def build_parser() -> argparse.ArgumentParser:
    from ._version import __version__

    parser = argparse.ArgumentParser(prog="lipbench",
                                     description="Verify and benchmark spectral norms and Lipschitz constants.")
    parser.add_argument("--version", action="version", version=f"lipbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("norm", help="sigma_max of a matrix in a .npy/.npz/.pt file, with a certified bracket")
    _norm_arguments(p)
    p.set_defaults(_run=_run_norm)
    for name, (module, help_text) in _PLUGINS.items():
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:  # an optional dependency (pandas, matplotlib) is missing
            p = sub.add_parser(name, help=f"{help_text} (unavailable: {exc})")
            p.set_defaults(_run=_unavailable(name, exc))
            continue
        if not hasattr(mod, "add_cli_arguments"):
            continue
        p = sub.add_parser(name, help=help_text)
        mod.add_cli_arguments(p)
        p.set_defaults(_run=mod.run_cli)
    return parser


def _unavailable(name: str, exc: Exception):
    def run(_args: argparse.Namespace) -> int:
        raise CLIError(f"'lipbench {name}' needs an optional dependency: {exc}. "
                       "Install with: pip install 'lipbench[report]'")

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        status = int(args._run(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except CLIError as exc:
        print(f"lipbench {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # the reader closed stdout (``| head``): stop quietly; point stdout at
        # devnull so that the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return BROKEN_PIPE_STATUS


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
