"""The answer of a Krylov method: certify its final vector.

The lower bound is ``||A v||`` in float64 with rounding subtracted
(:meth:`Operator.certified_lower`); when the work ran in float32, the float64
residual of v re-decides convergence, so a float32 stopping test can never
declare a tol that float64 does not confirm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backends as _backends
from ._operator import Operator
from ._raw import Raw
from .notes import Note, note
from .theory import KW_FAILURE_PROBABILITY, probabilistic_upper

__all__ = ["certify_vector", "Outcome", "host", "QUAD_SAFETY"]

#: the quadratic error estimate of power iteration is an estimate, not a bound: x4
QUAD_SAFETY = 4.0


def host(x: Any) -> np.ndarray:
    """A backend array as a float64 NumPy array."""
    return np.asarray(_backends.to_numpy(x), dtype=np.float64)


@dataclass(frozen=True)
class Outcome:
    """What an iteration concluded before its vector is certified: whether it
    converged, after how many iterations, its error bound ``err``, the
    Kuczynski-Wozniakowski epsilon of a random start (None: no probabilistic
    bound), and its notes."""

    converged: bool
    iterations: int
    err: float
    kw_eps: float | None
    notes: tuple[Note, ...] = ()


def certify_vector(op: Operator, v: Any, outcome: Outcome, *, tol: float | None = None, w: Any = None,
                   rho: float | None = None) -> Raw:
    """Certify the final vector: lower bound from ``||A v||`` in float64 (reusing
    ``w = A v`` when it was already computed in float64), and -- when the work
    ran in float32 -- verify convergence with the float64 residual (linear
    bound, or power iteration's quadratic estimate when ``rho`` is given)."""
    converged, iterations, err, kw_eps, notes = (
        outcome.converged, outcome.iterations, outcome.err, outcome.kw_eps, outcome.notes)
    verified = value = None
    if w is not None and op.dtype == "float64" and not op.products_assumed:
        lower, w, v64 = op.certified_lower_from(v, w)
    elif op.on_device:  # one stacked read of the norms
        lower, value, w, v64, verified = op.certified_lower_stacked(
            v, residual=op.dtype != "float64" and tol is not None)
    elif op.dtype != "float64" and tol is not None and (both := op.certified_lower_and_residual(v)) is not None:
        lower, w, v64, verified = both  # one float64 pass, no float64 copy of A
    else:
        lower, w, v64 = op.certified_lower(v)
    if value is None:
        value = float(op.xp.linalg.vector_norm(w)) if w is not None else 0.0
    if op.dtype != "float64" and w is not None and tol is not None:
        if verified is None:
            verified = op.residual_bound64(w, v64)
        if rho is not None and rho < 1.0:
            verified = min(verified, QUAD_SAFETY * 2 * verified * verified / (1 - rho))
        if converged and verified > tol:
            converged = False
            notes = (note("float32-unverified", err=err, verified=verified),)
        err = verified
    up_p = probabilistic_upper(value, kw_eps) if kw_eps is not None else None
    return Raw(
        value=value, lower=lower, upper=math.inf, converged=converged, iterations=iterations,
        error_estimate=err, notes=notes, upper_probabilistic=up_p,
        failure_probability=None if kw_eps is None else KW_FAILURE_PROBABILITY, vector=v64,
    )
