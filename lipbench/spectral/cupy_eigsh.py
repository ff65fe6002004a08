"""CuPy's own eigensolver behind lipbench's contract."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._operator import Operator
from ._raw import Raw, Tracker, stage, start_vector
from .notes import note

__all__ = ["cupy_eigsh"]


def cupy_eigsh(op: Operator, *, tol: float, maxiter: int | None, rng: np.random.Generator,
               v0: Any, track: Tracker, **_: Any) -> Raw:
    """``cupyx.scipy.sparse.linalg.eigsh`` (thick-restart Lanczos) on ``A^T A``.

    The Gram operator is applied matrix-free.  Cost per iteration: one
    product with A and one with A^T; memory ``ncv`` vectors (restarted).
    eigsh's ``tol`` bounds the relative residual of lambda = sigma^2, so it
    gets ``2 tol``.  It returns silently when it reaches ``maxiter``; the
    residual of its vector is therefore recomputed here (2 products) and
    decides ``converged``.
    Bounds: lower certified from the returned vector; upper from the caller's
    cheap bound.
    """
    import cupy as cp
    from cupyx.scipy.sparse.linalg import LinearOperator, eigsh

    n = op.n
    before = op.matvecs
    dt = cp.dtype(op.dtype)

    def gram(x: Any) -> Any:
        return op.rmatvec(op.matvec(x))

    L = LinearOperator((n, n), matvec=gram, matmat=gram, dtype=dt)
    x0 = start_vector(op, rng, v0)
    kwargs: dict[str, Any] = {"k": 1, "which": "LM", "tol": 2 * tol, "v0": x0}
    if maxiter is not None:
        kwargs["maxiter"] = maxiter
    explicit = False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _w, V = eigsh(L, **kwargs)
        except TypeError:
            # Older CuPy: eigsh takes arrays only; use the explicit Gram matrix.
            explicit = True
            G = op.explicit_gram()
            _w, V = eigsh(G, **kwargs)
    problems = [str(w.message) for w in caught]
    steps = (op.matvecs - before) // 2 if not explicit else 1  # products with A^T A (one call on the Gram matrix)
    vec = V[:, -1]
    lower, w, v64 = op.certified_lower(vec)
    value = float(cp.linalg.norm(w))
    err = op.residual_bound64(w, v64)
    converged = err <= tol and not problems
    if not converged:
        problems.append(f"eigsh returned a vector whose residual bounds the error by {err:.3g} (tol {tol:.3g}); "
                     "it exits silently at maxiter")
    track.add(op, steps, value, lower, math.inf, err)
    return Raw(value=value, lower=lower, upper=math.inf, converged=converged, iterations=steps,
               error_estimate=err, vector=v64,
               notes=((note("cupy-explicit-gram"),) if explicit else ())
               + tuple(note("solver-problem", text=p) for p in problems),
               stages=stage("cupy-eigsh", op, steps, before, converged))
