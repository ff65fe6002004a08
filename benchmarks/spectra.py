"""The spectra the benchmarks and studies use, by label, and the sparse operator built from them.

Every label names a ``lipbench.matrices`` family and the keyword arguments it
is built with; suites and studies pick spectra by label from :data:`SPECTRA`
instead of restating the arguments.

The sparse operator is block diagonal with known blocks, rows and columns
permuted at random, so its singular values are the blocks' (computed exactly
by a batched float64 SVD of the stored blocks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lipbench import matrices as _matrices


@dataclass(frozen=True)
class Spectrum:
    """A ``lipbench.matrices`` family with the keyword arguments it is built with."""

    family: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def make(self, m: int, n: int | None = None, **kwargs: Any) -> _matrices.KnownSpectrum:
        """``lipbench.matrices.make`` for this spectrum (``seed``, ``dtype``, ``backend`` in ``kwargs``)."""
        return _matrices.make(self.family, m, n, **self.options, **kwargs)

    @property
    def label(self) -> str:
        """The family and its options, e.g. ``gap delta=0.01``."""
        return self.family + "".join(f" {k}={v:g}" if isinstance(v, float) else f" {k}={v}"
                                     for k, v in self.options.items())


#: Every family of lipbench.matrices as the benchmarks build it (first, in the
#: library's order), then the variants the studies sweep.
SPECTRA: dict[str, Spectrum] = {
    "gaussian": Spectrum("gaussian"),
    "gap": Spectrum("gap", {"delta": 1e-2}),  # sigma_2 / sigma_1 = 0.99
    "geometric": Spectrum("geometric"),
    "polynomial": Spectrum("polynomial"),
    "low_rank": Spectrum("low_rank"),
    "zero": Spectrum("zero"),
    "identity": Spectrum("identity"),
    "nn_like": Spectrum("nn_like"),
    "badly_scaled": Spectrum("badly_scaled", {"end": "huge"}),
    "gap1e-4": Spectrum("gap", {"delta": 1e-4}),
    "gap1e-6": Spectrum("gap", {"delta": 1e-6}),
}

#: The grid's spectra (benchmarks.grid.FAMILIES), under the labels its rows carry.
GRID_SPECTRA: dict[str, Spectrum] = {
    "gaussian": SPECTRA["gaussian"],
    "gap0.99": SPECTRA["gap"],
    "nn_like": SPECTRA["nn_like"],
}


def sparse_spectrum(family: str, N: int) -> np.ndarray:
    """The singular values the sparse operator with grid spectrum ``family`` is given, descending."""
    spec = GRID_SPECTRA.get(family)
    if spec is None:
        raise ValueError(f"unknown spectrum family {family!r} for the sparse operator")
    if spec.family == "gaussian":
        return _matrices.marchenko_pastur_singular_values(N, N)
    if spec.family == "gap":
        s = np.empty(N)
        s[0] = 1.0
        s[1:] = (1.0 - spec.options["delta"]) * np.linspace(1.0, 0.01, N - 1)
        return s
    if spec.family == "nn_like":  # the law of lipbench.matrices.nn_like for a square matrix (c = 1), spike 1.5
        s = _matrices.marchenko_pastur_singular_values(N, N)
        t = 1.5
        s[0] = max(math.sqrt((1 + t * t) * (1 + t * t)) / t, s[0])
        return s
    raise ValueError(f"no sparse construction for the {spec.family!r} family")


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


__all__ = ["GRID_SPECTRA", "SPECTRA", "Spectrum", "sparse_block_operator", "sparse_spectrum"]
