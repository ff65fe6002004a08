"""Validation of a Dask array and its :class:`~._dask_operator.DaskOperator`, in one summary pass.

One task per chunk returns the chunk's finiteness, largest entry and the
per-column and per-row sums of squares and of absolute values, from which
the scale, ``||A||_F``, ``||A||_1``, ``||A||_inf`` and the largest column
norm follow.  A second summary pass runs only when ``||A||_F^2`` falls
outside the range in which the unscaled matrix is safe (as for dense
input).  The operator then works on A, or on ``A^T`` when that makes
smaller slabs.
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat
import numpy as np

from .._rounding import ETA, conversion_error, norm_bounds, up
from ._dask_operator import DaskOperator, _PassLog, _rows_per_piece, _tree_sum
from ._dask_schedule import compute
from ._inputs import SAFE_FRO_SQUARED, checked_dtypes, prepare_dense
from ._operator import Operator, format_index
from ._scaling import pow2_exponent

__all__ = ["prepare_dask"]


# ------------------------------------------------------------- summary pass
def _chunk_summary(block: Any, row0: int, col0: int, inv_scale: float) -> dict:
    """One chunk's contribution to the summary: per-column and per-row sums
    of squares and of absolute values (float64, row pieces), its largest
    absolute entry, and where its first non-finite entry is."""
    r, c = (int(s) for s in block.shape)
    col2, col1 = np.zeros(c), np.zeros(c)
    row2, row1 = np.empty(r), np.empty(r)
    step = _rows_per_piece(c, r)
    ones = np.ones(max(c, step))
    maxabs = 0.0
    bad, nbad = None, 0
    with np.errstate(over="ignore", invalid="ignore"):
        for r0 in range(0, r, step):
            p = np.abs(np.asarray(block[r0:r0 + step], dtype=np.float64))
            k = p.shape[0]
            pm = float(p.max())
            if not math.isfinite(pm):
                mask = ~np.isfinite(p)
                nbad += int(mask.sum())
                if bad is None:
                    i, j = np.argwhere(mask)[0]
                    bad = (row0 + r0 + int(i), col0 + int(j),
                           float(np.asarray(block[r0 + int(i), int(j)], dtype=np.float64)))
            maxabs = max(maxabs, pm) if math.isfinite(pm) else math.inf
            if inv_scale != 1.0:
                p *= inv_scale
            col1 += ones[:k] @ p
            row1[r0:r0 + k] = p @ ones[:c]
            p *= p
            col2 += ones[:k] @ p
            row2[r0:r0 + k] = p @ ones[:c]
    return {"col2": col2, "col1": col1, "row2": row2, "row1": row1, "max": maxabs, "bad": bad, "nbad": nbad}


def _get(d: dict, key: str) -> Any:
    return d[key]


def _scalars(d: dict) -> tuple:
    return d["max"], d["bad"], d["nbad"]


def _summary(A: Any, inv_scale: float, log: _PassLog) -> dict:
    """The one-pass summary of A (:func:`_chunk_summary` per chunk, tree sums)."""
    import dask

    blocks = A.to_delayed(optimize_graph=True)
    row_starts = np.cumsum((0,) + A.chunks[0][:-1])
    col_starts = np.cumsum((0,) + A.chunks[1][:-1])
    task = dask.delayed(_chunk_summary, pure=True)
    get = dask.delayed(_get, pure=True)
    parts = [[task(blocks[i, j], int(row_starts[i]), int(col_starts[j]), inv_scale)
              for j in range(blocks.shape[1])] for i in range(blocks.shape[0])]
    nj, ni = blocks.shape[1], blocks.shape[0]
    col2 = [_tree_sum([get(parts[i][j], "col2") for i in range(ni)]) for j in range(nj)]
    col1 = [_tree_sum([get(parts[i][j], "col1") for i in range(ni)]) for j in range(nj)]
    row2 = [_tree_sum([get(parts[i][j], "row2") for j in range(nj)]) for i in range(ni)]
    row1 = [_tree_sum([get(parts[i][j], "row1") for j in range(nj)]) for i in range(ni)]
    small = [dask.delayed(_scalars, pure=True)(p) for row in parts for p in row]
    out = compute(log, "summary", col2, col1, row2, row1, small)
    c2, c1, r2, r1, sm = out
    return {"col2": np.concatenate(c2), "col1": np.concatenate(c1), "row2": np.concatenate(r2),
            "row1": np.concatenate(r1), "max": max(s[0] for s in sm),
            "bad": [s[1] for s in sm if s[1] is not None], "nbad": sum(s[2] for s in sm)}


def _raise_nonfinite(s: dict, name: str) -> None:
    i, j, val = min(s["bad"])
    what = "NaN" if val != val else ("Inf" if val > 0 else "-Inf")
    more = f" (and {s['nbad'] - 1} other non-finite entries)" if s["nbad"] > 1 else ""
    raise ValueError(f"{name} contains {what} at {format_index((i, j))}{more}; spectral norm is undefined")


def _slab_bytes(A: Any, axis: int) -> int:
    """Bytes of the largest slab along ``axis`` (0: row chunks x all columns)."""
    other = A.shape[1 - axis]
    return max(A.chunks[axis]) * int(other) * 8


def _input_error(scale: float, fro: float, m: int, n: int, in_name: str, maxabs: float) -> float:
    """The operator's ``input_error`` (scaled units): scaling down rounds in the
    subnormal range -- the vectors ``x / scale`` (``||A delta|| <= scale ||A_s||_F
    sqrt(n) eta / 2`` per unit x) and the Gram route's pieces (``sqrt(m n) eta /
    2``), the small factors multiplied first so that nothing overflows -- and
    integers past 2^53 were rounded to float64 (``u ||A||_F / (1 - u)``)."""
    err = 0.0
    if scale > 1:
        err = up(up(up(up(up(math.sqrt(max(m, n))) * ETA) * fro) * scale) + up(up(math.sqrt(m * n)) * ETA))
    if in_name in ("int64", "uint64") and maxabs * scale > 2.0**53:
        err = up(err + conversion_error(fro))  # fro of the scaled matrix: the error in its units
    return err


def prepare_dask(A: Any, kind: Any, name: str = "A") -> Operator:
    """Validate a Dask array and wrap it as a :class:`DaskOperator` (one
    summary pass; see the module docstring).  A matrix with a single row or
    column is brought into memory (it is a vector) and prepared as dense."""
    if any(math.isnan(s) for s in A.shape):
        raise ValueError(f"{name} is a Dask array of unknown shape {A.shape}; call A.compute_chunk_sizes() first")
    shape = tuple(int(s) for s in A.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} is a Dask array of shape {shape}; spectral_norm takes a 2-D Dask array "
                         "(stacks: compute each matrix, or use NumPy)")
    in_name, cdt = checked_dtypes(A, shape, name)
    if cdt == "complex":
        raise TypeError(f"{name} is a complex Dask array; complex input is supported for in-memory dense arrays only")
    if min(shape) == 1:
        return prepare_dense(np.asarray(A.compute()), False, name)
    log = _PassLog()
    s = _summary(A, 1.0, log)
    if not math.isfinite(s["max"]):
        _raise_nonfinite(s, name)
    ss = float(np.sum(s["col2"]))
    scale = 1.0
    if s["max"] > 0 and not (SAFE_FRO_SQUARED[0] <= ss <= SAFE_FRO_SQUARED[1]):
        if pow2_exponent(s["max"]) < -1021:
            raise ValueError(f"{name} is a Dask array whose largest entry {s['max']:.3g} is subnormal; its vectors "
                             "cannot be scaled to match: multiply A by a power of two first (A * 2.0**1000)")
        scale = math.ldexp(1.0, pow2_exponent(s["max"]))
        s = _summary(A, 1.0 / scale, log)
        ss = float(np.sum(s["col2"]))
    m, n = shape
    transposed = _slab_bytes(A, 1) < _slab_bytes(A, 0)
    col2, one, inf = (s["row2"], s["row1"], s["col1"]) if transposed else (s["col2"], s["col1"], s["row1"])
    arr = A.T if transposed else A
    return DaskOperator(
        kind=kind, xp=array_api_compat.array_namespace(np.empty(0)), shape=(m, n),
        dtype="float64", input_dtype=in_name, scale=scale, backend="dask", device="cpu",
        is_zero=s["max"] == 0.0, array=arr, array_is_transpose=transposed, log=log,
        # scaling down rounds in the subnormal range: vectors x / scale (||A delta|| <= scale ||A_s||_F
        # sqrt(n) eta / 2 per unit x) and the Gram route's pieces (||delta A|| <= sqrt(m n) eta / 2)
        input_error=_input_error(scale, norm_bounds(ss, m * n)[1], m, n, in_name, s["max"]),
        _fro=norm_bounds(ss, m * n)[1], _col2_max=float(np.max(col2)), _abs1=float(np.max(one)),
        _absinf=float(np.max(inf)),
    )
