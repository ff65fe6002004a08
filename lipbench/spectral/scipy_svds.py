"""The methods ``arpack``, ``propack`` and ``lobpcg``: ``scipy.sparse.linalg.svds``
behind lipbench's contract.

Every solver is asked for the same relative accuracy of sigma_max, its
answer is re-checked with two products (the residual of its right vector),
and a solver's own failure (an exception, a warning) becomes
``converged=False`` -- never silence.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from ._operator import Operator
from ._raw import Raw, Tracker, stage, start_vector
from .notes import note

__all__ = ["arpack", "propack", "lobpcg", "svds_solver", "counting_operator"]


def counting_operator(op: Operator, dtype: str | None = None):
    """A SciPy LinearOperator over the scaled matrix that counts products.

    Products run in the operator's compute dtype; ``dtype`` is what the
    LinearOperator declares and returns (interpolative takes float64 only)."""
    from scipy.sparse.linalg import LinearOperator

    dt = np.dtype(op.dtype)
    out = np.dtype(dtype or op.dtype)
    return LinearOperator(
        shape=(op.m, op.n), dtype=out,
        matvec=lambda x: np.asarray(op.matvec(np.asarray(x, dtype=dt).reshape(-1)), dtype=out),
        rmatvec=lambda y: np.asarray(op.rmatvec(np.asarray(y, dtype=dt).reshape(-1)), dtype=out),
        matmat=lambda X: np.asarray(op.matvec(np.asarray(X, dtype=dt)), dtype=out),
        rmatmat=lambda Y: np.asarray(op.rmatvec(np.asarray(Y, dtype=dt)), dtype=out),
    )


def _check_residual(op: Operator, v: Any) -> tuple[float, float, float, Any]:
    """(certified lower, value, relative-error bound, unit vector) for a right
    vector v: one float64 pass over a dense NumPy matrix
    (:meth:`Operator.certified_lower_and_residual`), else two products."""
    both = op.certified_lower_and_residual(v)
    if both is not None:
        lower, w, v64, err = both
    else:
        lower, w, v64 = op.certified_lower(v)
        err = op.residual_bound64(w, v64) if w is not None else math.inf
    if w is None:
        return 0.0, 0.0, math.inf, None
    return lower, float(np.linalg.norm(w)), err, v64


def svds_solver(op: Operator, *, solver: str, tol: float, maxiter: int | None, rng: np.random.Generator,
                v0: Any, track: Tracker, **_: Any) -> Raw:
    """``scipy.sparse.linalg.svds(A, k=1, solver=...)`` with tolerances mapped.

    svds squares its ``tol`` before handing it to the eigensolver of ``A^T A``
    (or ``A A^T``), where it bounds the relative residual; a relative residual
    ``rho`` on lambda = sigma^2 bounds sigma's relative error by rho/2, so
    ``arpack`` gets ``sqrt(2 tol)``.  ``propack`` gets ``tol`` (svds squares
    it, and PROPACK's own test is then about as strict as the residual check
    below) and ``kmax`` (svds' ``maxiter``) 64, doubled while PROPACK reports
    no convergence: SciPy's default of 10 is too few for Gaussian matrices.
    ``lobpcg`` takes an absolute residual tolerance, so it gets
    ``sqrt(2 tol) * (a lower bound on sigma)``, and ``maxiter`` 200 instead of
    20 (it stops at 20 with only a warning).  The measurements behind these
    choices: ``docs/methods.md``.
    Cost per iteration: one product with A and one with A^T (a block of 1 for
    lobpcg); ARPACK restarts keep memory at ``ncv`` vectors.
    ``iterations`` counts the solver's steps with ``A^T A`` (half its products
    with A or A^T).  ``maxiter`` is the solver's own cap: PROPACK's Krylov
    dimension ``kmax`` (steps, so at most ``maxiter`` iterations), ARPACK's
    implicit-restart cycles (about ``ncv = 20`` steps each), LOBPCG's
    iterations (one step each, after a few to start).
    Bounds: lower certified from the returned right vector; the residual of
    that vector, recomputed here (2 products), decides ``converged``.
    """
    from scipy.sparse.linalg import ArpackNoConvergence, svds

    before = op.matvecs
    lin = counting_operator(op)
    k = min(op.m, op.n)
    x0 = None
    if v0 is not None:
        x0 = np.asarray(start_vector(op, rng, v0), dtype=np.float64)
        if op.m < op.n:  # svds iterates on A A^T: start from A v0
            x0 = np.asarray(op.matvec(x0.astype(op.dtype)), dtype=np.float64)
    kwargs: dict[str, Any] = {"k": 1, "solver": solver, "rng": rng, "v0": x0,
                              **_svds_options(op, solver, tol, maxiter, k)}
    problems: list[str] = []
    vec = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            _u, s, vh = _svds_retrying(svds, lin, kwargs, k, maxiter, problems)
            vec = np.asarray(vh[int(np.argmax(s))], dtype=np.float64)
        except ArpackNoConvergence as exc:
            problems.append(f"ARPACK did not converge ({exc})")
            ev = getattr(exc, "eigenvectors", None)
            if ev is not None and np.size(ev):
                vec = np.asarray(ev[:, -1], dtype=np.float64)
                if op.m < op.n:
                    vec = np.asarray(op.rmatvec(vec.astype(op.dtype)), dtype=np.float64)
        except (np.linalg.LinAlgError, ValueError, RuntimeError) as exc:
            problems.append(f"{solver} failed: {type(exc).__name__}: {exc}")
    for w in caught:
        if "dense eigensolver" in str(w.message):
            continue  # lobpcg on a tiny problem switches to eigh: accurate, not a failure
        problems.append(f"{solver} warned: {w.message}")
    if vec is None or not np.any(vec):
        vec = np.asarray(np.random.default_rng(0).standard_normal(op.n))
        problems.append("no vector returned; bracket from a random vector")
    steps = (op.matvecs - before) // 2  # the solver's products with A^T A (or A A^T), before the check
    lower, value, err, v64 = _check_residual(op, vec.astype(np.float64))
    converged = not problems and err <= tol
    if not problems and err > tol:
        problems.append(f"{solver} reported success but the residual bounds the error only by {err:.3g} > tol")
    track.add(op, steps, value, lower, math.inf, err)
    return Raw(value=value, lower=lower, upper=math.inf, converged=converged, iterations=steps,
               error_estimate=err, notes=tuple(note("solver-problem", text=p) for p in problems), vector=v64,
               stages=stage(solver, op, steps, before, converged))


def _svds_options(op: Operator, solver: str, tol: float, maxiter: int | None, k: int) -> dict[str, Any]:
    """svds' ``tol`` and ``maxiter`` for ``solver`` (the mapping the
    docstring of :func:`svds_solver` explains)."""
    kwargs: dict[str, Any] = {}
    if solver == "arpack":
        kwargs["tol"] = math.sqrt(2 * tol)
        kwargs["maxiter"] = maxiter
    elif solver == "propack":
        kwargs["tol"] = tol
        kwargs["maxiter"] = min(k, 64 if maxiter is None else maxiter)
    elif solver == "lobpcg":
        lower = op.cheap_lower()  # 0 where the kind has no cheap bound: then sigma's scale is about 1
        kwargs["tol"] = math.sqrt(2 * tol) * (lower if lower > 0 else 0.5)
        kwargs["maxiter"] = 200 if maxiter is None else maxiter
    return kwargs


def _svds_retrying(svds: Any, lin: Any, kwargs: dict, k: int, maxiter: int | None, problems: list[str]) -> Any:
    """svds; for PROPACK without an explicit maxiter, double kmax (64, 128, ...
    up to min(m, n)) while it raises "did not converge" -- the products of the
    failed attempts stay counted."""
    while True:
        try:
            return svds(lin, **kwargs)
        except np.linalg.LinAlgError as exc:
            grow = kwargs["solver"] == "propack" and maxiter is None and kwargs["maxiter"] < k
            if not grow or "did not converge" not in str(exc):
                raise
            kwargs["maxiter"] = min(k, 2 * kwargs["maxiter"])


def arpack(op: Operator, **kw: Any) -> Raw:
    return svds_solver(op, solver="arpack", **kw)


def propack(op: Operator, **kw: Any) -> Raw:
    return svds_solver(op, solver="propack", **kw)


def lobpcg(op: Operator, **kw: Any) -> Raw:
    return svds_solver(op, solver="lobpcg", **kw)


for _method in (arpack, propack, lobpcg):  # the registry shows a method's docstring
    _method.__doc__ = f"``scipy.sparse.linalg.svds(solver={_method.__name__!r})``.\n\n" + (svds_solver.__doc__ or "")
del _method
