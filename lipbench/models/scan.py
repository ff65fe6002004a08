"""Every weight of a file, with a certified bound on what it contributes to a
network's Lipschitz constant: :func:`scan_weights`.

Each array gets a *kind* from its shape, dtype and name (:func:`weight_kind`):

=============  ======================================================  ==========================================
kind           which arrays                                            bound (``bound`` code)
=============  ======================================================  ==========================================
``dense``      2-D float                                               sigma_max, certified bracket (``sigma``)
``embedding``  2-D float whose name says embed / embedding / wte /     sigma_max of the table (``sigma``)
               wpe
``conv``       3-D to 5-D float, ``(C_out, C_in/groups, *k)`` with     at an input size: sigma_max of the stride-1,
               every k <= 16 (or a name saying conv)                   full zero-padded convolution
                                                                       (``conv-at-size``); else
                                                                       :func:`conv_upper_bound` (``conv-size-free``)
``scale``      1-D float (a norm's gamma, a per-channel scale), or     max abs entry, exact (``max-abs``)
               a 0-D float
``bias``       1-D float named bias / beta                             none: a translation adds nothing
``statistics`` running_mean, running_var                               none: a BatchNorm's constant needs its eps
``integer``    integer or bool arrays (counters, indices)              none
``other``      any other layout                                        none: the layout is not guessed
=============  ======================================================  ==========================================

An array that cannot be read as NumPy (a quantized or sparse tensor) is a row
of kind ``unreadable`` with the reader's error.

The conv rules: a kernel at stride 1 with zero padding ``k - 1`` on every
side (the "full" convolution) and groups read as one (``C_in/groups``
channels) contains every zero-padded convolution with that kernel on an
input of at most that size as a restriction, whatever its stride, padding
(up to ``k - 1``), dilation and groups, so its upper end bounds theirs; the
size-free bound of :func:`lipbench.lipschitz.conv_upper_bound` holds for
every input size on the same terms.  Neither covers circular, reflect or
replicate padding.
"""

from __future__ import annotations

import dataclasses
import re
import time
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from .._rounding import prod_up
from .weights import WeightFile

__all__ = ["ScanRow", "Scan", "weight_kind", "scan_weights", "DEFAULT_TOL", "CONV_MAX_KERNEL"]

#: the relative width asked of each bracket
DEFAULT_TOL = 1e-6
#: a 3-D to 5-D array is read as a conv kernel when every trailing axis is at most this long
CONV_MAX_KERNEL = 16

_EMBEDDING = re.compile(r"embed|(^|[._/])(wte|wpe)([._/]|$)", re.IGNORECASE)
_STATISTICS = re.compile(r"running_(mean|var)|moving_(mean|variance)", re.IGNORECASE)
_BIAS = re.compile(r"(^|[._/])(bias|beta|b)$", re.IGNORECASE)


@dataclasses.dataclass(frozen=True)
class ScanRow:
    """One array of the file.

    lower, upper : the bracket, ``None`` where there is no such end (see ``bound``).
    certified : both ends proven (rounding included) and within ``tol`` relative.
    bound : what the ends bound: ``sigma`` (sigma_max), ``max-abs``, ``conv-at-size``
        (at ``input_size``), ``conv-size-free`` (upper end only), or ``none``.
    reason : why there is no bracket (``bias``, ``statistics``, ``integer``, ``layout``,
        ``failed``), else ``""``; ``detail`` the error's text for ``failed``.
    tied_to : the row whose tensor this one shares (its bound is copied, not recomputed), else ``""``.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    dtype: str
    lower: float | None
    upper: float | None
    certified: bool
    bound: str
    seconds: float
    reason: str = ""
    detail: str = ""
    input_size: tuple[int, ...] | None = None
    tied_to: str = ""


@dataclasses.dataclass(frozen=True)
class Scan:
    """The rows by ``upper`` descending (those without one last), and for a
    file that says how its layers compose (a ``.mat`` ReLU chain) the product of
    the chain's upper ends, rounded up: an upper bound on the network's
    Lipschitz constant (ReLU is 1-Lipschitz)."""

    path: str
    format: str
    rows: tuple[ScanRow, ...]
    ignored: tuple[str, ...]
    chain: tuple[str, ...] | None
    chain_upper: float | None
    tol: float
    input_shape: tuple[int, ...] | None
    seconds: float


def weight_kind(name: str, a: np.ndarray) -> str:
    """The kind of array ``a`` named ``name`` (the table in the module's docstring)."""
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.complexfloating)):
        return "integer"
    if a.ndim == 0:
        return "scale"
    if a.ndim == 1:
        if _STATISTICS.search(name):
            return "statistics"
        return "bias" if _BIAS.search(name) else "scale"
    if a.ndim == 2:
        return "embedding" if _EMBEDDING.search(name) else "dense"
    if a.ndim <= 5 and (all(k <= CONV_MAX_KERNEL for k in a.shape[2:]) or "conv" in name.lower()):
        return "conv"
    return "other"


def _bracket(name: str, a: np.ndarray, kind: str, spatial: tuple[int, ...] | None,
             tol: float) -> dict[str, object]:
    from .. import spectral_norm
    from ..lipschitz import conv_operator_norm, conv_upper_bound

    if kind in ("dense", "embedding"):
        r = spectral_norm(a, certify=True, tol=tol, seed=0)
        return {"lower": float(r.lower), "upper": float(r.upper), "certified": bool(r.certified), "bound": "sigma"}
    if kind == "scale":
        peak = float(np.max(np.abs(a.astype(np.float64))))  # exact: |.| and max round nothing
        if not np.isfinite(peak):
            raise ValueError(f"{name} holds inf or NaN")
        return {"lower": peak, "upper": peak, "certified": True, "bound": "max-abs"}
    if kind == "conv":
        if spatial is not None and len(spatial) == a.ndim - 2:
            full = tuple(k - 1 for k in a.shape[2:])
            with warnings.catch_warnings():  # not converging leaves proven ends, said by `certified`
                warnings.simplefilter("ignore")
                r = conv_operator_norm(a, spatial, padding=full, tol=tol, seed=0)
            return {"lower": float(r.lower), "upper": float(r.upper), "certified": bool(r.certified),
                    "bound": "conv-at-size", "input_size": spatial}
        return {"lower": None, "upper": float(conv_upper_bound(a)), "certified": False, "bound": "conv-size-free"}
    return {"lower": None, "upper": None, "certified": False, "bound": "none",
            "reason": "layout" if kind == "other" else kind}


def scan_weights(weights: WeightFile, input_shape: Sequence[int] | None = None, tol: float = DEFAULT_TOL,
                 progress: Callable[[int, int, str], None] | None = None) -> Scan:
    """Bound every array of ``weights`` (a :func:`~lipbench.models.weights.read_weights` result).

    input_shape : ``(C, *spatial)`` of the network's input; conv kernels of that spatial rank are
        taken at that spatial size (the module's docstring says how); without it, a kernel whose
        input size the file records (``weights.input_sizes``, a ``.pt2`` program) is taken at that
        size, the others by the size-free bound.
    tol : the relative width asked of each bracket (``spectral_norm(W, certify=True, tol=tol)``).
    progress : called as ``progress(k, n, name)`` before the k-th of n arrays (1-based).

    An array that cannot be bracketed is a row with ``reason`` (and ``detail``), never dropped.
    """
    if input_shape is not None and (len(input_shape) < 2 or min(input_shape) < 1):
        raise ValueError(f"input_shape is (C, *spatial) of positive sizes, e.g. (3, 32, 32); got {input_shape}")
    spatial = tuple(int(n) for n in input_shape[1:]) if input_shape is not None else None
    start = time.perf_counter()
    rows: list[ScanRow] = []
    done: dict[str, ScanRow] = {}
    n = len(weights.arrays)
    for k, name in enumerate(weights.arrays, 1):
        if progress is not None:
            progress(k, n, name)
        first = weights.tied.get(name, "")
        if first in done:
            rows.append(dataclasses.replace(done[first], name=name, seconds=0.0, tied_to=first))
            continue
        try:
            a = np.asarray(weights.arrays[name])
        except (TypeError, ValueError, OSError) as exc:  # a type NumPy lacks (a quantized tensor), a short file
            rows.append(ScanRow(name=name, kind="unreadable", shape=(), dtype="", lower=None, upper=None,
                                certified=False, bound="none", seconds=0.0, reason="failed",
                                detail=str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
            continue
        if a.dtype == np.float16:
            a = a.astype(np.float32)  # exact
        kind = weight_kind(name, a)
        t = time.perf_counter()
        try:
            fields = _bracket(name, a, kind, spatial or weights.input_sizes.get(name), tol)
        except (ValueError, TypeError, FloatingPointError, np.linalg.LinAlgError) as exc:
            fields = {"lower": None, "upper": None, "certified": False, "bound": "none", "reason": "failed",
                      "detail": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
        rows.append(ScanRow(name=name, kind=kind, shape=tuple(a.shape), dtype=str(a.dtype),
                            seconds=time.perf_counter() - t, **fields))  # type: ignore[arg-type]
        done[name] = rows[-1]
    rows.sort(key=lambda r: (r.upper is None, -(r.upper or 0.0), r.name))
    chain_upper = None
    if weights.chain is not None:
        ends = [next(r.upper for r in rows if r.name == nm) for nm in weights.chain]
        chain_upper = None if any(u is None for u in ends) else prod_up(ends)
    return Scan(path=str(weights.path), format=weights.format, rows=tuple(rows), ignored=weights.ignored,
                chain=weights.chain, chain_upper=chain_upper, tol=tol,
                input_shape=tuple(input_shape) if input_shape is not None else None,
                seconds=time.perf_counter() - start)
