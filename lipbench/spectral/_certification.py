"""Proving a bracket: ``certify=True``, and the ``svd`` method's bracket.

:func:`certify_raw` tests ``t = estimate (1 + w)`` with one shifted Cholesky
factorization (:func:`.inertia.inertia_upper`, ``w`` a little under tol).  A
test that passes proves ``sigma_max <= t``, and the factor it leaves gives G's
top eigenvector by inverse iteration, whose ``||A v|| / ||v||`` (rounding
subtracted) is a proven lower bound: the bracket is a certificate as tight as
the estimate.  A test that fails is a finding: the estimate was not sigma_max
to tol (a start vector nearly orthogonal to the top singular vector, a top
cluster the iteration had not resolved).  The answer then comes from the full
SVD, which cannot miss, and is proven the same way; the stages and the
message say so.  :func:`certify_stack` proves a stack's brackets at once.

What can be certified: dense matrices (any backend), and sparse matrices
small enough to be assembled (:data:`CERTIFY_SPARSE_MAX_ENTRIES`).  A
``LinearOperator`` has no entries to form a Gram matrix from: its upper bound
stays the caller's and ``certified`` is False.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from .. import backends as _backends
from .._rounding import lower_from_product, norm_bounds, up
from . import inertia as _cert
from ._operator import Operator
from ._raw import Raw
from .inertia import certificate_floor, inertia_upper
from .notes import note
from .result import Stage

__all__ = ["certify_raw", "certify_stack", "certified_width", "certify_by_default", "proven_lower",
           "CERTIFY_SPARSE_MAX_ENTRIES", "DEFAULT_CERTIFY_MAX_SIDE", "AIM"]

#: sparse matrices with at most this many entries (dense, 128 MiB of float64)
#: are assembled to be certified
CERTIFY_SPARSE_MAX_ENTRIES = 1 << 24

#: ``lipbench norm`` certifies by default when the Gram side is at most this
#: wide: the certificate's cost (m N^2 + N^3 / 3 flops) stays within a small
#: multiple of the estimate's (docs/certify.md)
DEFAULT_CERTIFY_MAX_SIDE = 4096

#: the test's width as a fraction of tol: the rest is room for the lower
#: bound's own distance below sigma_max (rounding, inverse iteration)
AIM = 0.75


def certify_by_default(kind: Any, shape: tuple[int, ...]) -> tuple[bool, str]:
    """Whether ``lipbench norm`` certifies this input without being asked, and why not."""
    if str(kind) != "dense" or len(shape) != 2:
        return False, "only dense matrices are certified by default"
    if min(shape) > DEFAULT_CERTIFY_MAX_SIDE:
        return False, (f"the Gram side {min(shape)} is over {DEFAULT_CERTIFY_MAX_SIDE}: certifying costs "
                       f"about {min(shape)}^2 x {max(shape)} flops")
    return True, ""


def certified_width(tol: float, dtype: str, m: int, n: int) -> float:
    """The relative width ``certify=True`` proves: ``tol``, or three times the
    certificate's floor for this shape when tol lies below it (the test aims
    at :data:`AIM` tol, at least twice the floor)."""
    return max(tol, 3 * certificate_floor(dtype, m, n))


def _matrix(op: Operator) -> tuple[Any, str]:
    """The scaled matrix in float64 as a dense array, or None and why not."""
    return op.assembled64(CERTIFY_SPARSE_MAX_ENTRIES)


def proven_lower(op: Operator, cert: Any) -> float:
    """The certified lower bound ``||A v|| / ||v||`` from a certificate's vector (0 without one)."""
    if cert.vector is None:
        return 0.0
    if cert.side == "right":
        return op.certified_lower(cert.vector)[0]
    xp = op.xp
    u = cert.vector
    w = op.rmatvec64(u)  # a left vector: sigma(A^T) = sigma(A)
    return float(lower_from_product(float(xp.vecdot(w, w)), op.n, float(xp.vecdot(u, u)), op.m, op.m,
                                    op.fro_upper()))


def _svd_top(A: Any) -> float:
    """The full SVD's sigma_max of the float64 matrix A: an estimate."""
    xp = _backends.namespace_of(A)
    return float(np.asarray(_backends.to_numpy(xp.linalg.svdvals(A)), dtype=np.float64)[0])


def certify_raw(op: Operator, raw: Raw, tol: float, route: str = "certify=True") -> Raw:
    """``raw`` (scaled units) with its bracket proven to relative width ``tol``,
    or re-estimated by the SVD and proven when the first test fails (see the
    module doc).  The driver has already raised ``tol`` to at least
    :func:`certified_width`'s floor for this shape; ``route`` names the caller in
    the message."""
    if raw.certified and raw.certificate == "inertia":
        return raw
    A, why = _matrix(op)
    if A is not None and not raw.converged:
        A, why = None, "the estimate did not converge, so there is no tight bracket to prove"
    if A is None:
        raw.notes = (*raw.notes, note("certify-skipped", route=route, why=why))
        return raw
    lower = max(float(raw.lower) if raw.proven else 0.0, op.cheap_lower())
    estimate = max(float(raw.value), lower)
    # the operator's matrix is validated and scaled already: nothing to check again
    cert = inertia_upper(_cert.gram_of(A), estimate, AIM * tol)  # factors in place: the Gram record is spent
    first = Stage("inertia", "float64", cert.tests, 0, cert.holds)
    if cert.holds:
        lower = max(lower, proven_lower(op, cert))
        upper = min(float(raw.upper) if raw.proven else math.inf, cert.upper)
        return dataclasses.replace(
            raw, upper=upper, lower=lower, value=min(max(float(raw.value), lower), upper),
            certificate="inertia", certified=True, proven=True, stages=raw.stages + (first,),
            error_estimate=float(raw.error_estimate))
    # The estimate missed sigma_max by more than w: the SVD cannot miss.
    from_svd = bool(raw.stages) and raw.stages[-1].engine == "svd"
    top = estimate if from_svd else max(_svd_top(A), estimate)
    again = inertia_upper(_cert.gram_of(A), top, AIM * tol, search="bisect")
    upper = min(again.upper, op.cheap_upper())
    lower = max(lower, proven_lower(op, again))
    found = note("certify-missed", route=route, estimate=estimate, w=AIM * tol, value=float(raw.value),
                 holds=again.holds, detail=again.detail)
    return Raw(value=min(max(top, lower), upper), lower=lower, upper=upper, converged=again.holds,
               iterations=raw.iterations, error_estimate=(upper - lower) / upper if upper > 0 else 0.0,
               notes=(*raw.notes, found),
               certificate="inertia" if again.holds else "inertia (bisection)", certified=again.holds,
               stages=raw.stages + (first,) + (() if from_svd else (Stage("svd", "float64", 1, 0),))
               + (Stage("inertia", "float64", again.tests, 0, again.holds),))


def certify_stack(op: Operator, top: np.ndarray, tol: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(lower, upper, holds)`` proven for every matrix of a dense stack from
    its estimates ``top``: one batched Gram product and the shifts of
    :func:`.inertia.shifted_diagonals` for all; then each matrix's own
    factorization and inverse-iteration vector (the single-matrix test,
    :func:`.inertia.top_vector`) and one batched lower bound.  An exactly zero
    matrix is ``[0, 0]``; a matrix whose test fails is certified alone, with
    bisection."""
    xp = op.xp
    m, n = op.m, op.n
    right = m >= n
    shape = np.shape(top)
    A = xp.reshape(op.dense64(), (-1, m, n))
    top = np.reshape(np.asarray(top, dtype=np.float64), -1)
    G = xp.matrix_transpose(A) @ A if right else A @ xp.matrix_transpose(A)
    diag = np.asarray(_backends.to_numpy(xp.linalg.diagonal(G)), dtype=np.float64)
    zero = np.asarray(_backends.to_numpy(xp.all(A == 0, axis=(-2, -1))), dtype=bool)
    t = up(top * (1 + AIM * tol))
    newdiag, _ = _cert.shifted_diagonals(diag, t, m, n)
    lower, upper, holds = np.zeros(top.shape), np.where(zero, 0.0, np.inf), zero.copy()
    vectors: dict[int, Any] = {}
    for i in np.flatnonzero(~zero & ~np.isnan(newdiag[:, 0])):
        gram = _cert.gram_record(G[i], diag[i], m, n, xp)
        factor = _cert._cholesky(gram, newdiag[i], keep=False)
        vec = None if factor is None else _cert.top_vector(gram, factor)
        if vec is not None:
            holds[i], upper[i], vectors[int(i)] = True, t[i], vec
    if vectors:
        idx = np.fromiter(vectors, dtype=np.int64)
        sub = A[xp.asarray(idx)]
        V = xp.stack([vectors[i] for i in idx.tolist()])
        W = (sub @ V[..., None] if right else xp.matrix_transpose(sub) @ V[..., None])[..., 0]
        ss_w, ss_v, ss_a = (np.asarray(_backends.to_numpy(x), dtype=np.float64) for x in (
            xp.sum(W * W, axis=-1), xp.sum(V * V, axis=-1), xp.sum(sub * sub, axis=(-2, -1))))
        rows, cols = (m, n) if right else (n, m)
        lower[idx] = lower_from_product(ss_w, rows, ss_v, cols, cols, norm_bounds(ss_a, m * n)[1])
        op.matvecs += 1
    for i in np.flatnonzero(~holds):  # each alone, with bisection
        one = dataclasses.replace(op, dense=A[int(i)], shape=(m, n), _exact64=None, _fro=None, _col2_max=None,
                                  _abs1=None, _absinf=None)
        cert = inertia_upper(_cert._gram(A[int(i)]), float(top[i]), AIM * tol, search="bisect")  # scaled alone
        lower[i], upper[i], holds[i] = proven_lower(one, cert), cert.upper, cert.holds
    return lower.reshape(shape), upper.reshape(shape), holds.reshape(shape)
