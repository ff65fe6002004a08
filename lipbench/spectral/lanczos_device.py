"""Lanczos loops that keep their scalars on the device (CuPy, and any array-API backend but NumPy).

The same two iterations as :mod:`.lanczos_bidiag` and :mod:`.lanczos_normal`
(without thick restarts), the same stopping test and the same certificate,
arranged so that the loop never waits for the device:

* the bases are preallocated rows, and each step's scalars (alpha, beta)
  are written into a device array ``scal`` (:mod:`._device_steps`);
* breakdowns are not tested inside the step: a zero norm normalizes to a
  zero vector, and the check finds the first step whose scalars mark an
  invariant or exhausted Krylov space and answers from that step -- the
  same answer the host loops give when they stop there;
* the stopping test runs at the steps :class:`.CheckSchedule` picks, on the
  scalars read in one transfer; on CuPy the read is asynchronous and the
  test resolves at the first later step whose read has landed (waiting
  for it only :data:`MAX_LAG` steps on), so the stream does not stall.  The
  steps that ran past the answer are counted in the products and named in
  the message.

NumPy keeps its host loops (tuned for CPU caches); :func:`.refine.lanczos_in_dtype`
routes every other backend here.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import theory
from ._device_steps import DeviceRows, reader_for, steps_for
from ._final_vector import certify_vector
from ._krylov_tools import CHECK_WARMUP, CheckSchedule, bidiagonal_ritz, stop_test, top_eigenpair
from ._operator import Operator
from ._raw import Raw, Tracker, stage, start_vector
from .theory import kw_lanczos_epsilon

__all__ = ["lanczos_bidiagonal_device", "lanczos_normal_device", "MAX_LAG"]

#: a check still in flight this many steps after its own step is waited for:
#: the host may queue at most this many steps beyond an unresolved check
#: (without a bound it could queue the whole run before the first read lands)
MAX_LAG = 2


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
    message: str


def _first_breakdown(scale_terms: np.ndarray, small: np.ndarray, factor: float) -> tuple[int | None, np.ndarray]:
    """The host loops' breakdown test on a run of steps: the index of the
    first step whose ``small`` value is at most ``factor`` times the largest
    scale term so far (None if none), and those thresholds."""
    limit = factor * np.maximum.accumulate(scale_terms)
    hit = np.flatnonzero(small <= limit)
    return (int(hit[0]) if hit.size else None), limit


def _bidiagonal_check(host: np.ndarray, k: int, *, m: int, n: int, u: float, kmax: int, tol: float) -> _Check:
    """The stopping test of :func:`.lanczos_bidiag.lanczos_bidiagonal` on
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
    stop, converged, message = stop_test(exhausted, theta, err, tol)
    return _Check(k, q, theta, err, stop, converged, message)


def _normal_check(host: np.ndarray, k: int, *, n: int, u: float, tol: float) -> _Check:
    """The stopping test of :func:`.lanczos_normal.lanczos_normal` (no
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
    stop, converged, message = stop_test(exhausted, theta, err, tol)
    return _Check(k, y, theta, err, stop, converged, message)


def _run(op: Operator, *, last: int, scal: Any, step: Callable[[int], None],
         check: Callable[[np.ndarray, int], _Check], track: Tracker, schedule: CheckSchedule,
         reader: Any) -> tuple[_Check, int]:
    """Run ``step(j)`` for j = 0, 1, ... and the stopping test on the
    schedule, each test on the scalars read after its step; returns the
    deciding check and the number of steps run."""
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


def _finish(op: Operator, engine: str, V: DeviceRows, found: _Check, steps_run: int, last: int, before: int,
            v0: Any, tol: float, dt: Any) -> Raw:
    xp = op.xp
    kk = found.k
    ritz = xp.asarray(found.q, dtype=dt) @ V.buf[:kk, :]
    message = found.message
    if not found.stop and kk >= last:
        message = f"stopped at maxiter={last} Lanczos steps (memory grows with each step)"
    if steps_run > kk:
        message = (message + "; " if message else "") + (
            f"{steps_run - kk} step(s) past the answer ran before its check resolved (their products are counted)")
    kw = kw_lanczos_epsilon(op.n, kk) if v0 is None else None
    raw = certify_vector(op, ritz, converged=found.converged, iterations=kk, err=found.err, kw_eps=kw,
                         message=message, tol=tol)
    raw.stages = stage(engine, op, kk, before, raw.converged)
    return raw


def lanczos_bidiagonal_device(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                              v0: Any, track: Tracker, check_warmup: int = CHECK_WARMUP) -> Raw:
    """Golub-Kahan-Lanczos bidiagonalization as in :func:`.lanczos_bidiag.lanczos_bidiagonal`
    (same recurrence, stopping bound and certificate), device-resident.

    Step j: ``p = A v_j`` orthogonalized against ``U`` (CGS2; the first pass
    removes ``beta_{j-1} u_{j-1}``), ``alpha_j = ||p||``, ``u_j = p /
    alpha_j``; ``r = A^T u_j`` orthogonalized against ``V`` (removing
    ``alpha_j v_j``), ``beta_j = ||r||``, ``v_{j+1} = r / beta_j``.
    Per step: two products, four ``gemv`` each way, two ``nrm2`` and two
    normalization kernels on CuPy; no host transfer between checks.
    """
    xp = op.xp
    before = op.matvecs
    kmax = min(op.m + 1, op.n)
    last = min(300, kmax) if maxiter is None else min(maxiter, kmax)
    v = start_vector(op, rng, v0)
    dt = v.dtype
    V = DeviceRows(xp, op.n, dt, min(last, 32) + 1)
    U = DeviceRows(xp, op.m, dt, min(last, 32))
    V.buf[0, :] = v
    scal = xp.zeros((last + 1, 2), dtype=dt)
    work = steps_for(op, dt)

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
        op, last=last, scal=scal, step=step, track=track, reader=reader_for(op, last + 1, dt),
        schedule=CheckSchedule(tol, every_step=track.enabled, warmup=check_warmup),
        check=lambda host, k: _bidiagonal_check(host, k, m=op.m, n=op.n, u=op.u, kmax=kmax, tol=tol))
    return _finish(op, "lanczos-bidiagonal", V, found, steps_run, last, before, v0, tol, dt)


def lanczos_normal_device(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
                          v0: Any, track: Tracker, check_warmup: int = CHECK_WARMUP) -> Raw:
    """Symmetric Lanczos on ``A^T A`` as in :func:`.lanczos_normal.lanczos_normal`
    without restarts, device-resident.

    Step j: ``w = A^T (A v_j)`` orthogonalized against ``V`` (CGS2); the first
    pass's coefficient on ``v_j`` is ``alpha_j = v_j^T w`` (the tridiagonal's
    diagonal) and ``||w||`` its off-diagonal; ``v_{j+1} = w / ||w||``.  Per
    step on CuPy: two products, four ``gemv``, one ``nrm2``, one copy of
    alpha and one normalization kernel.
    """
    xp = op.xp
    before = op.matvecs
    n = op.n
    last = min(300, n) if maxiter is None else min(maxiter, n)
    v = start_vector(op, rng, v0)
    dt = v.dtype
    V = DeviceRows(xp, n, dt, min(last, 32) + 1)
    V.buf[0, :] = v
    scal = xp.zeros((last + 1, 2), dtype=dt)
    work = steps_for(op, dt)

    def step(j: int) -> None:
        V.reserve(j + 2)
        w = op.normal_matvec(V.buf[j, :])
        w, c = work.orthogonalize(V.buf[: j + 1, :], w)
        work.store(scal, j, 0, c[j])
        work.normalize(w, scal, j, 1, V.buf, j + 1)

    found, steps_run = _run(
        op, last=last, scal=scal, step=step, track=track, reader=reader_for(op, last + 1, dt),
        schedule=CheckSchedule(tol, every_step=track.enabled, warmup=check_warmup),
        check=lambda host, k: _normal_check(host, k, n=n, u=op.u, tol=tol))
    return _finish(op, "lanczos-normal", V, found, steps_run, last, before, v0, tol, dt)
