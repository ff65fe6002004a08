"""The result of a spectral-norm computation, and the warning/error for non-convergence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._units import iterations_unit, maxiter_unit
from .notes import Note

__all__ = ["SpectralNormResult", "HistoryEntry", "Stage", "ConvergenceWarning", "NotConvergedError",
           "ADVICE", "not_converged_message"]

#: What to do about a result that missed tol, in the words of each interface
#: (the Python API's keywords, the command line's flags).
ADVICE = {
    "api": "Raise maxiter or tol, or use method='svd'.",
    "cli": "Raise --maxiter or --tol, or use --method svd.",
}


class ConvergenceWarning(RuntimeWarning):
    """An estimator stopped before reaching the requested tolerance."""


class NotConvergedError(RuntimeError):
    """Raised instead of :class:`ConvergenceWarning` when ``strict=True``."""

    def __init__(self, message: str, result: SpectralNormResult):
        super().__init__(message)
        self.result = result


@dataclass(frozen=True)
class HistoryEntry:
    """One iteration: work done so far, the estimate and its bracket (already
    multiplied back by the input's scale)."""

    iteration: int
    matvecs: int
    estimate: float
    lower: float
    upper: float
    error_estimate: float = math.nan
    time: float = math.nan  # seconds since the start of the solve (host clock)


@dataclass(frozen=True)
class Stage:
    """One stage of the route a method ran: which engine, in which dtype, how
    many iterations and products (with A or A^T, counted as in
    :attr:`SpectralNormResult.matvecs`), how many thick restarts.
    ``converged`` says whether the stage met tol by itself (a later stage
    refines one that did not)."""

    engine: str
    dtype: str
    iterations: int
    matvecs: int
    converged: bool = True
    restarts: int = 0


@dataclass(frozen=True)
class SpectralNormResult:
    """sigma_max with a guaranteed bracket and an account of the work.

    ``lower <= sigma_max(A) <= upper`` holds with rounding accounted for.
    ``value`` is the method's estimate (inside the bracket).  ``matvecs`` counts
    products with A or A^T (a product with a block of b vectors counts b).
    ``error_estimate`` is the method's bound on ``|value - sigma| / sigma`` used
    for its stopping decision; ``converged`` says it met ``tol``.
    ``upper_probabilistic`` (Kuczynski-Wozniakowski 1992, random starts only)
    holds except with probability ``failure_probability``.

    ``certificate`` names what proves ``upper`` (``"inertia"``: the shifted
    Cholesky test of ``certify=True`` and of method ``svd``; ``"gram-iteration"``;
    ``"svd"``: the SVD's backward-error bound with its measured factor, left
    when the inertia test could not run (never certified); ``"norms"``:
    ``min(||A||_F, sqrt(||A||_1 ||A||_inf))``; ``"exact"``; ``"none"``).
    ``certified`` is True when ``upper`` is a deterministic bound, rounding
    included, within ``tol`` of ``lower`` -- a Lipschitz certificate as tight
    as the estimate.

    ``stages`` is the route that ran, as data: e.g. a float32 Lanczos stage
    followed by a float64 refinement (see :class:`Stage`).

    ``iterations`` counts what the method's ``maxiter`` caps (Lanczos steps,
    power steps, blocks, squarings; ``METHODS[method].counts`` names it).
    ``shape`` is the caller's: complex input is computed through its real
    embedding, twice as large each way, and ``message`` says so.
    ``message`` is text for reading; ``notes`` holds the same as data (a code
    and its values per note: ``"maxiter" in r.note_codes``, ``r.notes[0]["tol"]``).
    ``seconds`` is the wall time of the call (GPU work synchronised);
    ``threads`` the BLAS threads it ran with (None off the CPU).

    ``vector`` is a unit right vector (float64, on A's backend) to warm-start
    the next call with ``v0`` (spectral normalization during training): the
    vector behind ``lower`` for most methods, the next iterate for ``power``;
    None for ``svd`` and ``interpolative``.

    For a stack ``(..., m, n)`` the fields value/lower/upper/error_estimate are
    NumPy arrays of the batch shape, ``converged`` is True when every matrix
    converged, and iterations/matvecs are per matrix (the maximum).
    """

    value: Any
    lower: Any
    upper: Any
    converged: bool
    iterations: int
    matvecs: int
    method: str
    backend: str
    dtype: str
    seed: int | None
    tol: float
    error_estimate: Any = math.nan
    upper_probabilistic: float | None = None
    failure_probability: float | None = None
    device: str = "cpu"
    input_dtype: str = ""
    shape: tuple[int, ...] = ()
    message: str = ""
    #: what ``message`` says, as data: codes with values (:mod:`lipbench.spectral.notes`)
    notes: tuple[Note, ...] = field(default=(), repr=False)
    history: tuple[HistoryEntry, ...] | None = field(default=None, repr=False)
    options: dict = field(default_factory=dict)
    vector: Any = field(default=None, repr=False)
    stages: tuple[Stage, ...] = ()
    certificate: str = ""
    certified: bool = False
    seconds: float = math.nan
    threads: int | None = None
    #: Dask input: the passes over A and their seconds (a ``dask_support.PassReport``); else None
    passes: Any = None

    @property
    def relative_width(self) -> Any:
        """``(upper - lower) / upper``: how tight the certified bracket is."""
        up = np.asarray(self.upper, dtype=float)
        lo = np.asarray(self.lower, dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(up > 0, (up - lo) / up, 0.0)
        return float(w) if w.ndim == 0 else w

    def contains(self, sigma: float) -> Any:
        """Whether ``sigma`` lies in the certified bracket."""
        return np.logical_and(np.asarray(self.lower) <= sigma, sigma <= np.asarray(self.upper))

    @property
    def note_codes(self) -> tuple[str, ...]:
        """The codes of :attr:`notes`, in order (``"maxiter" in r.note_codes``)."""
        return tuple(n.code for n in self.notes)

    def summary(self) -> str:
        conv = "converged" if self.converged else "NOT converged"
        def f(x: Any) -> str:
            return np.array2string(np.asarray(x), precision=10) if np.ndim(x) else f"{float(x):.12g}"
        lines = [
            f"sigma_max  {f(self.value)}",
            f"bracket    [{f(self.lower)}, {f(self.upper)}]",
            f"method     {self.method}" + (f" {self.options}" if self.options else "")
            + f" ({self.backend}, {self.dtype}, device {self.device})",
            f"work       {self.iterations} {_counts(self.method)}, {self.matvecs} matvecs, seed {self.seed}",
            f"time       {self.seconds:.4g} s" + (f", {self.threads} BLAS thread(s)" if self.threads else ""),
            f"accuracy   error estimate {f(self.error_estimate)} vs tol {self.tol:.3g}: {conv}",
            f"upper      {'certified' if self.certified else 'not certified to tol'} ({self.certificate})",
        ]
        if self.upper_probabilistic is not None:
            lines.append(
                f"prob.      sigma_max <= {self.upper_probabilistic:.12g} except with probability "
                f"{self.failure_probability:.3g}"
            )
        if self.message:
            lines.append(f"note       {self.message}")
        return "\n".join(lines)


def _counts(method: str) -> str:
    """What ``iterations`` counts for ``method`` (and what maxiter caps, when that differs)."""
    counts, caps = iterations_unit(method), maxiter_unit(method)
    return counts + ("" if caps == counts else f" (maxiter counts {caps})")


def not_converged_message(result: SpectralNormResult, advice: str = "api") -> str:
    """What a result that missed tol says, with the advice of :data:`ADVICE`
    (``"api"`` or ``"cli"``) in the caller's words."""
    err = result.error_estimate
    err_txt = np.array2string(np.asarray(err), precision=3) if np.ndim(err) else f"{float(err):.3g}"
    return (
        f"spectral_norm(method={result.method!r}) did not reach tol={result.tol:.3g}: error estimate {err_txt} "
        f"after {result.iterations} {_counts(result.method)} ({result.matvecs} matvecs). The bracket "
        f"[{np.asarray(result.lower)}, {np.asarray(result.upper)}] still holds. "
        + (result.message + ". " if result.message else "")
        + ADVICE[advice]
    )
