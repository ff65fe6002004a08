"""Convolution operator norms: the exact DFT, the assembled matrix, Lanczos, the bound, and the reshape.

A handful of 2-D convolutions (16 channels, 3x3, stride 1), each timed per
method of :func:`lipbench.lipschitz.conv_operator_norm`, plus ``reshape``:
sigma of ``kernel.reshape(out, -1)``, what spectral-normalization code uses
(the reshape trap).  Ground truth is the exact route's bracket (the DFT for
circular padding, an estimate whose rounding constants are calibrated, see
docs/certify.md; the assembled matrix's proven bracket for zeros padding), built
outside the timed call; every row records its relative error and whether its
bracket holds the truth (a method whose value is no bound shows up as
``bracket_ok = False``).  The same cases run in every profile (each well under
a few seconds).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lipbench as lb
from benchmarks import grid
from lipbench.lipschitz import conv_operator_norm
from lipbench.lipschitz.conv import DENSE_MAX_ENTRIES
from lipbench.lipschitz.reshape_trap import reshaped_kernel

TOL = 1e-6
#: name -> (kernel shape, input size, padding, padding mode, the exact route)
CASES = {
    "16ch-3x3-circular-16x16": ((16, 16, 3, 3), (16, 16), 1, "circular", "fft"),
    "16ch-3x3-zeros-8x8": ((16, 16, 3, 3), (8, 8), 1, "zeros", "dense"),
    "16ch-3x3-zeros-2x2": ((16, 16, 3, 3), (2, 2), 1, "zeros", "dense"),
}
METHODS = ("fft", "dense", "lanczos", "bound", "reshape")
_TRUTH: dict = {}


def _case(name: str):
    """(kernel, input size, conv args, truth result): He-initialised kernel from the grid's input seed."""
    if name not in _TRUTH:
        shape, size, padding, mode, exact = CASES[name]
        K = np.random.default_rng(grid.INPUT_SEED).standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))
        args = dict(padding=padding, padding_mode=mode)
        _TRUTH[name] = (K, size, args, conv_operator_norm(K, size, method=exact, tol=TOL, seed=grid.METHOD_SEED,
                                                          **args))
    return _TRUTH[name]


def _run(method: str, K, size, args):
    if method == "reshape":
        return lb.spectral_norm(reshaped_kernel(K), method="svd")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)
        return conv_operator_norm(K, size, method=method, tol=TOL, seed=grid.METHOD_SEED, **args)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("case", tuple(CASES))
def test_conv_method(benchmark, request, case, method):
    config = request.config
    K, size, args, truth = _case(case)
    if method == "fft" and args["padding_mode"] != "circular":
        pytest.skip("the DFT route is exact for circular padding only (conv_operator_norm refuses it here)")
    if method == "dense" and truth.shape[0] * truth.shape[1] > DENSE_MAX_ENTRIES:
        pytest.skip(f"the assembled operator would have {truth.shape[0] * truth.shape[1]} entries "
                    f"> {DENSE_MAX_ENTRIES} (method='auto' takes it only up to there)")
    benchmark.group = f"conv methods {case}"
    _run(method, K, size, args)  # warm-up
    holder = []
    benchmark.pedantic(lambda: holder.append(_run(method, K, size, args)), rounds=3, iterations=1,
                       warmup_rounds=0)
    r = holder[-1]
    t_lo, t_up = float(truth.lower), float(truth.upper)
    t_val = float(truth.value)
    rel = abs(float(r.value) - t_val) / t_val
    shape = truth.shape
    benchmark.extra_info.update({
        "kind": "conv_method", "method": method, "result_method": r.method, "backend": "numpy", "device": "cpu",
        "dtype": "float64", "family": case, "shape": f"{shape[0]}x{shape[1]}", "m": shape[0], "n": shape[1],
        "tol": TOL, "target_tol": TOL, "rel_error": rel, "value": float(r.value), "truth": t_val,
        "truth_source": f"conv_operator_norm(method={CASES[case][4]!r}) bracket [{t_lo!r}, {t_up!r}]",
        "truth_uncertainty": (t_up - t_lo) / t_val, "lower": float(r.lower), "upper": float(r.upper),
        "bracket_ok": bool(float(r.lower) <= t_up and t_lo <= float(r.upper)),
        "converged": bool(r.converged), "met_target": bool(rel <= TOL), "iterations": r.iterations,
        "matvecs": r.matvecs, "error_estimate": float(r.error_estimate), "seed": grid.METHOD_SEED,
        "input_seed": grid.INPUT_SEED, "blas_threads": config._lipbench_threads,
        "profile": config._lipbench_profile,
        "note": "sigma(kernel.reshape(out, -1)): not a bound on the operator norm" if method == "reshape" else "",
    })
