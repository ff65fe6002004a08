"""Fake saved runs for the report's tests, in pytest-benchmark's file layout
(``<results>/<machine>/<machine id>/NNNN_NAME.json``) with the extra_info the
benchmarks in benchmarks/ record."""

from __future__ import annotations

import json
from pathlib import Path


def bench(method, shape=(1024, 1024), *, median, tol=1e-6, rel_error=1e-9, backend="numpy",
          dtype="float64", family="gaussian", kind="spectral", baseline=False, curve=False, **extra):
    """One benchmark entry as pytest-benchmark saves it (``extra`` overrides extra_info)."""
    m, n = shape
    tol_rec = None if method in ("svd", "numpy.linalg.norm") else tol
    tol_id = "exact" if tol_rec is None else f"{tol:g}"
    name = f"test_spectral_norm[{method}-{backend}-{m}x{n}-{dtype}-{family}-{tol_id}]"
    info = {
        "kind": kind, "method": method, "baseline": baseline, "backend": backend,
        "device": "cpu" if backend == "numpy" else "NVIDIA H100", "dtype": dtype, "family": family,
        "shape": f"{m}x{n}", "m": m, "n": n, "nnz": None, "tol": tol_rec,
        "rel_error": rel_error, "value": 2.0, "truth": 2.0, "truth_source": "construction",
        "lower": 1.99, "upper": 2.01, "bracket_ok": True, "iterations": 10, "matvecs": 20,
        "converged": True, "met_target": rel_error <= (tol_rec if tol_rec is not None else tol),
        "seed": 0, "blas_threads": 2,
    }
    if curve:
        info.update(curve_iteration=[1, 2, 3], curve_matvecs=[2, 4, 6],
                    curve_time=[0.001, 0.002, 0.003], curve_rel_error=[1e-1, 1e-3, 1e-7])
    info.update(extra)
    return {
        "group": None, "name": name, "fullname": f"benchmarks/test_spectral_norm.py::{name}",
        "params": None, "param": None, "extra_info": info, "options": {},
        "stats": {"min": median * 0.9, "max": median * 1.2, "mean": median, "stddev": median * 0.05,
                  "rounds": 5, "median": median, "iqr": median * 0.1, "q1": median * 0.95,
                  "q3": median * 1.05, "iqr_outliers": 0, "stddev_outliers": 0, "outliers": "0;0",
                  "ld15iqr": median * 0.9, "hd15iqr": median * 1.2, "ops": 1 / median,
                  "total": 5 * median, "iterations": 1},
    }


def write_run(root: Path, machine: str, benchmarks: list, *, name="0001_baseline",
              when="2025-01-01T00:00:00+00:00", gpu=None) -> Path:
    """Save ``benchmarks`` as run ``name`` of ``machine`` under ``root``."""
    d = root / machine / "Linux-CPython-3.12-64bit"
    d.mkdir(parents=True, exist_ok=True)
    doc = {
        "machine_info": {"node": "box", "lipbench_machine": machine, "gpu_name": gpu,
                         "blas": [{"internal_api": "openblas", "version": "0.3", "num_threads": 2}]},
        "commit_info": {"id": "abc123"}, "benchmarks": benchmarks, "datetime": when,
        "version": "5.1.0",
    }
    p = d / f"{name}.json"
    p.write_text(json.dumps(doc))
    return p


def cpu_run(root: Path, machine="cpu-2c-openblas", scale=1.0, **kw) -> Path:
    """A small CPU run: references, lanczos, arpack and a power iteration that misses 1e-6."""
    benches = [
        bench("numpy.linalg.norm", median=0.4 * scale, rel_error=1e-15, baseline=True),
        bench("svd", median=0.5 * scale, rel_error=1e-15),
        bench("arpack", median=0.1 * scale),
        bench("lanczos", median=0.02 * scale, curve=True),
        bench("power", median=0.05 * scale, rel_error=3e-4, converged=False),  # a miss at 1e-6
        bench("lanczos", (4096, 4096), median=0.3 * scale),
        bench("numpy.linalg.norm", (4096, 4096), median=12.0 * scale, rel_error=1e-15, baseline=True),
        bench("arpack", (4096, 4096), median=1.5 * scale),
        bench("lanczos", tol=1e-3, median=0.01 * scale, rel_error=1e-5),
        bench("arpack", tol=1e-3, median=0.05 * scale, rel_error=1e-7),
    ]
    return write_run(root, machine, benches, **kw)


def latest_rows(root: Path, benchmarks: list):
    """``benchmarks`` saved as one CPU run under ``root``, read back as the report reads them
    (the newest row of each case), with any report warning an error."""
    import warnings

    from lipbench.report.load import latest_per_case, load_results

    write_run(root, "cpu-2c-openblas", benchmarks)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return latest_per_case(load_results(root))
