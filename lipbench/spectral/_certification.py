"""``spectral_norm(..., certify=True)``: turn the estimate's bracket into a certificate.

After the estimate, :func:`.certify.certify_upper` tests ``t = lower (1 + w)``
with one shifted Cholesky factorization (``w = max(tol, the certificate's
floor)``).  A test that passes proves ``sigma_max <= t``: the bracket is a
deterministic certificate as tight as the estimate.  A test that fails is a
finding: the estimate was not sigma_max to tol (a start vector nearly
orthogonal to the top singular vector, a top cluster the iteration had not
resolved).  The answer then comes from the full SVD, which cannot miss, and is
certified the same way; the stages and the message say so.

What can be certified: dense matrices (any backend), and sparse matrices
small enough to be assembled (:data:`CERTIFY_SPARSE_MAX_ENTRIES`).  A
``LinearOperator`` has no entries to form a Gram matrix from: its upper bound
stays the caller's and ``certified`` is False.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from .. import backends as _backends
from ._operator import Operator
from ._raw import Raw
from ._rounding import U64, svd_error
from .certify import certificate_floor, certify_upper
from .result import Stage

__all__ = ["certify_raw", "certified_width", "certify_by_default", "CERTIFY_SPARSE_MAX_ENTRIES",
           "DEFAULT_CERTIFY_MAX_SIDE"]

#: sparse matrices with at most this many entries (dense, 128 MiB of float64)
#: are assembled to be certified
CERTIFY_SPARSE_MAX_ENTRIES = 1 << 24


#: ``lipbench norm`` certifies by default when the Gram side is at most this
#: wide: the certificate's cost (m N^2 + N^3 / 3 flops) stays within a small
#: multiple of the estimate's (docs/certify.md)
DEFAULT_CERTIFY_MAX_SIDE = 4096


def certify_by_default(kind: Any, shape: tuple[int, ...]) -> tuple[bool, str]:
    """Whether ``lipbench norm`` certifies this input without being asked, and why not."""
    if str(kind) != "dense" or len(shape) != 2:
        return False, "only dense matrices are certified by default"
    if min(shape) > DEFAULT_CERTIFY_MAX_SIDE:
        return False, (f"the Gram side {min(shape)} is over {DEFAULT_CERTIFY_MAX_SIDE}: certifying costs "
                       f"about {min(shape)}^2 x {max(shape)} flops")
    return True, ""


def certified_width(tol: float, dtype: str, m: int, n: int) -> float:
    """The relative width ``certify=True`` proves: ``tol``, or twice the
    certificate's floor for this shape when tol lies below it."""
    return max(tol, 2 * certificate_floor(dtype, m, n))


def _matrix(op: Operator) -> tuple[Any, str]:
    """The scaled matrix in float64 as a dense array, or None and why not."""
    if op.dense is not None:
        return op.dense64(), ""
    if op.sparse is not None:
        if op.m * op.n > CERTIFY_SPARSE_MAX_ENTRIES:
            return None, (f"a sparse {op.m} x {op.n} matrix is not assembled to be certified (over "
                          f"{CERTIFY_SPARSE_MAX_ENTRIES} entries)")
        return op.sparse64().toarray(), ""
    if str(op.kind) == "dask.array":
        return None, "a Dask array is not gathered to be certified (its Gram side may not fit in memory)"
    return None, "a LinearOperator has no entries to form a Gram matrix from"


def _svd_top(A: Any, m: int, n: int) -> float:
    """A lower bound on sigma_max from the full SVD of the float64 matrix A."""
    xp = _backends.namespace_of(A)
    top = float(np.asarray(_backends.to_numpy(xp.linalg.svdvals(A)), dtype=np.float64)[0])
    _, delta = svd_error(top, m, n, "float64")
    return max(0.0, top - delta)


def certify_raw(op: Operator, raw: Raw, tol: float) -> Raw:
    """``raw`` (scaled units) with its upper bound certified to relative width
    ``tol``, or re-estimated by the SVD and certified when the first test
    fails (see the module doc).  The driver has already raised ``tol`` to at
    least :func:`certified_width`'s floor for this shape."""
    A, why = _matrix(op)
    if A is not None and not raw.converged:
        A, why = None, "the estimate did not converge, so there is no tight bracket to prove"
    if A is None:
        raw.message = "; ".join(x for x in (raw.message, f"certify=True: {why}") if x)
        return raw
    w = tol
    lower = max(float(raw.lower), op.cheap_lower())
    aim = w - 16 * U64  # t is rounded up a few times: aim a few ulps below w so that upper <= lower (1 + w)
    cert = certify_upper(A, lower, aim)
    first = Stage("inertia", "float64", cert.tests, 0, cert.holds)
    if cert.holds:
        upper = min(float(raw.upper), cert.upper)
        return dataclasses.replace(
            raw, upper=upper, lower=lower, value=min(max(float(raw.value), lower), upper),
            certificate="inertia", certified=True, stages=raw.stages + (first,),
            error_estimate=float(raw.error_estimate))
    # The estimate missed sigma_max by more than w: the SVD cannot miss.
    top_lower = max(_svd_top(A, op.m, op.n), lower)
    again = certify_upper(A, top_lower, aim, search="bisect")
    upper = min(again.upper, op.cheap_upper())
    found = (f"certify=True: sigma_max > {lower:.17g} (1 + {w:.3g}) (the test failed), so the estimate "
             f"{float(raw.value):.17g} was not sigma_max to tol; re-estimated by the full SVD and "
             + ("certified" if again.holds else f"bounded by bisection ({again.detail})"))
    return Raw(value=min(top_lower, upper), lower=top_lower, upper=upper, converged=again.holds,
               iterations=raw.iterations, error_estimate=w if again.holds else (upper - top_lower) / top_lower,
               message="; ".join(x for x in (raw.message, found) if x),
               certificate="inertia" if again.holds else "inertia (bisection)", certified=again.holds,
               stages=raw.stages + (first, Stage("svd", "float64", 1, 0),
                                    Stage("inertia", "float64", again.tests, 0, again.holds)))
