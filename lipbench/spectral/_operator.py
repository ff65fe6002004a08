"""The operator every estimator works on: a matrix scaled by a power of two,
with counted products, the certified lower bound of a vector, the float64
residual check and the cheap bounds.  One class per input kind
(:class:`DenseOperator`, :class:`SparseOperator`, :class:`MatrixFreeOperator`;
Dask's in :mod:`._dask_operator`) behind :class:`Operator`'s interface;
:func:`._validate.prepare` builds them; every rounding term comes from
:mod:`._rounding`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backends as _backends
from .._rounding import abs_sum_upper, linop_lower_bound, lower_from_product, norm_bounds, unit_roundoff, up
from . import theory

__all__ = ["Operator", "DenseOperator", "SparseOperator", "MatrixFreeOperator", "FUSED_BLOCK_BYTES",
           "FUSED_MIN_BYTES", "row_block_normal"]

#: Bytes per row block of the one-pass products (:meth:`Operator.normal_matvec`)
#: and of the one-pass summary: a block stays in a core's L2 cache between its
#: two uses.
FUSED_BLOCK_BYTES = 1 << 20
#: default of ``Operator.fused_min_bytes``: the one-pass ``A^T (A x)`` only
#: pays for matrices that do not stay in the last-level cache between two
#: products (docs/methods.md, "One-pass normal product").
FUSED_MIN_BYTES = 8 << 20


def format_index(idx: tuple[int, ...]) -> str:
    """An index as ``(i, j)`` (a 1-D index without the tuple's trailing comma)."""
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


@dataclass
class Operator:
    """A matrix (or a stack of them) scaled by ``scale`` = 2**k, ready for estimators.

    ``A_original = scale * A_scaled``.  Products are counted in ``matvecs``
    (a product with a block of b vectors counts b; for a stack, a product with
    every matrix of the stack counts one).
    """

    kind: Any  # an _inputs.InputKind
    xp: Any
    shape: tuple[int, ...]
    dtype: str  # compute dtype name
    input_dtype: str
    scale: float
    backend: str
    device: str
    dense: Any = None  # scaled dense array (backend), or None
    sparse: Any = None  # scaled sparse matrix (CSR), or None
    linop: Any = None  # LinearOperator (unscaled), or None
    is_zero: bool = False
    matvecs: int = 0
    #: the one-pass A^T (A x) runs only on matrices larger than this ...
    fused_min_bytes: int = FUSED_MIN_BYTES
    #: ... in row blocks of this many bytes
    block_bytes: int = FUSED_BLOCK_BYTES
    #: BLAS threads of the call (NumPy): with more than one, the one-pass
    #: products become whole BLAS calls, which the BLAS splits over its threads
    threads: int | None = None
    #: bound on ``||A_original / scale - A_scaled||_2`` (integers past 2^53,
    #: entries scaled into the subnormal range): the driver widens the bracket by it
    input_error: float = 0.0
    #: the scaled matrix in float64 (dense or sparse), cached for certification
    _exact64: Any = field(default=None, repr=False)
    # cheap-bound ingredients of the scaled matrix, computed in float64 by
    # prepare's one-pass summary (None: computed on first use)
    _col2_max: float | None = field(default=None, repr=False)  # largest squared column norm
    _abs1: float | None = field(default=None, repr=False)  # ||A||_1 (largest absolute column sum)
    _absinf: float | None = field(default=None, repr=False)  # ||A||_inf (largest absolute row sum)

    # ------------------------------------------------------------------ shape
    @property
    def m(self) -> int:
        return self.shape[-2]

    @property
    def n(self) -> int:
        return self.shape[-1]

    @property
    def batch_shape(self) -> tuple[int, ...]:
        return self.shape[:-2]

    @property
    def is_batched(self) -> bool:
        return len(self.shape) > 2

    @property
    def on_device(self) -> bool:
        """Vectors live on an accelerator-style backend (CuPy, array-api-strict
        as its stand-in), where every read of a scalar is a host transfer; a
        Dask operator keeps its vectors in NumPy on the client."""
        return self.backend not in ("numpy", "dask") and self.linop is None

    @property
    def u(self) -> float:
        return unit_roundoff(self.dtype)

    # --------------------------------------------------------------- products
    def _count(self, x: Any) -> None:
        self.matvecs += 1 if x.ndim == 1 or (self.is_batched and x.ndim == len(self.shape) - 1) else int(x.shape[-1])

    def matvec(self, x: Any) -> Any:
        """``A @ x`` for a vector (n,) or a block (n, b); stacks: (..., n) or (..., n, b)."""
        raise NotImplementedError

    def rmatvec(self, y: Any) -> Any:
        """``A.T @ y`` for a vector (m,) or a block (m, b)."""
        raise NotImplementedError

    def normal_matvec(self, x: Any) -> Any:
        """``A.T @ (A @ x)`` for a vector (n,): two counted products."""
        return self.rmatvec(self.matvec(x))

    def dense64(self) -> Any:
        """The scaled dense matrix in float64 (dense kinds only)."""
        raise TypeError(f"a {self.kind} operator has no dense matrix")

    def sparse64(self) -> Any:
        """The scaled sparse matrix in float64 (sparse kinds only)."""
        raise TypeError(f"a {self.kind} operator has no sparse matrix")

    def transposed(self) -> Operator:
        """The operator of A^T (dense kinds only)."""
        raise TypeError(f"a {self.kind} operator is not transposed in place")

    #: its products are assumed as accurate as a dense float64 product, not bounded
    #: (a LinearOperator's): its bracket is never certified
    products_assumed = False

    def with_work_dtype(self, dtype: str) -> Operator:
        """The same matrix worked on in ``dtype`` (float32 or float64): itself
        when it is in that dtype already, else a copy, the float64 matrix kept
        for certification.  Its ``matvecs`` count starts from this one's: copy
        it back."""
        if self.dtype == dtype:
            return self
        raise TypeError(f"a {self.kind} operator works in {self.dtype} only")

    # -------------------------------------------------- certified lower bound
    def _product64(self, v64: Any) -> Any:
        """``A v`` in float64 (the scaled matrix, whatever the compute dtype): one product."""
        return self.matvec(v64)

    def rmatvec64(self, w: Any) -> Any:
        """``A^T w`` in float64 (the scaled matrix, whatever the compute dtype);
        one product with A^T."""
        return self.rmatvec(w)

    def certified_lower(self, v: Any) -> tuple[float, Any, Any]:
        """A rigorous lower bound on sigma_max(A_scaled) from a vector v (n,).

        ``||A v|| / ||v||`` with ``A v`` and both norms evaluated in float64
        (whatever the compute dtype), every rounding bounded by
        :func:`lipbench._rounding.lower_from_product`.  Returns the bound,
        ``w = A v`` and v in float64 scaled to about unit length; costs one
        product with A.
        """
        xp = self.xp
        v64 = xp.astype(v, xp.float64) if v.dtype != xp.float64 else v
        return self.certified_lower_from(v64, self._product64(v64))

    def certified_lower_stacked(self, v: Any, residual: bool = False) -> tuple[float, float, Any, Any, float | None]:
        """:meth:`certified_lower` (and, with ``residual``,
        :meth:`residual_bound64`) of a dense or sparse operator, with every
        scalar read in one transfer: the sums stay on the device until one
        stacked read (on a GPU each ``float()`` waits for the queue).  The
        same float64 arithmetic and bounds.  Returns ``(lower, ||A v|| / ||v||,
        w, v64, residual bound or None)``, w and v64 scaled by ``1 / ||v||``."""
        xp = self.xp
        v64 = xp.astype(v, xp.float64) if v.dtype != xp.float64 else v
        w = self._product64(v64)
        nv = xp.maximum(xp.linalg.vector_norm(v64), xp.asarray(np.finfo(np.float64).tiny, dtype=xp.float64))
        parts = [xp.vecdot(v64, v64), xp.vecdot(w, w)]
        if residual:
            wn, vn = w / nv, v64 / nv
            theta = xp.linalg.vector_norm(wn)
            parts += [theta, xp.linalg.vector_norm(self.rmatvec64(wn) - (theta * theta) * vn)]
        h = np.asarray(_backends.to_numpy(xp.stack(parts)), dtype=np.float64)
        if h[0] == 0.0:
            return 0.0, 0.0, None, None, math.inf if residual else None
        lower = lower_from_product(h[1], self.m, h[0], self.n, self._inner_terms(), self.fro_upper())
        theta = math.sqrt(h[1] / h[0])
        verified = (theory.residual_error(float(h[2]), float(h[3])) if h[2] > 0 else math.inf) if residual else None
        return float(lower), theta, w / nv, v64 / nv, verified

    def certified_lower_from(self, v: Any, w: Any) -> tuple[float, Any, Any]:
        """As :meth:`certified_lower`, for a float64 v whose product ``w = A v``
        was already computed in float64 (no product here).  Returns the bound
        and ``w``, ``v`` scaled by ``1 / ||v||``."""
        xp = self.xp
        ss_v = float(xp.vecdot(v, v))
        if ss_v == 0.0:
            return 0.0, None, None
        ss_w = float(xp.vecdot(w, w))
        lower = self._lower_from_sums(ss_w, ss_v)
        nv = math.sqrt(ss_v)
        return lower, w / nv, v / nv

    def _lower_from_sums(self, ss_w: float, ss_v: float) -> float:
        """The certified lower bound from the computed ``||A v||^2`` and ``||v||^2``."""
        return float(lower_from_product(ss_w, self.m, ss_v, self.n, self._inner_terms(), self.fro_upper()))

    def certified_lower_and_residual(self, v: Any) -> tuple[float, Any, Any, float] | None:
        """:meth:`certified_lower` and :meth:`residual_bound64` in one pass, where
        the operator can (a C-ordered NumPy matrix); None elsewhere."""
        return None

    def residual_bound64(self, w: Any, v64: Any, atw: Any = None) -> float:
        """Relative-error bound ``||A^T A v - theta^2 v|| / (2 theta^2)`` of the
        unit float64 vector v with ``w = A v``, evaluated in float64 (one product
        with A^T, unless ``atw = A^T w`` is given): some singular value lies this
        close to ``theta = ||w||``."""
        xp = self.xp
        theta = float(xp.linalg.vector_norm(w))
        if theta == 0.0:
            return math.inf
        r = (self.rmatvec64(w) if atw is None else atw) - (theta * theta) * v64
        return theory.residual_error(theta, float(xp.linalg.vector_norm(r)))

    def _inner_terms(self) -> int:
        """Terms per entry of a product with A (the columns, unless fewer are stored)."""
        return max(1, self.n)

    # ------------------------------------------------- cheap bounds
    _fro: float | None = field(default=None, repr=False)

    def fro_upper(self) -> float:
        """An upper bound on ||A_scaled||_F (float64, rounding accounted for): inf
        unless the kind can bound it."""
        return math.inf if self._fro is None else self._fro

    def cheap_upper(self) -> float:
        """min(||A||_F, sqrt(||A||_1 ||A||_inf)) of the scaled matrix, rounded up; inf without entries."""
        return math.inf

    def cheap_lower(self) -> float:
        """A valid lower bound from the entries (the largest column norm); 0 without entries."""
        return 0.0

    def _norm_product_upper(self, one: float, inf: float) -> float:
        return min(self.fro_upper(), up(math.sqrt(up(abs_sum_upper(one, self.m) * abs_sum_upper(inf, self.n)))))


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

    def transposed(self) -> DenseOperator:
        """The operator of A^T (views; the computed bounds carry over,
        ``||A||_1`` and ``||A||_inf`` swapped).  Its ``matvecs`` count is its
        own: copy it back."""
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


@dataclass
class SparseOperator(Operator):
    """A SciPy or CuPy sparse matrix (CSR, duplicates summed)."""

    def matvec(self, x: Any) -> Any:
        self._count(x)
        return self.sparse @ x

    def rmatvec(self, y: Any) -> Any:
        self._count(y)
        return self.sparse.T @ y

    def sparse64(self) -> Any:
        """The scaled sparse matrix in float64 (cached), for certification."""
        if self._exact64 is None:
            self._exact64 = self.sparse if self.dtype == "float64" else self.sparse.astype("float64")
        return self._exact64

    def _product64(self, v64: Any) -> Any:
        self.matvecs += 1
        return self.sparse64() @ v64

    def with_work_dtype(self, dtype: str) -> Operator:
        if self.dtype == dtype:
            return self
        if dtype == "float64":
            return dataclasses.replace(self, sparse=self.sparse64(), dtype="float64")
        return dataclasses.replace(self, sparse=self.sparse.astype(dtype), dtype=dtype, _exact64=self.sparse)

    def rmatvec64(self, w: Any) -> Any:
        self.matvecs += 1
        return self.sparse64().T @ w

    def _inner_terms(self) -> int:
        return max(1, self.nnz_per_row_max())

    def nnz_per_row_max(self) -> int:
        indptr = _backends.to_numpy(self.sparse.indptr)
        return int(np.max(np.diff(indptr))) if indptr.size > 1 else 0

    def fro_upper(self) -> float:
        if self._fro is None:  # the float64 matrix the bounds are about, not a float32 working copy
            d = np.asarray(_backends.to_numpy(self.sparse64().data), dtype=np.float64)
            self._fro = norm_bounds(float(np.sum(d * d)), max(1, int(d.size)))[1]
        return self._fro

    def cheap_upper(self) -> float:
        a = abs(self.sparse64())  # summed in float64, as the bound assumes
        return self._norm_product_upper(float(a.sum(axis=0).max()), float(a.sum(axis=1).max()))


@dataclass
class MatrixFreeOperator(Operator):
    """A ``scipy.sparse.linalg.LinearOperator``: products only, unscaled, its
    results checked for non-finite values; no entries to bound anything with."""

    products_assumed = True

    def matvec(self, x: Any) -> Any:
        self._count(x)
        y = self.linop.matvec(x) if x.ndim == 1 else self.linop.matmat(x)
        return self._checked(y, "A @ x") / self.scale

    def rmatvec(self, y: Any) -> Any:
        self._count(y)
        x = self.linop.rmatvec(y) if y.ndim == 1 else self.linop.rmatmat(y)
        return self._checked(x, "A.T @ y") / self.scale

    def _checked(self, y: Any, what: str) -> Any:
        y = np.asarray(y, dtype=np.float64).reshape(-1) if np.ndim(y) <= 1 else np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            bad = np.argwhere(~np.isfinite(y))[0]
            raise FloatingPointError(
                f"the LinearOperator returned a non-finite value ({y[tuple(bad)]}) at index "
                f"{format_index(tuple(bad))} of {what}; spectral norm is undefined"
            )
        return y

    def certified_lower(self, v: Any) -> tuple[float, Any, Any]:
        v64 = np.asarray(_backends.to_numpy(v), dtype=np.float64).reshape(-1)
        return self.certified_lower_from(v64, self.matvec(v64))

    def _lower_from_sums(self, ss_w: float, ss_v: float) -> float:
        return linop_lower_bound(math.sqrt(ss_w / ss_v), self.m, self.n)


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


