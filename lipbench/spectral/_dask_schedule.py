"""How a pass over a Dask array runs: the scheduler, the BLAS threads inside
its tasks, and the progress bar of a long pass."""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Any

from ..timing import limit_threads

__all__ = ["PROGRESS_AFTER", "PROGRESS_ENV", "blas_threads_per_task", "compute", "progress_setting"]

#: environment variable that sets when a pass shows a progress bar (:func:`progress_setting`)
PROGRESS_ENV = "LIPBENCH_PROGRESS"
#: by default a pass shows its bar once it has run this long (short passes stay quiet)
PROGRESS_AFTER = 10.0


def _distributed_client() -> Any:
    """The ``dask.distributed`` client that runs ``dask.compute`` now, or None."""
    try:
        import dask.base
        from distributed import Client
    except ImportError:
        return None
    sched = dask.base.get_scheduler()
    owner = getattr(sched, "__self__", None)
    return owner if isinstance(owner, Client) else None


def blas_threads_per_task(client: Any = None) -> int:
    """BLAS threads per task so that tasks x threads does not exceed the
    cores of this process's machine: ``cores // scheduler threads``, at least 1."""
    import dask

    cores = os.cpu_count() or 1
    if client is not None:
        threads = sum(client.nthreads().values()) or 1
    else:
        threads = dask.config.get("num_workers", None) or cores
    return max(1, cores // int(threads))


def progress_setting(value: str | None = None) -> float | None:
    """Seconds after which a pass shows Dask's progress bar, or None for no bar,
    from :data:`PROGRESS_ENV` (``auto``, the default: after
    :data:`PROGRESS_AFTER` seconds when stderr is a terminal; ``on``/``1``;
    ``off``/``0``; or a number of seconds)."""
    raw = os.environ.get(PROGRESS_ENV, "auto") if value is None else value
    setting = raw.strip().lower()
    if setting in ("", "auto"):
        return PROGRESS_AFTER if sys.stderr is not None and sys.stderr.isatty() else None
    if setting in ("off", "0", "false", "no"):
        return None
    if setting in ("on", "1", "true", "yes"):
        return PROGRESS_AFTER
    try:
        seconds = float(setting)
    except ValueError:
        seconds = math.nan
    if not seconds >= 0:
        raise ValueError(f"{PROGRESS_ENV}={raw!r}: use auto, on, off or a number of seconds after which a pass "
                         "over a Dask array shows its progress bar")
    return seconds


def _progress_bar(client: Any) -> Any:
    """Dask's ``ProgressBar`` for one pass (threaded scheduler), or a null
    context: when :func:`progress_setting` says no bar, when the caller has
    registered a bar already, or on ``distributed`` (whose dashboard shows it)."""
    from contextlib import nullcontext

    minimum = progress_setting()
    if minimum is None or client is not None:
        return nullcontext()
    from dask.callbacks import Callback
    from dask.diagnostics import ProgressBar

    if any(isinstance(cb, ProgressBar) for cb in Callback.active):
        return nullcontext()
    return ProgressBar(minimum=minimum, out=sys.stderr, dt=0.5)


def compute(log: Any, kind: str, *objs: Any) -> tuple:
    """One pass: ``dask.compute`` of the delayed objects, timed, with BLAS
    threads limited in this process while it runs and a progress bar when
    it runs long (:func:`progress_setting`)."""
    import dask

    t0 = time.perf_counter()
    client = _distributed_client()
    with limit_threads(blas_threads_per_task(client)), _progress_bar(client):
        out = dask.compute(*objs)
    log.record(kind, time.perf_counter() - t0)
    return out
