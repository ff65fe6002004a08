"""Test matrices whose singular values are known by construction.

Every family builds ``A = U diag(s) V^T`` with ``U`` (m x k) and ``V`` (n x k)
Haar-random with orthonormal columns (QR of Gaussians, signs fixed), so the
singular values are exactly ``s`` up to the rounding of the construction.  Each
function returns a :class:`KnownSpectrum`, which unpacks as
``A, s = lipbench.matrices.gaussian(512, 256, seed=0)``.

Exactness: ``s`` are the singular values of the product computed in float64;
the stored matrix differs from it by the construction's rounding and by the
cast to ``dtype``.  ``KnownSpectrum.atol`` bounds ``|sigma_i(A) - s_i|`` (Weyl:
a perturbation ``E`` moves each singular value by at most ``||E||_2 <=
||E||_F``).  Where a test needs the exact norm of the *stored* matrix, use
:func:`reference_norm` (float64 SVD on the host, power-of-two scaled).

The random numbers come from NumPy's generator on the host, so a seed gives the
same matrix on every backend (up to the backend's rounding of QR and matmul).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import backends as _backends
from ._rounding import unit_roundoff

__all__ = [
    "KnownSpectrum",
    "FAMILIES",
    "make",
    "gaussian",
    "gap",
    "geometric",
    "polynomial",
    "low_rank",
    "zero",
    "identity",
    "nn_like",
    "badly_scaled",
    "marchenko_pastur_singular_values",
    "reference_norm",
    "haar_orthonormal",
]


@dataclass(frozen=True)
class KnownSpectrum:
    """A matrix and its singular values (descending, float64, length min(m, n))."""

    matrix: Any
    singular_values: np.ndarray
    family: str
    params: dict = field(default_factory=dict)
    seed: int | None = None
    dtype: str = "float64"
    backend: str = "numpy"
    atol: float = 0.0

    def __iter__(self) -> Iterator[Any]:
        yield self.matrix
        yield self.singular_values

    @property
    def sigma_max(self) -> float:
        return float(self.singular_values[0]) if self.singular_values.size else 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.matrix.shape)


def _shape(m: int, n: int | None) -> tuple[int, int]:
    n = m if n is None else n
    if int(m) != m or int(n) != n or m < 1 or n < 1:
        raise ValueError(f"matrix shape must be two positive integers; got ({m}, {n})")
    return int(m), int(n)


_DTYPES = ("float64", "float32", "float16")


def _dtype_name(dtype: Any) -> str:
    name = np.dtype(dtype).name if not isinstance(dtype, str) else dtype
    if name not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}; got {dtype!r}")
    return name


def haar_orthonormal(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """A rows x cols matrix with Haar-distributed orthonormal columns (float64, host)."""
    g = rng.standard_normal((rows, cols))
    q, r = np.linalg.qr(g)
    d = np.sign(np.diagonal(r)).copy()
    d[d == 0] = 1.0
    return q * d


def marchenko_pastur_singular_values(m: int, n: int) -> np.ndarray:
    """Deterministic 'Gaussian-like' singular values: quantiles of the
    Marchenko-Pastur law of ``G / sqrt(max(m, n))`` with ``G`` Gaussian m x n.

    The top value sits near the bulk edge ``1 + sqrt(c)`` (c = min/max) with a
    top gap of order ``k^(-2/3)``, as for a real Gaussian matrix.
    """
    k, big = min(m, n), max(m, n)
    c = k / big
    a, b = (1 - math.sqrt(c)) ** 2, (1 + math.sqrt(c)) ** 2
    # lambda = a + (b - a)(1 - cos t)/2 makes the density smooth in t.
    t = np.linspace(0.0, math.pi, 20001)
    lam = a + (b - a) * (1 - np.cos(t)) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = ((b - a) / 2) ** 2 * np.sin(t) ** 2 / (2 * math.pi * c * lam)
    if a == 0.0:
        dens[0] = ((b - a) / 2) ** 2 / (2 * math.pi * c) * 4 / b  # limit of sin^2 t / lam
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2 * np.diff(t))])
    cdf /= cdf[-1]
    probs = (np.arange(k, 0, -1) - 0.5) / k  # descending quantiles
    lam_q = np.interp(probs, cdf, lam)
    return np.sqrt(np.maximum(lam_q, 0.0))


def _build(
    family: str,
    m: int,
    n: int,
    s: np.ndarray,
    *,
    dtype: str,
    seed: int | None,
    backend: str,
    params: dict,
    scale_exponent: int = 0,
) -> KnownSpectrum:
    dtype = _dtype_name(dtype)
    xp = _backends.namespace(backend)
    bname = _backends._coerce(backend).value
    if not hasattr(xp, dtype):
        raise ValueError(f"backend {bname!r} has no {dtype} dtype")
    k = min(m, n)
    s = np.asarray(s, dtype=np.float64)
    rng = np.random.default_rng(seed)
    if family == "identity":
        A64 = xp.eye(m, n, dtype=xp.float64)
    elif not np.any(s):
        A64 = xp.zeros((m, n), dtype=xp.float64)
    else:
        # Random Gaussians from the host generator; QR and the product on the backend.
        gu = xp.asarray(rng.standard_normal((m, k)))
        gv = xp.asarray(rng.standard_normal((n, k)))
        U = _signed_q(xp, gu)
        V = _signed_q(xp, gv)
        A64 = (U * xp.asarray(s)) @ V.T
        if scale_exponent:
            A64 = A64 * (2.0 ** scale_exponent)
    A = xp.astype(A64, getattr(xp, dtype)) if dtype != "float64" else A64
    s_scaled = s * (2.0 ** scale_exponent)
    u64, u = unit_roundoff("float64"), unit_roundoff(dtype)
    smax = float(s_scaled.max(initial=0.0))
    rel_fro = float(np.sqrt(np.sum((s / max(s.max(initial=0.0), 1e-300)) ** 2)))  # ||A||_F / sigma_max
    atol = smax * (4 * max(m, n) * u64 + u * rel_fro)  # relative first: no overflow near the dtype's end
    return KnownSpectrum(
        matrix=A,
        singular_values=np.sort(s_scaled)[::-1].copy(),
        family=family,
        params=params,
        seed=seed,
        dtype=dtype,
        backend=bname,
        atol=float(atol),
    )


def _signed_q(xp: Any, g: Any) -> Any:
    q, r = xp.linalg.qr(g)
    d = xp.sign(xp.linalg.diagonal(r))
    d = xp.where(d == 0, xp.asarray(1.0, dtype=d.dtype), d)
    return q * d


_Kw = dict  # keyword arguments passed through to _build


def gaussian(m: int, n: int | None = None, *, dtype: str = "float64", seed: int | None = 0,
             backend: str = "numpy") -> KnownSpectrum:
    """Gaussian-like: the spectrum of ``G / sqrt(max(m, n))`` (Marchenko-Pastur quantiles)."""
    m, n = _shape(m, n)
    s = marchenko_pastur_singular_values(m, n)
    return _build("gaussian", m, n, s, dtype=dtype, seed=seed, backend=backend, params={})


def gap(m: int, n: int | None = None, *, delta: float = 1e-2, dtype: str = "float64",
        seed: int | None = 0, backend: str = "numpy") -> KnownSpectrum:
    """sigma_1 = 1, sigma_2 = 1 - delta (delta = 0: a repeated top value), the rest evenly
    spread below sigma_2 down to 0.01 * sigma_2."""
    m, n = _shape(m, n)
    if not 0.0 <= delta <= 1.0:
        raise ValueError(f"delta must lie in [0, 1]; got {delta}")
    k = min(m, n)
    s = np.empty(k)
    s[0] = 1.0
    if k > 1:
        s[1:] = (1.0 - delta) * np.linspace(1.0, 0.01, k - 1)
    return _build("gap", m, n, s, dtype=dtype, seed=seed, backend=backend, params={"delta": delta})


def geometric(m: int, n: int | None = None, *, ratio: float = 0.9, dtype: str = "float64",
              seed: int | None = 0, backend: str = "numpy") -> KnownSpectrum:
    """sigma_i = ratio**i (i = 0, 1, ...)."""
    m, n = _shape(m, n)
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must lie in (0, 1]; got {ratio}")
    s = ratio ** np.arange(min(m, n), dtype=np.float64)
    return _build("geometric", m, n, s, dtype=dtype, seed=seed, backend=backend, params={"ratio": ratio})


def polynomial(m: int, n: int | None = None, *, power: float = 1.0, dtype: str = "float64",
               seed: int | None = 0, backend: str = "numpy") -> KnownSpectrum:
    """sigma_i = (i + 1)**(-power)."""
    m, n = _shape(m, n)
    if power <= 0:
        raise ValueError(f"power must be positive; got {power}")
    s = (1.0 + np.arange(min(m, n), dtype=np.float64)) ** (-power)
    return _build("polynomial", m, n, s, dtype=dtype, seed=seed, backend=backend, params={"power": power})


def low_rank(m: int, n: int | None = None, *, rank: int | None = None, dtype: str = "float64",
             seed: int | None = 0, backend: str = "numpy") -> KnownSpectrum:
    """Rank ``rank`` (default ``max(1, min(m, n) // 4)``): values evenly spread in
    [0.1, 1], then exact zeros.  ``rank < min(m, n)`` makes A rank-deficient."""
    m, n = _shape(m, n)
    k = min(m, n)
    r = max(1, k // 4) if rank is None else int(rank)
    if not 0 <= r <= k:
        raise ValueError(f"rank must lie in [0, min(m, n)] = [0, {k}]; got {rank}")
    s = np.zeros(k)
    s[:r] = np.linspace(1.0, 0.1, r) if r > 1 else 1.0
    return _build("low_rank", m, n, s, dtype=dtype, seed=seed, backend=backend, params={"rank": r})


def zero(m: int, n: int | None = None, *, dtype: str = "float64", seed: int | None = 0,
         backend: str = "numpy") -> KnownSpectrum:
    """The zero matrix (every singular value 0)."""
    m, n = _shape(m, n)
    return _build("zero", m, n, np.zeros(min(m, n)), dtype=dtype, seed=seed, backend=backend, params={})


def identity(m: int, n: int | None = None, *, dtype: str = "float64", seed: int | None = 0,
             backend: str = "numpy") -> KnownSpectrum:
    """``eye(m, n)``: every singular value 1 (a maximally repeated top value)."""
    m, n = _shape(m, n)
    return _build("identity", m, n, np.ones(min(m, n)), dtype=dtype, seed=seed, backend=backend, params={})


def nn_like(m: int, n: int | None = None, *, spike: float = 1.5, dtype: str = "float64",
            seed: int | None = 0, backend: str = "numpy") -> KnownSpectrum:
    """The spectrum of a trained layer's weight, ``G / sqrt(max(m, n)) + spike * u v^T``:
    a Marchenko-Pastur bulk and one outlier at the BBP location
    ``sqrt((1 + t^2)(c + t^2)) / t`` (t = spike, c = min/max), which leaves the
    bulk when ``t > c**(1/4)``."""
    m, n = _shape(m, n)
    s = marchenko_pastur_singular_values(m, n)
    c = min(m, n) / max(m, n)
    if spike > c ** 0.25:
        s[0] = max(math.sqrt((1 + spike**2) * (c + spike**2)) / spike, s[0])
    return _build("nn_like", m, n, s, dtype=dtype, seed=seed, backend=backend, params={"spike": spike})


def badly_scaled(m: int, n: int | None = None, *, end: str = "huge", dtype: str = "float64",
                 seed: int | None = 0, backend: str = "numpy") -> KnownSpectrum:
    """A Gaussian-like matrix scaled by a power of two so that its largest entry
    sits near the overflow end (``end='huge'``: 2**(maxexp - 6), about 3e306 in
    float64 and 5e36 in float32) or the underflow end (``end='tiny'``:
    2**(minexp + 30), about 2e-299 in float64 and 1e-29 in float32) of ``dtype``.
    ``||A||_F**2`` overflows (or underflows) in ``dtype``."""
    m, n = _shape(m, n)
    if end not in ("huge", "tiny"):
        raise ValueError(f"end must be 'huge' or 'tiny'; got {end!r}")
    dt = _dtype_name(dtype)
    s = marchenko_pastur_singular_values(m, n)
    fi = np.finfo(np.dtype(dt))
    target = (fi.maxexp - 6) if end == "huge" else (fi.minexp + 30)
    # Largest entry of U diag(s) V^T is at most s_max; use the exact one.
    unit = _build("gaussian", m, n, s, dtype="float64", seed=seed, backend="numpy", params={})
    maxabs = float(np.max(np.abs(unit.matrix)))
    exponent = target - math.ceil(math.log2(maxabs))
    return _build("badly_scaled", m, n, s, dtype=dt, seed=seed, backend=backend,
                  params={"end": end}, scale_exponent=exponent)


FAMILIES: dict[str, Callable[..., KnownSpectrum]] = {
    "gaussian": gaussian,
    "gap": gap,
    "geometric": geometric,
    "polynomial": polynomial,
    "low_rank": low_rank,
    "zero": zero,
    "identity": identity,
    "nn_like": nn_like,
    "badly_scaled": badly_scaled,
}


def make(family: str, m: int, n: int | None = None, **kwargs: Any) -> KnownSpectrum:
    """``make('gap', 256, 128, delta=0.0, seed=3)`` -- any family by name."""
    try:
        fn = FAMILIES[family]
    except KeyError:
        raise ValueError(f"unknown matrix family {family!r}; known: {', '.join(FAMILIES)}") from None
    return fn(m, n, **kwargs)


def reference_norm(A: Any) -> float:
    """sigma_max of the stored matrix: float64 SVD on the host, after scaling by a
    power of two so that entries near the overflow or underflow ends are safe."""
    a = np.asarray(_backends.to_numpy(A), dtype=np.float64)
    if a.size == 0:
        return 0.0
    amax = float(np.max(np.abs(a)))
    if amax == 0.0:
        return 0.0
    e = math.frexp(amax)[1]
    return math.ldexp(float(np.linalg.svd(np.ldexp(a, -e), compute_uv=False)[0]), e)
