"""The behaviour record's cases: its inputs, the calls made on them, and the row each call gives.

The calls: ``lipbench.spectral_norm`` with every method of ``lipbench.METHODS``
and ``auto`` on every input below, whether the method takes it or not (a
refusal is recorded as its exception class), at tol 1e-3, 1e-6, 1e-8 and the
default, certify False and True; on a few inputs also another seed, warm
starts ``v0``, a ``maxiter`` too small to converge, ``strict=True``, the
method options and the argument errors.  Then ``conv_operator_norm`` over a
few kernels, paddings, strides and routes, and ``lipschitz_ladder`` on two
tiny networks: 3606 calls, about a minute on 2 cores.

Inputs: dense NumPy float64 (Gaussian, tall, wide, gap, clustered and repeated
top values, geometric, rank-deficient, zero, 1x1, 1xn, nx1, near the
underflow and overflow ends, subnormal entries), float32 (near 1e38 too),
complex128, int64 (beyond 2**53 too), stacks, SciPy sparse (CSR, CSC, COO with
duplicate entries, a sparse array), a ``LinearOperator``, array-api-strict
arrays and a Dask array.  A library that is not installed gives its rows the
error ``unavailable`` (the grid stays the same; the compare shows the
difference).

The record and its compare are :mod:`benchmarks.studies.behaviour`.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import lipbench as lb
from lipbench import matrices

#: the columns of a row, in order (a call fills some; the record leaves the rest empty)
FIELDS = ["case", "method", "value", "lower", "upper", "error_estimate", "tol", "iterations", "matvecs",
          "converged", "certified", "certificate", "stages", "warned", "warnings", "error"]
TOLS = (1e-3, 1e-6, 1e-8, None)
METHOD_NAMES = ("auto", *lb.METHODS)
SEED = 0


class Unavailable(Exception):
    """An optional library that an input needs is not installed."""


# --------------------------------------------------------------------------- inputs

def _known(family: str, m: int, n: int, **kw: Any) -> np.ndarray:
    return matrices.make(family, m, n, seed=SEED, **kw).matrix


def _subnormal_entries() -> np.ndarray:
    """A Gaussian matrix with every third entry replaced by a subnormal one."""
    a = _known("gaussian", 40, 30)
    flat = a.reshape(-1)
    flat[::3] = np.ldexp(np.sign(flat[::3]) + (flat[::3] == 0), -1060)  # about 5e-320
    return a


def _float32_near_max() -> np.ndarray:
    """float32 with its largest entry just under 2**127 (about 1.7e38)."""
    a = _known("gaussian", 50, 40)
    e = 127 - math.ceil(math.log2(float(np.max(np.abs(a)))))
    return np.ldexp(a, e).astype(np.float32)


def _complex() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    return (rng.standard_normal((60, 50)) + 1j * rng.standard_normal((60, 50))) / np.sqrt(60)


def _int64(lo: int, hi: int, shape: tuple[int, int]) -> np.ndarray:
    return np.random.default_rng(SEED).integers(lo, hi, size=shape, dtype=np.int64)


def _stack(dtype: str, b: int, m: int, n: int) -> np.ndarray:
    return np.stack([matrices.gaussian(m, n, dtype=dtype, seed=i).matrix for i in range(b)])


def _stack_with_zero() -> np.ndarray:
    s = _stack("float64", 3, 10, 12)
    s[1] = 0.0
    return s


def _sparse(fmt: str, m: int, n: int, dtype: Any = np.float64) -> Any:
    return sp.random(m, n, density=0.05, format=fmt, dtype=dtype, rng=np.random.default_rng(SEED))


def _coo_duplicates() -> sp.coo_matrix:
    """Every stored entry repeated: COO keeps the duplicates, the matrix is their sum."""
    a = _sparse("coo", 150, 100)
    return sp.coo_matrix((np.concatenate([a.data, 0.5 * a.data]), (np.concatenate([a.row, a.row]),
                                                                   np.concatenate([a.col, a.col]))),
                         shape=a.shape)


def _coo_int64_duplicates() -> sp.coo_matrix:
    """int64 duplicates that sum beyond float64's integers: 2**53 and 63 ones on
    one entry, beside a full-rank diagonal (on a matrix of exact low rank ARPACK
    restarts from a seed it keeps between calls, so its step count would depend
    on the calls before)."""
    rows = np.array([0] * 64 + list(range(1, 30)), dtype=np.int64)
    cols = np.array([0] * 64 + list(range(1, 30)), dtype=np.int64)
    data = np.array([2**53] + [1] * 63 + list(range(2, 31)), dtype=np.int64)
    return sp.coo_matrix((data, (rows, cols)), shape=(40, 30))


def _linear_operator(dtype: str) -> LinearOperator:
    a = matrices.gaussian(120, 80, dtype=dtype, seed=SEED).matrix
    return LinearOperator(a.shape, matvec=lambda x: a @ x, rmatvec=lambda y: a.T @ y, dtype=a.dtype)


def _strict(dtype: str, m: int, n: int) -> Any:
    try:
        import array_api_strict as xp
    except ImportError:
        raise Unavailable("array_api_strict") from None
    return xp.asarray(matrices.gaussian(m, n, dtype=dtype, seed=SEED).matrix)


def _dask() -> Any:
    try:
        import dask.array as da
    except ImportError:
        raise Unavailable("dask") from None
    return da.from_array(_known("gaussian", 200, 100), chunks=(50, 100))


#: name -> builder; a name says kind, dtype, family and shape
INPUTS: dict[str, Callable[[], Any]] = {
    "dense-f64-gauss-200x150": lambda: _known("gaussian", 200, 150),
    "dense-f64-gauss-150x200": lambda: _known("gaussian", 150, 200),
    "dense-f64-gap1e-2-120x120": lambda: _known("gap", 120, 120, delta=1e-2),
    "dense-f64-cluster1e-6-100x80": lambda: _known("gap", 100, 80, delta=1e-6),
    "dense-f64-repeated-60x60": lambda: _known("gap", 60, 60, delta=0.0),
    "dense-f64-geometric-100x100": lambda: _known("geometric", 100, 100, ratio=0.9),
    "dense-f64-nnlike-256x128": lambda: _known("nn_like", 256, 128),
    "dense-f64-lowrank5-120x90": lambda: _known("low_rank", 120, 90, rank=5),
    "dense-f64-zero-30x20": lambda: np.zeros((30, 20)),
    "dense-f64-1x1": lambda: np.array([[-2.5]]),
    "dense-f64-1x40": lambda: _known("gaussian", 1, 40),
    "dense-f64-40x1": lambda: _known("gaussian", 40, 1),
    "dense-f64-tiny2e-299-80x60": lambda: _known("badly_scaled", 80, 60, end="tiny"),
    "dense-f64-huge3e306-80x60": lambda: _known("badly_scaled", 80, 60, end="huge"),
    "dense-f64-times1e-300-40x30": lambda: _known("gaussian", 40, 30) * 1e-300,
    "dense-f64-times1e300-40x30": lambda: _known("gaussian", 40, 30) * 1e300,
    "dense-f64-subnormal-40x30": lambda: np.ldexp(_known("gaussian", 40, 30), -1040),
    "dense-f64-some-subnormal-40x30": _subnormal_entries,
    "dense-f32-gauss-120x90": lambda: matrices.gaussian(120, 90, dtype="float32", seed=SEED).matrix,
    "dense-f32-near1e38-50x40": _float32_near_max,
    "dense-f32-tiny-50x40": lambda: matrices.badly_scaled(50, 40, end="tiny", dtype="float32", seed=SEED).matrix,
    "dense-c128-gauss-60x50": _complex,
    "dense-i64-small-50x40": lambda: _int64(-5, 6, (50, 40)),
    "dense-i64-huge-20x15": lambda: _int64(-2**62, 2**62, (20, 15)),
    "stack-f64-6x30x20": lambda: _stack("float64", 6, 30, 20),
    "stack-f32-4x20x25": lambda: _stack("float32", 4, 20, 25),
    "stack-f64-zero-in-3x10x12": _stack_with_zero,
    "csr-f64-300x200": lambda: _sparse("csr", 300, 200),
    "csc-f64-200x300": lambda: _sparse("csc", 200, 300),
    "coo-f64-dup-150x100": _coo_duplicates,
    "coo-i64-dup2e53-40x30": _coo_int64_duplicates,
    "csr-array-f32-200x150": lambda: sp.csr_array(_sparse("csr", 200, 150, np.float32)),
    "linop-f64-120x80": lambda: _linear_operator("float64"),
    "linop-f32-120x80": lambda: _linear_operator("float32"),
    "xp-strict-f64-80x60": lambda: _strict("float64", 80, 60),
    "xp-strict-f32-60x80": lambda: _strict("float32", 60, 80),
    "dask-f64-200x100": _dask,
}

def _with(value: float, at: tuple[int, int]) -> np.ndarray:
    a = np.ones((5, 4))
    a[at] = value
    return a


#: odd inputs, a few methods each: most are refused (NaN, inf, empty, 1-D, strings, objects)
ODD_INPUTS: dict[str, Callable[[], Any]] = {
    "odd-nan-5x4": lambda: _with(np.nan, (3, 2)),
    "odd-inf-5x4": lambda: _with(-np.inf, (0, 1)),
    "odd-empty-0x4": lambda: np.zeros((0, 4)),
    "odd-1d-5": lambda: np.ones(5),
    "odd-list-2x2": lambda: [[1.0, 2.0], [3.0, 4.0]],
    "odd-str": lambda: "not a matrix",
    "odd-object-2x2": lambda: np.array([[1, "a"], [2, 3]], dtype=object),
}

#: the inputs that get the extra cases (seeds, warm starts, maxiter, options)
MAIN = "dense-f64-gauss-200x150"
CLUSTERED = "dense-f64-cluster1e-6-100x80"


@cache
def build(name: str) -> Any:
    """The input ``name`` (built once; every builder is seeded)."""
    return (INPUTS.get(name) or ODD_INPUTS[name])()


def _columns(name: str) -> int:
    return int(build(name).shape[-1])


def _as_dense(A: Any) -> np.ndarray:
    """A float64 NumPy copy of a dense, sparse or LinearOperator input (for start vectors)."""
    if sp.issparse(A):
        return A.toarray().astype(np.float64)
    if isinstance(A, LinearOperator):
        return np.asarray(A.matmat(np.eye(A.shape[1])), dtype=np.float64)
    return np.asarray(A, dtype=np.float64)


def _vector(name: str, kind: str) -> np.ndarray:
    """A start vector for ``name``: ``rand`` (seeded Gaussian), ``top`` (the top right
    singular vector, a perfect warm start) or ``short`` (one entry too few)."""
    n = _columns(name)
    if kind == "short":
        return np.ones(n - 1)
    if kind == "top":
        return np.linalg.svd(_as_dense(build(name)))[2][0]
    return np.random.default_rng(7).standard_normal(n)


# --------------------------------------------------------------------------- cases

@dataclass(frozen=True)
class Case:
    """One call: a stable id and the function that makes the call and returns its row."""

    id: str
    call: Callable[[], dict[str, str]]


def _fmt(x: Any) -> str:
    if x is None:
        return ""
    if np.ndim(x):
        a = np.asarray(x, dtype=np.float64)
        digest = hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()[:16]
        return f"sha256:{digest};max={float(np.max(a))!r};min={float(np.min(a))!r}"
    return repr(float(x))


def _result_row(res: Any) -> dict[str, str]:
    stages = ";".join(f"{s.engine}/{s.dtype}/{s.iterations}/{s.matvecs}/{int(s.converged)}/{s.restarts}"
                      for s in res.stages)
    return {"method": res.method, "value": _fmt(res.value), "lower": _fmt(res.lower), "upper": _fmt(res.upper),
            "error_estimate": _fmt(res.error_estimate), "tol": _fmt(res.tol), "iterations": str(res.iterations),
            "matvecs": str(res.matvecs), "converged": str(bool(res.converged)),
            "certified": str(bool(res.certified)), "certificate": res.certificate, "stages": stages}


UNAVAILABLE = {"error": "unavailable", "warned": "no", "warnings": ""}


def _guarded(fn: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Run the library call ``fn`` catching every warning and exception; the row says which."""
    row: dict[str, str] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            row = fn()
        except Exception as exc:  # a refusal or a failure: its class is the behaviour recorded
            row = {"error": type(exc).__name__}
    conv = [w for w in caught if issubclass(w.category, lb.ConvergenceWarning)]
    others = sorted({w.category.__name__ for w in caught} - {lb.ConvergenceWarning.__name__})
    row["warned"] = "yes" if conv else "no"
    row["warnings"] = ";".join(others)
    return row


def _spectral_case(name: str, method: str, tol: float | None, certify: bool, extra: str = "",
                   **kw: Any) -> Case:
    """``spectral_norm(build(name), method, tol=tol, certify=certify, seed=SEED, **kw)``; a
    callable in ``kw`` is called first (start vectors are built only when the case runs)."""
    cid = f"{name}|{method}|tol={'default' if tol is None else repr(tol)}|certify={certify}" + extra

    def call() -> dict[str, str]:
        try:
            A = build(name)
        except Unavailable:
            return dict(UNAVAILABLE)
        args = {"seed": SEED, **{k: (v() if callable(v) else v) for k, v in kw.items()}}
        return _guarded(lambda: _result_row(lb.spectral_norm(A, method=method, tol=tol, certify=certify, **args)))

    return Case(cid, call)


def _spectral_cases() -> Iterable[Case]:
    for name in INPUTS:
        for method in METHOD_NAMES:
            for certify in (False, True):
                for tol in TOLS:
                    yield _spectral_case(name, method, tol, certify)
    for name in (MAIN, CLUSTERED, "csr-f64-300x200", "linop-f64-120x80"):
        for method in METHOD_NAMES:
            yield _spectral_case(name, method, 1e-6, False, "|seed=1", seed=1)
            for kind in ("rand", "top"):
                yield _spectral_case(name, method, 1e-6, False, f"|v0={kind}",
                                     v0=lambda name=name, kind=kind: _vector(name, kind))
            yield _spectral_case(name, method, 1e-8, False, "|maxiter=2", maxiter=2)
            yield _spectral_case(name, method, 1e-8, False, "|maxiter=2|strict", maxiter=2, strict=True)
    for method in METHOD_NAMES:
        yield _spectral_case(MAIN, method, 1e-6, False, "|v0=short", v0=lambda: _vector(MAIN, "short"))
        yield _spectral_case("stack-f64-6x30x20", method, 1e-6, False, "|maxiter=1", maxiter=1)
        yield _spectral_case("dense-f32-gauss-120x90", method, 1e-6, False, "|v0=rand",
                             v0=lambda: _vector("dense-f32-gauss-120x90", "rand"))
    options = [("normal", True), ("gram", True), ("work_dtype", "float32"), ("engine", "propack"),
               ("check_warmup", 1000), ("fused_min_bytes", 0)]
    for name in (MAIN, CLUSTERED, "csr-f64-300x200"):
        for key, val in options:
            yield _spectral_case(name, "lanczos", 1e-8, False, f"|{key}={val}", **{key: val})
        yield _spectral_case(name, "lanczos", 1e-8, False, "|normal=True|max_basis=8", normal=True, max_basis=8)
        for b in (1, 4):
            yield _spectral_case(name, "randomized", 1e-6, False, f"|block_size={b}", block_size=b)
    # argument errors
    yield _spectral_case(MAIN, "nope", 1e-6, False)
    yield _spectral_case(MAIN, "svd", 1e-6, False, "|option=block_size", block_size=4)
    for bad_tol in (0.0, -1e-6, 1.5, math.nan):
        yield _spectral_case(MAIN, "lanczos", bad_tol, False, "|bad-tol")
    for bad_maxiter in (0, -3, 2.5):
        yield _spectral_case(MAIN, "power", 1e-6, False, f"|maxiter={bad_maxiter}", maxiter=bad_maxiter)
    for bad_seed in (-1, 1.5):
        yield _spectral_case(MAIN, "power", 1e-6, False, f"|seed={bad_seed}", seed=bad_seed)
    yield _spectral_case("stack-f64-6x30x20", "svd", 1e-6, True, "|stack-certify")
    for label in ODD_INPUTS:
        for method in ("auto", "svd", "lanczos"):
            yield _spectral_case(label, method, None, False)


def _conv_case(label: str, kernel: Callable[[], np.ndarray], input_shape: tuple[int, ...], **kw: Any) -> Case:
    from lipbench.lipschitz import conv_operator_norm

    cid = f"conv-{label}-in{'x'.join(map(str, input_shape))}|" + "|".join(f"{k}={v}" for k, v in kw.items())

    def call() -> dict[str, str]:
        return _guarded(lambda: _result_row(conv_operator_norm(kernel(), input_shape, seed=SEED, **kw)))

    return Case(cid, call)


def _kernel(shape: tuple[int, ...], seed: int = SEED) -> Callable[[], np.ndarray]:
    return lambda: np.random.default_rng(seed).standard_normal(shape) / math.sqrt(math.prod(shape[1:]))


def _conv_cases() -> Iterable[Case]:
    k2 = _kernel((4, 3, 3, 3))
    for method in ("auto", "fft", "dense", "lanczos", "bound"):
        for mode, pad in (("zeros", 1), ("circular", 1), ("reflect", 1), ("zeros", 0)):
            yield _conv_case("4x3x3x3", k2, (8, 8), padding=pad, padding_mode=mode, method=method)
        yield _conv_case("4x3x3x3", k2, (8, 8), padding=1, stride=2, method=method)
    yield _conv_case("4x3x3x3", k2, (8, 8), padding="same", method="auto")
    yield _conv_case("4x3x3x3", k2, (8, 8), padding=1, dilation=2, method="auto")
    yield _conv_case("1d-2x2x5", _kernel((2, 2, 5)), (16,), padding=2, method="auto")
    yield _conv_case("groups-4x1x3x3", _kernel((4, 1, 3, 3)), (4, 6, 6), padding=1, groups=4, method="auto")
    yield _conv_case("transposed-3x2x3x3", _kernel((3, 2, 3, 3)), (6, 6), stride=2, transposed=True,
                     method="auto")
    yield _conv_case("3d-2x1x2x2x2", _kernel((2, 1, 2, 2, 2)), (4, 4, 4), method="auto")
    yield _conv_case("4x3x3x3", k2, (8, 8), padding=1, method="lanczos", tol=1e-8, maxiter=2)
    yield _conv_case("4x3x3x3", k2, (2, 2), padding=0, method="auto")  # kernel larger than the input


def _ladder_net(kind: str) -> Any:
    from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation

    rng = np.random.default_rng(SEED)
    if kind == "relu-mlp-3-6-5-2":
        return Sequential([Dense(rng.standard_normal((6, 3))), ActivationLayer(activation("relu")),
                           Dense(rng.standard_normal((5, 6))), ActivationLayer(activation("relu")),
                           Dense(rng.standard_normal((2, 5)))])
    return Sequential([Dense(rng.standard_normal((4, 3))), ActivationLayer(activation("tanh")),
                       Dense(rng.standard_normal((1, 4)))])


def _ladder_cases() -> Iterable[Case]:
    from lipbench.lipschitz import lipschitz_ladder, product_bound

    for kind in ("relu-mlp-3-6-5-2", "tanh-mlp-3-4-1"):
        def ladder(kind: str = kind) -> dict[str, str]:
            lad = lipschitz_ladder(_ladder_net(kind), seed=SEED, n_samples=8, ascent_steps=2)
            rungs = ";".join(f"{r.name}/{r.kind}/{_fmt(r.value)}/{int(r.certified)}" for r in lad.rows)
            return {"method": "lipschitz_ladder", "value": _fmt(lad.product), "lower": _fmt(lad.best_lower),
                    "upper": _fmt(lad.best_certified_upper), "stages": rungs}

        def product(kind: str = kind) -> dict[str, str]:
            return {"method": "product_bound", "value": _fmt(product_bound(_ladder_net(kind)))}

        yield Case(f"ladder-{kind}|lipschitz_ladder|n_samples=8|ascent_steps=2", lambda f=ladder: _guarded(f))
        yield Case(f"ladder-{kind}|product_bound", lambda f=product: _guarded(f))


def cases() -> list[Case]:
    """The fixed list of cases, in record order; ids are unique."""
    out = [*_spectral_cases(), *_conv_cases(), *_ladder_cases()]
    ids = [c.id for c in out]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise RuntimeError(f"duplicate case ids: {dup[:5]}")
    return out
