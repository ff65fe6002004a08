"""Passes over a dense NumPy matrix on every BLAS thread.

A product with one vector is memory-bound; OpenBLAS threads a whole
``A @ x`` well but not the small calls of a cache-blocked loop (a block of
1 MiB is below its threading threshold).  So with more than one BLAS thread
the once-per-call passes (the summary and the float64 certificate) split A into one contiguous row range per thread, run them on a
thread pool (NumPy releases the GIL inside BLAS calls and ufuncs) with the
BLAS held to one thread inside, and add the parts.  Measurements:
``docs/methods.md``, "Threads".
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, TypeVar

import numpy as np

__all__ = ["PARALLEL_MIN_BYTES", "row_ranges", "run_rows"]

#: below this many bytes a pass is too short for the pool's start-up to pay
PARALLEL_MIN_BYTES = 1 << 21

T = TypeVar("T")
_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool, _pool_size = ThreadPoolExecutor(threads, thread_name_prefix="lipbench"), threads
        return _pool


def row_ranges(m: int, parts: int) -> list[tuple[int, int]]:
    """``parts`` contiguous row ranges of nearly equal size covering ``0..m``."""
    parts = max(1, min(parts, m))
    edges = [m * i // parts for i in range(parts + 1)]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def run_rows(fn: Callable[[int, int], T], a: Any, threads: int | None) -> list[T]:
    """``[fn(start, stop) for each row range]``: one range per thread on the
    pool when ``a`` is a NumPy matrix of at least :data:`PARALLEL_MIN_BYTES`
    and ``threads > 1`` (BLAS held to one thread meanwhile), else one call
    over all rows."""
    m = int(a.shape[0])
    if not threads or threads < 2 or not isinstance(a, np.ndarray) or a.nbytes < PARALLEL_MIN_BYTES or m < 2:
        return [fn(0, m)]
    from ..timing import limit_threads

    ranges = row_ranges(m, threads)
    with limit_threads(1):
        futures = [_executor(threads).submit(fn, lo, hi) for lo, hi in ranges]
        return [f.result() for f in futures]
