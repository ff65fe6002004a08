"""Input validation and the operator every estimator works on.

:func:`prepare` turns what the caller passed (a dense array of any backend, a
SciPy sparse matrix/array, a ``LinearOperator``, a CuPy sparse matrix) into an
:class:`Operator`: the matrix scaled by an exact power of two so that its
largest entry is about 1 (no overflow or underflow in norms or Gram products),
cast to its compute dtype, with counted products ``A @ x`` and ``A.T @ y``.
The caller's object is never modified: scaling and casting make new arrays,
and a real float matrix whose Frobenius norm already lies in a safe range
(:data:`SAFE_FRO_SQUARED`) is used as it is, unscaled and uncopied (nothing
writes into ``Operator.dense``).  For such a matrix one pass over it
(:func:`dense_summary`) checks that every entry is finite and yields the
cheap bounds (Frobenius norm, largest column norm, ``||A||_1``,
``||A||_inf``), so validation costs about one read of A.

Rules for dtypes: bool and integer input computes in float64; float16 in
float32; float32 and float64 as given.  Complex dense input is handled through
the real embedding ``[[Re, -Im], [Im, Re]]``, whose singular values are those of
A, each twice.  Object and string dtypes are refused.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import numpy as np

from .. import backends as _backends

__all__ = ["Operator", "prepare", "InputKind", "unit_roundoff", "dense_summary"]


class InputKind:
    DENSE = "dense"
    SCIPY_SPARSE = "scipy.sparse"
    LINEAR_OPERATOR = "LinearOperator"
    CUPY_SPARSE = "cupyx.scipy.sparse"


def unit_roundoff(dtype: Any) -> float:
    return float(np.finfo(np.dtype(str(dtype).split(".")[-1])).eps) / 2


def _is_scipy_sparse(A: Any) -> bool:
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        return False
    return sp.issparse(A)


def _is_linear_operator(A: Any) -> bool:
    from scipy.sparse.linalg import LinearOperator

    return isinstance(A, LinearOperator)


def _is_cupy_sparse(A: Any) -> bool:
    mod = type(A).__module__
    if not mod.startswith("cupyx.scipy.sparse"):
        return False
    try:
        import cupyx.scipy.sparse as csp
    except ImportError:  # pragma: no cover
        return False
    return csp.issparse(A)


def _is_cupy_linear_operator(A: Any) -> bool:
    return type(A).__module__.startswith("cupyx.scipy.sparse.linalg")


def _has_rmatvec(op: Any) -> bool:
    from scipy.sparse.linalg import LinearOperator

    custom = getattr(op, "_CustomLinearOperator__rmatvec_impl", "absent")
    if custom is None:
        return False
    if custom != "absent":
        return True
    cls = type(op)
    return not (cls._rmatvec is LinearOperator._rmatvec and cls._adjoint is LinearOperator._adjoint)


def _dtype_name(dt: Any) -> str:
    try:
        return np.dtype(dt).name
    except TypeError:
        return str(dt).split(".")[-1]


def _compute_dtype(name: str, where: str) -> str:
    """float64 / float32 compute dtype for an input dtype name, or raise."""
    if name in ("float64", "float32"):
        return name
    if name == "float16":
        return "float32"
    if name == "bool" or name.startswith(("int", "uint")):
        return "float64"
    if name.startswith("complex"):
        return "complex"
    raise TypeError(
        f"{where} has dtype {name!r}; the spectral norm needs a real or complex numeric matrix "
        "(bool, integer, float16/32/64 or complex)"
    )


def _format_index(idx: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(int(i)) for i in idx) + ")"


@dataclass
class Operator:
    """A matrix (or a stack of them) scaled by ``scale`` = 2**k, ready for estimators.

    ``A_original = scale * A_scaled``.  Products are counted in ``matvecs``
    (a product with a block of b vectors counts b; for a stack, a product with
    every matrix of the stack counts one).
    """

    kind: str
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
    _dense64: Any = field(default=None, repr=False)
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
    def u(self) -> float:
        return unit_roundoff(self.dtype)

    # --------------------------------------------------------------- products
    def _count(self, x: Any) -> None:
        self.matvecs += 1 if x.ndim == 1 or (self.is_batched and x.ndim == len(self.shape) - 1) else int(x.shape[-1])

    def matvec(self, x: Any) -> Any:
        """``A @ x`` for a vector (n,) or a block (n, b); stacks: (..., n) or (..., n, b)."""
        self._count(x)
        if self.dense is not None:
            if self.is_batched and x.ndim == len(self.shape) - 1:
                return (self.dense @ x[..., None])[..., 0]
            return self.dense @ x
        if self.sparse is not None:
            return self.sparse @ x
        y = self.linop.matvec(x) if x.ndim == 1 else self.linop.matmat(x)
        return self._checked(y, "A @ x") / self.scale

    def rmatvec(self, y: Any) -> Any:
        """``A.T @ y`` for a vector (m,) or a block (m, b)."""
        self._count(y)
        if self.dense is not None:
            AT = self.xp.matrix_transpose(self.dense) if self.is_batched else self.dense.T
            if self.is_batched and y.ndim == len(self.shape) - 1:
                return (AT @ y[..., None])[..., 0]
            return AT @ y
        if self.sparse is not None:
            return self.sparse.T @ y
        x = self.linop.rmatvec(y) if y.ndim == 1 else self.linop.rmatmat(y)
        return self._checked(x, "A.T @ y") / self.scale

    def normal_matvec(self, x: Any) -> Any:
        """``A.T @ (A @ x)`` for a vector (n,): two counted products.

        On a C-ordered NumPy matrix both products run in one pass over A, row
        block by row block (``A_i.T @ (A_i @ x)`` summed), so each block is read
        from memory once and used twice while it sits in cache
        (:data:`FUSED_BLOCK_BYTES` per block), when A is larger than
        :data:`FUSED_MIN_BYTES`.  Elsewhere: two products.
        """
        a = self.dense
        if a is None or self.is_batched or x.ndim != 1:
            return self.rmatvec(self.matvec(x))
        self.matvecs += 2
        if (not isinstance(a, np.ndarray) or not a.flags.c_contiguous or x.dtype != a.dtype
                or a.nbytes <= FUSED_MIN_BYTES):
            return a.T @ (a @ x)
        return _row_block_normal(a, x)

    def _checked(self, y: Any, what: str) -> Any:
        y = np.asarray(y, dtype=np.float64).reshape(-1) if np.ndim(y) <= 1 else np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            bad = np.argwhere(~np.isfinite(y))[0]
            raise FloatingPointError(
                f"the LinearOperator returned a non-finite value ({y[tuple(bad)]}) at index "
                f"{_format_index(tuple(bad))} of {what}; spectral norm is undefined"
            )
        return y

    # -------------------------------------------------- certified lower bound
    def dense64(self) -> Any:
        """The scaled dense matrix in float64 (cached), for certification."""
        if self._dense64 is None:
            self._dense64 = (
                self.dense if self.dtype == "float64" else self.xp.astype(self.dense, self.xp.float64)
            )
        return self._dense64

    def sparse64(self) -> Any:
        """The scaled sparse matrix in float64 (cached), for certification."""
        if self._dense64 is None:
            self._dense64 = self.sparse if self.dtype == "float64" else self.sparse.astype("float64")
        return self._dense64

    def certified_lower(self, v: Any) -> tuple[float, Any, Any]:
        """A rigorous lower bound on sigma_max(A_scaled) from a vector v (n,).

        ``||A v|| / ||v||`` is evaluated in float64 (whatever the compute dtype)
        and reduced by its rounding error, ``gamma_{k+2} ||A||_F`` for a unit v
        with k terms per inner product (``||A||_F`` bounded from above).
        Returns the bound, ``w = A v`` and the unit float64 ``v``; costs one
        product with A.
        """
        xp = self.xp
        if self.linop is not None:
            v64 = np.asarray(_backends.to_numpy(v), dtype=np.float64).reshape(-1)
        else:
            v64 = xp.astype(v, xp.float64) if v.dtype != xp.float64 else v
        nv = float(xp.linalg.vector_norm(v64))
        if nv == 0.0:
            return 0.0, None, None
        v64 = v64 / nv
        if self.dense is not None:
            self.matvecs += 1
            w = self.dense64() @ v64
        elif self.sparse is not None:
            self.matvecs += 1
            w = self.sparse64() @ v64
        else:
            w = self.matvec(v64)
        nw = float(xp.linalg.vector_norm(w))
        u64 = unit_roundoff("float64")
        if self.linop is not None:
            # Matrix-free: no entries to bound the rounding with.  Assume the
            # operator's product is as accurate as a dense float64 product,
            # ||fl(Av) - Av|| <= gamma_n ||A||_F <= gamma_n sqrt(min(m, n)) sigma,
            # with sigma ~ ||A v|| for the converged vector.
            g = (self.n + 2) * u64 * math.sqrt(min(self.m, self.n))
            return max(0.0, nw * (1 - 3 * u64 - g) / (1 + g)), w, v64
        return max(0.0, nw * (1 - 3 * u64) - self._rounding_slack()), w, v64

    def certified_lower_from(self, v: Any, w: Any) -> tuple[float, Any, Any]:
        """As :meth:`certified_lower`, for a float64 v whose product ``w = A v``
        was already computed in float64 by the iteration (no product here)."""
        xp = self.xp
        nv = float(xp.linalg.vector_norm(v))
        if nv == 0.0:
            return 0.0, None, None
        v64, w = v / nv, w / nv
        nw = float(xp.linalg.vector_norm(w))
        u64 = unit_roundoff("float64")
        return max(0.0, nw * (1 - 3 * u64) - self._rounding_slack()), w, v64

    def certified_lower_and_residual(self, v: Any) -> tuple[float, Any, Any, float] | None:
        """:meth:`certified_lower` and :meth:`residual_bound64` together, in one
        float64 pass over a C-ordered NumPy matrix (row blocks: ``A_i v`` then
        ``A_i^T (A_i v)`` while the block sits in cache; a float32 matrix is
        converted block by block, so no float64 copy of A is made).  Returns
        ``(lower, w, v64, residual bound)``, or None where the pass does not
        apply (then call the two methods)."""
        a = self._dense64 if self._dense64 is not None else self.dense
        if (a is None or self.is_batched or self.linop is not None or not isinstance(a, np.ndarray)
                or not a.flags.c_contiguous or a.dtype not in (np.float32, np.float64)):
            return None
        v64 = np.asarray(v, dtype=np.float64)
        nv = float(np.linalg.norm(v64))
        if nv == 0.0:
            return 0.0, None, None, math.inf
        v64 = v64 / nv
        w = np.empty(a.shape[0])
        y = _row_block_normal(a, v64, w)
        self.matvecs += 2
        lower, w, v64 = self.certified_lower_from(v64, w)
        return lower, w, v64, self.residual_bound64(w, v64, y)

    def transposed(self) -> "Operator":
        """The operator of A^T for a dense matrix (views; the computed bounds
        carry over, ``||A||_1`` and ``||A||_inf`` swapped).  Its ``matvecs``
        count is its own: copy it back."""
        return dataclasses.replace(self, dense=self.dense.T, shape=(self.n, self.m),
                                   _dense64=None if self._dense64 is None else self._dense64.T,
                                   _col2_max=None, _abs1=self._absinf, _absinf=self._abs1)

    def rmatvec64(self, w: Any) -> Any:
        """``A^T w`` in float64 (the scaled matrix, whatever the compute dtype);
        one product with A^T."""
        if self.linop is not None:
            return self.rmatvec(w)
        self.matvecs += 1
        if self.dense is not None:
            return self.dense64().T @ w
        return self.sparse64().T @ w

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
        return float(xp.linalg.vector_norm(r)) / (2 * theta * theta)

    def _rounding_slack(self) -> float:
        """Upper bound on ||fl(A v) - A v|| for a unit v in float64 products."""
        if self.linop is not None:
            # Matrix-free: no entries to bound the product's rounding with; use
            # the float64 relative model on the computed norm only.
            return 0.0
        u64 = unit_roundoff("float64")
        k = self.n if self.dense is not None else max(1, self.nnz_per_row_max())
        gamma = (k + 2) * u64 / (1 - (k + 2) * u64)
        return gamma * self.fro_upper()

    def nnz_per_row_max(self) -> int:
        if self.sparse is None:
            return self.n
        indptr = _backends.to_numpy(self.sparse.indptr)
        return int(np.max(np.diff(indptr))) if indptr.size > 1 else 0

    # ------------------------------------------------- cheap upper bound
    _fro: float | None = field(default=None, repr=False)

    def fro_upper(self) -> float:
        """An upper bound on ||A_scaled||_F (float64, rounding accounted for)."""
        if self._fro is None:
            if self.dense is not None:
                xp = self.xp
                a = self.dense64()
                ss = float(xp.sum(a * a)) if not self.is_batched else float(xp.max(xp.sum(a * a, axis=(-2, -1))))
                cnt = self.m * self.n
            elif self.sparse is not None:
                d = np.asarray(_backends.to_numpy(self.sparse.data), dtype=np.float64)
                ss = float(np.sum(d * d))
                cnt = max(1, int(d.size))
            else:
                self._fro = math.inf
                return self._fro
            self._fro = _fro_bound(ss, cnt)
        return self._fro

    def cheap_upper(self) -> float:
        """min(||A||_F, sqrt(||A||_1 ||A||_inf)) of the scaled matrix, rounded up."""
        if self.linop is not None:
            return math.inf
        u64 = unit_roundoff("float64")
        if self.dense is not None and self._abs1 is not None and self._absinf is not None:
            one, inf = self._abs1, self._absinf
            cnt = max(self.m, self.n)
        elif self.dense is not None:
            xp = self.xp
            a = xp.abs(self.dense64())
            one = xp.max(xp.sum(a, axis=-2), axis=-1)
            inf = xp.max(xp.sum(a, axis=-1), axis=-1)
            if self.is_batched:
                one, inf = float(xp.max(one)), float(xp.max(inf))
            else:
                one, inf = float(one), float(inf)
            cnt = max(self.m, self.n)
        else:
            a = abs(self.sparse)
            one = float(a.sum(axis=0).max())
            inf = float(a.sum(axis=1).max())
            cnt = max(self.m, self.n)
        prod_bound = math.sqrt(one * inf * (1 + (cnt + 2) * u64) ** 2) * (1 + 2 * u64)
        return min(self.fro_upper(), prod_bound)

    def cheap_lower(self) -> float:
        """max column norm of the scaled matrix (rounded down): a valid lower bound."""
        if self.dense is None:
            return 0.0
        if self._col2_max is None:
            xp = self.xp
            a = self.dense64()
            self._col2_max = float(xp.max(xp.sum(a * a, axis=-2)))
        col = self._col2_max
        u64 = unit_roundoff("float64")
        return math.sqrt(float(col) * max(0.0, 1 - (self.m + 2) * u64)) * (1 - 2 * u64)


# ---------------------------------------------------------------------------
#: Bytes per row block of the one-pass products (:meth:`Operator.normal_matvec`)
#: and of :func:`dense_summary`: a block stays in a core's L2 cache between its
#: two uses.
FUSED_BLOCK_BYTES = 1 << 20
#: :meth:`Operator.normal_matvec` fuses its two products only for matrices
#: larger than this: a smaller one stays in the last-level cache from one
#: product to the next, so the second pass is cheap and the fused loop's
#: per-block calls cost more than they save (2-cpu AMD EPYC with 32 MiB L3,
#: one BLAS thread: fused 360 against 297 us at 1024^2 float64, 188 against
#: 151 us at 1024^2 float32; 9.5 against 13.2 ms at 4096^2 float64).
FUSED_MIN_BYTES = 8 << 20
#: A real float matrix with ``||A||_F^2`` in this range is used unscaled: its
#: entries, products and squared singular values stay far inside the float32
#: range (so a float32 working copy is safe too).
SAFE_FRO_SQUARED = (2.0**-60, 2.0**60)


def _row_block_normal(a: np.ndarray, x: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """``A^T (A x)`` of a C-ordered NumPy matrix in one pass, row block by row
    block (``A_i^T (A_i x)`` summed, :data:`FUSED_BLOCK_BYTES` per block in
    x's dtype), so each block is used twice while it sits in cache; blocks of
    another dtype are converted into a block-sized buffer.  ``A x`` goes into
    ``w`` when given."""
    m, n = a.shape
    rows = min(m, max(1, FUSED_BLOCK_BYTES // (n * x.itemsize)))
    buf = np.empty((rows, n), dtype=x.dtype) if a.dtype != x.dtype else None
    t = np.empty(rows, dtype=x.dtype) if w is None else None
    y, z = np.zeros(n, dtype=x.dtype), np.empty(n, dtype=x.dtype)
    for i in range(0, m, rows):
        b = a[i:i + rows]
        r = b.shape[0]
        if buf is not None:
            np.copyto(buf[:r], b)
            b = buf[:r]
        ti = t[:r] if w is None else w[i:i + r]
        np.matmul(b, x, out=ti)
        np.matmul(b.T, ti, out=z)
        y += z
    return y


def _fro_bound(ss: float, count: int) -> float:
    """Upper bound on ``sqrt(ss)`` for a float64 sum of ``count`` squares."""
    u64 = unit_roundoff("float64")
    return math.sqrt(ss * (1 + (count + 2) * u64)) * (1 + 2 * u64)


def dense_summary(xp: Any, A: Any) -> tuple[float, float, float, float]:
    """``(sum of squares, largest squared column norm, ||A||_1, ||A||_inf)`` of a
    real 2-D matrix, accumulated in float64 (NaN or inf when an entry is not
    finite or a square overflows).

    On a C-ordered NumPy matrix this is one pass over A in cache-sized row
    blocks (absolute values and squares of a block reduced by BLAS products
    with a vector of ones); elsewhere whole-array reductions.
    """
    m, n = (int(d) for d in A.shape)
    if isinstance(A, np.ndarray) and A.flags.c_contiguous:
        rows = min(m, max(1, FUSED_BLOCK_BYTES // (8 * n)))
        col2, col1, row1 = np.zeros(n), np.zeros(n), np.empty(m)
        t = np.empty((rows, n))
        ones_r, ones_n = np.ones(rows), np.ones(n)
        with np.errstate(over="ignore", invalid="ignore"):
            for i in range(0, m, rows):
                b = A[i:i + rows]
                r = b.shape[0]
                ti = t[:r]
                np.abs(b, out=ti)
                col1 += ones_r[:r] @ ti
                row1[i:i + r] = ti @ ones_n
                np.multiply(ti, ti, out=ti)
                col2 += ones_r[:r] @ ti
        return float(np.sum(col2)), float(np.max(col2)), float(np.max(col1)), float(np.max(row1))
    with np.errstate(over="ignore", invalid="ignore"):  # array-API arrays backed by NumPy
        a = A if _dtype_name(A.dtype) == "float64" else xp.astype(A, xp.float64)
        ab = xp.abs(a)
        col2 = xp.sum(a * a, axis=0)
        return (float(xp.sum(col2)), float(xp.max(col2)), float(xp.max(xp.sum(ab, axis=0))),
                float(xp.max(xp.sum(ab, axis=1))))


def _check_finite_dense(xp: Any, A: Any, name: str) -> None:
    finite = xp.isfinite(A)
    if bool(xp.all(finite)):
        return
    mask = _backends.to_numpy(xp.logical_not(finite))
    bad = np.argwhere(mask)
    first = tuple(int(i) for i in bad[0])
    val = _backends.to_numpy(A[first] if A.ndim else A)
    val = float(np.asarray(val).real) if not np.iscomplexobj(val) else complex(np.asarray(val))
    what = "NaN" if val != val else ("Inf" if val > 0 else "-Inf") if not isinstance(val, complex) else "a non-finite value"
    more = f" (and {len(bad) - 1} other non-finite entries)" if len(bad) > 1 else ""
    raise ValueError(f"{name} contains {what} at {_format_index(first)}{more}; spectral norm is undefined")


def _pow2_scale(maxabs: float) -> float:
    """2**e with maxabs / 2**e in [0.5, 1)."""
    return math.ldexp(1.0, math.frexp(maxabs)[1])


def prepare(A: Any, *, batched_ok: bool = True, name: str = "A") -> Operator:
    """Validate ``A`` and wrap it as an :class:`Operator` (see module docstring)."""
    if _is_linear_operator(A) or _is_cupy_linear_operator(A):
        return _prepare_linop(A, name)
    if _is_scipy_sparse(A):
        return _prepare_scipy_sparse(A, name)
    if _is_cupy_sparse(A):
        return _prepare_cupy_sparse(A, name)
    return _prepare_dense(A, batched_ok, name)


def _prepare_dense(A: Any, batched_ok: bool, name: str) -> Operator:
    if isinstance(A, (list, tuple)) or np.isscalar(A):
        A = np.asarray(A)
    if isinstance(A, np.ndarray) and A.dtype.kind in "OUSV":
        raise TypeError(
            f"{name} has dtype {A.dtype.name!r}; the spectral norm needs a numeric matrix "
            "(bool, integer, float or complex)"
        )
    if isinstance(A, np.generic):
        A = np.asarray(A)
    if not array_api_compat.is_array_api_obj(A):
        raise TypeError(
            f"{name} must be a 2-D array (numpy, cupy or any array-API array), a SciPy sparse "
            f"matrix or a LinearOperator; got {type(A).__module__}.{type(A).__qualname__}"
        )
    xp = array_api_compat.array_namespace(A)
    shape = tuple(int(s) for s in A.shape)
    if len(shape) < 2:
        raise ValueError(
            f"{name} has shape {shape} ({len(shape)}-D); expected a 2-D matrix (m, n) or a stack "
            "(..., m, n). For a vector x use the 1 x n matrix x[None, :]"
        )
    if len(shape) > 2 and not batched_ok:
        raise ValueError(f"{name} has shape {shape}; this method takes a single 2-D matrix, not a stack")
    if any(s == 0 for s in shape):
        raise ValueError(f"{name} has shape {shape} with a zero-length axis; the spectral norm of an empty matrix is undefined")
    in_name = _dtype_name(A.dtype)
    cdt = _compute_dtype(in_name, name)
    backend = _backends.backend_name_of(A)
    if cdt == "complex":
        if len(shape) > 2:
            raise ValueError(f"{name} is a complex stack {shape}; complex input is supported for single 2-D matrices only")
        _check_finite_dense(xp, A, name)
        re, im = xp.real(A), xp.imag(A)
        A = xp.concat([xp.concat([re, -im], axis=1), xp.concat([im, re], axis=1)], axis=0)
        cdt = _dtype_name(A.dtype)
        shape = tuple(int(s) for s in A.shape)
    else:
        if in_name not in ("float32", "float64"):
            A = xp.astype(A, getattr(xp, cdt))
        if len(shape) == 2:
            ss, col2, one, inf = dense_summary(xp, A)
            # (the range test is False for NaN and inf: such input takes the checked path below)
            if SAFE_FRO_SQUARED[0] <= ss <= SAFE_FRO_SQUARED[1]:
                return Operator(
                    kind=InputKind.DENSE, xp=xp, shape=shape, dtype=cdt, input_dtype=in_name, scale=1.0,
                    backend=backend, device=_backends.device_name(A), dense=A,
                    _fro=_fro_bound(ss, shape[0] * shape[1]), _col2_max=col2, _abs1=one, _absinf=inf,
                )
    # max and min propagate NaN and inf, so two reductions (no temporary the
    # size of A) both find the scale and tell whether an entry needs naming
    hi, lo = float(xp.max(A)), float(xp.min(A))
    if not (math.isfinite(hi) and math.isfinite(lo)):
        _check_finite_dense(xp, A, name)
    maxabs = max(abs(hi), abs(lo))
    scale = _pow2_scale(maxabs) if maxabs > 0 else 1.0
    # Division by a power of two is exact (barring underflow to subnormals,
    # which the scaling moves entries away from) and makes a new array.
    scaled = A / xp.asarray(scale, dtype=A.dtype) if maxabs > 0 else A
    if scaled is A:
        scaled = xp.asarray(A, copy=True)
    bounds: dict = {}
    if len(shape) == 2 and maxabs > 0:
        # the cheap bounds' ingredients in one pass over the scaled copy
        # (entries in [-1, 1]: no square overflows) instead of three later
        ss, col2, one, inf = dense_summary(xp, scaled)
        bounds = dict(_fro=_fro_bound(ss, shape[0] * shape[1]), _col2_max=col2, _abs1=one, _absinf=inf)
    return Operator(
        kind=InputKind.DENSE, xp=xp, shape=shape, dtype=cdt, input_dtype=in_name, scale=scale,
        backend=backend, device=_backends.device_name(A), dense=scaled, is_zero=maxabs == 0.0, **bounds,
    )


def _sparse_common(A: Any, name: str, xp: Any, backend: str, device: str, kind: str) -> Operator:
    shape = tuple(int(s) for s in A.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} has shape {shape}; expected a 2-D sparse matrix")
    if any(s == 0 for s in shape):
        raise ValueError(f"{name} has shape {shape} with a zero-length axis; the spectral norm of an empty matrix is undefined")
    in_name = _dtype_name(A.dtype)
    cdt = _compute_dtype(in_name, name)
    if cdt == "complex":
        raise TypeError(f"{name} is a complex sparse matrix; complex input is supported for dense arrays only")
    csr = A.tocsr()
    csr = csr.astype(getattr(np, cdt)) if kind == InputKind.SCIPY_SPARSE else csr.astype(cdt)
    data = _backends.to_numpy(csr.data)
    if not np.all(np.isfinite(data)):
        coo = csr.tocoo()
        r, c = _backends.to_numpy(coo.row), _backends.to_numpy(coo.col)
        d = _backends.to_numpy(coo.data)
        bad = np.flatnonzero(~np.isfinite(d))
        i = bad[0]
        val = d[i]
        what = "NaN" if val != val else ("Inf" if val > 0 else "-Inf")
        more = f" (and {len(bad) - 1} other non-finite entries)" if len(bad) > 1 else ""
        raise ValueError(f"{name} contains {what} at ({int(r[i])}, {int(c[i])}){more}; spectral norm is undefined")
    maxabs = float(np.max(np.abs(data))) if data.size else 0.0
    scale = _pow2_scale(maxabs) if maxabs > 0 else 1.0
    scaled = csr * (1.0 / scale) if maxabs > 0 else csr.copy()
    scaled = scaled.astype(csr.dtype)
    return Operator(
        kind=kind, xp=xp, shape=shape, dtype=cdt, input_dtype=in_name, scale=scale,
        backend=backend, device=device, sparse=scaled, is_zero=maxabs == 0.0,
    )


def _prepare_scipy_sparse(A: Any, name: str) -> Operator:
    return _sparse_common(A, name, array_api_compat.array_namespace(np.empty(0)), "numpy", "cpu", InputKind.SCIPY_SPARSE)


def _prepare_cupy_sparse(A: Any, name: str) -> Operator:
    import cupy as cp

    return _sparse_common(A, name, array_api_compat.array_namespace(cp.empty(0)), "cupy",
                          _backends.device_name(cp.empty(0)), InputKind.CUPY_SPARSE)


def _prepare_linop(A: Any, name: str) -> Operator:
    if _is_cupy_linear_operator(A):
        raise TypeError(f"{name} is a CuPy LinearOperator; pass a CuPy array or CuPy sparse matrix instead")
    shape = tuple(int(s) for s in A.shape)
    if len(shape) != 2 or any(s == 0 for s in shape):
        raise ValueError(f"{name} is a LinearOperator of shape {shape}; expected a non-empty 2-D operator")
    if not _has_rmatvec(A):
        raise TypeError(
            f"{name} is a LinearOperator without rmatvec; every lipbench method needs products with "
            "A.T as well as A (pass rmatvec= to LinearOperator)"
        )
    in_name = _dtype_name(A.dtype) if A.dtype is not None else "float64"
    cdt = _compute_dtype(in_name, name)
    if cdt == "complex":
        raise TypeError(f"{name} is a complex LinearOperator; complex input is supported for dense arrays only")
    op = Operator(
        kind=InputKind.LINEAR_OPERATOR, xp=array_api_compat.array_namespace(np.empty(0)), shape=shape,
        dtype="float64", input_dtype=in_name, scale=1.0, backend="numpy", device="cpu", linop=A,
    )
    # No entries to look at: probe one product with a fixed unit vector and
    # scale by the power of two of its largest entry, so that A^T A x cannot
    # overflow (or underflow) for operators with huge (tiny) entries.  The
    # probe also catches a NaN-producing operator before any solver runs.
    probe = op.matvec(np.full(shape[1], 1.0 / math.sqrt(shape[1])))
    peak = float(np.max(np.abs(probe)))
    if peak == 0.0:
        probe = op.rmatvec(np.full(shape[0], 1.0 / math.sqrt(shape[0])))
        peak = float(np.max(np.abs(probe)))
    if peak > 0.0:
        op.scale = _pow2_scale(peak)
    else:
        op.is_zero = _probe_zero(op)
    return op


def _probe_zero(op: "Operator") -> bool:
    """A LinearOperator whose fixed probes both vanish: every column for small
    operators; otherwise two Gaussian vectors (A x = 0 for a Gaussian x only
    when A = 0, with probability one)."""
    if op.n <= 64:
        probe = np.eye(op.n)
    else:
        probe = np.random.default_rng(12345).standard_normal((op.n, 2))
    op.matvecs += probe.shape[1]
    return not np.any(op.linop.matmat(probe))
