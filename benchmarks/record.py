"""The accounting of one grid row: accuracy next to the time, in ``benchmark.extra_info``."""

from __future__ import annotations

import math
from typing import Any

import pytest

from benchmarks.grid import INPUT_SEED, METHOD_SEED, TOL_INDEPENDENT, Case
from benchmarks.inputs import Input, matvec_seconds
from benchmarks.runners import Outcome, device_name
from lipbench import backends as _backends
from lipbench.spectral import lanczos_steps_theory


def record(benchmark: Any, config: pytest.Config, case: Case, inp: Input, out: Outcome, *,
           kind: str = "spectral", impl: str | None = None, baseline: bool = False,
           tol: float | None = None) -> None:
    """Everything the report needs about one row, in ``extra_info``."""
    truth = inp.truth
    rel = abs(out.value - truth) / truth if truth > 0 and math.isfinite(out.value) else math.inf
    slack = truth * max(inp.truth_uncertainty, 0.0)
    lower_ok = not math.isfinite(out.lower) or out.lower <= truth + slack
    upper_ok = not math.isfinite(out.upper) or truth - slack <= out.upper
    tol_eff = case.tol if tol is None else tol
    r = out.result
    benchmark.extra_info.update({
        "kind": kind,
        "method": case.method,
        "result_method": getattr(r, "method", None),
        "baseline": baseline,
        "impl": impl or f"lipbench.spectral_norm(A, method={case.method!r}, tol={case.tol:g}, seed={METHOD_SEED})",
        "backend": case.backend,
        "device": device_name(inp.backend),
        "dtype": case.dtype,
        "family": case.family,
        "shape": case.shape if not case.sparse else f"{case.m}x{case.n} sparse",
        "m": case.m, "n": case.n, "nnz": inp.nnz,
        "tol": None if case.method in TOL_INDEPENDENT else tol_eff,
        "target_tol": tol_eff,
        "rel_error": rel if math.isfinite(rel) else None,
        "value": out.value if math.isfinite(out.value) else None,
        "truth": truth,
        "truth_source": inp.truth_source,
        "truth_uncertainty": inp.truth_uncertainty,
        "lower": out.lower if math.isfinite(out.lower) else None,
        "upper": out.upper if math.isfinite(out.upper) else None,
        "bracket_ok": bool(lower_ok and upper_ok),
        "error_estimate": out.error_estimate if math.isfinite(out.error_estimate) else None,
        "iterations": out.iterations,
        "matvecs": out.matvecs,
        "converged": out.converged,
        "met_target": bool(math.isfinite(rel) and rel <= tol_eff),
        "warning": out.warning,
        "seed": METHOD_SEED,
        "input_seed": INPUT_SEED,
        "blas_threads": config._lipbench_threads,
        "profile": config._lipbench_profile,
        "input_build_seconds": round(inp.build_seconds, 3),
        "options": dict(getattr(r, "options", {}) or {}),
        "certificate": getattr(r, "certificate", None),
        "certified": getattr(r, "certified", None),
        "relative_width": ((out.upper - out.lower) / out.lower
                           if math.isfinite(out.upper) and math.isfinite(out.lower) and out.lower > 0 else None),
        "matvec_seconds": matvec_seconds(inp),
    })
    sv = inp.extra.get("singular_values")
    if kind == "spectral" and case.method in ("auto", "lanczos") and sv is not None:
        # what theory says Lanczos needs on this spectrum, for the report's steps-against-theory target
        benchmark.extra_info["theory_steps"] = lanczos_steps_theory(_backends.to_numpy(sv), tol_eff)


__all__ = ["record"]
