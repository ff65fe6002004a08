"""What the caller passed: its kind, validation, and the :class:`Operator` built from it.

:func:`classify` names the input's kind once per call; :func:`prepare_dense`,
:func:`prepare_sparse` and :func:`prepare_linop` turn the input (a dense array
of any backend, a SciPy sparse matrix/array, a ``LinearOperator``, a CuPy
sparse matrix; a Dask array through :mod:`._dask_operator`; the dispatch is
:func:`._validate.prepare`) into an :class:`Operator`: the
matrix scaled by an exact power of two so that its largest entry is about 1
(no overflow or underflow in norms or Gram products), cast to its compute
dtype.  The caller's object is never modified: scaling and casting make new
arrays, and a real float matrix whose Frobenius norm already lies in a safe
range (:data:`SAFE_FRO_SQUARED`) is used as it is, unscaled and uncopied.  For
such a matrix one pass over it (:func:`._summary.summarize`) checks that every
entry is finite and yields the cheap bounds, so validation costs about one
read of A.

Dtypes: bool and integer input computes in float64; float16 in float32;
float32 and float64 as given.  Complex dense input is handled through the real
embedding ``[[Re, -Im], [Im, Re]]``, whose singular values are those of A,
each twice.  Object and string dtypes are refused.
"""

from __future__ import annotations

import enum
import math
from typing import Any, NamedTuple

import array_api_compat
import numpy as np

from .. import backends as _backends
from .. import timing as _timing
from .._rounding import abs_sum_upper, conversion_error, duplicate_error, norm_bounds, up
from ._dense_operator import DenseOperator
from ._operator import Operator, format_index
from ._scaling import pow2_exponent, scale_array, scale_data
from ._sparse_operator import MatrixFreeOperator, SparseOperator
from ._summary import Summary, summarize

__all__ = ["InputKind", "InputInfo", "classify", "prepare_dense", "prepare_sparse", "prepare_linop",
           "checked_dtypes", "compute_dtype", "dtype_name", "SAFE_FRO_SQUARED"]

#: A real float matrix with ``||A||_F^2`` in this range is used unscaled: its
#: entries, products and squared singular values stay far inside the float32
#: range (so a float32 working copy is safe too).
SAFE_FRO_SQUARED = (2.0**-60, 2.0**60)


class InputKind(str, enum.Enum):
    """The kinds of input :func:`spectral_norm` takes."""

    DENSE = "dense"
    SCIPY_SPARSE = "scipy.sparse"
    LINEAR_OPERATOR = "LinearOperator"
    CUPY_SPARSE = "cupyx.scipy.sparse"
    DASK = "dask.array"

    def __str__(self) -> str:
        return self.value

    def __format__(self, format_spec: str) -> str:
        return str.__format__(self, format_spec)


class InputInfo(NamedTuple):
    """What :func:`classify` found: kind (None: not an input lipbench takes),
    backend name and ndim."""

    kind: InputKind | None
    backend: str
    ndim: int


def _is_scipy_sparse(A: Any) -> bool:
    import scipy.sparse as sp

    return sp.issparse(A)


def _is_linear_operator(A: Any) -> bool:
    from scipy.sparse.linalg import LinearOperator

    return isinstance(A, LinearOperator)


def _is_cupy_sparse(A: Any) -> bool:
    if not type(A).__module__.startswith("cupyx.scipy.sparse"):
        return False
    import cupyx.scipy.sparse as csp

    return csp.issparse(A)


def classify(A: Any) -> InputInfo:
    """The input's kind, backend and ndim, without validation (no pass over A)."""
    if _is_linear_operator(A):
        return InputInfo(InputKind.LINEAR_OPERATOR, "numpy", 2)
    if _is_scipy_sparse(A):
        return InputInfo(InputKind.SCIPY_SPARSE, "numpy", 2)
    if _is_cupy_sparse(A):
        return InputInfo(InputKind.CUPY_SPARSE, "cupy", 2)
    if type(A).__module__.startswith("dask.array") and hasattr(A, "dask"):
        return InputInfo(InputKind.DASK, "dask", int(A.ndim))
    if isinstance(A, (list, tuple, np.generic)) or np.isscalar(A):
        return InputInfo(InputKind.DENSE, "numpy", int(np.ndim(A)))
    ndim = getattr(A, "ndim", None)
    if ndim is None:
        return InputInfo(None, type(A).__module__.split(".")[0], 0)
    backend = "numpy" if _backends.takes_numpy_view(A) else _backends.backend_name_of(A)
    return InputInfo(InputKind.DENSE, backend, int(ndim))


def _has_rmatvec(op: Any) -> bool:
    from scipy.sparse.linalg import LinearOperator

    custom = getattr(op, "_CustomLinearOperator__rmatvec_impl", "absent")
    if custom is None:
        return False
    if custom != "absent":
        return True
    cls = type(op)
    return not (cls._rmatvec is LinearOperator._rmatvec and cls._adjoint is LinearOperator._adjoint)


def dtype_name(dt: Any) -> str:
    """A dtype's plain name ('float64') for NumPy and array-API dtypes."""
    try:
        return np.dtype(dt).name
    except TypeError:
        return str(dt).split(".")[-1]


def checked_dtypes(A: Any, shape: tuple[int, ...], name: str) -> tuple[str, str]:
    """``(input dtype name, compute dtype)`` of an input of any kind, after
    refusing an empty axis (the checks every kind shares)."""
    if any(s == 0 for s in shape):
        raise ValueError(f"{name} has shape {shape} with a zero-length axis; "
                         "the spectral norm of an empty matrix is undefined")
    in_name = dtype_name(A.dtype)
    return in_name, compute_dtype(in_name, name)


def compute_dtype(name: str, where: str) -> str:
    """float64 / float32 compute dtype for an input dtype name, or raise."""
    if name in ("float64", "float32"):
        return name
    if name in ("float16", "bfloat16"):
        return "float32"
    if name == "bool" or name.startswith(("int", "uint")):
        return "float64"
    if name in ("complex64", "complex128"):
        return "complex"
    if name in ("float128", "float96", "longdouble", "complex256", "complex192", "clongdouble"):
        raise TypeError(f"{where} has dtype {name!r}; extended precision is not supported (its entries would "
                        "be rounded to float64 silently): convert it with astype(float64) or complex128 first")
    raise TypeError(
        f"{where} has dtype {name!r}; the spectral norm needs a real or complex numeric matrix "
        "(bool, integer, float16/32/64 or complex)"
    )


def _check_finite_dense(xp: Any, A: Any, name: str) -> None:
    finite = xp.isfinite(A)
    if bool(xp.all(finite)):
        return
    mask = _backends.to_numpy(xp.logical_not(finite))
    bad = np.argwhere(mask)
    first = tuple(int(i) for i in bad[0])
    entry = _backends.to_numpy(A[first] if A.ndim else A)
    val = float(np.asarray(entry).real) if not np.iscomplexobj(entry) else complex(np.asarray(entry))
    if val != val:
        what = "NaN"
    elif isinstance(val, complex):
        what = "a non-finite value"
    else:
        what = "Inf" if val > 0 else "-Inf"
    more = f" (and {len(bad) - 1} other non-finite entries)" if len(bad) > 1 else ""
    raise ValueError(f"{name} contains {what} at {format_index(first)}{more}; spectral norm is undefined")


def _integer_conversion_error(xp: Any, A: Any, converted: Any, in_name: str, k: int = 1) -> float:
    """Bound on ``||A - float64(A)||_2`` for integer input: 0 unless an entry lies
    beyond 2^53 (``k``: at most that many stored values add up to one entry)."""
    if not in_name.startswith(("int", "uint")) or in_name in ("int8", "int16", "int32", "uint8", "uint16", "uint32"):
        return 0.0
    big = max(abs(int(_backends.to_numpy(xp.max(A)))), abs(int(_backends.to_numpy(xp.min(A)))))
    if big <= 2**53:
        return 0.0
    ss = float(_backends.to_numpy(xp.sum(converted * converted)))
    return conversion_error(norm_bounds(ss, math.prod(int(d) for d in A.shape))[1], k)


def prepare_sparse(A: Any, kind: InputKind, name: str = "A") -> Operator:
    """Validate a SciPy or CuPy sparse matrix and wrap it as an :class:`Operator`."""
    if kind is InputKind.SCIPY_SPARSE:
        return _sparse_common(A, name, array_api_compat.array_namespace(np.empty(0)), "numpy", "cpu", kind)
    import cupy as cp

    return _sparse_common(A, name, array_api_compat.array_namespace(cp.empty(0)), "cupy",
                          _backends.device_name(cp.empty(0)), kind)


def prepare_dense(A: Any, batched_ok: bool, name: str) -> Operator:
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
    if array_api_compat.is_torch_array(A):
        A = A.detach()  # a view: no autograd graph is built and .grad is not touched
    xp = array_api_compat.array_namespace(A)
    shape = tuple(int(s) for s in A.shape)
    if len(shape) < 2:
        raise ValueError(
            f"{name} has shape {shape} ({len(shape)}-D); expected a 2-D matrix (m, n) or a stack "
            "(..., m, n). For a vector x use the 1 x n matrix x[None, :]"
        )
    if len(shape) > 2 and not batched_ok:
        raise ValueError(f"{name} has shape {shape}; this method takes a single 2-D matrix, not a stack")
    in_name, cdt = checked_dtypes(A, shape, name)
    backend = _backends.backend_name_of(A)
    threads = _timing.blas_threads() if isinstance(A, np.ndarray) else None
    conv_err, summary = 0.0, None
    if cdt == "complex":
        if len(shape) > 2:
            raise ValueError(f"{name} is a complex stack {shape}; "
                             "complex input is supported for single 2-D matrices only")
        _check_finite_dense(xp, A, name)
        re, im = xp.real(A), xp.imag(A)
        A = xp.concat([xp.concat([re, -im], axis=1), xp.concat([im, re], axis=1)], axis=0)
        cdt = dtype_name(A.dtype)
        shape = tuple(int(s) for s in A.shape)
    else:
        if in_name not in ("float32", "float64"):
            original, A = A, xp.astype(A, getattr(xp, cdt))
            conv_err = _integer_conversion_error(xp, original, A, in_name)
        if len(shape) == 2:
            summary = summarize(xp, A)
            # (the range test is False for NaN and inf: such input takes the checked path below;
            # a matrix in the safe range has k == 0: its sums are those of A itself)
            if summary.k == 0 and SAFE_FRO_SQUARED[0] <= summary.ss <= SAFE_FRO_SQUARED[1]:
                return DenseOperator(scale=1.0, device=_backends.device_name(A), dense=A, input_error=conv_err,
                                     **_meta(xp, shape, cdt, in_name, backend, threads), **_bounds(summary, 0, shape))
    return _scaled_dense(A, summary, _meta(xp, shape, cdt, in_name, backend, threads), conv_err, name)


def _meta(xp: Any, shape: tuple[int, ...], cdt: str, in_name: str, backend: str, threads: int | None) -> dict:
    """What a dense operator records of its input besides the array and its scale."""
    return dict(kind=InputKind.DENSE, xp=xp, shape=shape, dtype=cdt, input_dtype=in_name, backend=backend,
                threads=threads)


def _bounds(summary: Summary, shift: int, shape: tuple[int, ...]) -> dict:
    """The operator's cheap-bound ingredients from a summary, its sums moved by ``2^shift``."""
    ss, col2, one, inf = summary.sums(shift)
    return dict(_fro=norm_bounds(ss, shape[0] * shape[1])[1], _col2_max=col2, _abs1=one, _absinf=inf)


def _scaled_dense(A: Any, summary: Summary | None, meta: dict, conv_err: float, name: str) -> Operator:
    """The operator of ``A_s = fl(A 2^-e)``, the largest entry in [1/2, 1).  A 2-D
    real matrix's summary is about ``A 2^-k`` (:mod:`._summary`), hence about
    ``A_s`` whenever that copy is exact (``scale_err == 0``); a copy that rounded,
    a stack and the complex embedding (no summary yet) are summarized as copies."""
    xp, shape, cdt = meta["xp"], meta["shape"], meta["dtype"]
    if summary is None:  # a stack or the complex embedding
        # max and min propagate NaN and inf, so two reductions (no temporary the
        # size of A) both find the scale and tell whether an entry needs naming
        hi, lo = (float(x) for x in np.asarray(_backends.to_numpy(xp.stack([xp.max(A), xp.min(A)])),
                                               dtype=np.float64))
        peak = max(abs(hi), abs(lo)) if math.isfinite(hi) and math.isfinite(lo) else math.nan
    else:
        peak = summary.peak
    if not math.isfinite(peak):
        _check_finite_dense(xp, A, name)
    e = pow2_exponent(peak)
    scaled, scale_err = scale_array(xp, A, e, cdt)  # a new array, in A's dtype
    scale = math.ldexp(1.0, e)
    input_error = up(up(conv_err / scale) + scale_err) if conv_err else scale_err
    bounds: dict = {}
    if len(shape) == 2 and peak > 0:
        if summary is not None and not scale_err:
            bounds = _bounds(summary, summary.k - e, shape)
        else:  # the copy's largest entry is peak 2^-e exactly (in [1/2, 2): nothing rounded it)
            bounds = _bounds(summarize(xp, scaled, peak=math.ldexp(peak, -e)), 0, shape)
    return DenseOperator(scale=scale, device=_backends.device_name(A), dense=scaled, is_zero=peak == 0.0,
                         input_error=input_error, **meta, **bounds)


def _sparse_common(A: Any, name: str, xp: Any, backend: str, device: str, kind: InputKind) -> Operator:
    shape = tuple(int(s) for s in A.shape)
    if len(shape) != 2:
        raise ValueError(f"{name} has shape {shape}; expected a 2-D sparse matrix")
    in_name, cdt = checked_dtypes(A, shape, name)
    if cdt == "complex":
        raise TypeError(f"{name} is a complex sparse matrix; complex input is supported for dense arrays only")
    # Through COO on our own copy: SciPy sums duplicate entries inside tocsr()
    # and astype(), in whatever dtype it holds then.  Here they are converted,
    # checked, scaled by a power of two and summed in float64 (float32 could
    # overflow or, past 2^24 values, lose the whole bound), every rounding bounded.
    coo = A.tocoo()
    if in_name == "bool":  # SciPy's meaning of a repeated True is True (logical or), not a count
        coo = coo.copy()
        coo.sum_duplicates()
    k = 1 if getattr(A, "has_canonical_format", False) else _most_duplicates(coo)  # canonical: no duplicates
    if k > 1:
        cdt = "float64"
    original = coo.data
    values = original.astype(getattr(np, cdt) if kind is InputKind.SCIPY_SPARSE else cdt)
    _check_finite_stored(coo, values, name)
    conv_err = (_integer_conversion_error(array_api_compat.array_namespace(original), original, values, in_name, k)
                if original.size else 0.0)
    maxabs = float(np.max(np.abs(_backends.to_numpy(values)))) if values.size else 0.0
    e = pow2_exponent(maxabs)
    values, scale_err = scale_data(values, e)  # a new array: the caller's data is left as it is
    dup_err = _duplicate_error(values, cdt, k)  # in scaled units; the stored values are at most 1 now
    csr = type(coo)((values, (coo.row.copy(), coo.col.copy())), shape=shape).tocsr()  # sums duplicates
    csr.sum_duplicates()
    err = up(scale_err + dup_err) if scale_err and dup_err else scale_err + dup_err  # exact when one is 0
    if k > 1:  # a sum of k values can reach k: scale once more so the largest entry is below 1
        peak = float(np.max(np.abs(_backends.to_numpy(csr.data)))) if csr.nnz else 0.0
        e2 = min(max(pow2_exponent(peak), 0), 1023 - e)  # the scale stays a finite float64
        if e2:
            csr.data, err2 = scale_data(csr.data, e2)
            err, e = up(up(err / math.ldexp(1.0, e2)) + err2), e + e2
    scale = math.ldexp(1.0, e)
    is_zero = not bool(np.any(_backends.to_numpy(csr.data))) if csr.nnz else True
    return SparseOperator(
        kind=kind, xp=xp, shape=shape, dtype=cdt, input_dtype=in_name, scale=scale,
        backend=backend, device=device, sparse=csr, is_zero=is_zero,
        input_error=up(up(conv_err / scale) + err) if conv_err else err,
    )


def _check_finite_stored(coo: Any, values: Any, name: str) -> None:
    """Refuse a stored NaN or inf, naming its position."""
    d = _backends.to_numpy(values)
    if np.all(np.isfinite(d)):
        return
    r, c = _backends.to_numpy(coo.row), _backends.to_numpy(coo.col)
    bad = np.flatnonzero(~np.isfinite(d))
    i = bad[0]
    val = d[i]
    what = "NaN" if val != val else ("Inf" if val > 0 else "-Inf")
    more = f" (and {len(bad) - 1} other non-finite entries)" if len(bad) > 1 else ""
    raise ValueError(f"{name} contains {what} at ({int(r[i])}, {int(c[i])}){more}; spectral norm is undefined")


def _most_duplicates(coo: Any) -> int:
    """The most values a COO matrix stores at one position."""
    if coo.nnz == 0:
        return 1
    keys = _backends.to_numpy(coo.row).astype(np.int64) * coo.shape[1] + _backends.to_numpy(coo.col)
    return int(np.unique(keys, return_counts=True)[1].max())


def _duplicate_error(values: Any, dtype: str, k: int) -> float:
    """Bound on what summing duplicate entries, at most ``k`` per position, rounds
    in ``dtype``: k values summed in any order are off by at most ``gamma_{k-1}``
    times the sum of their absolute values (term ``duplicates``)."""
    if k <= 1:
        return 0.0
    data = _backends.to_numpy(values)
    total = abs_sum_upper(float(np.sum(np.abs(data.astype(np.float64)))), data.size)
    return duplicate_error(k, total, dtype)


def prepare_linop(A: Any, name: str) -> Operator:
    shape = tuple(int(s) for s in A.shape)
    if len(shape) != 2 or any(s == 0 for s in shape):
        raise ValueError(f"{name} is a LinearOperator of shape {shape}; expected a non-empty 2-D operator")
    if not _has_rmatvec(A):
        raise TypeError(
            f"{name} is a LinearOperator without rmatvec; every lipbench method needs products with "
            "A.T as well as A (pass rmatvec= to LinearOperator)"
        )
    in_name = dtype_name(A.dtype) if A.dtype is not None else "float64"
    cdt = compute_dtype(in_name, name)
    if cdt == "complex":
        raise TypeError(f"{name} is a complex LinearOperator; complex input is supported for dense arrays only")
    op = MatrixFreeOperator(
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
        op.scale = math.ldexp(1.0, pow2_exponent(peak))
    else:
        op.is_zero = _probe_zero(op)
    return op


def _probe_zero(op: Operator) -> bool:
    """A LinearOperator whose fixed probes both vanish: every column for small
    operators; otherwise two Gaussian vectors (A x = 0 for a Gaussian x only
    when A = 0, with probability one)."""
    if op.n <= 64:
        probe = np.eye(op.n)
    else:
        probe = np.random.default_rng(12345).standard_normal((op.n, 2))
    op.matvecs += probe.shape[1]
    return not np.any(op.linop.matmat(probe))
