"""What ``lipbench``'s commands read and write: a matrix from a ``.npy`` /
``.npz`` file (never through pickle) or a PyTorch ``.pt`` file (through
``torch.load(weights_only=True)``, which unpickles tensors and containers
only), the values of their flags, and JSON."""

from __future__ import annotations

import argparse
import dataclasses
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .spectral.notes import Note

__all__ = ["CLIError", "load_matrix", "check_layout", "ints", "axes", "jsonable"]


class CLIError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""


TORCH_SUFFIXES = (".pt", ".pth")


def load_matrix(path: str | Path, key: str | None = None) -> Any:
    """Load a matrix from ``.npy`` or ``.npz`` without pickle, or a tensor
    from a ``.pt`` file; clear errors otherwise."""
    p = Path(path)
    if not p.exists():
        raise CLIError(f"{p}: no such file")
    if p.is_dir():
        raise CLIError(f"{p}: is a directory, expected a .npy, .npz or .pt file")
    if p.suffix in TORCH_SUFFIXES:
        return _load_torch(p, key)
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
                    raise CLIError(f"{p}: holds {len(keys)} arrays ({', '.join(keys) or 'none'}); "
                                   "choose one with --key")
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


def _load_torch(p: Path, key: str | None) -> Any:
    """A tensor saved with ``torch.save``: the file's tensor, or one tensor
    of a state_dict chosen by ``key``.  The tensor is returned as it is (CPU),
    so the norm is computed by torch."""
    try:
        import torch
    except ImportError:
        raise CLIError(f"{p}: reading a .pt file needs PyTorch (pip install -e \".[torch]\")") from None
    try:
        loaded = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # the weights-only unpickler refuses anything but tensors and containers
        raise CLIError(f"{p}: not a weights-only PyTorch file ({type(exc).__name__}: {str(exc).splitlines()[0]})"
                       ) from None
    if isinstance(loaded, torch.Tensor):
        if key is not None:
            raise CLIError(f"{p}: --key applies to a saved state_dict; this file holds a single tensor")
        return loaded
    if not isinstance(loaded, dict):
        raise CLIError(f"{p}: holds a {type(loaded).__name__}, not a tensor or a state_dict of tensors")
    tensors = {str(k): v for k, v in loaded.items() if isinstance(v, torch.Tensor)}
    if key is None:
        if len(tensors) != 1:
            raise CLIError(f"{p}: holds {len(tensors)} tensors ({', '.join(tensors) or 'none'}); choose one with --key")
        key = next(iter(tensors))
    if key not in tensors:
        raise CLIError(f"{p}: has no tensor {key!r}; it holds: {', '.join(tensors)}")
    return tensors[key]


def check_layout(A: np.ndarray, args: argparse.Namespace) -> None:
    """Refuse to guess what an array with more than two axes is."""
    if args.stack and args.conv is not None:
        raise CLIError("--stack and --conv exclude each other: the array is either a stack of matrices or a kernel")
    if args.conv is None:
        if args.method in ("fft", "bound"):
            raise CLIError(f"--method {args.method} applies to convolutions only; add --conv SHAPE")
        conv_given = [f for f, v, d in (("--stride", args.stride, "1"), ("--padding", args.padding, "0"),
                                        ("--dilation", args.dilation, "1"),
                                        ("--output-padding", args.output_padding, "0"),
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


def ints(text: str, flag: str) -> tuple[int, ...]:
    try:
        vals = tuple(int(t) for t in text.split(","))
    except ValueError:
        raise CLIError(f"{flag} takes comma-separated integers (e.g. 32,32); got {text!r}") from None
    return vals


def axes(text: str, flag: str, words: tuple[str, ...] = ()) -> Any:
    """An int, a tuple of ints, or one of ``words`` from a flag's text."""
    if text in words:
        return text
    vals = ints(text, flag)
    return vals[0] if len(vals) == 1 else vals


def jsonable(x: Any) -> Any:
    """``x`` as plain JSON data: arrays and tuples as lists, NumPy scalars as
    Python ones, dataclasses and dicts field by field; a non-finite float as
    its name (``"inf"``, ``"nan"``: JSON has no such numbers); a result's
    note as its code and values."""
    if isinstance(x, Note):
        return {"code": x.code, **{k: jsonable(v) for k, v in x.values}}
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (np.floating, np.integer, np.bool_)):
        return jsonable(x.item())
    if isinstance(x, (tuple, list)):
        return [jsonable(v) for v in x]
    if isinstance(x, float) and not np.isfinite(x):
        return str(x)
    return x
