"""The full dense SVD, with a backward-error bracket."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backends as _backends
from ._operator import Operator
from ._raw import Raw, Tracker
from ._rounding import svd_error
from .result import Stage

__all__ = ["full_svd"]


def _svdvals(op: Operator) -> Any:
    """Singular values (descending) of the scaled dense matrix or stack."""
    a = op.dense
    if op.backend == "numpy":
        import scipy.linalg

        # float32 input is decomposed in float64 (exact conversion): LAPACK's
        # float32 sigma_max is off by several float32 units, see full_svd
        x = np.asarray(op.dense64())
        if not op.is_batched:
            try:
                return scipy.linalg.svd(x, compute_uv=False, lapack_driver="gesdd", check_finite=False)
            except np.linalg.LinAlgError:
                # gesdd's divide and conquer can fail to converge; gesvd (QR
                # iteration) is slower but more robust.
                return scipy.linalg.svd(x, compute_uv=False, lapack_driver="gesvd", check_finite=False)
        try:
            return np.linalg.svd(x, compute_uv=False)
        except np.linalg.LinAlgError:
            flat = x.reshape((-1,) + x.shape[-2:])
            out = [scipy.linalg.svd(m, compute_uv=False, lapack_driver="gesvd", check_finite=False) for m in flat]
            return np.stack(out).reshape(x.shape[:-2] + (min(x.shape[-2:]),))
    if op.backend == "cupy":
        import cupy as cp

        return cp.linalg.svd(a, compute_uv=False)
    return op.xp.linalg.svdvals(a)


def full_svd(op: Operator, *, tol: float, track: Tracker, **_: Any) -> Raw:
    """Full dense SVD: LAPACK gesdd (gesvd if gesdd does not converge) on
    NumPy, ``cupy.linalg.svd`` (cuSOLVER) on CuPy, ``linalg.svdvals`` elsewhere.

    On NumPy, float32 input is decomposed in float64 (the conversion is
    exact, the cost about twice float32's).
    Cost: O(m n min(m, n)) flops, no matrix-vector products (``matvecs = 0``).
    Bounds: the backward-error bound of a backward-stable SVD, the computed
    value is sigma(A + E) with ``||E||_2 <= p u ||A||_2`` in the dtype of the
    decomposition, so ``|sigma_hat - sigma| <= p u sigma_hat / (1 - p u)``
    (``p u ||A||_F`` off NumPy: cuSOLVER's batched SVD is an iterative Jacobi
    method stopped at a tolerance).  LAPACK leaves p a "modestly growing
    function"; it is taken as ``8 (max(m, n) + 4)``
    (:func:`._rounding.svd_backward_p`; the measurements behind it are in
    ``docs/methods.md``).
    Works on stacks ``(..., m, n)``.
    """
    s = _svdvals(op)
    top = np.asarray(_backends.to_numpy(s[..., 0]), dtype=np.float64)
    dtype = "float64" if op.backend == "numpy" else op.dtype
    pu, delta = svd_error(top, op.m, op.n, dtype)
    if op.backend != "numpy":
        # cuSOLVER's batched SVD is a Jacobi iteration stopped at a tolerance:
        # bound its error by p u ||A||_F rather than p u sigma_hat.
        xp = op.xp
        a = op.dense64()
        fro = np.sqrt(np.asarray(_backends.to_numpy(xp.sum(a * a, axis=(-2, -1))), dtype=np.float64))
        delta = np.maximum(delta, svd_error(top, op.m, op.n, dtype, scale=fro)[1])
    lower = np.maximum(top - delta, 0.0)
    upper = top + delta
    if not op.is_batched:
        top, lower, upper = float(top), float(lower), float(upper)
        track.add(op, 1, top, lower, upper, pu)
    return Raw(value=top, lower=lower, upper=upper, converged=True, iterations=1,
               error_estimate=pu if not op.is_batched else np.full(np.shape(top), pu),
               stages=(Stage("svd", dtype, 1, 0),), certificate="svd")
