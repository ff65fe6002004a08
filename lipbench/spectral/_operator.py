"""The operator every estimator works on: a matrix scaled by a power of two,
with counted products, the certified lower bound of a vector, the float64
residual check and the cheap bounds.  One class per input kind
(:class:`DenseOperator`, :class:`SparseOperator`, :class:`MatrixFreeOperator`;
Dask's in :mod:`._dask_operator`) behind :class:`Operator`'s interface, each in its own module;
:func:`._validate.prepare` builds them; every rounding term comes from
:mod:`._rounding`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import backends as _backends
from .._rounding import abs_sum_upper, lower_from_product, unit_roundoff, up
from . import theory

__all__ = ["Operator", "ProductCount", "FUSED_BLOCK_BYTES", "FUSED_MIN_BYTES", "format_index"]

#: Bytes per row block of the one-pass products (:meth:`Operator.normal_matvec`)
#: and of the one-pass summary: a block stays in a core's L2 cache between its
#: two uses.
FUSED_BLOCK_BYTES = 1 << 20
#: default of ``Operator.fused_min_bytes``: the one-pass ``A^T (A x)`` only
#: pays for matrices that do not stay in the last-level cache between two
#: products (docs/methods.md, "One-pass normal product").
FUSED_MIN_BYTES = 8 << 20


@dataclass
class ProductCount:
    """The products with A of one call, shared by an operator and every copy
    :func:`dataclasses.replace` makes of it (a float32 working copy, A^T's
    view), so no count is copied back by hand."""

    n: int = 0


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
    #: the call's product count, shared with every copy of this operator
    count: ProductCount = field(default_factory=ProductCount, repr=False)
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
    def matvecs(self) -> int:
        """Products with A (or A^T) so far in this call, copies included."""
        return self.count.n

    @matvecs.setter
    def matvecs(self, value: int) -> None:
        self.count.n = value

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

    #: its entries are a dense array (``dense``): the Gram routes and the
    #: cuBLAS steps apply
    dense_entries = False

    def assembled64(self, max_entries: int) -> tuple[Any, str]:
        """The scaled matrix as a dense float64 array for a certificate, or
        None and why it is not assembled (over ``max_entries`` entries, or no
        entries to assemble)."""
        return None, f"a {self.kind} operator has no entries to form a Gram matrix from"

    def sum_squares64(self) -> float:
        """The sum of the squared entries of a matrix with one row or one
        column, in float64 (its 2-norm squared, before rounding is bounded)."""
        raise TypeError(f"a {self.kind} operator has no entries to sum")

    def zero_matrices(self) -> Any:
        """Which matrices of a stack are exactly zero (a host bool array), or
        None for a single matrix."""
        return None

    def explicit_gram(self) -> Any:
        """``A^T A`` in the compute dtype (n products counted): dense kinds only."""
        raise TypeError(f"a {self.kind} operator has no entries to form a Gram matrix from")

    #: its products are assumed as accurate as a dense float64 product, not bounded
    #: (a LinearOperator's): its bracket is never certified
    products_assumed = False

    def with_work_dtype(self, dtype: str) -> Operator:
        """The same matrix worked on in ``dtype`` (float32 or float64): itself
        when it is in that dtype already, else a copy, the float64 matrix kept
        for certification; products on either are counted once, in the
        shared :class:`ProductCount`."""
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
