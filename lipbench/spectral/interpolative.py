"""The method ``interpolative``: ``scipy.linalg.interpolative.estimate_spectral_norm``
behind lipbench's contract (a number only: its bracket is an estimate's)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._rounding import unit_roundoff
from ._operator import Operator
from ._raw import Raw, Tracker, stage
from .notes import note
from .scipy_svds import counting_operator
from .theory import KW_FAILURE_PROBABILITY, kw_power_epsilon, probabilistic_upper

__all__ = ["interpolative_estimate"]


def _estimate_lower_bound(estimate: float, m: int, n: int, dtype: Any, fro_upper: float | None) -> float:
    """A lower bound from a norm estimate computed by a black box in ``dtype``
    (SciPy's interpolative), *assuming* its products are off by at most
    ``(max(m, n) + 2) u ||A||_F`` and its norm by as much relatively: an
    assumption about the black box, so the bracket is never certified."""
    g = (max(m, n) + 2) * unit_roundoff(dtype)
    return max(0.0, estimate * (1 - g) - (0.0 if fro_upper is None else g * fro_upper))


def interpolative_estimate(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                           v0: Any, track: Tracker, **_: Any) -> Raw:
    """``scipy.linalg.interpolative.estimate_spectral_norm``: randomized power
    iteration for ``its`` steps (``maxiter``, default 20), no stopping rule.

    It returns a number only -- no vector, no residual -- so its accuracy can be
    certified only probabilistically: ``converged`` is True when
    Kuczynski-Wozniakowski's bound for ``its`` power steps guarantees ``tol``
    except with probability 1e-6 (rarely, for small tol).
    Cost: ``its`` products with A and with A^T.
    Bounds: lower is the estimate (a Rayleigh quotient) reduced by its rounding;
    upper from the caller's cheap bound.
    """
    from scipy.linalg.interpolative import estimate_spectral_norm

    if v0 is not None:
        raise ValueError("method 'interpolative' draws its own start vector; v0 is not supported")
    its = 20 if maxiter is None else maxiter
    before = op.matvecs
    lin = counting_operator(op, "float64")
    est = float(estimate_spectral_norm(lin, its=its, rng=rng))
    lower = _estimate_lower_bound(est, op.m, op.n, op.dtype, None if op.products_assumed else op.fro_upper())
    eps = kw_power_epsilon(op.n, its)
    err = 1 - math.sqrt(1 - eps) if eps < 1 else 1.0
    converged = err <= tol
    track.add(op, its, est, lower, math.inf, err)
    notes = () if converged else (note("interpolative-unverified", its=its, err=err, p=KW_FAILURE_PROBABILITY),)
    return Raw(value=est, lower=lower, upper=math.inf, converged=converged, iterations=its, error_estimate=err,
               notes=notes, upper_probabilistic=probabilistic_upper(est, eps),
               failure_probability=KW_FAILURE_PROBABILITY,
               stages=stage("interpolative", op, its, before, converged), proven=False)
