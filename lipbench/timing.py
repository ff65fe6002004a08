"""How lipbench times things: BLAS threads, the machine's provenance, warm-up,
the number of rounds, interleaved rounds, median and IQR.

One timing core for the benchmarks (``benchmarks/``, through pytest-benchmark)
and ``lipbench compare`` (:mod:`lipbench.compare`):

* :func:`blas_info`, :func:`blas_threads`, :func:`default_threads` and
  :func:`limit_threads` -- what threadpoolctl says about the loaded BLAS, and
  fixing its threads for a block of code;
* :func:`provenance` -- the machine a time was measured on, as a dict;
* :func:`plan_rounds` -- how many timed rounds fit a budget, from the time of
  a warm call (a cheap call gets more rounds, so that its rounds span long
  enough for one burst of load not to move the median);
* :func:`time_interleaved` -- one untimed warm-up call of each function, then
  rounds in which every function runs once (so load that comes and goes hits
  all of them alike), GPU work synchronised inside each timed call;
  :class:`Timing` keeps the times and their median and quartiles.
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import backends as _backends

__all__ = ["blas_info", "blas_threads", "cpu_count", "default_threads", "limit_threads", "provenance",
           "plan_rounds", "Timing", "time_interleaved", "MIN_SPAN_SECONDS", "MAX_FAST_ROUNDS"]

#: A cheap call gets more rounds than asked, so that its timed rounds span at
#: least this long (or the budget, if shorter): 15 rounds of a 1.5 ms call
#: span 22 ms, which one burst of load on a shared machine covers whole; over
#: 0.3 s a burst moves a minority of the rounds, not the median.
MIN_SPAN_SECONDS = 0.3
#: ... up to this many rounds
MAX_FAST_ROUNDS = 400

_controller: Any = None


def _blas_libraries() -> list:
    """threadpoolctl's controllers of the loaded BLAS libraries (NumPy's and
    SciPy's, loaded first), cached: asking a controller costs a microsecond,
    scanning the process for libraries a millisecond."""
    global _controller
    if _controller is None:
        import scipy.linalg  # noqa: F401  (SciPy's BLAS may be a second library)
        from threadpoolctl import ThreadpoolController

        _controller = ThreadpoolController()
    return [lib for lib in _controller.lib_controllers if lib.user_api == "blas"]


def blas_info() -> list[dict]:
    """The loaded BLAS libraries: vendor, version, threads, architecture and
    the library's file name (not where it is installed)."""
    from threadpoolctl import threadpool_info

    _blas_libraries()
    return [
        {**{k: info.get(k) for k in ("internal_api", "version", "num_threads", "architecture")},
         "filepath": os.path.basename(info.get("filepath") or "")}
        for info in threadpool_info() if info.get("user_api") == "blas"
    ]


def blas_threads() -> int | None:
    """The threads the BLAS uses now (the largest over the loaded BLAS
    libraries), or None when threadpoolctl finds no BLAS."""
    counts = [int(lib.num_threads) for lib in _blas_libraries()]
    return max(counts) if counts else None


def cpu_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def default_threads() -> int:
    """BLAS threads for timing runs: every CPU of the process, except on boxes
    with 2 CPUs or fewer, where one thread is used: there the OS and any other
    job share the cores, and an oversubscribed OpenBLAS spins (measurement in
    docs/benchmarks.md)."""
    n = cpu_count()
    return n if n > 2 else 1


@contextlib.contextmanager
def limit_threads(threads: int | None) -> Iterator[int | None]:
    """Run the block with the BLAS limited to ``threads`` (None: as it is),
    and torch's own pool too when torch is imported (threadpoolctl does not
    reach it); yields the thread count the BLAS then uses."""
    if threads is None:
        yield blas_threads()
        return
    if isinstance(threads, bool) or int(threads) != threads or threads < 1:
        raise ValueError(f"threads must be a positive integer; got {threads!r}")
    _blas_libraries()  # the cached controller: threadpool_limits would scan the process (1 ms)
    torch = sys.modules.get("torch")
    before = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None:
            torch.set_num_threads(int(threads))
        with _controller.limit(limits=int(threads), user_api="blas"):
            yield blas_threads()
    finally:
        if torch is not None:
            torch.set_num_threads(before)


def provenance(backend: str = "numpy") -> dict:
    """The machine and software a time was measured on: CPUs, BLAS (vendor,
    threads), Python, NumPy, SciPy and lipbench versions, the platform, and for
    ``backend="cupy"`` the GPU and CuPy."""
    import scipy

    from ._version import __version__

    info: dict = {
        "cpu_count": cpu_count(),
        "processor": platform.processor() or platform.machine(),
        "blas": blas_info(),
        "blas_threads": blas_threads(),
        "python": sys.version.split()[0],
        "numpy_version": np.__version__,
        "scipy_version": scipy.__version__,
        "lipbench_version": __version__,
        "platform": platform.platform(),
        "backend": backend,
    }
    if backend == "cupy":
        av = _backends.availability("cupy")
        info["gpu_name"] = av.device
        info["cupy_version"] = av.version
    return info


def plan_rounds(seconds_per_call: float, budget: float, max_rounds: int, *,
                min_span: float = MIN_SPAN_SECONDS, max_fast_rounds: int = MAX_FAST_ROUNDS) -> int:
    """Timed rounds for a call that takes ``seconds_per_call`` (measured warm):
    as many as fit ``budget`` seconds, at least 1 and at most ``max_rounds``;
    but a cheap call gets more, up to ``max_fast_rounds``, until its rounds
    span ``min(min_span, budget)``."""
    dt = max(float(seconds_per_call), 1e-9)
    rounds = int(max(1, min(max_rounds, budget // dt)))
    span = min(min_span, budget)
    if rounds * dt < span:
        rounds = max(rounds, min(max_fast_rounds, math.ceil(span / dt)))
    return rounds


@dataclass
class Timing:
    """The timed rounds of one function, in seconds, and what its last call returned."""

    times: list[float] = field(default_factory=list)
    outcome: Any = None
    error: str = ""

    @property
    def median(self) -> float:
        return float(np.median(self.times)) if self.times else math.nan

    @property
    def quartiles(self) -> tuple[float, float]:
        if not self.times:
            return math.nan, math.nan
        q1, q3 = np.percentile(self.times, [25, 75])
        return float(q1), float(q3)

    @property
    def iqr(self) -> float:
        """Interquartile range of the rounds (0 for a single round)."""
        q1, q3 = self.quartiles
        return q3 - q1


def _timed(fn: Callable[[], Any], backend: str) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    _backends.synchronize(backend)
    return time.perf_counter() - t0, out


def time_interleaved(calls: Mapping[str, Callable[[], Any]], *, rounds: int | None = None, budget: float = 10.0,
                     max_rounds: int = 50, backend: str = "numpy") -> dict[str, Timing]:
    """Time several zero-argument functions side by side.

    Each function is called once untimed (first-call costs -- imports, caches,
    page faults -- stay out), then ``rounds`` rounds run every function once,
    in the same order, each call timed with ``time.perf_counter`` and the GPU
    synchronised (``backend``) before the clock stops.  ``rounds=None`` plans
    them with :func:`plan_rounds` from the warm-up calls' total time and
    ``budget`` (at least 3, for a quartile).  A function that raises is timed
    no further; its :class:`Timing` keeps the error.
    """
    out = {name: Timing() for name in calls}
    live = dict(calls)
    warm = 0.0
    for name, fn in calls.items():
        try:
            dt, out[name].outcome = _timed(fn, backend)
            warm += dt
        except Exception as exc:  # the method's own failure is data, not a crash of the comparison
            out[name].error = f"{type(exc).__name__}: {exc}"
            del live[name]
    if rounds is None:
        rounds = max(3, plan_rounds(warm, budget, max_rounds))
    for _ in range(int(rounds)):
        for name, fn in list(live.items()):
            try:
                dt, out[name].outcome = _timed(fn, backend)
            except Exception as exc:
                out[name].error = f"{type(exc).__name__}: {exc}"
                del live[name]
                continue
            out[name].times.append(dt)
    return out
