"""From a method's bracket, in the scaled operator's units, to the caller's.

Four steps, each keeping ``lower <= sigma_max(A) <= upper`` a proof:
intersect with the cheap bounds (largest column norm; ``min(||A||_F,
sqrt(||A||_1 ||A||_inf))``), widen by the operator's ``input_error`` (the
distance between ``A / scale`` and the matrix the method saw), multiply back
by the power-of-two scale rounded outward (exact but for subnormal or
overflowing results), and only then decide ``certified``: the bracket is
proven and its width is at most ``tol`` times its lower end, compared exactly.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .._rounding import all_within, dn, scale_back, up, within
from ._operator import Operator
from ._raw import Raw
from .notes import Note, note

__all__ = ["Bracket", "final_bracket"]

_SMALLEST_NORMAL = float(np.finfo(np.float64).tiny)


class Bracket(NamedTuple):
    value: Any
    lower: Any
    upper: Any
    certificate: str
    certified: bool
    notes: tuple[Note, ...]


def final_bracket(op: Operator, raw: Raw, tol: float) -> Bracket:
    """The caller's bracket and whether it is certified (see the module doc)."""
    lower, upper, value = raw.lower, raw.upper, raw.value
    certificate, certified = raw.certificate or "none", raw.certified
    if op.is_batched:
        lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    elif not op.is_zero:
        lower = max(float(lower), op.cheap_lower())
        cheap = op.cheap_upper()
        if cheap < float(upper):
            upper, certificate, certified = cheap, "norms", True  # deterministic, rounding included
    if op.input_error:
        lower, upper = dn(lower - op.input_error), up(upper + op.input_error)
        lower = np.maximum(lower, 0.0) if isinstance(lower, np.ndarray) else max(lower, 0.0)
    s = op.scale
    lower, upper = scale_back(lower, s, "down"), scale_back(upper, s, "up")
    with np.errstate(over="ignore"):
        value = np.clip(np.asarray(value, dtype=float) * s, lower, upper)
    value = float(value) if value.ndim == 0 else value
    notes: list[Note] = []
    if not raw.proven or op.products_assumed:  # a LinearOperator's products are assumed, not bounded
        certified = False
    elif op.is_batched:
        certified = bool(certified) and all_within(lower, upper, tol)
    else:
        certified = bool(certified) and within(lower, upper, tol)
        if math.isinf(upper) and math.isfinite(op.cheap_upper() if not op.is_zero else 0.0):
            notes.append(note("beyond-float64"))
        elif not certified and raw.certified and 0 < lower < _SMALLEST_NORMAL / tol:
            notes.append(note("subnormal-width"))
    return Bracket(value, lower, upper, certificate, certified, tuple(notes))
