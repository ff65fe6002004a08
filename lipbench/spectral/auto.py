"""``method="auto"``: the rule that picks a method and its options for an input.

:func:`auto_plan` states the rule as code documentation; ``docs/auto-rule.md``
is the one place that explains it, with the measurements behind each
threshold.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._floors import gram_rounding_floor
from ._inputs import InputInfo, InputKind, classify, dtype_name

__all__ = ["auto_plan", "choose_method", "default_tol"]


#: The thresholds of the rule; docs/auto-rule.md gives the measurements behind each.
#: dense matrices with at most this many entries (or min(m, n) <= 64) go to 'svd'
AUTO_SVD_MAX_ENTRIES = 160 * 160
#: float32 NumPy matrices up to this many entries run Lanczos with engine="propack"
AUTO_PROPACK_MAX_ENTRIES = 256 * 256
#: aspect ratio max(m, n) / min(m, n) from which 'auto' takes the Gram route ...
AUTO_GRAM_ASPECT = 4
#: ... as long as the Gram matrix is at most this wide
AUTO_GRAM_MAX_SIDE = 4096
#: float64 dense input with at least this many entries and tol at least
#: AUTO_MIXED_MIN_TOL runs its Krylov work in float32 (memory-bound products)
AUTO_MIXED_MIN_ENTRIES = 512 * 512
#: ... on CuPy from this many
AUTO_MIXED_MIN_ENTRIES_CUPY = 2048 * 2048
AUTO_MIXED_MIN_TOL = 1e-6
#: ... and down to this tol off CuPy, for the normal-operator iteration and the Gram route
AUTO_MIXED_MIN_TOL_NORMAL = 1e-8
#: basis size at which 'auto' thick-restarts Lanczos on sparse input and LinearOperators
AUTO_SPARSE_MAX_BASIS = 24
#: dense CuPy matrices whose smaller side is at most this go to the Gram iteration ...
AUTO_CUPY_GRAM_MAX_SIDE = 4096
#: the backends whose dense arrays reach auto on a GPU: CuPy, and torch (its
#: CPU tensors arrive as their NumPy view, or natively only when asked)
GPU_BACKENDS = frozenset({"cupy", "torch"})
#: ... when tol is at least this many times the Gram iteration's rounding floor
#: (its proven worst case over matrices: twice it leaves room for any input)
AUTO_CUPY_GRAM_TOL_FACTOR = 2.0


def auto_plan(A: Any, tol: float | None = None, *, warm_start: bool = False) -> tuple[str, dict]:
    """The rule behind ``method="auto"``: (method, options).

    1. a stack ``(..., m, n)`` -> ``svd`` (batched LAPACK/cuSOLVER);
    2. a dense matrix with ``min(m, n) <= 64`` or at most 160 x 160 entries ->
       ``svd`` (exact to rounding and as fast as any iteration at that size);
       with a warm start (``warm_start``, i.e. ``v0`` given) -> ``lanczos``
       instead (on the normal operator off CuPy), which uses it;
       a float32 NumPy matrix of at most 256 x 256 entries (aspect ratio
       below 4, no warm start) -> ``lanczos`` with ``engine="propack"``:
       SciPy's compiled PROPACK steps, verified in float64 like every answer
       (a float64 refinement when its vector misses tol);
    3. a dense CuPy matrix with smaller side at most 4096 and ``tol`` (default
       1e-8) at least 10 times the Gram iteration's rounding floor, without a
       warm start -> ``gram`` (the Gram iteration: its squarings are
       GPU-friendly BLAS-3 products, and it brackets sigma_max from both
       sides);
    4. a dense tall or wide matrix (aspect ratio >= 4, smaller side <= 4096)
       -> ``lanczos`` on its Gram matrix (``gram=True``): one BLAS-3 product,
       then cheap Lanczos steps, certified with A;
    5. other dense matrices -> ``lanczos``; off CuPy on the normal operator
       (``normal=True``: symmetric Lanczos on ``A^T A``, one pass over A per
       step on NumPy instead of two, one basis to reorthogonalize instead of
       two); on CuPy the bidiagonalization (the one-pass product is a CPU
       cache effect);
    6. SciPy sparse matrices -> ``lanczos`` on the normal operator with thick
       restarts (``normal=True, max_basis=24``: the products are cheap, so
       the reorthogonalization against a growing basis would dominate), in
       float32 for float64 input asked for ``tol >= 1e-8``;
    7. LinearOperators -> ``lanczos`` as for SciPy sparse, in their own dtype;
    8. CuPy sparse matrices -> ``lanczos``;
    9. Dask arrays -> ``lanczos`` on the normal operator (one pass over A
       per step; never the bidiagonalization, which takes two).
    In 4 and 5, float64 input of at least 512 x 512 entries (2048 x 2048 on
    CuPy) asked for ``tol >= 1e-8`` (the default) off CuPy, ``tol >= 1e-6``
    on CuPy, works in float32 (``work_dtype="float32"``: products cost about
    half) and is certified and verified in float64, finishing in float64
    when float32 cannot verify ``tol``.  ``tol=None`` plans as the default
    tol that :func:`spectral_norm` then uses.
    """
    return plan(A, classify(A), tol, warm_start)


def plan(A: Any, info: InputInfo, tol: float | None, warm_start: bool) -> tuple[str, dict]:
    """:func:`auto_plan` for an input already classified."""
    kind, backend, ndim = info
    # the tol spectral_norm will use (float64 input: default_tol("float64")), so
    # that leaving tol out and passing the default give the same plan
    want = default_tol("float64") if tol is None else tol
    if kind == InputKind.SCIPY_SPARSE:
        options: dict[str, Any] = {"normal": True, "max_basis": AUTO_SPARSE_MAX_BASIS}
        if dtype_name(A.dtype) == "float64" and want >= AUTO_MIXED_MIN_TOL_NORMAL:
            options["work_dtype"] = "float32"
        return "lanczos", options
    if kind == InputKind.LINEAR_OPERATOR:
        return "lanczos", {"normal": True, "max_basis": AUTO_SPARSE_MAX_BASIS}
    if kind == InputKind.DASK:  # one pass over A per step (docs/dask.md)
        return "lanczos", {"normal": True}
    if kind != InputKind.DENSE:
        return "lanczos", {}
    if ndim > 2:
        return "svd", {}
    shape = tuple(int(x) for x in getattr(A, "shape", np.shape(A)))
    if len(shape) != 2:
        return "svd", {}
    small = min(shape) <= 64 or shape[0] * shape[1] <= AUTO_SVD_MAX_ENTRIES
    if small and not warm_start:
        return "svd", {}
    # a torch tensor here is a CUDA tensor (a CPU one came as its NumPy view):
    # the GPU's rule, measured with CuPy (the same cuBLAS and cuSOLVER)
    gpu = backend in GPU_BACKENDS
    if (gpu and not warm_start and min(shape) <= AUTO_CUPY_GRAM_MAX_SIDE
            and (1e-8 if tol is None else tol) >= AUTO_CUPY_GRAM_TOL_FACTOR * gram_rounding_floor(*shape)):
        return "gram", {}
    if small:
        return "lanczos", {} if gpu else {"normal": True}
    dtype = getattr(A, "dtype", None)
    if (backend == "numpy" and not warm_start and dtype is not None and dtype_name(dtype) == "float32"
            and shape[0] * shape[1] <= AUTO_PROPACK_MAX_ENTRIES and max(shape) < AUTO_GRAM_ASPECT * min(shape)):
        return "lanczos", {"engine": "propack"}
    options = {}
    if max(shape) >= AUTO_GRAM_ASPECT * min(shape) and min(shape) <= AUTO_GRAM_MAX_SIDE:
        options["gram"] = True
    elif not gpu:
        options["normal"] = True
    is_f64 = dtype is not None and dtype_name(dtype) == "float64"
    min_entries = AUTO_MIXED_MIN_ENTRIES_CUPY if gpu else AUTO_MIXED_MIN_ENTRIES
    lenient = options.get("normal") or (options.get("gram") and not gpu)
    min_tol = AUTO_MIXED_MIN_TOL_NORMAL if lenient else AUTO_MIXED_MIN_TOL
    if is_f64 and shape[0] * shape[1] >= min_entries and want >= min_tol:
        options["work_dtype"] = "float32"
    return "lanczos", options


def choose_method(A: Any, tol: float | None = None) -> str:
    """The method ``method="auto"`` picks for ``A`` (see :func:`auto_plan`)."""
    return auto_plan(A, tol)[0]


def default_tol(dtype: str) -> float:
    """1e-8 for float64 work, 1e-5 for float32 work."""
    return 1e-8 if dtype == "float64" else 1e-5
