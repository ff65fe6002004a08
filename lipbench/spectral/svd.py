"""The full dense SVD, its bracket proven by the inertia certificate."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backends as _backends
from ._certification import certify_raw, certify_stack
from ._floors import svd_error
from ._operator import Operator
from ._raw import Raw, Tracker
from .result import Stage

__all__ = ["full_svd", "svd_dtype"]


def svd_dtype(op: Operator) -> str:
    """The dtype the SVD runs in: float64 on the host (NumPy, CPU torch;
    float32 input converted exactly: LAPACK's float32 sigma_max is off by
    several float32 units, see full_svd), the operator's dtype elsewhere."""
    return "float64" if op.backend == "numpy" or (op.backend == "torch" and op.device == "cpu") else op.dtype


def _svdvals(op: Operator) -> Any:
    """Singular values (descending) of the scaled dense matrix or stack, in :func:`svd_dtype`."""
    if op.backend == "numpy":
        return _scipy_svdvals(op)
    if op.backend == "cupy":
        import cupy as cp

        return cp.linalg.svd(op.dense, compute_uv=False)
    return op.xp.linalg.svdvals(op.dense64() if svd_dtype(op) == "float64" else op.dense)


def _scipy_svdvals(op: Operator) -> Any:
    """LAPACK's singular values of a NumPy matrix or stack, in float64."""
    import scipy.linalg

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


def full_svd(op: Operator, *, tol: float, track: Tracker, **_: Any) -> Raw:
    """Full dense SVD: LAPACK gesdd (gesvd if gesdd does not converge) on
    NumPy, ``cupy.linalg.svd`` (cuSOLVER) on CuPy, ``linalg.svdvals`` elsewhere;
    then the bracket is proven around its sigma_max.

    On NumPy and CPU torch tensors, float32 input is decomposed in float64
    (the conversion is exact, the cost about twice float32's).
    Cost: O(m n min(m, n)) flops, no matrix-vector products, then the
    certificate (:mod:`._certification`: the Gram matrix, m N^2 flops, one
    Cholesky factorization, N^3 / 3, and one product with A).
    Bounds: the SVD's own accuracy is known only as a backward-error estimate
    with a calibrated factor (``error_estimate``, :func:`lipbench._rounding.svd_backward_p`);
    the bracket is proven by the inertia certificate of ``t = sigma_hat (1 +
    w)`` and the lower bound of its inverse-iteration vector.  Stacks ``(...,
    m, n)`` are proven in one batched factorization (:func:`._certification.certify_stack`).
    """
    s, dtype = _svdvals(op), svd_dtype(op)
    top = np.asarray(_backends.to_numpy(s[..., 0]), dtype=np.float64)
    pu, delta = svd_error(top, op.m, op.n, dtype)
    stages = (Stage("svd", dtype, 1, 0),)
    if op.is_batched:
        lower, upper, holds = certify_stack(op, top, tol)
        return Raw(value=np.clip(top, lower, upper), lower=lower, upper=upper, converged=True, iterations=1,
                   error_estimate=np.full(np.shape(top), pu), stages=stages + (Stage("inertia", "float64", 1, 0),),
                   certificate="inertia", certified=bool(np.all(holds)))
    sigma = float(top)
    track.add(op, 1, sigma, sigma - float(delta), sigma + float(delta), pu)
    raw = Raw(value=sigma, lower=max(0.0, sigma - float(delta)), upper=sigma + float(delta), converged=True,
              iterations=1, error_estimate=pu, stages=stages, certificate="svd", proven=False)
    return certify_raw(op, raw, tol, route="the svd method's certificate")
