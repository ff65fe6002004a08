"""Scaling a matrix by a power of two, and what that costs in accuracy.

Every bound is computed on ``A_s = fl(A 2^-e)``, the input scaled so that its
largest entry lies in [1/2, 1) (no overflow or harmful underflow in norms and
Gram products).  The scale ``2^e`` is always a finite float64 (e is clamped to
[-1073, 1023]); the factor ``2^-e`` is applied in the array's own dtype, split
into powers of two that dtype can hold, so scaling never produces inf.
Every factor is a normal number of the dtype (no device that flushes
subnormal operands can zero it).  Scaling up is exact; scaling down is exact
except for results below the dtype's normal range, which round by at most half
its smallest subnormal per step (:func:`lipbench._rounding.subnormal_loss`):
that error is carried into the bracket by the driver, and is 0 when scaling
back shows that nothing rounded.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._rounding import subnormal_loss

__all__ = ["pow2_exponent", "scale_array", "scale_data"]

_MAX_EXP = {"float16": 15, "float32": 127, "float64": 1023}


def pow2_exponent(maxabs: float) -> int:
    """e with ``maxabs 2^-e`` in [1/2, 1), clamped so that ``2^e`` is a finite
    float64 (entries of at least 2^1023 land in [1, 2))."""
    if not maxabs > 0:
        return 0
    return max(-1073, min(1023, math.frexp(maxabs)[1]))


def _factors(e: int, dtype: str) -> list[float]:
    """Powers of two whose product is ``2^-e``, each a *normal* number of
    ``dtype`` (a subnormal factor would be flushed to zero by a device that
    flushes subnormal operands)."""
    top = _MAX_EXP.get(dtype, 1023)
    if e > top - 1:  # 2^-e would be subnormal: two normal halves
        return [math.ldexp(1.0, -(e - e // 2)), math.ldexp(1.0, -(e // 2))]
    out, rest = [], -e
    while rest > top:
        out.append(math.ldexp(1.0, top))
        rest -= top
    out.append(math.ldexp(1.0, rest))
    return out


def scale_array(xp: Any, A: Any, e: int, dtype: str) -> tuple[Any, float]:
    """``(fl(A 2^-e), bound on ||A 2^-e - fl(A 2^-e)||_2)``, a new array of
    ``dtype`` (A's own float dtype).  Scaling down is checked by scaling back
    (exact): the bound is 0 when no entry rounded."""
    out = A
    for f in _factors(e, dtype):
        out = out * xp.asarray(f, dtype=A.dtype)
    if out is A:
        out = xp.asarray(A, copy=True)
    if e <= 0:
        return out, 0.0
    back = out
    for f in _factors(-e, dtype):
        back = back * xp.asarray(f, dtype=A.dtype)
    if bool(xp.all(back == A)):
        return out, 0.0
    steps = len(_factors(e, dtype))  # each step down rounds by at most half a subnormal
    return out, steps * subnormal_loss(math.prod(int(s) for s in A.shape), dtype)


def scale_data(data: Any, e: int) -> tuple[Any, float]:
    """:func:`scale_array` for the stored entries of a sparse matrix (a NumPy or CuPy vector)."""
    name = np.dtype(data.dtype).name
    out = data.copy()
    for f in _factors(e, name):
        out *= out.dtype.type(f)
    if e <= 0:
        return out, 0.0
    return out, len(_factors(e, name)) * subnormal_loss(max(int(data.size), 1), name)
