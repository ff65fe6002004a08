"""Rows behind the speed targets that the grid alone does not give.

* ``auto_accuracy``: ``method="auto"`` at tol=1e-6 on *every* family of
  ``lipbench.matrices`` (not only the grid's three spectra), float64 and
  float32 -- relative error, bracket and convergence per row, timed.
  1024^2 and 2048^2 in the quick profile, 4096^2 in the full one.
* ``batched``: a stack of 512 matrices of 64 x 64 (per-head attention
  weights): batched power iteration, a Python loop of single calls, and the
  batched SVD, each with its worst relative error over the stack.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import lipbench as lb
from benchmarks import grid, profiles
from benchmarks.runners import device_name, require_backend
from benchmarks.spectra import SPECTRA
from lipbench import backends as _backends
from lipbench import matrices as _matrices

#: every family of lipbench.matrices, as benchmarks/spectra.py builds it
FAMILIES = ("gaussian", "gap", "geometric", "polynomial", "low_rank", "zero", "identity", "nn_like",
            "badly_scaled")
SIDES = (1024, 2048, 4096)
TOL = 1e-6


_BUILT: dict = {}


def _accuracy_at(profile: profiles.Profile, side: int) -> bool:
    return profile.auto_accuracy_sides is None or side in profile.auto_accuracy_sides


def planned(profile: profiles.Profile, side: int | None = None, **_: object) -> bool:
    """Whether a case runs in ``profile`` (for the session's estimate)."""
    return side is None or _accuracy_at(profile, side)


def _auto_input(backend: str, family: str, side: int, dtype: str):
    """(A, truth, truth source): the float64 matrix is built once per family and
    side (float32 is its rounding); float64 truth is the construction's
    sigma_max when that is within 1e-12 of it, float32 truth a float64 SVD (the
    badly-scaled family is built for float32 itself: its float64 entries would
    overflow float32)."""
    key = (backend, family, side)
    if key not in _BUILT:
        if len(_BUILT) >= 2:  # keep memory bounded: inputs arrive grouped by (side, family)
            _BUILT.clear()
        _BUILT[key] = SPECTRA[family].make(side, side, dtype="float64", seed=grid.INPUT_SEED,
                                           backend=backend)
    ks = _BUILT[key]
    if dtype == "float64":
        A = ks.matrix
        _backends.synchronize(backend)
        if ks.sigma_max == 0 or ks.atol <= 1e-12 * ks.sigma_max:
            return A, ks.sigma_max, "construction"
        return A, _matrices.reference_norm(A), "float64 SVD of the stored matrix (host)"
    if family == "badly_scaled":  # scaled to the ends of float32 itself, not a rounded float64 matrix
        A = SPECTRA[family].make(side, side, dtype=dtype, seed=grid.INPUT_SEED, backend=backend).matrix
    else:
        xp = _backends.namespace(backend)
        A = xp.astype(ks.matrix, getattr(xp, dtype))
    _backends.synchronize(backend)
    return A, _matrices.reference_norm(A), "float64 SVD of the stored matrix (host)"


def _quiet(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", lb.ConvergenceWarning)
        out = fn()
    return out, "; ".join(str(w.message) for w in caught if issubclass(w.category, lb.ConvergenceWarning))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("side", SIDES)
@pytest.mark.parametrize("backend", grid.BACKENDS)
def test_auto_accuracy(benchmark, request, backend, side, family, dtype):
    config = request.config
    profile = config._lipbench_profile
    if not _accuracy_at(profiles.get(profile), side):
        pytest.skip(profiles.elsewhere(f"{side}^2 runs", profile, lambda p: _accuracy_at(p, side)))
    require_backend(config, backend)
    A, truth, source = _auto_input(backend, family, side, dtype)
    benchmark.group = f"auto accuracy {backend} {side}x{side} {dtype}"

    def run():
        r = lb.spectral_norm(A, method="auto", tol=TOL, seed=grid.METHOD_SEED)
        _backends.synchronize(backend)
        return r

    _quiet(run)  # warm-up
    holder = []
    benchmark.pedantic(lambda: holder.append(_quiet(run)), rounds=1, iterations=1, warmup_rounds=0)
    r, warned = holder[-1]
    rel = abs(r.value - truth) / truth if truth > 0 else abs(r.value)
    benchmark.extra_info.update({
        "kind": "auto_accuracy", "method": "auto", "result_method": r.method, "options": dict(r.options),
        "backend": backend, "device": r.device, "dtype": dtype, "family": family,
        "shape": f"{side}x{side}", "m": side, "n": side, "tol": TOL, "target_tol": TOL,
        "rel_error": rel, "value": r.value, "truth": truth,
        "truth_source": source,
        "lower": r.lower, "upper": r.upper if math.isfinite(r.upper) else None,
        "bracket_ok": bool(r.lower <= truth <= r.upper), "iterations": r.iterations, "matvecs": r.matvecs,
        "converged": r.converged, "met_target": bool(rel <= TOL), "error_estimate": r.error_estimate,
        "warning": warned, "seed": grid.METHOD_SEED, "input_seed": grid.INPUT_SEED,
        "blas_threads": config._lipbench_threads, "profile": profile,
    })
    assert r.lower <= truth <= r.upper, f"bracket [{r.lower}, {r.upper}] misses {truth}"


@pytest.mark.parametrize("strategy", ["power-batched", "power-loop", "svd-batched", "svd-loop"])
@pytest.mark.parametrize("backend", grid.BACKENDS)
def test_batched_stack(benchmark, request, backend, strategy):
    config = request.config
    require_backend(config, backend)
    count, side = profiles.get(config._lipbench_profile).batched_stack
    rng = np.random.default_rng(grid.INPUT_SEED)
    host = rng.standard_normal((count, side, side)) / math.sqrt(side)
    truth = np.linalg.norm(host, 2, axis=(-2, -1))
    xp = _backends.namespace(backend)
    S = xp.asarray(host)
    _backends.synchronize(backend)
    method = strategy.split("-")[0]
    benchmark.group = f"batched {backend} {count}x{side}x{side}"

    def run():
        if strategy.endswith("batched"):
            r = lb.spectral_norm(S, method=method, tol=TOL, seed=grid.METHOD_SEED)
            vals, mv, it, conv = np.asarray(r.value), r.matvecs, r.iterations, r.converged
        else:
            rs = [lb.spectral_norm(S[i], method=method, tol=TOL, seed=grid.METHOD_SEED) for i in range(count)]
            vals = np.array([x.value for x in rs])
            mv, it = max(x.matvecs for x in rs), max(x.iterations for x in rs)
            conv = all(x.converged for x in rs)
        _backends.synchronize(backend)
        return vals, mv, it, conv

    _quiet(run)
    holder = []
    rounds = 3 if strategy.endswith("batched") else 1
    benchmark.pedantic(lambda: holder.append(_quiet(run)), rounds=rounds, iterations=1, warmup_rounds=0)
    (vals, mv, it, conv), warned = holder[-1]
    rel = float(np.max(np.abs(vals - truth) / truth))
    benchmark.extra_info.update({
        "kind": "batched", "method": strategy, "backend": backend, "device": device_name(backend),
        "dtype": "float64", "family": "gaussian-entries", "shape": f"{count}x{side}x{side}",
        "m": side, "n": side, "tol": TOL, "target_tol": TOL, "rel_error": rel, "iterations": it,
        "matvecs": mv, "converged": conv, "met_target": bool(rel <= TOL), "warning": warned,
        "seed": grid.METHOD_SEED, "input_seed": grid.INPUT_SEED,
        "blas_threads": config._lipbench_threads, "profile": config._lipbench_profile,
        "truth_source": "numpy.linalg.norm(A, 2) per matrix (float64 SVD)",
    })
