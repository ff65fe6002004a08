"""Out-of-core sigma_max on Dask arrays: the cases, the bare pass, and one row per run.

Shared by the opt-in benchmark ``benchmarks/test_dask_out_of_core.py`` and
the study ``benchmarks/studies/dask_out_of_core.py``.  Cases:

* ``virtual`` -- a side x side float64 Kronecker matrix generated chunk by
  chunk (:func:`lipbench.matrices_dask.known_kronecker`), never in memory;
* ``zarr`` -- the same matrix written once, uncompressed, to a Zarr store in
  a fresh temporary folder (deleted afterwards) and read from disk each pass;
* ``tall`` -- a rows x 4096 float32 Kronecker matrix, generated.

A row holds lipbench's (or ``svd_compressed``'s) answer against the known
sigma_max, the passes over A, seconds per pass next to a *bare pass* (every
chunk produced once -- generated or read -- and dropped, timed in the same
run: the pass's floor), and the process's peak memory (VmHWM, reset before
the run).  lipbench runs keep their history, so one run to tol gives its
error after every number of passes: :func:`equal_passes` and
:func:`passes_to_reach` compare it with ``svd_compressed`` at equal passes
and at equal error.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: the sides and rows the issue's targets name (29 GB float64; 16 GB float32)
FULL_SIDE, FULL_ROWS = 60000, 1000000
#: defaults: minutes on two cores (0.8 GB and 1.6 GB)
DEFAULT_SIDE, DEFAULT_ROWS = 10000, 100000
TALL_COLS = 4096
SEED = 0
TOL = 1e-8
#: svd_compressed's power iterations (its docs advise at most 4): 2 + 2q passes each
SVD_COMPRESSED_Q = (0, 2, 4)
#: block sizes of lipbench's randomized block Krylov measured on Dask
BLOCK_SIZES = (1, 2, 4, 8, 16)
#: free disk a Zarr store needs, as a multiple of the matrix's size
DISK_FACTOR = 1.2


def reset_peak() -> None:
    """Reset the process's peak resident memory (VmHWM) where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _proc_bytes(path: str, key: str) -> float:
    """The ``key:`` line of a /proc file given in kB, in bytes (nan off Linux)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return math.nan


def peak_bytes() -> float:
    """The process's peak resident memory since the last reset (nan off Linux)."""
    return _proc_bytes("/proc/self/status", "VmHWM")


def available_bytes() -> float:
    """MemAvailable of the machine (nan off Linux)."""
    return _proc_bytes("/proc/meminfo", "MemAvailable")


def _touch(block: np.ndarray) -> np.ndarray:
    return np.asarray([[float(block[0, 0])]])


def bare_pass(A: Any) -> float:
    """Seconds to produce every chunk of A once (read or generate) and drop it."""
    t0 = time.perf_counter()
    A.map_blocks(_touch, chunks=(1, 1), dtype=np.float64).sum().compute()
    return time.perf_counter() - t0


@dataclass
class Case:
    """One matrix of the benchmark: the Dask array, its known sigma_max and
    the interval holding the stored matrix's true one, and its bare passes."""

    name: str
    array: Any
    sigma_max: float
    sigma_bracket: tuple[float, float]
    description: str
    store: str | None = None
    bare_seconds: list = field(default_factory=list)
    histories: dict = field(default_factory=dict)

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)

    def bare_median(self) -> float:
        """The median bare pass so far, less the first (which also warms up)."""
        return float(np.median(self.bare_seconds[1:] or self.bare_seconds))

    def measure_bare(self) -> float:
        s = bare_pass(self.array)
        self.bare_seconds.append(s)
        return s

    def close(self) -> None:
        """Delete the Zarr store's temporary folder (only that folder)."""
        if self.store is not None:
            shutil.rmtree(self.store, ignore_errors=True)
            self.store = None


def virtual_matrix(name: str, side: int, rows: int) -> Any:
    """The :class:`lipbench.matrices_dask.VirtualMatrix` of a case (no data made)."""
    from lipbench.matrices_dask import known_kronecker

    if name == "tall":
        if rows % 1000 or rows < 64000:
            raise ValueError(f"rows of the tall case must be a multiple of 1000, at least 64000; got {rows}")
        return known_kronecker((rows // 1000, TALL_COLS // 64), (1000, 64), dtype="float32", seed=SEED)
    if side % 250 or side < 500:
        raise ValueError(f"the side of the square cases must be a multiple of 250, at least 500; got {side}")
    return known_kronecker((side // 250, side // 250), (250, 250), seed=SEED)


def why_not(name: str, side: int, rows: int, store_root: str) -> str | None:
    """Why a case cannot run on this machine now (None: it can)."""
    V = virtual_matrix(name, side, rows)
    chunk = max(c for c in V.array.chunks[0]) * V.array.shape[1] * 8
    need = 6 * (os.cpu_count() or 1) * chunk  # a few float64 chunks per thread
    avail = available_bytes()
    if avail < need:
        return (f"{name}: needs about {need / 1e9:.1f} GB of free memory for its chunks, "
                f"{avail / 1e9:.1f} GB available")
    if name == "zarr":
        free = shutil.disk_usage(store_root).free
        if free < DISK_FACTOR * V.nbytes:
            return (f"zarr: the store needs {DISK_FACTOR} x {V.nbytes / 1e9:.1f} GB free under {store_root}; "
                    f"{free / 1e9:.1f} GB free")
    return None


def build_case(name: str, side: int, rows: int, store_root: str) -> Case:
    """Make a case (``zarr``: write its store into a new temporary folder)."""
    from lipbench.matrices_dask import write_zarr

    V = virtual_matrix(name, side, rows)
    A, store = V.array, None
    if name == "zarr":
        store = tempfile.mkdtemp(prefix="lipbench-dask-", dir=store_root)
        try:
            A = write_zarr(A, os.path.join(store, "kron.zarr"))
        except BaseException:
            shutil.rmtree(store, ignore_errors=True)
            raise
    return Case(name, A, V.sigma_max, V.sigma_bracket, V.description, store=store)


def _history_errors(r: Any, sigma: float) -> list[tuple[int, float]]:
    """``(passes, relative error)`` after each step of a lipbench run: the
    summary pass(es), the steps so far, and the certificate pass that would
    end a run stopped there."""
    summaries = r.passes.count("summary")
    return [(summaries + h.iteration + 1, abs(h.estimate - sigma) / sigma) for h in (r.history or ())]


def equal_passes(history: list[tuple[int, float]], passes: int) -> float | None:
    """lipbench's error at ``passes`` passes (its best estimate within them)."""
    errs = [e for p, e in history if p <= passes]
    return min(errs) if errs else None


def passes_to_reach(history: list[tuple[int, float]], error: float) -> int | None:
    """The fewest passes after which lipbench's error is at most ``error``."""
    for p, e in history:
        if e <= error:
            return p
    return None


def lipbench_row(case: Case, label: str, method: str, maxiter: int | None = None,
                 **options: Any) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    """The timed call of a lipbench run on ``case`` and what to record of its
    result (its history kept under ``label`` for the ``svd_compressed`` rows)."""
    import lipbench as lb

    def call() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lb.ConvergenceWarning)
            return lb.spectral_norm(case.array, method, tol=TOL, seed=SEED, maxiter=maxiter, return_history=True,
                                    **options)

    def row(r: Any) -> dict:
        sigma = case.sigma_max
        history = _history_errors(r, sigma)
        case.histories[label] = history
        p = r.passes
        bare = case.bare_median()
        lo, hi = case.sigma_bracket
        return {
            "passes": p.passes, "pass_kinds": list(p.kinds), "pass_seconds": [round(s, 4) for s in p.seconds],
            "seconds_per_pass": p.seconds_per_pass, "pass_over_bare": p.seconds_per_pass / bare,
            "value": r.value, "rel_error": abs(r.value - sigma) / sigma,
            "lower": r.lower, "upper": r.upper, "bracket_ok": bool(r.lower <= hi and lo <= r.upper),
            "converged": r.converged, "iterations": r.iterations, "result_method": r.method,
            "options": dict(r.options),
            "error_by_passes": history,
            "error_at_svd_compressed_passes": {2 + 2 * q: equal_passes(history, 2 + 2 * q) for q in SVD_COMPRESSED_Q},
        }

    return call, row


def svd_compressed_row(case: Case, q: int) -> tuple[Callable[[], Any], Callable[[Any], dict]]:
    """The timed call of ``da.linalg.svd_compressed(A, 1, n_power_iter=q)`` and its record,
    with the passes each lipbench run of the case needed to reach the same error."""
    import dask.array as da

    def call() -> float:
        _, s, _ = da.linalg.svd_compressed(case.array, 1, n_power_iter=q, seed=SEED, compute=True)
        return float(np.asarray(s.compute())[0])

    def row(value: float) -> dict:
        sigma = case.sigma_max
        rel = abs(value - sigma) / sigma
        return {"passes": 2 + 2 * q, "value": value, "rel_error": rel, "lower": None, "upper": None,
                "bracket_ok": None, "converged": None,
                "lipbench_passes_to_same_error": {k: passes_to_reach(h, rel) for k, h in case.histories.items()}}

    return call, row


def timed(call: Callable[[], Any]) -> tuple[Any, float, float]:
    """Run ``call`` once with the peak memory reset first: (its value, seconds, peak bytes)."""
    reset_peak()
    t0 = time.perf_counter()
    out = call()
    return out, time.perf_counter() - t0, peak_bytes()
