"""What an estimator hands back to the driver, its history, and its start vector."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .. import backends as _backends
from ._operator import Operator
from .notes import Note, render
from .result import Stage

__all__ = ["Raw", "Tracker", "start_vector", "stage"]


@dataclass
class Raw:
    """What an estimator returns, in the units of the *scaled* operator.

    ``lower`` must be a rigorous lower bound (rounding included) and ``upper`` a
    rigorous upper bound or ``inf``, unless ``proven`` is False (a bracket that
    rests on an assumption about a black box or on a calibrated constant: it
    is reported, never certified); the driver intersects them with the cheap
    bounds and multiplies everything back by the scale.
    """

    value: Any
    lower: Any
    upper: Any
    converged: bool
    iterations: int
    error_estimate: Any = math.nan
    notes: tuple[Note, ...] = ()  # what it says beside its numbers (.notes)
    upper_probabilistic: float | None = None
    failure_probability: float | None = None
    vector: Any = None  # the final right vector (for warm restarts), if any
    stages: tuple[Stage, ...] = ()
    certificate: str = ""  # what proves ``upper`` when the method itself certified it ...
    certified: bool = False  # ... and whether that bound is deterministic and within tol of lower
    proven: bool = True  # lower and upper are proofs (False: an estimate's bracket)

    @property
    def message(self) -> str:
        """The notes as text (for reading; set :attr:`notes`)."""
        return render(self.notes)


class Counted(Protocol):
    """What :meth:`Tracker.add` reads of an operator: its count of products."""

    @property
    def matvecs(self) -> int: ...


@dataclass
class Tracker:
    """Per-iteration history in scaled units (only kept when asked)."""

    enabled: bool
    t0: float = field(default_factory=time.perf_counter)
    rows: list = field(default_factory=list)

    def add(self, op: Counted, iteration: int, estimate: float, lower: float, upper: float,
            error_estimate: float = math.nan) -> None:
        if self.enabled:
            self.rows.append((iteration, op.matvecs, float(estimate), float(lower), float(upper), float(error_estimate),
                              time.perf_counter() - self.t0))


def start_vector(op: Operator, rng: np.random.Generator, v0: Any, dtype: str | None = None) -> Any:
    """A unit start vector on the operator's backend: ``v0`` if given (validated,
    never modified), else Gaussian from ``rng`` (host) -- uniform on the sphere."""
    xp = op.xp
    want = op.batch_shape + (op.n,)
    dt = getattr(xp, dtype or op.dtype)
    if v0 is None:
        v = xp.asarray(rng.standard_normal(want), dtype=dt)
    else:
        shape = tuple(int(s) for s in getattr(v0, "shape", np.shape(v0)))
        if shape != want:
            raise ValueError(f"v0 has shape {shape}; expected {want} (one entry per column of A)")
        host = np.asarray(_backends.to_numpy(v0), dtype=np.float64)
        if not np.all(np.isfinite(host)):
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(host))[0])
            raise ValueError(f"v0 contains a non-finite value at {bad}")
        peak = np.max(np.abs(host), axis=-1, keepdims=True)
        if np.any(peak == 0):
            raise ValueError("v0 is the zero vector; a start vector must be non-zero")
        host = host / peak  # a power of two would do; any positive factor keeps the direction
        v = xp.asarray(host, dtype=dt)
    nrm = xp.linalg.vector_norm(v, axis=-1, keepdims=True)
    return v / nrm


def stage(engine: str, op: Operator, iterations: int, matvecs_before: int, converged: bool = True,
          restarts: int = 0) -> tuple[Stage]:
    """A one-stage route: ``engine`` ran ``iterations`` in ``op``'s dtype, with
    the products counted since ``matvecs_before``."""
    return (Stage(engine, op.dtype, int(iterations), op.matvecs - matvecs_before, bool(converged), restarts),)
