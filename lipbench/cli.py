"""``lipbench`` command line (also ``python -m lipbench``): parses, calls the library, prints.

Subcommands:

* ``lipbench norm FILE [--method M --tol T --key NAME ...]`` -- sigma_max of a
  matrix stored in ``.npy`` / ``.npz`` (loaded without pickle); an array with
  more than two axes needs ``--stack`` (norms of its trailing matrices) or
  ``--conv H,W`` (the operator norm of the convolution with that kernel).
* ``lipbench claims`` -- run the property suite and write the claims ledger.
* ``lipbench report [RESULTS_DIR]`` -- tables and plots from saved benchmarks.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import warnings
import zipfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

#: subcommands implemented in other modules: name -> (module, help)
_PLUGINS = {
    "claims": ("lipbench.claims", "run the property suite and write results/claims.md"),
    "report": ("lipbench.report", "turn saved benchmark runs into REPORT.md, CSV, PNG and HTML"),
}


class CLIError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


def load_matrix(path: str | Path, key: str | None = None) -> np.ndarray:
    """Load a matrix from ``.npy`` or ``.npz`` without pickle; clear errors otherwise."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{p}: no such file")
    if p.is_dir():
        raise CLIError(f"{p}: is a directory, expected a .npy or .npz file")
    with open(p, "rb") as fh:
        head = fh.read(6)
    if not (head.startswith(b"\x93NUMPY") or head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06")):
        if head[:1] == b"\x80":
            raise CLIError(
                f"{p}: is a Python pickle, not a .npy/.npz file; lipbench never unpickles (pickle can run "
                "arbitrary code). Save a numeric array with numpy.save instead"
            )
        raise CLIError(f"{p}: not a .npy/.npz file (it starts with {head!r}, not the NumPy or zip magic bytes)")
    try:
        loaded = np.load(p, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CLIError(
                f"{p}: holds pickled Python objects; lipbench loads .npy/.npz files without pickle "
                "(pickle can run arbitrary code). Save a numeric array with numpy.save instead"
            ) from None
        raise CLIError(f"{p}: not a valid .npy/.npz file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise CLIError(f"{p}: not a valid .npy/.npz file ({type(exc).__name__}: {exc})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            keys = list(loaded.keys())
            if key is None:
                if len(keys) != 1:
                    raise CLIError(f"{p}: holds {len(keys)} arrays ({', '.join(keys) or 'none'}); choose one with --key")
                key = keys[0]
            if key not in keys:
                raise CLIError(f"{p}: has no array {key!r}; it holds: {', '.join(keys)}")
            try:
                return loaded[key]
            except ValueError as exc:
                if "pickle" in str(exc).lower():
                    raise CLIError(f"{p}: array {key!r} holds pickled Python objects; refusing to load it") from None
                raise CLIError(f"{p}: array {key!r} is malformed ({exc})") from None
    if key is not None:
        raise CLIError(f"{p}: --key applies to .npz archives; this is a single .npy array")
    return loaded


def _norm_arguments(parser: argparse.ArgumentParser) -> None:
    from . import METHODS

    parser.add_argument("file", help="a .npy or .npz file holding the matrix")
    parser.add_argument("--method", default="auto", choices=["auto", *METHODS, "fft", "bound"],
                        help="estimator (default: auto); 'fft' and 'bound' apply with --conv")
    parser.add_argument("--tol", type=float, default=None, help="relative accuracy (default: 1e-8 float64, 1e-5 float32)")
    parser.add_argument("--maxiter", type=int, default=None, help="iteration cap")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random start (default 0)")
    parser.add_argument("--key", default=None, help="array name inside a .npz archive")
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when the method does not converge")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--certify", action=argparse.BooleanOptionalAction, default=None,
                        help="prove the upper bound within tol of the lower one (default: on for dense matrices "
                             "whose smaller side is at most 4096, where it is cheap; see docs/certify.md)")
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

    A = load_matrix(args.file, args.key)
    _check_layout(A, args)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # reported in the output instead
            if args.conv is not None:
                from .lipschitz import conv_operator_norm

                r = conv_operator_norm(
                    A, _ints(args.conv, "--conv"), stride=_axes(args.stride, "--stride"),
                    padding=_axes(args.padding, "--padding", words=("same", "valid")),
                    dilation=_axes(args.dilation, "--dilation"), groups=args.groups, padding_mode=args.padding_mode,
                    transposed=args.transposed, output_padding=_axes(args.output_padding, "--output-padding"),
                    method=args.method, tol=args.tol, maxiter=args.maxiter, seed=args.seed, strict=args.strict)
            else:
                certify, why_not = _certify_choice(A, args)
                r = spectral_norm(A, method=args.method, tol=args.tol, maxiter=args.maxiter, seed=args.seed,
                                  strict=args.strict, certify=certify)
                if not certify and not args.json:
                    print(f"note: the upper bound is not certified ({why_not}); pass --certify to prove it",
                          file=sys.stderr)
    except NotConvergedError as exc:
        print(exc.result.summary())
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ValueError, TypeError, FloatingPointError) as exc:
        raise CLIError(f"{args.file}: {exc}") from None
    if args.json:
        out = {k: _jsonable(getattr(r, k)) for k in (
            "value", "lower", "upper", "converged", "iterations", "matvecs", "method", "backend", "dtype",
            "input_dtype", "shape", "seed", "tol", "error_estimate", "upper_probabilistic",
            "failure_probability", "device", "message", "certificate", "certified")}
        print(json.dumps(out, indent=2))
    else:
        print(f"file       {args.file}" + (f" [{args.key}]" if args.key else "") + f"  shape {r.shape} {r.input_dtype}")
        print(r.summary())
    return 0


def _certify_choice(A: np.ndarray, args: argparse.Namespace) -> tuple[bool, str]:
    """``--certify`` / ``--no-certify`` as given, else the default rule."""
    from .spectral._certification import certify_by_default

    if args.certify is not None:
        return args.certify, "--no-certify"
    if args.stack:
        return False, "stacks are not certified"
    return certify_by_default("dense", np.shape(A))


def _check_layout(A: np.ndarray, args: argparse.Namespace) -> None:
    """Refuse to guess what an array with more than two axes is."""
    if args.stack and args.conv is not None:
        raise CLIError("--stack and --conv exclude each other: the array is either a stack of matrices or a kernel")
    if args.conv is None:
        if args.method in ("fft", "bound"):
            raise CLIError(f"--method {args.method} applies to convolutions only; add --conv SHAPE")
        conv_given = [f for f, v, d in (("--stride", args.stride, "1"), ("--padding", args.padding, "0"),
                                        ("--dilation", args.dilation, "1"), ("--output-padding", args.output_padding, "0"),
                                        ("--padding-mode", args.padding_mode, "zeros"), ("--groups", args.groups, 1),
                                        ("--transposed", args.transposed, False)) if v != d]
        if conv_given:
            raise CLIError(f"{', '.join(conv_given)} apply to convolutions only; add --conv SHAPE")
    if np.ndim(A) > 2 and not args.stack and args.conv is None:
        example = {3: "L", 4: "H,W", 5: "D,H,W"}.get(np.ndim(A), "H,W")
        raise CLIError(
            f"array of shape {np.shape(A)} has {np.ndim(A)} axes: it could be a stack of "
            f"{np.prod(np.shape(A)[:-2], dtype=int)} matrices of shape {np.shape(A)[-2:]} or a convolution kernel "
            f"(out, in/groups, *k). Say which:\n"
            f"  --stack        one spectral norm per matrix (..., m, n)\n"
            f"  --conv {example:<7} the operator norm of the convolution with this kernel on inputs of that "
            f"spatial shape (with --stride, --padding, --padding-mode, --dilation, --groups, --transposed)")


def _ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise CLIError(f"{flag} takes comma-separated integers (e.g. 32,32); got {text!r}") from None
    return vals


def _axes(text: str, flag: str, words: tuple[str, ...] = ()) -> Any:
    """An int, a tuple of ints, or one of ``words`` from a flag's text."""
    if text in words:
        return text
    vals = _ints(text, flag)
    return vals[0] if len(vals) == 1 else vals


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return x.item()
    if isinstance(x, tuple):
        return list(x)
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return x


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="lipbench", description="Verify and benchmark spectral norms and Lipschitz constants.")
    parser.add_argument("--version", action="version", version=f"lipbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("norm", help="sigma_max of a matrix in a .npy/.npz file, with a certified bracket")
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
        raise CLIError(f"'lipbench {name}' needs an optional dependency: {exc}. Install with: pip install 'lipbench[report]'")

    return run


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except CLIError as exc:
        print(f"lipbench {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
