"""What a benchmark case calls: lipbench's methods and the reference rows, as
zero-argument callables that return an :class:`Outcome` in host floats, and
the checks that skip a case which cannot run here."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import lipbench as lb
from benchmarks.grid import BASELINES, DENSE_ONLY, METHOD_SEED, SPARSE_N
from lipbench import backends as _backends


@dataclass
class Outcome:
    """What one call produced, in host floats."""

    value: float
    lower: float = math.nan
    upper: float = math.nan
    iterations: int | None = None
    matvecs: int | None = None
    converged: bool = True
    error_estimate: float = math.nan
    warning: str = ""
    result: Any = None


def lipbench_runner(method: str, A: Any, tol: float, backend: str, *, seed: int = METHOD_SEED,
                    return_history: bool = False) -> Callable[[], Outcome]:
    """A zero-argument callable that runs ``lb.spectral_norm`` on ``A`` and
    synchronises the GPU before returning.  A ConvergenceWarning is recorded
    (``converged=False``, message kept), never raised."""
    cw = lb.ConvergenceWarning
    certify = method == "auto+certify"
    method = "auto" if certify else method

    def run() -> Outcome:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", cw)
            r = lb.spectral_norm(A, method=method, tol=tol, seed=seed, return_history=return_history,
                                 certify=certify)
        _backends.synchronize(backend)  # by name: synchronize(array) is ambiguous for NumPy arrays
        msgs = [str(w.message) for w in caught if issubclass(w.category, cw)]
        for w in caught:  # anything else keeps the suite's warnings-as-errors policy
            if not issubclass(w.category, cw):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return Outcome(float(r.value), float(r.lower), float(r.upper), int(r.iterations), int(r.matvecs),
                       bool(r.converged), float(r.error_estimate), "; ".join(msgs), r)

    return run


def baseline_runner(method: str, A: Any, tol: float, backend: str, *, sparse: bool,
                    seed: int = METHOD_SEED) -> tuple[Callable[[], Outcome], str]:
    """(runner, implementation name) for the reference rows; raises pytest.skip
    when the baseline cannot run on this input or backend."""
    if method == "numpy.linalg.norm":
        if sparse:
            pytest.skip("numpy.linalg.norm(A, 2) needs a dense matrix (a full SVD)")
        if backend == "cupy":
            import cupy as cp

            impl, fn = "cupy.linalg.norm(A, 2)", lambda: cp.linalg.norm(A, 2)
            try:
                float(fn())
            except (NotImplementedError, ValueError, TypeError) as exc:
                pytest.skip(f"cupy.linalg.norm(A, 2) is not available: {exc}")
        else:
            impl, fn = "numpy.linalg.norm(A, 2)", lambda: np.linalg.norm(A, 2)

        def run() -> Outcome:
            v = fn()
            _backends.synchronize(backend)
            return Outcome(float(v), matvecs=0, iterations=0)

        return run, impl
    if method == "scipy.sparse.linalg.svds":
        if backend == "cupy":
            from cupyx.scipy.sparse.linalg import svds as cupy_svds

            impl = "cupyx.scipy.sparse.linalg.svds(A, k=1, tol=tol)"

            def run() -> Outcome:
                s = cupy_svds(A, k=1, tol=tol, return_singular_vectors=False)
                _backends.synchronize(backend)
                return Outcome(float(s.max()))

            return run, impl
        from scipy.sparse.linalg import ArpackNoConvergence, svds

        impl = "scipy.sparse.linalg.svds(A, k=1, tol=tol, solver='arpack')"

        def run() -> Outcome:
            try:
                s = svds(A, k=1, tol=tol, return_singular_vectors=False, random_state=seed)
            except ArpackNoConvergence as exc:
                vals = getattr(exc, "eigenvalues", None)
                v = float(np.max(np.abs(vals))) if vals is not None and len(vals) else math.nan
                return Outcome(v, converged=False, warning=f"ArpackNoConvergence: {exc}")
            return Outcome(float(np.max(s)))

        return run, impl
    raise ValueError(f"unknown baseline {method!r}")


def applicability(method: str, A: Any, backend: str, sparse: bool) -> None:
    """Skip (with the reason) when ``method`` does not apply to ``A`` here."""
    if method in DENSE_ONLY and sparse:
        pytest.skip(f"{method} is a dense O(n^3) method; the {SPARSE_N}^2 operator would need "
                    f"{SPARSE_N**2 * 8 / 1e9:.0f} GB dense")
    if method in BASELINES or method in ("auto", "auto+certify"):
        return
    if method not in lb.METHODS:
        pytest.skip(f"{method!r} is not in lipbench.METHODS on this version")
    ok, reason = lb.METHODS[method].applies_to(A)
    if not ok:
        pytest.skip(f"{method} does not apply to this input: {reason}")


def warm_up(fn: Callable[[], Outcome]) -> Outcome:
    """Call ``fn`` once, untimed.  An exception from the method on an input it
    claims to accept is a library bug: the case is reported as xfailed with the
    error (visible in the summary), not timed and not hidden."""
    try:
        return fn()
    except Exception as exc:
        pytest.xfail(f"raised on an input it accepts (a bug in the method or its library): "
                     f"{type(exc).__name__}: {exc}")


def device_name(backend: str) -> str:
    """The device a backend's rows ran on: ``cpu``, or the GPU's name."""
    if backend == "cupy":
        return _backends.availability("cupy").device or "cuda"
    return "cpu"


def backend_runs(config: pytest.Config, backend: str) -> bool:
    """Whether cases on ``backend`` run in this session (selected and available)."""
    selected = dict(getattr(config, "_lipbench_backends", []))
    b = _backends.Backend(backend)
    if os.environ.get(_backends.ENV_VAR, "").strip() and b not in selected:
        return False
    return bool(_backends.availability(b).available)


def require_backend(config: pytest.Config, backend: str) -> None:
    """Skip with the reason when ``backend`` is unavailable or not selected."""
    selected = dict(getattr(config, "_lipbench_backends", []))
    b = _backends.Backend(backend)
    if os.environ.get(_backends.ENV_VAR, "").strip() and b not in selected:
        pytest.skip(f"backend {backend} not in {_backends.ENV_VAR}={os.environ[_backends.ENV_VAR]!r}")
    av = _backends.availability(b)
    if not av.available:
        pytest.skip(f"backend {backend} unavailable: {av.reason}")


__all__ = ["Outcome", "applicability", "backend_runs", "baseline_runner", "device_name", "lipbench_runner",
           "require_backend", "warm_up"]
