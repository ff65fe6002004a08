"""The Gram route for tall or wide A: Lanczos on the small Gram matrix, certified with A.

Form ``G = A^T A`` (or ``A A^T`` when A is wide) once with one BLAS-3
product (counted as min(m, n) products), run Lanczos on G (each step then
costs min(m, n)^2 instead of m n), and certify and verify the resulting
vector with A in float64; if the verification misses ``tol``, continue on A
from that vector.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._dense_operator import DenseOperator
from .._operator import Operator
from .._raw import Raw, Tracker, start_vector
from ..notes import note
from ..result import Stage
from .loop import lanczos_in_dtype
from .plan import LanczosPlan
from .refine import continue_from, run_lanczos

__all__ = ["lanczos_gram"]


def lanczos_gram(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any, track: Tracker) -> Raw:
    """Lanczos on the Gram matrix of the smaller side, certified with A."""
    xp = op.xp
    tol, work_dtype = plan.tol, plan.work_dtype
    before = op.matvecs
    t = op if op.m >= op.n else op.transposed()
    A = t.dense
    if work_dtype == "float32" and t.dtype == "float64":
        A = xp.astype(A, xp.float32)
    G = A.T @ A
    t.matvecs += t.n
    gop = DenseOperator(kind=op.kind, xp=xp, shape=(t.n, t.n), dtype="float32" if A.dtype == xp.float32 else "float64",
                   input_dtype=op.input_dtype, scale=1.0, backend=op.backend, device=op.device, dense=G)
    start = None
    if v0 is not None:
        start = start_vector(op, rng, v0, dtype=gop.dtype)
        if t is not op:  # wide: the Gram matrix A A^T acts on left vectors; start from A v0
            start = t.rmatvec(start)
    inner = lanczos_in_dtype(gop, plan, rng=rng, v0=start, track=Tracker(False))
    if t.on_device:  # one stacked read of the norms
        lower, value, w, v64, verified = t.certified_lower_stacked(inner.vector, residual=True)
        assert verified is not None  # asked for with residual=True
    else:
        lower, w, v64 = t.certified_lower(inner.vector)
        value = float(xp.linalg.vector_norm(w))
        verified = t.residual_bound64(w, v64)
    track.add(op, inner.iterations, value, lower, math.inf, verified)
    route = note("gram-route", steps=inner.iterations, side=t.n, products=gop.matvecs)
    done = inner.converged and verified <= tol
    first = Raw(value=value, lower=lower, upper=math.inf, converged=done, iterations=inner.iterations,
                error_estimate=verified, notes=(route,), vector=v64,
                stages=(Stage("lanczos-gram", gop.dtype, inner.iterations, t.matvecs - before, done),))
    if done:
        return first
    return continue_from(
        op, t, first, maxiter=plan.maxiter,
        note=route.replace(missed=verified),
        run=lambda target, left, v: run_lanczos(target, plan.capped(left), rng=rng, v0=v, track=track))
