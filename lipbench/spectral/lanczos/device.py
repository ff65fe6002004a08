"""Lanczos loops that keep their scalars on the device (CuPy, and any array-API backend but NumPy).

The same two iterations as :mod:`.bidiag` and :mod:`.normal` (without thick
restarts), the same stopping test and the same certificate, arranged so that
the loop never waits for the device.  A Lanczos step on a GPU is a handful of
memory-bound kernels; what makes it slow is the host: every array call costs
tens of microseconds, and every ``float()`` of a norm waits for the whole
queue.  So:

* the bases are preallocated rows (:class:`DeviceRows`), and each step's
  scalars (alpha, beta) are written into a device array ``scal``, read on
  the host only at the stopping test's checks, in one transfer;
* the vector work is :class:`ArraySteps` (array-API calls, any backend) or
  :class:`CupySteps` (cuBLAS calls writing into preallocated buffers:
  ``gemv`` for the block reorthogonalization, ``nrm2`` into a device
  scalar, one elementwise kernel to normalize); :func:`steps_for` picks one.
  Both compute ``orthogonalize(Q, x)`` -- classical Gram-Schmidt twice,
  returning the first pass's coefficients ``Q x`` -- and ``normalize(x,
  scal, j, col, dest, row)`` -- ``scal[j, col] = ||x||``, ``dest[row] = x /
  max(||x||, tiny)``, so a zero vector stays zero and no NaN enters the
  basis;
* breakdowns are not tested inside the step: the check finds the first step
  whose scalars mark an invariant or exhausted Krylov space and answers from
  that step -- the same answer the host loops give when they stop there;
* the stopping test runs at the steps :class:`._tools.CheckSchedule` picks,
  on scalars read by :class:`ScalarReader` (at once) or, on CuPy,
  :class:`CupyScalarReader` (asynchronously into pinned memory): the test
  resolves at the first later step whose read has landed (waiting for it
  only :data:`MAX_LAG` steps on), so the stream does not stall.  The steps
  that ran past the answer are counted in the products and named in the
  notes.

NumPy keeps its host loops (tuned for CPU caches); :func:`.loop.lanczos_in_dtype`
routes every other backend here.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ... import backends as _backends
from .. import theory
from .._certify_vector import Outcome, certify_vector
from .._operator import Operator
from .._raw import Raw, Tracker, stage, start_vector
from ..notes import Note, note
from ..theory import kw_lanczos_epsilon
from ._tools import CheckSchedule, bidiagonal_ritz, maxiter_note, stop_test, top_eigenpair
from .plan import LanczosPlan

__all__ = ["lanczos_bidiagonal_device", "lanczos_normal_device", "MAX_LAG", "ArraySteps", "CupySteps",
           "steps_for", "ScalarReader", "CupyScalarReader", "reader_for", "DeviceRows"]

#: a check still in flight this many steps after its own step is waited for:
#: the host may queue at most this many steps beyond an unresolved check
#: (without a bound it could queue the whole run before the first read lands)
MAX_LAG = 2


class DeviceRows:
    """Preallocated rows of vectors on the device, grown by doubling
    (a device-side copy; nothing is read back)."""

    def __init__(self, xp: Any, length: int, dtype: Any, rows: int = 32):
        self.xp, self.length, self.dtype = xp, length, dtype
        self.buf = xp.zeros((rows, length), dtype=dtype)

    def reserve(self, rows: int) -> None:
        have = self.buf.shape[0]
        if rows <= have:
            return
        grown = self.xp.zeros((max(rows, 2 * have), self.length), dtype=self.dtype)
        grown[:have, :] = self.buf
        self.buf = grown


class ArraySteps:
    """The step's vector work in array-API calls (NumPy, array-api-strict,
    CuPy without its cuBLAS wrappers): no host transfer."""

    def __init__(self, xp: Any, dtype: Any):
        self.xp = xp
        self.tiny = xp.asarray(xp.finfo(dtype).smallest_normal, dtype=dtype)

    def orthogonalize(self, Q: Any, x: Any) -> tuple[Any, Any]:
        c = Q @ x
        x = x - c @ Q
        return x - (Q @ x) @ Q, c

    def normalize(self, x: Any, scal: Any, j: int, col: int, dest: Any, row: int) -> None:
        s = self.xp.linalg.vector_norm(x)
        scal[j, col] = s
        dest[row, :] = x / self.xp.maximum(s, self.tiny)

    def store(self, scal: Any, j: int, col: int, value: Any) -> None:
        """``scal[j, col] = value`` for a 0-d device array."""
        scal[j, col] = value


class CupySteps:
    """The step's vector work in cuBLAS calls writing into preallocated
    buffers, on a C-ordered float32/float64 CuPy backend: ``orthogonalize``
    is four ``gemv`` (two passes), ``normalize`` one ``nrm2`` into the
    device scalar (device pointer mode) and one elementwise kernel."""

    def __init__(self, xp: Any, dtype: Any, rows: int):
        import cupy
        from cupy import cublas

        self.xp, self.cp, self.cublas = xp, cupy, cublas
        npdt = np.dtype(str(dtype).split(".")[-1])
        self.one, self.zero, self.minus = (np.array(v, dtype=npdt) for v in (1.0, 0.0, -1.0))
        self.tiny = npdt.type(np.finfo(npdt).tiny)
        self.c1 = cupy.empty(rows, dtype=npdt)
        self.c2 = cupy.empty(rows, dtype=npdt)
        self.kernel = _normalize_kernel(cupy)

    def reserve(self, rows: int) -> None:
        if rows > self.c1.shape[0]:
            self.c1 = self.cp.empty(max(rows, 2 * self.c1.shape[0]), dtype=self.c1.dtype)
            self.c2 = self.cp.empty_like(self.c1)

    def orthogonalize(self, Q: Any, x: Any) -> tuple[Any, Any]:
        k = Q.shape[0]
        self.reserve(k)
        c1, c2 = self.c1[:k], self.c2[:k]
        g = self.cublas.gemv
        g("N", self.one, Q, x, self.zero, c1)  # c1 = Q x
        g("T", self.minus, Q, c1, self.one, x)  # x -= Q^T c1
        g("N", self.one, Q, x, self.zero, c2)
        g("T", self.minus, Q, c2, self.one, x)
        return x, c1

    def normalize(self, x: Any, scal: Any, j: int, col: int, dest: Any, row: int) -> None:
        self.cublas.nrm2(x, out=scal[j, col])
        self.kernel(x, scal, 2 * j + col, self.tiny, dest[row])

    def store(self, scal: Any, j: int, col: int, value: Any) -> None:
        scal[j, col] = value


def _normalize_kernel(cupy: Any) -> Any:
    return cupy.ElementwiseKernel(
        "T x, raw T s, int32 at, T tiny", "T y",
        "T d = s[at]; y = x / (d > tiny ? d : tiny);",
        "lipbench_lanczos_normalize")


def steps_for(op: Any, dtype: Any) -> Any:
    """:class:`CupySteps` for a dense C-ordered CuPy operator (if CuPy's
    cuBLAS wrappers load), else :class:`ArraySteps`."""
    xp = op.xp
    if op.backend == "cupy" and op.dense_entries:
        try:
            a = op.dense
            if a.flags.c_contiguous and str(a.dtype) in ("float32", "float64"):
                return CupySteps(xp, a.dtype, 64)
        except Exception:  # an incomplete CuPy install: the array-API path still works
            pass
    return ArraySteps(xp, dtype)


class ScalarReader:
    """Reads the first k rows of the scalars to the host, at once (one
    transfer); ``ready()`` is always true."""

    lagged = False

    def __init__(self) -> None:
        self.k: int | None = None
        self._host: np.ndarray | None = None

    def request(self, scal: Any, k: int) -> None:
        self.k = k
        self._host = np.array(_backends.to_numpy(scal[:k, :]), dtype=np.float64)

    def ready(self) -> bool:
        return True

    def take(self) -> tuple[int, np.ndarray]:
        k, host = self.k, self._host
        assert k is not None and host is not None, "take() before request()"
        self.k, self._host = None, None
        return k, host


class CupyScalarReader(ScalarReader):
    """Copies the first k rows of the scalars into pinned host memory without
    blocking (``ndarray.get(out=..., blocking=False)``) and records an event;
    ``ready()`` polls it, ``take()`` waits for it."""

    lagged = True

    def __init__(self, cupy: Any, rows: int, dtype: Any):
        super().__init__()
        import cupyx

        self.cp = cupy
        self.pinned = cupyx.empty_pinned((rows, 2), dtype=dtype)
        self.event: Any = None

    def request(self, scal: Any, k: int) -> None:
        if k > self.pinned.shape[0]:
            import cupyx

            self.pinned = cupyx.empty_pinned((max(k, 2 * self.pinned.shape[0]), 2), dtype=self.pinned.dtype)
        self.k = k
        out = self.pinned[:k]
        try:
            scal[:k].get(out=out, blocking=False)
        except TypeError:  # CuPy < 13: no non-blocking get
            scal[:k].get(out=out)
        self.event = self.cp.cuda.Event()
        self.event.record()

    def ready(self) -> bool:
        return self.event is None or self.event.done

    def take(self) -> tuple[int, np.ndarray]:
        if self.event is not None:
            self.event.synchronize()
        k = self.k
        assert k is not None, "take() before request()"
        self.k, self.event = None, None
        return k, np.array(self.pinned[:k], dtype=np.float64)


def reader_for(op: Any, rows: int, dtype: Any) -> ScalarReader:
    """The lagged reader on CuPy, else the immediate one."""
    if op.backend == "cupy":
        try:
            import cupy

            return CupyScalarReader(cupy, rows, np.dtype(str(dtype).split(".")[-1]))
        except Exception:  # no pinned memory (odd CUDA setups): read at once
            pass
    return ScalarReader()


@dataclass
class _Check:
    """What one stopping test found: the step it answers from (``k``), the
    top Ritz pair's coefficients ``q`` on the first k basis vectors, theta,
    the error bound, and the stop decision."""

    k: int
    q: np.ndarray
    theta: float
    err: float
    stop: bool
    converged: bool
    notes: tuple[Note, ...]


def _first_breakdown(scale_terms: np.ndarray, small: np.ndarray, factor: float) -> tuple[int | None, np.ndarray]:
    """The host loops' breakdown test on a run of steps: the index of the
    first step whose ``small`` value is at most ``factor`` times the largest
    scale term so far (None if none), and those thresholds."""
    limit = factor * np.maximum.accumulate(scale_terms)
    hit = np.flatnonzero(small <= limit)
    return (int(hit[0]) if hit.size else None), limit


def _bidiagonal_check(host: np.ndarray, k: int, *, m: int, n: int, u: float, kmax: int, tol: float) -> _Check:
    """The stopping test of :func:`.bidiag.lanczos_bidiagonal` on
    the scalars of its first k steps (``host[j] = (alpha_j, beta_j)``)."""
    a, b = host[:k, 0].copy(), host[:k, 1].copy()
    prev_b = np.concatenate([[0.0], b[:-1]])
    i, limit = _first_breakdown(np.maximum(a, prev_b), np.minimum(a, b), 8 * max(m, n) * u)
    exhausted = i is not None or k == kmax
    if i is not None:
        k = i + 1
        a, b = a[:k], b[:k]
        if a[i] <= limit[i]:
            a[i] = b[i] = 0.0  # invariant: alpha vanished (the host loop records (0, 0) and stops)
    theta, q, err = bidiagonal_ritz(a, b[:-1], b[-1])
    stop, converged, notes = stop_test(exhausted, theta, err, tol)
    return _Check(k, q, theta, err, stop, converged, notes)


def _normal_check(host: np.ndarray, k: int, *, n: int, u: float, tol: float) -> _Check:
    """The stopping test of :func:`.normal.lanczos_normal` (no
    restarts) on the scalars of its first k steps (``host[j] = (alpha_j,
    ||f_j||)``: the tridiagonal's diagonal and off-diagonal)."""
    dg, off = host[:k, 0], host[:k, 1]
    i, _ = _first_breakdown(np.maximum(np.abs(dg), off), off, u)
    if i is None and k == n:
        i = k - 1
    exhausted = i is not None
    if i is not None:
        k = i + 1
    lam, y = top_eigenpair(dg[:k], off[: k - 1])
    theta = math.sqrt(max(lam, 0.0))
    err = theory.residual_error(theta, off[k - 1] * abs(float(y[-1])))
    stop, converged, notes = stop_test(exhausted, theta, err, tol)
    return _Check(k, y, theta, err, stop, converged, notes)


@dataclass
class _Setup:
    """A device loop's buffers: the step cap ``last``, the product count
    ``before`` it, the caller's ``v0``, the basis rows V (holding the start
    vector), the scalars ``scal`` and the vector work."""

    last: int
    before: int
    v0: Any
    V: DeviceRows
    scal: Any
    work: Any


def _setup(op: Operator, plan: LanczosPlan, rng: np.random.Generator, v0: Any, kmax: int) -> _Setup:
    xp = op.xp
    before = op.matvecs
    last = plan.steps(kmax)
    v = start_vector(op, rng, v0)
    V = DeviceRows(xp, op.n, v.dtype, min(last, 32) + 1)
    V.buf[0, :] = v
    return _Setup(last, before, v0, V, xp.zeros((last + 1, 2), dtype=v.dtype), steps_for(op, v.dtype))


def _run(op: Operator, plan: LanczosPlan, s: _Setup, step: Callable[[int], None],
         check: Callable[[np.ndarray, int], _Check], track: Tracker) -> tuple[_Check, int]:
    """Run ``step(j)`` for j = 0, 1, ... and the stopping test on the
    schedule, each test on the scalars read after its step; returns the
    deciding check and the number of steps run."""
    last, scal = s.last, s.scal
    schedule = CheckSchedule(plan.tol, every_step=track.enabled, warmup=plan.check_warmup)
    reader = reader_for(op, last + 1, s.V.dtype)
    at_request = 0

    def resolve() -> _Check:
        kc, host = reader.take()
        found = check(host, kc)
        track.add(types.SimpleNamespace(matvecs=at_request), found.k, found.theta, found.theta, math.inf,
                  found.err)
        schedule.checked(kc, found.err)
        return found

    found = None
    k = 0
    for k in range(1, last + 1):
        step(k - 1)
        if reader.k is not None and (reader.ready() or k == last or k - reader.k >= MAX_LAG):
            found = resolve()
            if found.stop:
                break
        if reader.k is None and (k == last or schedule.due(k)):
            reader.request(scal, k)
            at_request = op.matvecs
            if reader.ready() or k == last:
                found = resolve()
                if found.stop:
                    break
    assert found is not None  # the last step always resolves a check
    return found, k


def _finish(op: Operator, plan: LanczosPlan, s: _Setup, found: _Check, steps_run: int, engine: str) -> Raw:
    """Certify the Ritz vector of the deciding check, and say what the run met."""
    kk, last = found.k, s.last
    ritz = op.xp.asarray(found.q, dtype=s.V.dtype) @ s.V.buf[:kk, :]
    notes = found.notes
    if not found.stop and kk >= last:
        notes = (maxiter_note(last, memory="grows"),)
    if steps_run > kk:
        notes = (*notes, note("lagged-steps", steps=steps_run - kk))
    kw = kw_lanczos_epsilon(op.n, kk) if s.v0 is None else None
    raw = certify_vector(op, ritz, Outcome(found.converged, kk, found.err, kw, notes), tol=plan.tol)
    raw.stages = stage(engine, op, kk, s.before, raw.converged)
    return raw


def lanczos_bidiagonal_device(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any,
                              track: Tracker) -> Raw:
    """Golub-Kahan-Lanczos bidiagonalization as in :func:`.bidiag.lanczos_bidiagonal`
    (same recurrence, stopping bound and certificate), device-resident.

    Step j: ``p = A v_j`` orthogonalized against ``U`` (CGS2; the first pass
    removes ``beta_{j-1} u_{j-1}``), ``alpha_j = ||p||``, ``u_j = p /
    alpha_j``; ``r = A^T u_j`` orthogonalized against ``V`` (removing
    ``alpha_j v_j``), ``beta_j = ||r||``, ``v_{j+1} = r / beta_j``.
    Per step: two products, four ``gemv`` each way, two ``nrm2`` and two
    normalization kernels on CuPy; no host transfer between checks.
    """
    kmax = min(op.m + 1, op.n)
    s = _setup(op, plan, rng, v0, kmax)
    V, scal, work = s.V, s.scal, s.work
    U = DeviceRows(op.xp, op.m, V.dtype, min(s.last, 32))

    def step(j: int) -> None:
        V.reserve(j + 2)
        U.reserve(j + 1)
        p = op.matvec(V.buf[j, :])
        if j:
            p, _ = work.orthogonalize(U.buf[:j, :], p)
        work.normalize(p, scal, j, 0, U.buf, j)
        r = op.rmatvec(U.buf[j, :])
        r, _ = work.orthogonalize(V.buf[: j + 1, :], r)
        work.normalize(r, scal, j, 1, V.buf, j + 1)

    found, steps_run = _run(
        op, plan, s, step, track=track,
        check=lambda host, k: _bidiagonal_check(host, k, m=op.m, n=op.n, u=op.u, kmax=kmax, tol=plan.tol))
    return _finish(op, plan, s, found, steps_run, "lanczos-bidiagonal")


def lanczos_normal_device(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any,
                          track: Tracker) -> Raw:
    """Symmetric Lanczos on ``A^T A`` as in :func:`.normal.lanczos_normal`
    without restarts, device-resident.

    Step j: ``w = A^T (A v_j)`` orthogonalized against ``V`` (CGS2); the first
    pass's coefficient on ``v_j`` is ``alpha_j = v_j^T w`` (the tridiagonal's
    diagonal) and ``||w||`` its off-diagonal; ``v_{j+1} = w / ||w||``.  Per
    step on CuPy: two products, four ``gemv``, one ``nrm2``, one copy of
    alpha and one normalization kernel.
    """
    s = _setup(op, plan, rng, v0, op.n)
    V, scal, work = s.V, s.scal, s.work

    def step(j: int) -> None:
        V.reserve(j + 2)
        w = op.normal_matvec(V.buf[j, :])
        w, c = work.orthogonalize(V.buf[: j + 1, :], w)
        work.store(scal, j, 0, c[j])
        work.normalize(w, scal, j, 1, V.buf, j + 1)

    found, steps_run = _run(
        op, plan, s, step, track=track,
        check=lambda host, k: _normal_check(host, k, n=op.n, u=op.u, tol=plan.tol))
    return _finish(op, plan, s, found, steps_run, "lanczos-normal")
