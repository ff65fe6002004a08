"""Strategies for matrices and vectors: spectra known by construction, and adversarial entries.

Matrices with a controlled spectrum are built, not filtered: ``A = U diag(s) V^T``
with ``U``, ``V`` Haar-orthonormal (``lipbench.matrices.haar_orthonormal``, QR
of Gaussians) from a seed Hypothesis draws, and ``s`` drawn as a descending
spectrum (random, repeated top, clustered, geometric or rank-deficient).  Dense
"adversarial" matrices come from ``hypothesis.extra.numpy.arrays`` with
``fill=st.nothing()`` so that every element is drawn independently (the default
fill repeats one value and makes low-rank matrices by accident); shrinking still
reaches zeros and repeated entries, which is what an adversary wants.

Tests import these from :mod:`properties.strategies`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lipbench import matrices as lm

__all__ = [
    "MAX_SIDE",
    "DTYPES",
    "SPECTRUM_KINDS",
    "SpectralMatrix",
    "seeds",
    "dtypes",
    "shapes",
    "spectra",
    "spectral_matrices",
    "rank_deficient_matrices",
    "cluster_matrices",
    "family_matrices",
    "dense_matrices",
    "integer_matrices",
    "vectors",
    "nonzero_vectors",
    "gram_losing_matrices",
    "near_singular_symmetric",
]

MAX_SIDE = 24
DTYPES = ("float64", "float32")
SPECTRUM_KINDS = ("random", "repeated_top", "clustered", "geometric", "rank_deficient")

seeds = st.integers(min_value=0, max_value=2**32 - 1)


def dtypes() -> st.SearchStrategy[str]:
    return st.sampled_from(DTYPES)


@st.composite
def shapes(draw: Any, *, min_side: int = 1, max_side: int = MAX_SIDE, kind: str | None = None) -> tuple[int, int]:
    """(m, n) that is tall (m > n), wide (m < n) or square, by construction."""
    kind = draw(st.sampled_from(("square", "tall", "wide")), label="shape kind") if kind is None else kind
    if kind == "square":
        n = draw(st.integers(min_side, max_side), label="side")
        return n, n
    if kind not in ("tall", "wide"):
        raise ValueError(f"shape kind must be 'square', 'tall' or 'wide'; got {kind!r}")
    if max_side <= min_side:
        raise ValueError(f"a {kind} shape needs max_side > min_side; got {min_side}, {max_side}")
    small = draw(st.integers(min_side, max_side - 1), label="short side")
    big = draw(st.integers(small + 1, max_side), label="long side")
    return (big, small) if kind == "tall" else (small, big)


@st.composite
def spectra(draw: Any, k: int, *, kind: str | None = None, max_condition: float = 1e6,
            rank: int | None = None) -> np.ndarray:
    """k singular values, descending, float64, top value in [2**-6, 2**6].

    kinds: ``random`` (log-uniform in [top/max_condition, top]), ``repeated_top``
    (the top value repeated 2..k times), ``clustered`` (all within 1e-3 relative
    of the top), ``geometric`` (ratio drawn), ``rank_deficient`` (rank r < k:
    exact zeros after r; needs k >= 2).  ``rank`` forces the rank (zeros after it).
    """
    kind = draw(st.sampled_from(SPECTRUM_KINDS if k >= 2 else SPECTRUM_KINDS[:4]), label="spectrum kind") \
        if kind is None else kind
    top = 2.0 ** draw(st.floats(-6.0, 6.0, allow_nan=False), label="log2 sigma_max")
    log_cond = np.log10(max_condition)
    if kind == "random":
        e = draw(hnp.arrays(np.float64, (k,), elements=st.floats(0.0, log_cond), fill=st.nothing()),
                 label="log10 decay")
        s = top * 10.0 ** -np.sort(e)
        s[0] = top
    elif kind == "repeated_top":
        reps = draw(st.integers(min(2, k), k), label="top multiplicity")
        rest = 10.0 ** -np.sort(draw(hnp.arrays(np.float64, (k - reps,), elements=st.floats(0.01, log_cond),
                                                fill=st.nothing()), label="log10 decay"))
        s = top * np.concatenate([np.ones(reps), rest])
    elif kind == "clustered":
        rel = np.sort(draw(hnp.arrays(np.float64, (k,), elements=st.floats(0.0, 1e-3), fill=st.nothing()),
                           label="cluster offsets"))
        s = top * (1.0 - rel)
        s[0] = top
    elif kind == "geometric":
        ratio = draw(st.floats(0.05, 1.0), label="ratio")
        s = top * ratio ** np.arange(k, dtype=np.float64)
    elif kind == "rank_deficient":
        if k < 2:
            raise ValueError("a rank-deficient spectrum needs k >= 2")
        r = draw(st.integers(0, k - 1), label="rank") if rank is None else rank
        s = np.zeros(k)
        if r:
            s[:r] = draw(spectra(r, kind="random", max_condition=max_condition), label="non-zero part")
            s[:r] *= top / s[0]
        return s
    else:
        raise ValueError(f"unknown spectrum kind {kind!r}; known: {SPECTRUM_KINDS}")
    s = np.sort(s)[::-1].copy()
    if rank is not None:
        s[rank:] = 0.0
    return s


@dataclass(frozen=True)
class SpectralMatrix:
    """A NumPy matrix with singular values ``s`` known by construction, up to ``atol``
    (Weyl: the construction's rounding in float64 plus the cast to ``dtype``)."""

    matrix: np.ndarray
    s: np.ndarray
    seed: int
    kind: str = ""
    params: dict = field(default_factory=dict)
    atol: float = 0.0

    def __iter__(self) -> Any:
        yield self.matrix
        yield self.s

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape  # type: ignore[return-value]

    @property
    def dtype(self) -> str:
        return self.matrix.dtype.name

    @property
    def sigma_max(self) -> float:
        return float(self.s[0]) if self.s.size else 0.0

    @property
    def rank(self) -> int:
        return int(np.count_nonzero(self.s))


def _construct(s: np.ndarray, m: int, n: int, seed: int, dtype: str) -> tuple[np.ndarray, float]:
    rng = np.random.default_rng(seed)
    k = min(m, n)
    U = lm.haar_orthonormal(m, k, rng)
    V = lm.haar_orthonormal(n, k, rng)
    A64 = (U * s) @ V.T
    A = A64.astype(dtype)
    fro = float(np.sqrt(np.sum(s * s)))
    atol = 4 * max(m, n) * np.finfo(np.float64).eps * float(s.max(initial=0.0)) + np.finfo(dtype).eps / 2 * fro
    return A, float(atol)


@st.composite
def spectral_matrices(draw: Any, *, shape: tuple[int, int] | None = None, dtype: str | None = None,
                      kind: str | None = None, min_side: int = 1, max_side: int = MAX_SIDE,
                      max_condition: float = 1e6) -> SpectralMatrix:
    """``U diag(s) V^T`` with ``s`` from :func:`spectra` and a Hypothesis-drawn seed."""
    m, n = draw(shapes(min_side=min_side, max_side=max_side), label="shape") if shape is None else shape
    k = min(m, n)
    if kind == "rank_deficient" and k < 2:
        raise ValueError("rank-deficient matrices need min(m, n) >= 2")
    dt = draw(dtypes(), label="dtype") if dtype is None else dtype
    s = draw(spectra(k, kind=kind, max_condition=max_condition), label="singular values")
    seed = draw(seeds, label="seed")
    A, atol = _construct(s, m, n, seed, dt)
    return SpectralMatrix(A, s, seed, kind or "", {}, atol)


@st.composite
def cluster_matrices(draw: Any, *, min_side: int = 40, max_side: int = 120) -> tuple[SpectralMatrix, float]:
    """(float64 ``U diag(s) V^T``, tol) where the residual bound is nearly
    tight: the top two singular values ``1`` and ``1 - delta`` with ``delta``
    within a few decades of ``tol``, the rest spread over [0.1, 0.9] (so a
    Krylov space of a few dozen vectors is not exhausted)."""
    n = draw(st.integers(min_side, max_side), label="short side")
    m = n + draw(st.integers(0, 20), label="extra rows")
    tol = draw(st.sampled_from([1e-4, 1e-6, 1e-8]), label="tol")
    delta = tol * 10.0 ** draw(st.floats(-1.5, 2.5), label="log10 gap over tol")
    s = np.concatenate([[1.0, 1.0 - delta], np.linspace(0.9, 0.1, n - 2)])
    seed = draw(seeds, label="seed")
    A, atol = _construct(s, m, n, seed, "float64")
    return SpectralMatrix(A, s, seed, "cluster", {"delta": delta}, atol), tol


def rank_deficient_matrices(*, dtype: str | None = None, max_side: int = MAX_SIDE) -> st.SearchStrategy[SpectralMatrix]:
    """Matrices of rank r < min(m, n) (r may be 0), by construction."""
    return spectral_matrices(dtype=dtype, kind="rank_deficient", min_side=2, max_side=max_side)


_FAMILY_PARAMS: dict[str, Any] = {
    "gaussian": st.just({}),
    "gap": st.fixed_dictionaries({"delta": st.floats(0.0, 1.0)}),
    "geometric": st.fixed_dictionaries({"ratio": st.floats(0.05, 1.0)}),
    "polynomial": st.fixed_dictionaries({"power": st.floats(0.1, 3.0)}),
    "low_rank": st.just(None),  # rank drawn against the shape
    "zero": st.just({}),
    "identity": st.just({}),
    "nn_like": st.fixed_dictionaries({"spike": st.floats(0.1, 5.0)}),
}


@st.composite
def family_matrices(draw: Any, *, dtype: str = "float64", families: tuple[str, ...] | None = None,
                    max_side: int = MAX_SIDE) -> lm.KnownSpectrum:
    """A matrix from ``lipbench.matrices`` (any family except badly_scaled, unless named)."""
    names = tuple(_FAMILY_PARAMS) if families is None else families
    family = draw(st.sampled_from(names), label="family")
    m, n = draw(shapes(max_side=max_side), label="shape")
    if family == "badly_scaled":
        params = {"end": draw(st.sampled_from(("huge", "tiny")), label="end")}
    elif family == "low_rank":
        params = {"rank": draw(st.integers(0, min(m, n)), label="rank")}
    else:
        params = draw(_FAMILY_PARAMS[family], label="params")
    return lm.make(family, m, n, dtype=dtype, seed=draw(seeds, label="seed"), **params)


def dense_matrices(*, shape: tuple[int, int] | None = None, dtype: str = "float64", max_side: int = MAX_SIDE,
                   bound: float = 8.0) -> st.SearchStrategy[np.ndarray]:
    """Arbitrary matrices with entries in [-bound, bound], each drawn independently
    (``fill=st.nothing()``); shrinks toward zeros and repeated entries."""
    shp: Any = shapes(max_side=max_side) if shape is None else st.just(shape)
    elements = st.floats(-bound, bound, allow_nan=False, allow_subnormal=False, width=int(dtype[-2:]))
    return shp.flatmap(lambda sh: hnp.arrays(dtype, sh, elements=elements, fill=st.nothing()))


def integer_matrices(*, max_side: int = 4, bound: int = 3) -> st.SearchStrategy[np.ndarray]:
    """Small integer matrices (int64 entries in [-bound, bound]) for exact arithmetic."""
    return shapes(max_side=max_side).flatmap(
        lambda sh: hnp.arrays(np.int64, sh, elements=st.integers(-bound, bound), fill=st.nothing()))


def vectors(n: int, *, bound: float = 1e3) -> st.SearchStrategy[np.ndarray]:
    """float64 vectors of length n, entries drawn independently in [-bound, bound]."""
    return hnp.arrays(np.float64, (n,), elements=st.floats(-bound, bound, allow_subnormal=False), fill=st.nothing())


def nonzero_vectors(n: int, *, bound: float = 1e3) -> st.SearchStrategy[np.ndarray]:
    """As :func:`vectors`, with at least one entry of magnitude >= 1e-3 (norms far from underflow)."""
    return vectors(n, bound=bound).filter(lambda v: bool(np.max(np.abs(v)) >= 1e-3))


@st.composite
def gram_losing_matrices(draw: Any, *, max_rows: int = 96, max_cols: int = 4) -> np.ndarray:
    """m x n (m > n) float64 matrices whose float Gram matrix falls short of the
    exact one: column j holds 1 in row j and 2**-e below (e in [20, 30]), so a
    sum that meets the 1 first loses every 2**-2e product (up to (m - 1) u / 2
    on the diagonal with e = 27).  They defeat a Gram term that is too small."""
    n = draw(st.integers(1, max_cols), label="columns")
    m = draw(st.integers(max(8, n + 1), max_rows), label="rows")
    e = draw(st.integers(20, 30), label="exponent of the small entries")
    A = np.full((m, n), 2.0**-e)
    A[np.arange(n), np.arange(n)] = 1.0
    return A


@st.composite
def near_singular_symmetric(draw: Any) -> np.ndarray:
    """2 x 2 symmetric float64 ``[[a, b], [b, c]]`` with c a few ulps from
    fl(b^2 / a): about as often exactly indefinite as definite, with a
    determinant far below the Cholesky factorization's rounding."""
    a = draw(st.floats(0.25, 4.0), label="a")
    b = draw(st.floats(-4.0, 4.0).filter(lambda x: abs(x) >= 2.0**-4), label="b")
    c = b * b / a
    for _ in range(draw(st.integers(0, 3), label="ulps")):
        c = float(np.nextafter(c, np.inf if draw(st.booleans(), label="up") else -np.inf))
    return np.array([[a, b], [b, c]])
