"""A dense array (or a stack of them) of any array-API backend as an
:class:`._operator.Operator`, with the one-pass normal product of NumPy matrices."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backends as _backends
from .._rounding import norm_bounds
from ._operator import FUSED_BLOCK_BYTES, Operator

__all__ = ["DenseOperator", "row_block_normal"]


@dataclass
class DenseOperator(Operator):
    """A dense array (or a stack) of any array-API backend."""

    def matvec(self, x: Any) -> Any:
        self._count(x)
        if self.is_batched and x.ndim == len(self.shape) - 1:
            return (self.dense @ x[..., None])[..., 0]
        return self.dense @ x

    def rmatvec(self, y: Any) -> Any:
        self._count(y)
        AT = self.xp.matrix_transpose(self.dense) if self.is_batched else self.dense.T
        if self.is_batched and y.ndim == len(self.shape) - 1:
            return (AT @ y[..., None])[..., 0]
        return AT @ y

    def normal_matvec(self, x: Any) -> Any:
        """``A.T @ (A @ x)`` for a vector (n,): two counted products.

        On a C-ordered NumPy matrix both products run in one pass over A, row
        block by row block (``A_i.T @ (A_i @ x)`` summed), so each block is read
        from memory once and used twice while it sits in cache
        (:data:`FUSED_BLOCK_BYTES` per block), when A is larger than
        ``fused_min_bytes`` and the BLAS runs one thread.  Elsewhere two
        products, which a threaded BLAS splits over its threads (the blocks'
        small calls it does not).
        """
        a = self.dense
        if self.is_batched or x.ndim != 1:
            return self.rmatvec(self.matvec(x))
        self.matvecs += 2
        if (not isinstance(a, np.ndarray) or not a.flags.c_contiguous or x.dtype != a.dtype
                or a.nbytes <= self.fused_min_bytes or (self.threads or 1) > 1):
            return a.T @ (a @ x)
        return row_block_normal(a, x, block_bytes=self.block_bytes)

    def dense64(self) -> Any:
        """The scaled dense matrix in float64 (cached), for certification."""
        if self._exact64 is None:
            self._exact64 = (
                self.dense if self.dtype == "float64" else self.xp.astype(self.dense, self.xp.float64)
            )
        return self._exact64

    def _product64(self, v64: Any) -> Any:
        self.matvecs += 1
        return self.dense64() @ v64

    def with_work_dtype(self, dtype: str) -> Operator:
        if self.dtype == dtype:
            return self
        if dtype == "float64":
            return dataclasses.replace(self, dense=self.dense64(), dtype="float64")
        xp = self.xp
        return dataclasses.replace(self, dense=xp.astype(self.dense, getattr(xp, dtype)), dtype=dtype,
                                   _exact64=self.dense)

    def rmatvec64(self, w: Any) -> Any:
        self.matvecs += 1
        return self.dense64().T @ w

    def certified_lower_and_residual(self, v: Any) -> tuple[float, Any, Any, float] | None:
        """:meth:`certified_lower` and :meth:`residual_bound64` together, in one
        float64 pass over a C-ordered NumPy matrix (row blocks: ``A_i v`` then
        ``A_i^T (A_i v)`` while the block sits in cache; a float32 matrix is
        converted block by block, so no float64 copy of A is made).  Returns
        ``(lower, w, v64, residual bound)``, or None where the pass does not
        apply (then call the two methods)."""
        a = self._exact64 if self._exact64 is not None else self.dense
        if (self.is_batched or not isinstance(a, np.ndarray)
                or not a.flags.c_contiguous or a.dtype not in (np.float32, np.float64)):
            return None
        v64 = np.asarray(v, dtype=np.float64)
        nv = float(np.linalg.norm(v64))
        if nv == 0.0:
            return 0.0, None, None, math.inf
        v64 = v64 / nv
        if (self.threads or 1) > 1 and a.dtype == np.float64:  # two products the BLAS threads
            w = a @ v64
            y = a.T @ w
        else:
            w = np.empty(a.shape[0])
            y = row_block_normal(a, v64, w, block_bytes=self.block_bytes)
        self.matvecs += 2
        lower, w, v64 = self.certified_lower_from(v64, w)
        return lower, w, v64, self.residual_bound64(w, v64, y)

    dense_entries = True

    def assembled64(self, max_entries: int) -> tuple[Any, str]:
        return self.dense64(), ""

    def sum_squares64(self) -> float:
        xp = self.xp
        a = xp.reshape(self.dense64(), (-1,))
        return float(xp.vecdot(a, a))

    def zero_matrices(self) -> Any:
        if not self.is_batched:
            return None
        xp = self.xp
        return np.asarray(_backends.to_numpy(xp.max(xp.abs(self.dense), axis=(-2, -1)))) == 0

    def explicit_gram(self) -> Any:
        self.matvecs += self.n
        return self.dense.T @ self.dense

    def transposed(self) -> DenseOperator:
        """The operator of A^T (views; the computed bounds carry over,
        ``||A||_1`` and ``||A||_inf`` swapped), counting into the same
        :class:`ProductCount`."""
        return dataclasses.replace(self, dense=self.dense.T, shape=(self.n, self.m),
                                   _exact64=None if self._exact64 is None else self._exact64.T,
                                   _col2_max=None, _abs1=self._absinf, _absinf=self._abs1)

    def fro_upper(self) -> float:
        if self._fro is None:
            xp = self.xp
            a = self.dense64()
            ss = float(xp.sum(a * a)) if not self.is_batched else float(xp.max(xp.sum(a * a, axis=(-2, -1))))
            self._fro = norm_bounds(ss, self.m * self.n)[1]
        return self._fro

    def cheap_upper(self) -> float:
        if self._abs1 is not None and self._absinf is not None:
            one, inf = self._abs1, self._absinf
        else:
            xp = self.xp
            a = xp.abs(self.dense64())
            one_a = xp.max(xp.sum(a, axis=-2), axis=-1)
            inf_a = xp.max(xp.sum(a, axis=-1), axis=-1)
            one, inf = (float(xp.max(one_a)), float(xp.max(inf_a))) if self.is_batched else (float(one_a), float(inf_a))
        return self._norm_product_upper(one, inf)

    def cheap_lower(self) -> float:
        """max column norm of the scaled matrix (rounded down): a valid lower bound."""
        if self._col2_max is None:
            xp = self.xp
            a = self.dense64()
            self._col2_max = float(xp.max(xp.sum(a * a, axis=-2)))
        return norm_bounds(float(self._col2_max), self.m)[0]


def row_block_normal(a: np.ndarray, x: np.ndarray, w: np.ndarray | None = None, *,
                     block_bytes: int = FUSED_BLOCK_BYTES) -> np.ndarray:
    """``A^T (A x)`` of a C-ordered NumPy matrix in one pass, row block by row
    block (``A_i^T (A_i x)`` summed, ``block_bytes`` per block in x's dtype),
    so each block is used twice while it sits in cache; blocks of another
    dtype are converted into a block-sized buffer.  ``A x`` goes into ``w``
    when given."""
    m, n = a.shape
    rows = min(m, max(1, block_bytes // (n * x.itemsize)))
    buf = np.empty((rows, n), dtype=x.dtype) if a.dtype != x.dtype else None
    t = np.empty(rows, dtype=x.dtype) if w is None else w  # where A_i x goes: a block of scratch, or w's rows
    y, z = np.zeros(n, dtype=x.dtype), np.empty(n, dtype=x.dtype)
    for i in range(0, m, rows):
        b = a[i:i + rows]
        r = b.shape[0]
        if buf is not None:
            np.copyto(buf[:r], b)
            b = buf[:r]
        ti = t[:r] if w is None else t[i:i + r]
        np.matmul(b, x, out=ti)
        np.matmul(b.T, ti, out=z)
        y += z
    return y
