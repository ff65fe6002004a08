"""The benchmark grid, its inputs (cached per session) and the accounting of one row.

The grid is the same on every machine: method x backend x shape x dtype x
spectrum x target tolerance.  A case outside the chosen profile, or one that
cannot run here, is skipped with a reason (never dropped).

Ground truth: for float64 dense inputs sigma_max is known by construction
(``lipbench.matrices``: ``A = U diag(s) V^T``, error below ``KnownSpectrum.atol``);
for float32 the stored (rounded) matrix's sigma_max comes from a float64 SVD on
the host.  The sparse operator is block diagonal with known blocks, rows and
columns permuted at random, so its singular values are the blocks' (computed
exactly by a batched float64 SVD of the stored blocks).
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

from lipbench import backends as _backends
from lipbench import matrices as _matrices
from lipbench.spectral import lanczos_steps_theory

# --------------------------------------------------------------------------- the grid

#: Every estimator name of the lipbench.METHODS contract, in a fixed order; names
#: lipbench adds later are appended at collection time (same code on every machine).
CORE_METHODS = ("auto", "svd", "power", "lanczos", "arpack", "propack", "lobpcg", "cupy-eigsh",
                "interpolative", "randomized", "gram")
#: Reference rows that do not go through lipbench.
BASELINES = ("numpy.linalg.norm", "scipy.sparse.linalg.svds")
#: Exact methods whose work does not depend on the tolerance: timed once per input (at
#: the finest tolerance); the report compares them with every tolerance's rows.
TOL_INDEPENDENT = frozenset({"svd", "numpy.linalg.norm"})
#: O(mn min(m, n)) dense methods: on the 100 000^2 sparse operator they would need 80 GB.
DENSE_ONLY = frozenset({"svd", "gram", "numpy.linalg.norm"})

#: Methods left out of the quick profile on the sparse operator (measured > 25 s per call
#: on a 2-core box at tol=1e-3); they run in the full profile.
QUICK_SLOW_ON_SPARSE = frozenset({"randomized"})

BACKENDS = ("numpy", "cupy")
SPARSE_N = 100_000
SPARSE_BLOCK = 10  # 10 000 blocks of 10 x 10: 10^6 non-zeros
SHAPES = (
    ("256x256", 256, 256),
    ("1024x1024", 1024, 1024),
    ("2048x2048", 2048, 2048),
    ("4096x4096", 4096, 4096),
    ("8192x1024", 8192, 1024),      # tall
    ("1024x8192", 1024, 8192),      # wide
    (f"sparse{SPARSE_N}", SPARSE_N, SPARSE_N),
    ("8192x8192", 8192, 8192),      # full profile only
    ("16384x16384", 16384, 16384),  # full profile only
)
DTYPES = ("float64", "float32")
FAMILIES = ("gaussian", "gap0.99", "nn_like")
TOLS = (1e-3, 1e-6)
INPUT_SEED = 0
METHOD_SEED = 1


def all_methods() -> tuple[str, ...]:
    try:
        import lipbench

        extra = tuple(sorted(set(getattr(lipbench, "METHODS", {})) - set(CORE_METHODS)))
    except Exception:  # the library is broken: every case will say so when it runs
        extra = ()
    return CORE_METHODS + extra + BASELINES


@dataclass(frozen=True)
class Case:
    method: str
    backend: str
    shape: str
    m: int
    n: int
    dtype: str
    family: str
    tol: float

    @property
    def sparse(self) -> bool:
        return self.shape.startswith("sparse")

    @property
    def id(self) -> str:
        return f"{self.backend}-{self.shape}-{self.dtype}-{self.family}-{self.tol:g}-{self.method}"


def grid() -> list[Case]:
    """The whole grid, ordered so that cases sharing an input run together."""
    cases = []
    for shape, m, n in SHAPES:
        for backend in BACKENDS:
            for dtype in DTYPES:
                for family in FAMILIES:
                    for tol in TOLS:
                        for method in all_methods():
                            cases.append(Case(method, backend, shape, m, n, dtype, family, tol))
    return cases


def profile_skip_reason(case: Case, profile: str) -> str | None:
    """Why ``case`` is not run in ``profile`` (None: it runs)."""
    if case.method in TOL_INDEPENDENT and case.tol != min(TOLS):
        return f"{case.method} does not depend on tol: timed once, at tol={min(TOLS):g}"
    if profile == "full":
        return None
    if case.shape in ("8192x8192", "16384x16384"):
        return f"not in {profile} profile: {case.shape} runs with --lipbench-size=full"
    if profile == "tiny":
        ok = (case.shape == "256x256" and case.dtype == "float64" and case.family == "gaussian"
              and case.tol == 1e-6)
        return None if ok else "not in tiny profile (256x256 float64 gaussian at 1e-6 only)"
    # quick: everything at 256^2 and 1024^2; the headline cases at 4096^2; float64
    # Gaussian for tall/wide; float64 Gaussian at 1e-6 for the sparse operator.
    if case.shape in ("256x256", "1024x1024"):
        return None
    headline = case.dtype == "float64" and case.family == "gaussian"
    if case.shape in ("2048x2048", "4096x4096") and headline and case.tol == 1e-6:
        return None
    if (case.shape in ("2048x2048", "4096x4096") and case.family == "gaussian" and case.tol == 1e-6
            and case.method in ("auto", "lanczos", "numpy.linalg.norm", "scipy.sparse.linalg.svds", "propack")):
        return None  # float32 headline: auto against its references
    if case.shape in ("8192x1024", "1024x8192") and headline:
        return None
    if case.sparse and headline and case.tol == 1e-3:
        if case.method in QUICK_SLOW_ON_SPARSE:
            return (f"not in quick profile: {case.method} on the {SPARSE_N}^2 operator took over 25 s "
                    "per call on a 2-core box; runs with --lipbench-size=full")
        return None
    return "not in quick profile (2048^2, 4096^2, tall, wide, sparse: float64 Gaussian only, sparse at " \
           "tol=1e-3; run everything with --lipbench-size=full)"


def budget(config: pytest.Config) -> tuple[float, int]:
    """(seconds of timed rounds per case, maximum rounds) for the profile."""
    profile = config._lipbench_profile
    default = {"tiny": (0.05, 3), "quick": (0.6, 15), "full": (2.0, 30)}[profile]
    b = config.getoption("--lipbench-budget")
    return (default[0] if b is None else b, default[1])


# --------------------------------------------------------------------------- inputs


@dataclass
class Input:
    """A benchmark input on its backend, with its ground truth."""

    A: Any
    truth: float
    truth_source: str
    truth_uncertainty: float  # bound on |sigma_max(A) - truth| / truth
    family: str
    backend: str
    dtype: str
    m: int
    n: int
    nnz: int | None = None
    build_seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def _family_kwargs(family: str) -> tuple[str, dict]:
    if family == "gap0.99":
        return "gap", {"delta": 0.01}  # sigma_2 / sigma_1 = 0.99
    return family, {}


def sparse_spectrum(family: str, N: int) -> np.ndarray:
    """The singular values the sparse operator is given, descending."""
    if family == "gaussian":
        return _matrices.marchenko_pastur_singular_values(N, N)
    if family == "gap0.99":
        s = np.empty(N)
        s[0] = 1.0
        s[1:] = 0.99 * np.linspace(1.0, 0.01, N - 1)
        return s
    if family == "nn_like":
        # Same law as lipbench.matrices.nn_like for a square matrix (c = 1), spike 1.5.
        s = _matrices.marchenko_pastur_singular_values(N, N)
        t = 1.5
        s[0] = max(math.sqrt((1 + t * t) * (1 + t * t)) / t, s[0])
        return s
    raise ValueError(f"unknown spectrum family {family!r} for the sparse operator")


def sparse_block_operator(family: str, N: int, block: int, dtype: str, seed: int):
    """A scipy.sparse CSR N x N matrix with ``N * block`` non-zeros whose singular
    values are ``sparse_spectrum(family, N)``: block diagonal with Haar-random
    ``block x block`` blocks, rows and columns permuted at random.

    Returns ``(csr, truth)`` with ``truth`` the largest singular value of the
    *stored* blocks (float64 SVD of the blocks as stored in ``dtype``)."""
    import scipy.sparse as sp

    if N % block:
        raise ValueError(f"N={N} must be a multiple of block={block}")
    rng = np.random.default_rng(seed)
    nb = N // block
    s = rng.permutation(sparse_spectrum(family, N)).reshape(nb, block)
    q1, r1 = np.linalg.qr(rng.standard_normal((nb, block, block)))
    q2, r2 = np.linalg.qr(rng.standard_normal((nb, block, block)))
    blocks = (q1 * s[:, None, :]) @ np.swapaxes(q2, -1, -2)
    stored = blocks.astype(dtype)
    truth = float(np.linalg.svd(stored.astype(np.float64), compute_uv=False).max())
    base = np.arange(nb)[:, None, None] * block
    rows = np.broadcast_to(base + np.arange(block)[None, :, None], stored.shape).ravel()
    cols = np.broadcast_to(base + np.arange(block)[None, None, :], stored.shape).ravel()
    prow, pcol = rng.permutation(N), rng.permutation(N)
    A = sp.csr_array((stored.ravel(), (prow[rows], pcol[cols])), shape=(N, N))
    return A, truth


class InputCache:
    """Inputs built once per session (a 4096^2 matrix costs seconds), with a cap
    on the bytes kept: the least recently used inputs are dropped first."""

    def __init__(self, max_bytes: float = 6e9):
        self.max_bytes = max_bytes
        self._items: dict[tuple, Input] = {}

    def _nbytes(self, inp: Input) -> int:
        a = inp.A
        if inp.nnz is not None:
            return int(inp.nnz) * 16
        return int(np.prod(a.shape)) * np.dtype(inp.dtype).itemsize

    def get(self, backend: str, shape: str, m: int, n: int, dtype: str, family: str) -> Input:
        key = (backend, shape, dtype, family)
        if key in self._items:
            inp = self._items.pop(key)
            self._items[key] = inp  # most recently used last
            return inp
        inp = self._build(backend, shape, m, n, dtype, family)
        self._items[key] = inp
        while sum(self._nbytes(v) for v in self._items.values()) > self.max_bytes and len(self._items) > 1:
            self._items.pop(next(iter(self._items)))
        return inp

    def _build(self, backend: str, shape: str, m: int, n: int, dtype: str, family: str) -> Input:
        t0 = time.perf_counter()
        if shape.startswith("sparse"):
            import scipy.sparse as sp

            A, truth = sparse_block_operator(family, m, SPARSE_BLOCK, dtype, INPUT_SEED)
            nnz = int(A.nnz)
            if backend == "cupy":
                import cupyx.scipy.sparse as csp

                A = csp.csr_matrix(sp.csr_matrix(A))  # via scipy's csr_matrix: older CuPy lacks csr_array
            _backends.synchronize(backend)
            return Input(A, truth, "construction (float64 SVD of the stored blocks)", 1e-14,
                         family, backend, dtype, m, n, nnz, time.perf_counter() - t0)
        fam, kw = _family_kwargs(family)
        if dtype == "float64":
            ks = _matrices.make(fam, m, n, dtype="float64", seed=INPUT_SEED, backend=backend, **kw)
            _backends.synchronize(backend)
            return Input(ks.matrix, ks.sigma_max, "construction", ks.atol / ks.sigma_max,
                         family, backend, dtype, m, n, None, time.perf_counter() - t0,
                         extra={"singular_values": ks.singular_values})
        # float32: the float64 construction rounded (exactly what lipbench.matrices does),
        # and sigma_max of the rounded matrix from a float64 SVD on the host.
        base = self.get(backend, shape, m, n, "float64", family)
        xp = _backends.namespace(backend)
        A = xp.astype(base.A, xp.float32)
        _backends.synchronize(backend)
        truth = _matrices.reference_norm(A)
        # (the rounding moves the singular values by about float32's u: the
        # float64 spectrum stands in for the theory's step estimates)
        return Input(A, truth, "float64 SVD of the stored matrix (host)", 1e-13, family, backend,
                     dtype, m, n, None, time.perf_counter() - t0,
                     extra={"singular_values": base.extra.get("singular_values")})


# --------------------------------------------------------------------------- running


def convergence_warning() -> type[Warning]:
    try:
        import lipbench

        return lipbench.ConvergenceWarning
    except (ImportError, AttributeError):  # pragma: no cover - core not there yet
        from lipbench.spectral._result import ConvergenceWarning

        return ConvergenceWarning


@dataclass
class Outcome:
    """What one call produced, in host floats."""

    value: float
    lower: float = math.nan
    upper: float = math.nan
    iterations: int | None = None
    matvecs: int | None = None
    converged: bool = True
    error_estimate: float = math.nan
    warning: str = ""
    result: Any = None


def lipbench_runner(method: str, A: Any, tol: float, backend: str, *, seed: int = METHOD_SEED,
                    return_history: bool = False) -> Callable[[], Outcome]:
    """A zero-argument callable that runs ``lb.spectral_norm`` on ``A`` and
    synchronises the GPU before returning.  A ConvergenceWarning is recorded
    (``converged=False``, message kept), never raised."""
    import lipbench as lb

    cw = convergence_warning()

    def run() -> Outcome:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", cw)
            r = lb.spectral_norm(A, method=method, tol=tol, seed=seed, return_history=return_history)
        _backends.synchronize(backend)  # by name: synchronize(array) is ambiguous for NumPy arrays
        msgs = [str(w.message) for w in caught if issubclass(w.category, cw)]
        for w in caught:  # anything else keeps the suite's warnings-as-errors policy
            if not issubclass(w.category, cw):
                warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return Outcome(float(r.value), float(r.lower), float(r.upper), int(r.iterations), int(r.matvecs),
                       bool(r.converged), float(r.error_estimate), "; ".join(msgs), r)

    return run


def baseline_runner(method: str, A: Any, tol: float, backend: str, *, sparse: bool,
                    seed: int = METHOD_SEED) -> tuple[Callable[[], Outcome], str]:
    """(runner, implementation name) for the reference rows; raises pytest.skip
    when the baseline cannot run on this input or backend."""
    if method == "numpy.linalg.norm":
        if sparse:
            pytest.skip("numpy.linalg.norm(A, 2) needs a dense matrix (a full SVD)")
        if backend == "cupy":
            import cupy as cp

            impl, fn = "cupy.linalg.norm(A, 2)", lambda: cp.linalg.norm(A, 2)
            try:
                float(fn())
            except (NotImplementedError, ValueError, TypeError) as exc:
                pytest.skip(f"cupy.linalg.norm(A, 2) is not available: {exc}")
        else:
            impl, fn = "numpy.linalg.norm(A, 2)", lambda: np.linalg.norm(A, 2)

        def run() -> Outcome:
            v = fn()
            _backends.synchronize(backend)
            return Outcome(float(v), matvecs=0, iterations=0)

        return run, impl
    if method == "scipy.sparse.linalg.svds":
        if backend == "cupy":
            from cupyx.scipy.sparse.linalg import svds as cupy_svds

            impl = "cupyx.scipy.sparse.linalg.svds(A, k=1, tol=tol)"

            def run() -> Outcome:
                s = cupy_svds(A, k=1, tol=tol, return_singular_vectors=False)
                _backends.synchronize(backend)
                return Outcome(float(s.max()))

            return run, impl
        from scipy.sparse.linalg import ArpackNoConvergence, svds

        impl = "scipy.sparse.linalg.svds(A, k=1, tol=tol, solver='arpack')"

        def run() -> Outcome:
            try:
                s = svds(A, k=1, tol=tol, return_singular_vectors=False, random_state=seed)
            except ArpackNoConvergence as exc:
                vals = getattr(exc, "eigenvalues", None)
                v = float(np.max(np.abs(vals))) if vals is not None and len(vals) else math.nan
                return Outcome(v, converged=False, warning=f"ArpackNoConvergence: {exc}")
            return Outcome(float(np.max(s)))

        return run, impl
    raise ValueError(f"unknown baseline {method!r}")


def applicability(method: str, A: Any, backend: str, sparse: bool) -> None:
    """Skip (with the reason) when ``method`` does not apply to ``A`` here."""
    if method in DENSE_ONLY and sparse:
        pytest.skip(f"{method} is a dense O(n^3) method; the {SPARSE_N}^2 operator would need "
                    f"{SPARSE_N**2 * 8 / 1e9:.0f} GB dense")
    if method in BASELINES:
        return
    try:
        import lipbench as lb
    except ImportError as exc:  # pragma: no cover
        pytest.fail(f"lipbench is not importable: {exc}")
    methods = getattr(lb, "METHODS", None)
    if methods is None:
        pytest.fail("lipbench.METHODS is missing: the core API is not there yet")
    if method == "auto":
        return
    if method not in methods:
        pytest.skip(f"{method!r} is not in lipbench.METHODS on this version")
    ok, reason = methods[method].applies_to(A)
    if not ok:
        pytest.skip(f"{method} does not apply to this input: {reason}")


def warm_up(fn: Callable[[], Outcome]) -> Outcome:
    """Call ``fn`` once, untimed.  An exception from the method on an input it
    claims to accept is a library bug: the case is reported as xfailed with the
    error (visible in the summary), not timed and not hidden."""
    try:
        return fn()
    except Exception as exc:
        pytest.xfail(f"raised on an input it accepts (a bug in the method or its library): "
                     f"{type(exc).__name__}: {exc}")


#: A cheap case gets more rounds than its profile's maximum, so that its
#: timed rounds span at least this long (or the profile's budget, if
#: shorter): 15 rounds of a 1.5 ms call span 22 ms, which one burst of load
#: on a shared machine covers whole; over 0.3 s a burst moves a minority of
#: the rounds, not the median.
MIN_SPAN_SECONDS = 0.3
#: ... up to this many rounds
MAX_FAST_ROUNDS = 400


def time_call(benchmark: Any, fn: Callable[[], Outcome], config: pytest.Config, *,
              key: tuple = (), work: float = 0.0) -> Outcome:
    """Time ``fn`` with pytest-benchmark and return the outcome of the last
    *timed* call.

    Normally: one untimed warm-up call, a second untimed call to calibrate,
    then as many rounds as fit the profile's budget (at least one; a cheap
    call gets more than the profile's maximum, up to :data:`MAX_FAST_ROUNDS`,
    until the rounds span :data:`MIN_SPAN_SECONDS`).  When the
    same method (``key``) already ran in this session on a smaller input and
    its time scaled by ``work`` predicts a call longer than three budgets, the
    method is warm already and one timed round is all the budget allows: the
    case gets exactly one call.  ``benchmark.extra_info['timing']`` says which.
    """
    secs, max_rounds = budget(config)
    seen: dict = config.__dict__.setdefault("_lipbench_seen", {})
    prev = seen.get(key) if key else None
    holder: list[Outcome] = []
    if prev is not None and work > 0 and prev[0] > 0:
        predicted = prev[1] * (work / prev[0]) ** 1.15
        if predicted > 3 * secs:
            def once() -> None:
                holder.append(warm_up(fn))

            t0 = time.perf_counter()
            benchmark.pedantic(once, rounds=1, iterations=1, warmup_rounds=0)
            seen[key] = (work, time.perf_counter() - t0)
            benchmark.extra_info["timing"] = (f"1 round, no warm-up call: the method warmed up on an "
                                              f"earlier input; predicted {predicted:.2g} s per call")
            return holder[-1]
    t0 = time.perf_counter()
    warm_up(fn)  # first-call costs (imports, caches, page faults) stay out of the rounds
    dt = time.perf_counter() - t0
    if dt < secs:  # cheap: calibrate on a second, warm call
        t0 = time.perf_counter()
        fn()
        dt = min(dt, time.perf_counter() - t0)
    if key:
        seen[key] = (work, dt)
    rounds = int(max(1, min(max_rounds, secs // max(dt, 1e-9))))
    span = min(MIN_SPAN_SECONDS, secs)
    if rounds * dt < span:
        rounds = max(rounds, min(MAX_FAST_ROUNDS, math.ceil(span / max(dt, 1e-9))))

    def timed() -> None:
        holder.append(fn())

    benchmark.pedantic(timed, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info["timing"] = f"1 warm-up call, {rounds} timed round(s)"
    return holder[-1]


def matvec_seconds(inp: Input, rounds: int = 7) -> float:
    """Median time of one product ``A @ x`` with this input on its backend, in
    this run (the matvec floor: matvecs x this is the least time a method
    that does its products one by one can take; a fused ``A^T (A x)`` in one
    pass over A can go below it)."""
    if "matvec_seconds" in inp.extra:
        return inp.extra["matvec_seconds"]
    A = inp.A
    if inp.backend == "cupy":
        import cupy as cp

        x = cp.ones(inp.n, dtype=A.dtype)
    else:
        xp = _backends.namespace(inp.backend)
        x = xp.ones(inp.n, dtype=getattr(xp, inp.dtype))
    A @ x
    _backends.synchronize(inp.backend)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        A @ x
        _backends.synchronize(inp.backend)
        times.append(time.perf_counter() - t0)
    inp.extra["matvec_seconds"] = float(np.median(times))
    return inp.extra["matvec_seconds"]


def work_of(case: Case, nnz: int | None) -> float:
    """A size measure the cost of ``case.method`` grows about linearly with."""
    if case.method in DENSE_ONLY or case.method == "svd":
        return float(case.m) * case.n * min(case.m, case.n)
    return float(nnz if nnz is not None else case.m * case.n)


def record(benchmark: Any, config: pytest.Config, case: Case, inp: Input, out: Outcome, *,
           kind: str = "spectral", impl: str | None = None, baseline: bool = False,
           tol: float | None = None) -> None:
    """Accuracy next to the time: everything the report needs, in extra_info."""
    truth = inp.truth
    rel = abs(out.value - truth) / truth if truth > 0 and math.isfinite(out.value) else math.inf
    slack = truth * max(inp.truth_uncertainty, 0.0)
    lower_ok = not math.isfinite(out.lower) or out.lower <= truth + slack
    upper_ok = not math.isfinite(out.upper) or truth - slack <= out.upper
    tol_eff = case.tol if tol is None else tol
    r = out.result
    benchmark.extra_info.update({
        "kind": kind,
        "method": case.method,
        "result_method": getattr(r, "method", None),
        "baseline": baseline,
        "impl": impl or f"lipbench.spectral_norm(A, method={case.method!r}, tol={case.tol:g}, seed={METHOD_SEED})",
        "backend": case.backend,
        "device": _device(inp),
        "dtype": case.dtype,
        "family": case.family,
        "shape": case.shape if not case.sparse else f"{case.m}x{case.n} sparse",
        "m": case.m, "n": case.n, "nnz": inp.nnz,
        "tol": None if case.method in TOL_INDEPENDENT else tol_eff,
        "target_tol": tol_eff,
        "rel_error": rel if math.isfinite(rel) else None,
        "value": out.value if math.isfinite(out.value) else None,
        "truth": truth,
        "truth_source": inp.truth_source,
        "truth_uncertainty": inp.truth_uncertainty,
        "lower": out.lower if math.isfinite(out.lower) else None,
        "upper": out.upper if math.isfinite(out.upper) else None,
        "bracket_ok": bool(lower_ok and upper_ok),
        "error_estimate": out.error_estimate if math.isfinite(out.error_estimate) else None,
        "iterations": out.iterations,
        "matvecs": out.matvecs,
        "converged": out.converged,
        "met_target": bool(math.isfinite(rel) and rel <= tol_eff),
        "warning": out.warning,
        "seed": METHOD_SEED,
        "input_seed": INPUT_SEED,
        "blas_threads": config._lipbench_threads,
        "profile": config._lipbench_profile,
        "input_build_seconds": round(inp.build_seconds, 3),
        "options": dict(getattr(r, "options", {}) or {}),
        "matvec_seconds": matvec_seconds(inp),
    })
    sv = inp.extra.get("singular_values")
    if kind == "spectral" and case.method in ("auto", "lanczos") and sv is not None:
        # what theory says Lanczos needs on this spectrum, for the report's steps-against-theory target
        benchmark.extra_info["theory_steps"] = lanczos_steps_theory(_backends.to_numpy(sv), tol_eff)


def _device(inp: Input) -> str:
    return _device_name(inp.backend)


def _device_name(backend: str) -> str:
    if backend == "cupy":
        return _backends.availability("cupy").device or "cuda"
    return "cpu"


def require_backend(config: pytest.Config, backend: str) -> None:
    """Skip with the reason when ``backend`` is unavailable or not selected."""
    import os

    selected = dict(getattr(config, "_lipbench_backends", []))
    b = _backends.Backend(backend)
    if os.environ.get(_backends.ENV_VAR, "").strip() and b not in selected:
        pytest.skip(f"backend {backend} not in {_backends.ENV_VAR}={os.environ[_backends.ENV_VAR]!r}")
    av = _backends.availability(b)
    if not av.available:
        pytest.skip(f"backend {backend} unavailable: {av.reason}")
