"""Dense estimators: full SVD and Gram iteration."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import backends as _backends
from ._common import Raw, Tracker
from ._operator import Operator, unit_roundoff

__all__ = ["full_svd", "gram_iteration"]


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


#: p = SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL) in full_svd's
#: backward-error bound p u ||A||
SVD_BACKWARD_FACTOR = 8
#: ... the part of p that does not shrink with the matrix: a 2 x 2 float64
#: matrix, hill-climbed for it, has gesdd's sigma_max 13.2 u off (8 max(m, n)
#: alone allows 16 u there)
SVD_BACKWARD_SMALL = 4


def svd_backward_p(m: int, n: int) -> int:
    """The factor p of the backward-error bound ``p u ||A||`` that
    :func:`full_svd` takes for an m x n matrix."""
    return SVD_BACKWARD_FACTOR * (max(m, n) + SVD_BACKWARD_SMALL)


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
    function"; it is taken as ``8 (max(m, n) + 4)``: in float32, gesdd's
    sigma_max was off by up to 5.3 u at 2 x 2, 7.5 u at 3 x 3 and 9.9 u at
    64 x 64 (3000 random matrices per size against a float64 SVD); in
    float64, by 10.6 u at 2 x 2 over 3 million random matrices and by 13.2 u
    on one hill-climbed for it (against the exact value).
    Works on stacks ``(..., m, n)``.
    """
    s = _svdvals(op)
    top = np.asarray(_backends.to_numpy(s[..., 0]), dtype=np.float64)
    pu = svd_backward_p(op.m, op.n) * unit_roundoff("float64" if op.backend == "numpy" else op.dtype)
    delta = top * pu / (1 - pu)
    if op.backend != "numpy":
        # cuSOLVER's batched SVD is a Jacobi iteration stopped at a tolerance:
        # bound its error by p u ||A||_F rather than p u sigma_hat.
        xp = op.xp
        a = op.dense64()
        fro = np.sqrt(np.asarray(_backends.to_numpy(xp.sum(a * a, axis=(-2, -1))), dtype=np.float64))
        delta = np.maximum(delta, fro * pu / (1 - pu))
    lower = np.maximum(top - delta, 0.0)
    upper = top + delta
    if not op.is_batched:
        top, lower, upper = float(top), float(lower), float(upper)
        track.add(op, 1, top, lower, upper, pu)
    return Raw(value=top, lower=lower, upper=upper, converged=True, iterations=1,
               error_estimate=pu if not op.is_batched else np.full(np.shape(top), pu))


def gram_rounding_floor(m: int, n: int) -> float:
    """Relative amount by which :func:`gram_iteration` rounds its upper bound
    up for an m x n matrix (the products' error, ``4 (max(m, n) + 2)
    sqrt(min(m, n)) u``): no tolerance below it can be reached."""
    return 4 * (max(m, n) + 2) * math.sqrt(min(m, n)) * unit_roundoff("float64")


def gram_iteration(op: Operator, *, tol: float, maxiter: int | None, track: Tracker, **_: Any) -> Raw:
    """Gram iteration (Delattre, Barthelemy, Araujo & Allauzen, ICML 2023).

    ``G_0 = A`` (or ``A^T`` when m < n, so the Gram matrices are the smaller
    side), ``G_{t+1} = G_t^T G_t``; then ``sigma_max <= ||G_t||_F^(1/2^t)`` at
    every step, converging super-linearly.  Each G_t is kept divided by its
    Frobenius norm and the logarithm of the scale is carried separately, so
    nothing overflows or underflows.  Computed in float64.
    Cost per iteration: one k x k matrix product, O(k^3) with k = min(m, n)
    (O(m n k) for the first).
    Bounds: upper from the Gram certificate (rounded up by ``4 (k + 2)
    sqrt(k) u`` per the products' error); lower certified from the column of
    ``G_t`` with the largest norm (it converges to the top singular vector);
    stops when ``(upper - lower) / upper <= tol``.
    """
    xp = op.xp
    maxiter = 64 if maxiter is None else maxiter
    g = op.transposed() if op.m < op.n else op  # G_0 has at least as many rows as columns
    G = g.dense64()
    k = min(op.m, op.n)
    inflate = 1 + gram_rounding_floor(op.m, op.n)
    f = float(xp.linalg.vector_norm(G))
    log_c = math.log(f)
    H = G / f
    lower, upper, err = 0.0, math.exp(log_c) * inflate, math.inf
    converged = False
    t = 0
    for t in range(1, maxiter + 1):
        P = H.T @ H
        if t == 1:
            g.matvecs += k  # the first Gram product multiplies A^T by k columns of A
        P = (P + P.T) / 2
        f = float(xp.linalg.vector_norm(P))
        log_c = 2 * log_c + math.log(f)
        H = P / f
        upper = math.exp(log_c / 2**t) * inflate
        col_norms = xp.linalg.vector_norm(H, axis=0)
        j = int(xp.argmax(col_norms))
        vec = H[:, j]
        lower, w, right = g.certified_lower(vec)
        if g is not op:  # vec is a left vector of A: its right vector is A^T u / ||A^T u||
            right = w / xp.linalg.vector_norm(w) if lower > 0 else w
        err = (upper - lower) / upper if upper > 0 else 0.0
        track.add(g, t, lower, lower, upper, err)
        if err <= tol:
            converged = True
            break
    op.matvecs = g.matvecs
    return Raw(value=lower, lower=lower, upper=upper, converged=converged, iterations=t,
               error_estimate=err, vector=right)

