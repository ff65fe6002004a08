"""The driver: ``spectral_norm`` validates its arguments and A, runs a method,
intersects the method's bracket with cheap valid bounds and scales back."""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .. import backends as _backends
from .. import timing as _timing
from .._rounding import norm_bounds, unit_roundoff
from ._bracket import final_bracket
from ._certification import certified_width, certify_raw
from ._floors import gram_rounding_floor, residual_floor, svd_backward_p
from ._inputs import InputKind, classify
from ._operator import Operator
from ._raw import Raw, Tracker
from ._validate import prepare
from .auto import default_tol, plan
from .dask_support import dask_route
from .notes import Note, note, render
from .registry import _METHODS
from .result import (
    ConvergenceWarning,
    HistoryEntry,
    NotConvergedError,
    SpectralNormResult,
    Stage,
    not_converged_message,
)
from .svd import svd_dtype

__all__ = ["spectral_norm"]

#: what a LinearOperator's bracket does and does not prove

def _validate_tol(tol: Any) -> float | None:
    if tol is None:
        return None
    try:
        t = float(tol)
    except (TypeError, ValueError):
        raise TypeError(f"tol must be a number; got {tol!r}") from None
    if not (0.0 < t < 1.0) or not math.isfinite(t):
        raise ValueError(f"tol must lie in (0, 1) (a relative accuracy); got {tol!r}")
    return t


def _validate_maxiter(maxiter: Any) -> int | None:
    if maxiter is None:
        return None
    if isinstance(maxiter, bool) or int(maxiter) != maxiter or maxiter < 1:
        raise ValueError(f"maxiter must be a positive integer; got {maxiter!r}")
    return int(maxiter)


def _seed(seed: Any) -> tuple[int | None, np.random.Generator]:
    if seed is None:
        seed = int(cast(int, np.random.SeedSequence().entropy) % (2**63))  # a fresh one's entropy is an int
    elif isinstance(seed, np.random.Generator):
        raise TypeError("seed must be an int (it is stored in the result); got a Generator")
    elif isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    seed = int(seed)
    return seed, np.random.default_rng(seed)


def spectral_norm(
    A: Any,
    method: str = "auto",
    *,
    tol: float | None = None,
    maxiter: int | None = None,
    seed: int | None = None,
    v0: Any = None,
    strict: bool = False,
    return_history: bool = False,
    certify: bool = False,
    **options: Any,
) -> SpectralNormResult:
    """The spectral norm sigma_max(A) with a guaranteed bracket.

    Parameters
    ----------
    A : 2-D array (NumPy, CuPy, any array-API array), SciPy sparse matrix or
        array, ``scipy.sparse.linalg.LinearOperator`` (needs ``rmatvec``),
        CuPy sparse matrix or 2-D Dask array (:mod:`.dask_support`); stacks
        ``(..., m, n)`` for ``svd`` and ``power``.
        bool/int compute in float64, float16 in float32, complex through the
        real embedding ``[[Re, -Im], [Im, Re]]``.  A is never modified.
    method : a key of :data:`METHODS`, or ``"auto"`` (see :func:`auto_plan`).
    tol : requested relative accuracy of ``value`` (default 1e-8 for float64
        work, 1e-5 for float32); iterative methods stop on a bound of the error.
        A tol below the rounding floor of the computation (:func:`tol_floor`:
        the residual bound's own rounding, the SVD's backward error, the Gram
        iteration's rounding, with ``certify`` the certificate's floor) is
        raised to that floor, and ``message`` says so; ``result.tol`` is the
        tol used.
    maxiter : iteration cap; what it counts depends on the method
        (``METHODS[method].maxiter_meaning``: Lanczos steps summed over the
        route's stages, power steps, blocks, squarings, a SciPy solver's own
        unit), and ``result.iterations`` counts the same.
    seed : seed of the random start; None draws a fresh one from the
        operating system's entropy and records it in ``result.seed`` (pass it
        back to reproduce the call).  ``lipbench norm`` follows the same rule.
    v0 : warm-start right vector (length n) for power, lanczos, randomized,
        arpack/propack/lobpcg and cupy-eigsh.
    strict : raise :class:`NotConvergedError` instead of warning.
    return_history : keep the per-iteration estimates and brackets.
    certify : after the estimate, prove ``upper`` within ``tol`` of ``lower``
        (one shifted Cholesky factorization of the Gram matrix of the smaller
        side, every rounding error accounted for; :mod:`.inertia`).  A test
        that fails means the estimate missed sigma_max: the full SVD
        re-estimates it, and the result says so.  Dense and small sparse
        input; a LinearOperator is left uncertified, with the reason in
        ``message``.  ``result.certified`` tells whether it succeeded.
    **options : method options (``block_size`` for ``randomized``; ``work_dtype``
        ``gram``, ``normal`` and ``max_basis`` for ``lanczos``); recorded in
        ``result.options``.

    Returns
    -------
    SpectralNormResult with ``lower <= sigma_max(A) <= upper`` (rounding
    included) for every method; non-convergence gives ``converged=False`` and a
    :class:`ConvergenceWarning`.  ``certificate`` names what proves ``upper``.
    """
    t0 = time.perf_counter()
    if not isinstance(method, str) or (method != "auto" and method not in _METHODS):
        raise ValueError(f"unknown method {method!r}; choose 'auto' or one of: {', '.join(_METHODS)}")
    tol, maxiter = _validate_tol(tol), _validate_maxiter(maxiter)
    viewed = _backends.host_view(A)
    said = [note("torch-numpy-view")] if viewed is not A else []
    A, v0 = viewed, (None if v0 is None else _backends.host_view(v0))
    found, chosen, options = _choose(A, method, tol, v0, options)
    info = _METHODS[chosen]
    op = prepare(A, found.kind, batched_ok=info.batched)
    shape = tuple(int(d) for d in getattr(A, "shape", np.shape(A)))
    if certify and op.is_batched:
        raise ValueError(f"certify=True takes one matrix; got a stack of shape {op.shape}")
    tol, notes = _settle_tol(op, chosen, tol, maxiter, certify, shape)
    seed, rng = _seed(seed)
    track = Tracker(return_history)
    if op.is_zero:
        zeros = np.zeros(op.batch_shape) if op.is_batched else 0.0
        raw = Raw(value=zeros, lower=zeros, upper=zeros, converged=True, iterations=0, error_estimate=0.0,
                  notes=(note("zero-matrix"),), stages=(Stage("zero", op.dtype, 0, 0),),
                  certificate="exact", certified=True)
        track.add(op, 0, 0.0, 0.0, 0.0, 0.0)
    elif min(op.m, op.n) == 1 and not op.is_batched:
        raw = _vector_norm(op)
        track.add(op, 0, raw.value, raw.lower, raw.upper, 0.0)
    else:
        if v0 is not None and chosen in ("svd", "gram"):
            raise ValueError(f"method {chosen!r} takes no start vector; v0 applies to iterative methods")
        run = dask_route(chosen, info.function) if found.kind is InputKind.DASK else info.function
        raw = run(op, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, **options)
        if certify:
            raw = certify_raw(op, raw, tol)
    raw.notes = (*said, *notes, *raw.notes)
    call = _Call(method=chosen, tol=tol, seed=seed, strict=strict, options=options, t0=t0, shape=shape,
                 est_floor=estimate_floor(chosen, op))
    return _finish(op, raw, track, call)


def _choose(A: Any, method: str, tol: float | None, v0: Any, options: dict) -> tuple[Any, str, dict]:
    """``(the input's kind, the method that runs, its options)``: ``"auto"``
    resolved, and the method checked against the input and the options."""
    found = classify(A)
    chosen = method
    if method == "auto":
        chosen, auto_options = plan(A, found, tol, v0 is not None)
        options = {**auto_options, **options}
    info = _METHODS[chosen]
    ok, why = info.takes(found, type(A).__name__)
    if not ok:
        raise (TypeError if found.kind is None else ValueError)(why)
    unknown = set(options) - set(info.options)
    if unknown:
        raise TypeError(f"method {chosen!r} takes no option(s) {sorted(unknown)}; "
                        f"its options: {list(info.options) or 'none'}")
    return found, chosen, options


def _settle_tol(op: Operator, method: str, tol: float | None, maxiter: int | None, certify: bool,
                shape: tuple[int, ...]) -> tuple[float, list[Note]]:
    """The tol the call works to (the dtype's default, raised to the floor of
    what the method or certificate can reach) and the notes about the call."""
    notes: list[Note] = []
    if tol is None:
        tol = default_tol(op.dtype)
    floor, why = tol_floor(method, op, certify) if not op.is_zero and min(op.m, op.n) > 1 else (0.0, "")
    if tol < floor:
        notes.append(note("tol-raised", tol=tol, why=why, floor=floor))
        tol = floor
    if maxiter is not None and method == "svd":
        notes.append(note("svd-maxiter"))
    if shape != op.shape:
        notes.append(note("complex-embedding", shape=op.shape))
    return tol, notes


@dataclass(frozen=True)
class _Call:
    """What the result records about the call besides the method's answer."""

    method: str
    tol: float
    seed: int | None
    strict: bool
    options: dict
    t0: float
    shape: tuple[int, ...]
    est_floor: float


def estimate_floor(method: str, op: Operator) -> float:
    """The smallest error estimate the computation behind ``method`` can
    produce for ``op``: the SVD's backward-error factor or, above it, the width
    its certificate proves; the Gram iteration's rounding; else the float64
    residual bound's rounding (the stack's own dtype for a stack's power
    iteration, whose residuals are computed in it)."""
    if method == "svd":
        return max(svd_backward_p(op.m, op.n) * unit_roundoff(svd_dtype(op)),
                   certified_width(0.0, "float64", op.m, op.n))
    if method == "gram":
        return 2 * gram_rounding_floor(op.m, op.n)
    return residual_floor(op.m, op.n, op.dtype if op.is_batched else "float64")


def tol_floor(method: str, op: Operator, certify: bool) -> tuple[float, str]:
    """(the smallest tol the call can meet, what sets it): :func:`estimate_floor`,
    and with ``certify`` the relative width the certificate can prove."""
    floor = estimate_floor(method, op)
    why = {"svd": "what the certificate proves", "gram": "the Gram iteration's rounding"}.get(
        method, "the rounding floor of the residual bound")
    why += f" for a {op.m} x {op.n} matrix"
    if certify and not op.is_batched:
        cert = certified_width(0.0, "float64", op.m, op.n)
        if cert > floor:
            floor, why = cert, f"what the certificate proves for a {op.m} x {op.n} matrix"
    return floor, why


def _vector_norm(op: Operator) -> Raw:
    """A matrix with one row or one column: sigma_max is the vector's 2-norm."""
    before = op.matvecs
    ss = op.sum_squares64()
    lower, upper = norm_bounds(ss, max(op.m, op.n))
    return Raw(value=min(max(math.sqrt(ss), lower), upper), lower=lower, upper=upper, converged=True, iterations=0,
               error_estimate=(upper - lower) / upper if upper > 0 else 0.0,
               notes=(note("vector-norm"),),
               stages=(Stage("vector-norm", "float64", 0, op.matvecs - before),),
               certificate="vector-norm", certified=True)


def _finish(op: Operator, raw: Raw, track: Tracker, call: _Call) -> SpectralNormResult:
    method, tol, seed, strict, options = call.method, call.tol, call.seed, call.strict, call.options
    t0, shape, est_floor = call.t0, call.shape, call.est_floor
    b = final_bracket(op, raw, tol)
    s = op.scale

    history = None
    if track.enabled:
        history = tuple(
            HistoryEntry(iteration=i, matvecs=mv, estimate=est * s, lower=lo * s, upper=hi * s,
                         error_estimate=err, time=t)
            for (i, mv, est, lo, hi, err, t) in track.rows
        )
    upper_prob = raw.upper_probabilistic
    if upper_prob is not None:
        upper_prob = min(upper_prob * s, b.upper)
    err = raw.error_estimate
    said = (*raw.notes, *b.notes)
    if op.products_assumed and not any(n.code == "linear-operator" for n in said):
        said = (*said, note("linear-operator"))
    if np.ndim(err):
        err = np.maximum(np.asarray(err, dtype=float), est_floor)
    elif not op.is_zero and raw.certificate not in ("vector-norm", "exact"):
        err = max(float(err), est_floor)  # no estimate below the rounding of the computation behind it
    if op.on_device:  # wall time includes the queued GPU work
        _backends.synchronize(op.backend)
    seconds = time.perf_counter() - t0
    result = SpectralNormResult(
        value=b.value, lower=b.lower, upper=b.upper, converged=bool(raw.converged),
        iterations=int(raw.iterations), matvecs=int(op.matvecs), method=method, backend=op.backend,
        dtype=op.dtype, seed=seed, tol=tol,
        error_estimate=float(err) if np.ndim(err) == 0 else np.asarray(err, dtype=float),
        upper_probabilistic=upper_prob, failure_probability=raw.failure_probability,
        device=op.device, input_dtype=op.input_dtype, shape=shape, message=render(said), notes=said, history=history,
        options=dict(options), vector=raw.vector, stages=tuple(raw.stages), certificate=b.certificate,
        certified=b.certified, seconds=seconds,
        threads=_timing.blas_threads() if op.backend != "cupy" else None,
        passes=op.pass_report() if hasattr(op, "pass_report") else None,
    )
    if not result.converged:
        msg = not_converged_message(result, "api")
        if strict:
            raise NotConvergedError(msg, result)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return result
