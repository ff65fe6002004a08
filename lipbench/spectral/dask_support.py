"""sigma_max of a Dask array: which methods run on it, the Gram route, and helpers.

``spectral_norm(A)`` takes a 2-D ``dask.array.Array`` (the optional extra
``lipbench[dask]``): A stays distributed, the vectors and the Krylov
bookkeeping stay in NumPy on the client, and each step is one pass over A
(:mod:`._dask_operator`).  What runs:

* ``lanczos`` -- ``auto`` picks it on the normal operator (``normal=True``:
  one pass per step); the bidiagonalization (``normal=False``) runs when
  asked for, at two passes per step;
* ``power`` and ``randomized`` (block Krylov: b vectors per pass) -- one
  pass per step; ``randomized`` with ``block_size=8`` takes about half the
  passes of ``auto`` (the choice when a pass is expensive: disk, network),
  at the cost of keeping ``A V`` (m x b per step) on the client;
* ``gram`` -- the Gram matrix of the smaller side in one BLAS-3 pass, then
  the Gram iteration in memory and one pass to certify the lower bound
  (:func:`dask_gram_iteration`), where that side fits (:data:`GRAM_MAX_SIDE`);
* SciPy's solvers through :func:`as_linear_operator` only; ``svd``,
  ``interpolative`` and ``cupy-eigsh`` are refused with the reason.

The result's ``passes`` (:class:`PassReport`) counts the passes over A and
their seconds.  A pass that runs longer than :data:`PROGRESS_AFTER` seconds
shows Dask's progress bar on stderr when stderr is a terminal (the threaded
scheduler; ``distributed`` has its dashboard); ``LIPBENCH_PROGRESS`` =
``on``, ``off`` or a number of seconds overrides that
(:func:`progress_setting`).  The scheduler is Dask's: the threaded one by default, a
``dask.distributed`` ``Client`` when one is active.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ._dask_operator import DaskOperator, PassReport
from ._dask_prepare import prepare_dask
from ._dask_schedule import PROGRESS_AFTER, PROGRESS_ENV, blas_threads_per_task, progress_setting
from ._inputs import InputKind
from ._raw import Raw, Tracker
from .gram import first_product_error, squarings
from .notes import note
from .result import Stage

__all__ = ["DASK_REFUSALS", "GRAM_MAX_SIDE", "PassReport", "dask_route", "dask_gram_iteration",
           "as_linear_operator", "limit_worker_blas", "is_dask_array", "blas_threads_per_task",
           "progress_setting", "PROGRESS_ENV", "PROGRESS_AFTER"]

#: the Gram route takes Dask arrays whose operator side (the smaller side, or
#: the one across the slabs) is at most this: its Gram matrix (512 MiB) and
#: the iteration's two copies stay in memory on the client
GRAM_MAX_SIDE = 8192

_LINOP_HINT = ("wrap it with lipbench.spectral.dask_support.as_linear_operator(A) (one pass over A per "
               "product), or use 'lanczos', 'power', 'randomized' or 'gram'")

#: methods that do not take a Dask array, and why
DASK_REFUSALS = {
    "svd": ("method 'svd' needs the whole matrix in memory (a dense SVD); a Dask array stays distributed: "
            "use 'lanczos' (the default), 'power', 'randomized' or 'gram'"),
    "interpolative": ("method 'interpolative' runs SciPy's randomized estimator on an in-memory matrix, "
                      "not on a Dask array, and certifies nothing about its error; " + _LINOP_HINT),
    "arpack": "method 'arpack' (SciPy) takes a Dask array only as a LinearOperator: " + _LINOP_HINT,
    "propack": "method 'propack' (SciPy) takes a Dask array only as a LinearOperator: " + _LINOP_HINT,
    "lobpcg": "method 'lobpcg' (SciPy) takes a Dask array only as a LinearOperator: " + _LINOP_HINT,
    "cupy-eigsh": "method 'cupy-eigsh' runs on CuPy arrays; a Dask array's chunks are NumPy: use 'lanczos'",
}


def is_dask_array(A: Any) -> bool:
    """Whether A is a ``dask.array.Array`` (without importing Dask otherwise)."""
    if not type(A).__module__.startswith("dask."):
        return False
    import dask.array as da

    return isinstance(A, da.Array)


def _lanczos_on_dask(function: Callable[..., Raw]) -> Callable[..., Raw]:
    def run(op: DaskOperator, **kw: Any) -> Raw:
        if kw.get("work_dtype") not in (None, "float64"):
            raise ValueError("work_dtype applies to in-memory matrices; on a Dask array the products are "
                             "memory- or disk-bound and run in float64")
        if kw.get("engine") is not None:
            raise ValueError("engine='propack' needs an in-memory matrix; a Dask array runs lipbench's own "
                             "Lanczos (normal=True)")
        if kw.get("gram"):
            raise ValueError("gram=True builds the Gram matrix in memory from a dense matrix; for a Dask "
                             "array use method='gram'")
        return function(op, **kw)

    return run


def dask_route(method: str, function: Callable[..., Raw]) -> Callable[..., Raw]:
    """The function that runs ``method`` on a :class:`DaskOperator`."""
    if method == "gram":
        return dask_gram_iteration
    if method == "lanczos":
        return _lanczos_on_dask(function)
    return function


def dask_gram_iteration(op: DaskOperator, *, tol: float, maxiter: int | None, track: Tracker,
                        **_: Any) -> Raw:
    """The Gram iteration (:func:`.gram.gram_iteration`) on a Dask array.

    One BLAS-3 pass forms ``G = A^T A`` of the operator's side (slab Gram
    matrices tree-summed), the squarings ``G_{t+1} = G_t^T G_t`` run in
    memory with the upper bound ``||G_t||_F^(1/2^t)`` (rounded up as for
    dense input), and the estimate is the Rayleigh quotient of the largest
    column of ``G_t`` on G.  When it meets tol, one more pass certifies the
    lower bound from that column (``||A v||`` in float64, rounding
    subtracted).  Passes: two.  Cost: ``2 m n^2`` flops in the pass,
    ``2 n^3`` per squaring.
    """
    if op.n > GRAM_MAX_SIDE:
        raise ValueError(
            f"method 'gram' forms the {op.n} x {op.n} Gram matrix in memory, above GRAM_MAX_SIDE = "
            f"{GRAM_MAX_SIDE}; use 'lanczos' (the default) for this Dask array")
    maxiter = 64 if maxiter is None else maxiter
    before = op.matvecs
    G = op.gram()
    k = op.n
    found: dict = {}

    def estimate(H: Any, t: int) -> float:  # a Rayleigh quotient on G: an estimate, not a bound
        found["vec"] = vec = H[:, int(np.argmax(np.linalg.norm(H, axis=0)))]
        return math.sqrt(max(0.0, float(vec @ (G @ vec)) / float(vec @ vec)))

    def add(t: int, est: float, upper: float, err: float) -> None:
        track.add(op, t, est, 0.0, upper, err)

    upper, _lower, t, _h = squarings(np, G, first_product_error(op.m, k, op.fro_upper()), k, maxiter=maxiter,
                                     tol=tol, lower_of=estimate, track_add=add)
    lower, _, right = op.certified_lower(found["vec"])
    err = (upper - lower) / upper if upper > 0 else 0.0
    converged = err <= tol
    notes = () if converged else (note("gram-squarings", t=t, err=err),)
    return Raw(value=lower, lower=lower, upper=upper, converged=converged, iterations=t, error_estimate=err,
               vector=right, notes=notes,
               stages=(Stage("dask-gram", "float64", t, op.matvecs - before, converged),))


def as_linear_operator(A: Any) -> Any:
    """A ``scipy.sparse.linalg.LinearOperator`` of a 2-D Dask array: each
    ``matvec``/``rmatvec``/``matmat`` is one pass over A (for SciPy's
    solvers: ``spectral_norm(as_linear_operator(A), method='arpack')``).
    Costs one summary pass here (validation)."""
    from scipy.sparse.linalg import LinearOperator

    op = prepare_dask(A, InputKind.DASK)
    if not isinstance(op, DaskOperator):  # a single row or column: in memory
        M = np.asarray(A.compute(), dtype=np.float64)
        return LinearOperator(M.shape, matvec=lambda x: M @ x, rmatvec=lambda y: M.T @ y, dtype=np.float64)
    s = op.scale

    def forward(x: Any) -> Any:  # A x
        x = np.asarray(x, dtype=np.float64)
        return (op.rmatvec(x) if op.array_is_transpose else op._products(x, "matvec", True)[0]) * s

    def backward(y: Any) -> Any:  # A^T y
        y = np.asarray(y, dtype=np.float64)
        return (op._products(y, "matvec", True)[0] if op.array_is_transpose else op.rmatvec(y)) * s

    return LinearOperator(tuple(int(d) for d in A.shape), matvec=forward, rmatvec=backward, matmat=forward,
                          rmatmat=backward, dtype=np.float64)


def _limit(limit: int) -> int:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=limit, user_api="blas")
    return limit


def limit_worker_blas(client: Any) -> dict:
    """Limit BLAS threads on every worker process of a ``dask.distributed``
    cluster so that its task threads times BLAS threads fit its cores
    (``cores // nthreads``, at least 1); returns ``{worker: limit}``.  Not
    needed for the threaded scheduler or in-process workers: lipbench
    limits BLAS in its own process while each pass runs."""
    import os

    out = {}
    for addr, nthreads in client.nthreads().items():
        out[addr] = client.run(lambda k=nthreads: _limit(max(1, (os.cpu_count() or 1) // k)), workers=[addr])[addr]
    return out
