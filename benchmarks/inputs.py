"""Benchmark inputs on their backend with their ground truth, built once per session.

Ground truth: for float64 dense inputs sigma_max is known by construction
(``lipbench.matrices``: ``A = U diag(s) V^T``, error below ``KnownSpectrum.atol``);
for float32 the stored (rounded) matrix's sigma_max comes from a float64 SVD on
the host; for the sparse operator, from a float64 SVD of its stored blocks
(``benchmarks/spectra.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from benchmarks.grid import INPUT_SEED, SPARSE_BLOCK
from benchmarks.spectra import GRID_SPECTRA, sparse_block_operator
from lipbench import backends as _backends
from lipbench import matrices as _matrices


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
        if dtype == "float64":
            ks = GRID_SPECTRA[family].make(m, n, dtype="float64", seed=INPUT_SEED, backend=backend)
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


__all__ = ["Input", "InputCache", "matvec_seconds"]
