"""sigma_max with a certified bracket: the registry of methods and the driver.

``spectral_norm(A, method=...)`` validates A, scales it by a power of two,
runs the method, intersects the method's bracket with cheap valid bounds and
scales everything back.  See :data:`METHODS` for the methods and
:func:`choose_method` for what ``"auto"`` picks.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import backends as _backends
from ._common import Raw, Tracker, lanczos_steps_theory
from ._operator import InputKind, Operator, prepare, unit_roundoff
from ._result import ConvergenceWarning, HistoryEntry, NotConvergedError, SpectralNormResult
from .dense import full_svd, gram_iteration, gram_rounding_floor
from .gpu import cupy_eigsh
from .krylov import lanczos_bidiagonal, power_iteration, randomized_block_krylov
from .scipy_solvers import interpolative_estimate, svds_solver

__all__ = [
    "spectral_norm",
    "METHODS",
    "MethodInfo",
    "choose_method",
    "auto_plan",
    "default_tol",
    "SpectralNormResult",
    "HistoryEntry",
    "ConvergenceWarning",
    "NotConvergedError",
    "lanczos_steps_theory",
]

ALL_KINDS = frozenset({InputKind.DENSE, InputKind.SCIPY_SPARSE, InputKind.LINEAR_OPERATOR, InputKind.CUPY_SPARSE})
ALL_BACKENDS = frozenset({"numpy", "cupy", "array_api_strict"})


@dataclass(frozen=True)
class MethodInfo:
    """One entry of :data:`METHODS`."""

    name: str
    function: Callable[..., Raw]
    summary: str
    kinds: frozenset[str]
    backends: frozenset[str]
    batched: bool = False
    options: tuple[str, ...] = ()
    fixed: dict = field(default_factory=dict)

    @property
    def doc(self) -> str:
        """Algorithm, cost per iteration and what the bounds guarantee."""
        return self.function.__doc__ or ""

    def applies_to(self, A: Any) -> tuple[bool, str]:
        """Whether this method takes ``A``, and why not (a full sentence) if not."""
        kind, backend, ndim = classify(A)
        if kind is None:
            return False, f"method {self.name!r} cannot take an object of type {type(A).__name__}"
        if kind not in self.kinds:
            return False, (f"method {self.name!r} does not take {kind} input; it takes "
                           f"{', '.join(sorted(self.kinds))}")
        if backend not in self.backends:
            return False, (f"method {self.name!r} runs on {', '.join(sorted(self.backends))} arrays; "
                           f"got a {backend} array")
        if ndim > 2 and not self.batched:
            return False, (f"method {self.name!r} takes one 2-D matrix, not a stack of ndim {ndim}; "
                           "use 'svd' or 'power' for stacks")
        return True, ""


def classify(A: Any) -> tuple[str | None, str, int]:
    """(input kind, backend name, ndim) of a candidate input, without validation."""
    from ._operator import _is_cupy_sparse, _is_linear_operator, _is_scipy_sparse

    if _is_linear_operator(A):
        return InputKind.LINEAR_OPERATOR, "numpy", 2
    if _is_scipy_sparse(A):
        return InputKind.SCIPY_SPARSE, "numpy", 2
    if _is_cupy_sparse(A):
        return InputKind.CUPY_SPARSE, "cupy", 2
    if isinstance(A, (list, tuple, np.generic)) or np.isscalar(A):
        return InputKind.DENSE, "numpy", int(np.ndim(A))
    ndim = getattr(A, "ndim", None)
    if ndim is None:
        return None, type(A).__module__.split(".")[0], 0
    return InputKind.DENSE, _backends.backend_name_of(A), int(ndim)


def _svds(solver: str) -> Callable[..., Raw]:
    def run(op: Operator, **kw: Any) -> Raw:
        return svds_solver(op, solver=solver, **kw)

    run.__doc__ = (f"``scipy.sparse.linalg.svds(solver={solver!r})``.\n\n" + (svds_solver.__doc__ or ""))
    run.__name__ = f"svds_{solver}"
    return run


_SCIPY_KINDS = frozenset({InputKind.DENSE, InputKind.SCIPY_SPARSE, InputKind.LINEAR_OPERATOR})
_MATRIX_FREE = frozenset({InputKind.DENSE, InputKind.SCIPY_SPARSE, InputKind.LINEAR_OPERATOR, InputKind.CUPY_SPARSE})

_METHODS: dict[str, MethodInfo] = {
    "svd": MethodInfo("svd", full_svd, "full dense SVD (LAPACK gesdd/gesvd, cuSOLVER)",
                      frozenset({InputKind.DENSE}), ALL_BACKENDS, batched=True),
    "power": MethodInfo("power", power_iteration, "power iteration on A^T A, error-bounded stopping",
                        _MATRIX_FREE, ALL_BACKENDS, batched=True),
    "lanczos": MethodInfo("lanczos", lanczos_bidiagonal, "Golub-Kahan-Lanczos bidiagonalization, full reorthogonalization",
                          _MATRIX_FREE, ALL_BACKENDS, options=("work_dtype", "gram", "normal", "max_basis", "engine")),
    "arpack": MethodInfo("arpack", _svds("arpack"), "scipy.sparse.linalg.svds with ARPACK", _SCIPY_KINDS,
                         frozenset({"numpy"})),
    "propack": MethodInfo("propack", _svds("propack"), "scipy.sparse.linalg.svds with PROPACK", _SCIPY_KINDS,
                          frozenset({"numpy"})),
    "lobpcg": MethodInfo("lobpcg", _svds("lobpcg"), "scipy.sparse.linalg.svds with LOBPCG", _SCIPY_KINDS,
                         frozenset({"numpy"})),
    "cupy-eigsh": MethodInfo("cupy-eigsh", cupy_eigsh, "cupyx.scipy.sparse.linalg.eigsh on A^T A",
                             frozenset({InputKind.DENSE, InputKind.CUPY_SPARSE}), frozenset({"cupy"})),
    "interpolative": MethodInfo("interpolative", interpolative_estimate,
                                "scipy.linalg.interpolative.estimate_spectral_norm", _SCIPY_KINDS,
                                frozenset({"numpy"})),
    "randomized": MethodInfo("randomized", randomized_block_krylov,
                             "randomized block Krylov (Musco & Musco 2015)", _MATRIX_FREE, ALL_BACKENDS,
                             options=("block_size",)),
    "gram": MethodInfo("gram", gram_iteration, "Gram iteration (Delattre et al. 2023), certified upper bound",
                       frozenset({InputKind.DENSE}), ALL_BACKENDS),
}


class _Methods(Mapping):
    """Read-only registry: method name -> :class:`MethodInfo`."""

    def __getitem__(self, key: str) -> MethodInfo:
        return _METHODS[key]

    def __iter__(self):
        return iter(_METHODS)

    def __len__(self) -> int:
        return len(_METHODS)

    def __repr__(self) -> str:
        return "METHODS(" + ", ".join(_METHODS) + ")"


METHODS: Mapping[str, MethodInfo] = _Methods()

#: dense matrices with at most this many entries (or min(m, n) <= 64) go to
#: 'svd' under 'auto': the full SVD is exact and, up to about 160^2, as fast
#: as the iteration's per-step overhead (from 192^2 the iteration wins: 1.7x
#: at 192^2, 2.7x at 256^2 in float64 at tol 1e-6; benchmarks/auto_rule.py)
AUTO_SVD_MAX_ENTRIES = 160 * 160
#: float32 NumPy matrices above AUTO_SVD_MAX_ENTRIES and up to this many
#: entries (aspect ratio below AUTO_GRAM_ASPECT, no warm start) run Lanczos
#: with ``engine="propack"``: SciPy's compiled loop, our float64 check, a
#: float64 refinement when the check misses.  Interleaved at 256^2 float32
#: (three spectra, two seeds, three tols), Python loop time over this one:
#: 0.97-1.75x (1.01 or more in 15 of 16) where PROPACK's vector verifies,
#: 0.92-0.97x in the 2 cases that needed the refinement; at 384^2 0.62-1.19x,
#: so the threshold stays at 256^2.  float64 stays with the Python loop: head
#: to head at 256^2 PROPACK beat it in 2 of 6 regimes, by 1.01x and 1.12x.
AUTO_PROPACK_MAX_ENTRIES = 256 * 256
#: aspect ratio max(m, n) / min(m, n) from which 'auto' takes the Gram route ...
AUTO_GRAM_ASPECT = 4
#: ... as long as the Gram matrix is at most this wide
AUTO_GRAM_MAX_SIDE = 4096
#: float64 dense input with at least this many entries and tol at least
#: AUTO_MIXED_MIN_TOL runs its Krylov work in float32 (memory-bound products)
AUTO_MIXED_MIN_ENTRIES = 512 * 512
#: ... on CuPy from this many (the rule its GPU rows were measured with)
AUTO_MIXED_MIN_ENTRIES_CUPY = 2048 * 2048
AUTO_MIXED_MIN_TOL = 1e-6
#: ... and down to this tol off CuPy, for the normal-operator iteration (dense
#: and SciPy sparse) and the Gram route: below 1e-6 the float32 stage stops
#: on its own bound, the float64 check refuses it and a few float64 steps
#: finish from its vector -- still faster at 1e-8, slower from 1e-10 on
#: (benchmarks/mixed_by_tol.py, float64 time over mixed time; normal operator
#: at 1024^2 and 2048^2: 1.03-2.26x at 1e-8, 0.79-1.50x at 1e-10; the Gram
#: route at 8192 x 1024 and 4096 x 512: 1.57-1.67x at 1e-6, 1.01-1.31x at
#: 1e-8, 0.56-1.12x at 1e-10)
AUTO_MIXED_MIN_TOL_NORMAL = 1e-8
#: basis size at which 'auto' thick-restarts Lanczos on SciPy sparse input
AUTO_SPARSE_MAX_BASIS = 24
#: dense CuPy matrices whose smaller side is at most this go to the Gram
#: iteration under 'auto' (a few BLAS-3 products, no host round trip per
#: step; H100, float64 Gaussian, tol 1e-6: 5.5-39 ms where the previous
#: choice -- svd at 256^2, Lanczos from 1024^2 to 4096^2, tall and wide
#: included -- took 15-72 ms; at 8192^2 253 ms against Lanczos's 73)
AUTO_CUPY_GRAM_MAX_SIDE = 4096
#: ... when tol is at least this many times the Gram iteration's rounding floor
AUTO_CUPY_GRAM_TOL_FACTOR = 10.0


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
       cache effect; the GPU rows were measured with the bidiagonalization);
    6. SciPy sparse matrices -> ``lanczos`` on the normal operator with thick
       restarts (``normal=True, max_basis=24``: the products are cheap, so
       the reorthogonalization against a growing basis would dominate), in
       float32 for float64 input asked for ``tol >= 1e-8``;
    7. LinearOperators -> ``lanczos`` as for SciPy sparse, in their own
       dtype (restarts: 1.6 s against 9-10 s for the bidiagonalization on a
       sparse-backed operator at 100 000^2, tol 1e-6; equal on a dense one);
    8. CuPy sparse matrices -> ``lanczos``.
    In 4 and 5, float64 input of at least 512 x 512 entries (2048 x 2048 on
    CuPy) asked for ``tol >= 1e-8`` (the default) off CuPy, ``tol >= 1e-6``
    on CuPy, works in float32 (``work_dtype="float32"``: products cost about
    half) and is certified and verified in float64, finishing in float64
    when float32 cannot verify ``tol``.  ``tol=None`` plans as the default
    tol that :func:`spectral_norm` then uses.
    """
    kind, backend, ndim = classify(A)
    # the tol spectral_norm will use (float64 input: default_tol("float64")), so
    # that leaving tol out and passing the default give the same plan
    want = default_tol("float64") if tol is None else tol
    if kind == InputKind.SCIPY_SPARSE:
        options = {"normal": True, "max_basis": AUTO_SPARSE_MAX_BASIS}
        if _dtype_str(A.dtype) == "float64" and want >= AUTO_MIXED_MIN_TOL_NORMAL:
            options["work_dtype"] = "float32"
        return "lanczos", options
    if kind == InputKind.LINEAR_OPERATOR:
        return "lanczos", {"normal": True, "max_basis": AUTO_SPARSE_MAX_BASIS}
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
    if (backend == "cupy" and not warm_start and min(shape) <= AUTO_CUPY_GRAM_MAX_SIDE
            and (1e-8 if tol is None else tol) >= AUTO_CUPY_GRAM_TOL_FACTOR * gram_rounding_floor(*shape)):
        return "gram", {}
    if small:
        return "lanczos", {} if backend == "cupy" else {"normal": True}
    dtype = getattr(A, "dtype", None)
    if (backend == "numpy" and not warm_start and dtype is not None and _dtype_str(dtype) == "float32"
            and shape[0] * shape[1] <= AUTO_PROPACK_MAX_ENTRIES and max(shape) < AUTO_GRAM_ASPECT * min(shape)):
        return "lanczos", {"engine": "propack"}
    options: dict = {}
    if max(shape) >= AUTO_GRAM_ASPECT * min(shape) and min(shape) <= AUTO_GRAM_MAX_SIDE:
        options["gram"] = True
    elif backend != "cupy":
        options["normal"] = True
    is_f64 = dtype is not None and _dtype_str(dtype) == "float64"
    min_entries = AUTO_MIXED_MIN_ENTRIES_CUPY if backend == "cupy" else AUTO_MIXED_MIN_ENTRIES
    lenient = options.get("normal") or (options.get("gram") and backend != "cupy")
    min_tol = AUTO_MIXED_MIN_TOL_NORMAL if lenient else AUTO_MIXED_MIN_TOL
    if is_f64 and shape[0] * shape[1] >= min_entries and want >= min_tol:
        options["work_dtype"] = "float32"
    return "lanczos", options


def _dtype_str(dtype: Any) -> str:
    try:
        return np.dtype(dtype).name
    except TypeError:
        return str(dtype).split(".")[-1]


def choose_method(A: Any, tol: float | None = None) -> str:
    """The method ``method="auto"`` picks for ``A`` (see :func:`auto_plan`)."""
    return auto_plan(A, tol)[0]


def default_tol(dtype: str) -> float:
    """1e-8 for float64 work, 1e-5 for float32 work."""
    return 1e-8 if dtype == "float64" else 1e-5


def _validate_tol(tol: Any) -> float | None:
    if tol is None:
        return None
    try:
        t = float(tol)
    except (TypeError, ValueError):
        raise TypeError(f"tol must be a number; got {tol!r}") from None
    if not (0.0 < t < 1.0) or not math.isfinite(t):
        raise ValueError(f"tol must lie in (0, 1) (a relative accuracy); got {tol!r}")
    return t


def _validate_maxiter(maxiter: Any) -> int | None:
    if maxiter is None:
        return None
    if isinstance(maxiter, bool) or int(maxiter) != maxiter or maxiter < 1:
        raise ValueError(f"maxiter must be a positive integer; got {maxiter!r}")
    return int(maxiter)


def _seed(seed: Any) -> tuple[int | None, np.random.Generator]:
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    elif isinstance(seed, np.random.Generator):
        raise TypeError("seed must be an int (it is stored in the result); got a Generator")
    elif isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed!r}")
    seed = int(seed)
    return seed, np.random.default_rng(seed)


def spectral_norm(
    A: Any,
    method: str = "auto",
    *,
    tol: float | None = None,
    maxiter: int | None = None,
    seed: int | None = None,
    v0: Any = None,
    strict: bool = False,
    return_history: bool = False,
    **options: Any,
) -> SpectralNormResult:
    """The spectral norm sigma_max(A) with a guaranteed bracket.

    Parameters
    ----------
    A : 2-D array (NumPy, CuPy, any array-API array), SciPy sparse matrix or
        array, ``scipy.sparse.linalg.LinearOperator`` (needs ``rmatvec``) or
        CuPy sparse matrix; stacks ``(..., m, n)`` for ``svd`` and ``power``.
        bool/int compute in float64, float16 in float32, complex through the
        real embedding ``[[Re, -Im], [Im, Re]]``.  A is never modified.
    method : a key of :data:`METHODS`, or ``"auto"`` (see :func:`auto_plan`).
    tol : requested relative accuracy of ``value`` (default 1e-8 for float64
        work, 1e-5 for float32); iterative methods stop on a bound of the error.
    maxiter : iteration cap (method-specific meaning and default).
    seed : seed of the random start (drawn and recorded when None).
    v0 : warm-start right vector (length n) for power, lanczos, randomized,
        arpack/propack/lobpcg and cupy-eigsh.
    strict : raise :class:`NotConvergedError` instead of warning.
    return_history : keep the per-iteration estimates and brackets.
    **options : method options (``block_size`` for ``randomized``; ``work_dtype``
        ``gram``, ``normal`` and ``max_basis`` for ``lanczos``); recorded in
        ``result.options``.

    Returns
    -------
    SpectralNormResult with ``lower <= sigma_max(A) <= upper`` (rounding
    included) for every method; non-convergence gives ``converged=False`` and a
    :class:`ConvergenceWarning`.
    """
    if not isinstance(method, str) or (method != "auto" and method not in _METHODS):
        raise ValueError(f"unknown method {method!r}; choose 'auto' or one of: {', '.join(_METHODS)}")
    tol = _validate_tol(tol)
    maxiter = _validate_maxiter(maxiter)
    if method == "auto":
        chosen, auto_options = auto_plan(A, tol, warm_start=v0 is not None)
        options = {**auto_options, **options}
    else:
        chosen = method
    info = _METHODS[chosen]
    ok, why = info.applies_to(A)
    if not ok:
        kind = classify(A)[0]
        raise (TypeError if kind is None else ValueError)(why)
    unknown = set(options) - set(info.options)
    if unknown:
        raise TypeError(f"method {chosen!r} takes no option(s) {sorted(unknown)}; its options: {list(info.options) or 'none'}")
    op = prepare(A, batched_ok=info.batched)
    if tol is None:
        tol = default_tol(op.dtype)
    seed, rng = _seed(seed)
    track = Tracker(return_history)

    if op.is_zero:
        zeros = np.zeros(op.batch_shape) if op.is_batched else 0.0
        raw = Raw(value=zeros, lower=zeros, upper=zeros, converged=True, iterations=0, error_estimate=0.0,
                  message="A is the zero matrix: sigma_max = 0 exactly")
        track.add(op, 0, 0.0, 0.0, 0.0, 0.0)
    elif min(op.m, op.n) == 1 and not op.is_batched:
        raw = _vector_norm(op)
        track.add(op, 0, raw.value, raw.lower, raw.upper, 0.0)
    else:
        if v0 is not None and chosen in ("svd", "gram"):
            raise ValueError(f"method {chosen!r} takes no start vector; v0 applies to iterative methods")
        raw = info.function(op, tol=tol, maxiter=maxiter, rng=rng, v0=v0, track=track, **options)
    return _finish(op, raw, chosen, tol, seed, track, strict, options)


def _vector_norm(op: Operator) -> Raw:
    """A matrix with one row or one column: sigma_max is the vector's 2-norm."""
    xp = op.xp
    if op.linop is not None:  # one product gives the whole vector
        e = np.ones(1)
        col = op.matvec(e) if op.n == 1 else op.rmatvec(e)
        nrm = float(np.linalg.norm(col))
        g = (max(op.m, op.n) + 2) * unit_roundoff("float64")
        return Raw(value=nrm, lower=nrm * (1 - g), upper=nrm * (1 + g), converged=True, iterations=0,
                   error_estimate=g, message="A has a single row or column: sigma_max = ||A||_F, computed directly")
    a = op.dense64() if op.dense is not None else op.sparse64()
    if op.sparse is not None:
        d = np.asarray(_backends.to_numpy(a.data), dtype=np.float64)
        nrm = float(np.linalg.norm(d))
        cnt = d.size
    else:
        nrm = float(xp.linalg.vector_norm(xp.reshape(a, (-1,))))
        cnt = op.m * op.n
    g = (cnt + 2) * unit_roundoff("float64")
    return Raw(value=nrm, lower=nrm * (1 - g), upper=nrm * (1 + g), converged=True, iterations=0,
               error_estimate=g, message="A has a single row or column: sigma_max = ||A||_F, computed directly")


def _finish(op: Operator, raw: Raw, method: str, tol: float, seed: int | None, track: Tracker,
            strict: bool, options: dict) -> SpectralNormResult:
    lower, upper, value = raw.lower, raw.upper, raw.value
    if not op.is_batched and not op.is_zero:
        lower = max(float(lower), op.cheap_lower())
        upper = min(float(upper), op.cheap_upper())
        value = min(max(float(value), lower), upper)
    elif op.is_batched:
        lower, upper = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
        value = np.clip(np.asarray(value, dtype=float), lower, upper)
    s = op.scale

    def up(x: Any) -> Any:
        return x * s if isinstance(x, np.ndarray) else float(x) * s

    history = None
    if track.enabled:
        history = tuple(
            HistoryEntry(iteration=i, matvecs=mv, estimate=est * s, lower=lo * s, upper=hi * s,
                         error_estimate=err, time=t)
            for (i, mv, est, lo, hi, err, t) in track.rows
        )
    upper_prob = raw.upper_probabilistic
    if upper_prob is not None:
        upper_prob = min(upper_prob, float(upper)) * s
    err = raw.error_estimate
    result = SpectralNormResult(
        value=up(value), lower=up(lower), upper=up(upper), converged=bool(raw.converged),
        iterations=int(raw.iterations), matvecs=int(op.matvecs), method=method, backend=op.backend,
        dtype=op.dtype, seed=seed, tol=tol,
        error_estimate=float(err) if np.ndim(err) == 0 else np.asarray(err, dtype=float),
        upper_probabilistic=upper_prob, failure_probability=raw.failure_probability,
        device=op.device, input_dtype=op.input_dtype, shape=op.shape, message=raw.message, history=history,
        options=dict(options), vector=raw.vector,
    )
    if not result.converged:
        err_txt = np.array2string(np.asarray(err), precision=3) if np.ndim(err) else f"{float(err):.3g}"
        msg = (
            f"spectral_norm(method={method!r}) did not reach tol={tol:.3g}: error estimate {err_txt} after "
            f"{result.iterations} iterations ({result.matvecs} matvecs). The bracket "
            f"[{np.asarray(result.lower)}, {np.asarray(result.upper)}] still holds. "
            + (raw.message + ". " if raw.message else "")
            + "Raise maxiter or tol, or use method='svd'."
        )
        if strict:
            raise NotConvergedError(msg, result)
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    return result
