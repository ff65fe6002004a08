"""Matrices with known spectra that never exist in memory whole (Dask arrays).

:func:`kronecker` builds ``B (x) C`` of two small in-memory factors chunk by
chunk: each chunk is generated when a task needs it and dropped after, so a
29 GB matrix costs a few chunks of memory and each pass over it regenerates
it.  Its singular values are the products ``sigma_i(B) sigma_j(C)``, so
``sigma_max = sigma_1(B) sigma_1(C)``; the factors' SVDs and the rounding of
every stored entry bound how far the stored matrix's sigma_max can be from
that (:attr:`VirtualMatrix.sigma_bracket`).  :func:`write_zarr` stores such a
matrix once, uncompressed, for out-of-core runs from disk.
Needs the optional extra ``lipbench[dask]`` (and ``zarr`` for the store).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import matrices

__all__ = ["VirtualMatrix", "kronecker", "known_kronecker", "write_zarr", "read_zarr"]

#: default bytes per chunk (row slabs spanning all columns)
CHUNK_BYTES = 128 << 20


@dataclass(frozen=True)
class VirtualMatrix:
    """A Dask array with a known sigma_max.

    ``sigma_max`` is ``sigma_1(B) sigma_1(C)`` from float64 SVDs of the
    factors; ``sigma_bracket`` holds the stored matrix's true sigma_max,
    covering the SVDs' backward error and the rounding of each stored entry
    (``|fl(b c) - b c| <= u |b c|``, so the stored matrix is within
    ``u ||B||_F ||C||_F`` of ``B (x) C`` in 2-norm)."""

    array: Any
    sigma_max: float
    sigma_bracket: tuple[float, float]
    description: str

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(int(s) for s in self.array.shape)  # type: ignore[return-value]

    @property
    def nbytes(self) -> int:
        return int(self.array.nbytes)


def _kron_block(B: np.ndarray, C: np.ndarray, r0: int, r1: int, c0: int, c1: int, dtype: str) -> np.ndarray:
    """Rows r0:r1 and columns c0:c1 of ``B (x) C``, written once into the output."""
    r, s = C.shape
    i0, i1 = r0 // r, -(-r1 // r)
    j0, j1 = c0 // s, -(-c1 // s)
    p, q = i1 - i0, j1 - j0
    out = np.empty((p * r, q * s), dtype=dtype)
    for i in range(p):  # rows of C varying slowest: contiguous writes (5x faster than one 4-D broadcast)
        np.multiply(C[:, None, :], B[i0 + i, j0:j1][None, :, None], out=out[i * r:(i + 1) * r].reshape(r, q, s),
                    casting="same_kind")
    a, b = r0 - i0 * r, c0 - j0 * s
    if a == 0 and b == 0 and out.shape == (r1 - r0, c1 - c0):
        return out
    return np.ascontiguousarray(out[a:a + r1 - r0, b:b + c1 - c0])


def kronecker(B: Any, C: Any, *, dtype: str = "float64", chunk_bytes: int = CHUNK_BYTES,
              row_chunk: int | None = None, col_chunk: int | None = None) -> VirtualMatrix:
    """``B (x) C`` as a Dask array generated chunk by chunk (row slabs of about
    ``chunk_bytes`` spanning all columns, unless ``row_chunk``/``col_chunk``
    say otherwise).  B and C are small in-memory matrices."""
    import dask
    import dask.array as da

    B = np.ascontiguousarray(B, dtype=np.float64)
    C = np.ascontiguousarray(C, dtype=np.float64)
    if B.ndim != 2 or C.ndim != 2 or 0 in B.shape or 0 in C.shape:
        raise ValueError(f"B and C must be non-empty 2-D matrices; got shapes {B.shape} and {C.shape}")
    if dtype not in ("float64", "float32"):
        raise ValueError(f"dtype must be 'float64' or 'float32'; got {dtype!r}")
    m, n = B.shape[0] * C.shape[0], B.shape[1] * C.shape[1]
    item = np.dtype(dtype).itemsize
    if row_chunk is None:
        width = n if col_chunk is None else col_chunk
        row_chunk = max(C.shape[0], (chunk_bytes // (width * item)) // C.shape[0] * C.shape[0])
    col_chunk = n if col_chunk is None else col_chunk
    rows = [(r0, min(m, r0 + row_chunk)) for r0 in range(0, m, row_chunk)]
    cols = [(c0, min(n, c0 + col_chunk)) for c0 in range(0, n, col_chunk)]
    Bd, Cd = dask.delayed(B, pure=True), dask.delayed(C, pure=True)
    gen = dask.delayed(_kron_block, pure=True)
    A = da.block([[da.from_delayed(gen(Bd, Cd, r0, r1, c0, c1, dtype), (r1 - r0, c1 - c0), dtype=dtype,
                                   meta=np.empty((0, 0), dtype=dtype))
                   for (c0, c1) in cols] for (r0, r1) in rows])
    sb, sc = (np.linalg.svd(F, compute_uv=False) for F in (B, C))
    from ._rounding import unit_roundoff
    from .spectral._floors import svd_error

    eb = svd_error(sb[0], B.shape[0], B.shape[1], "float64")[0]
    ec = svd_error(sc[0], C.shape[0], C.shape[1], "float64")[0]
    u = unit_roundoff(dtype) + (unit_roundoff("float64") if dtype != "float64" else 0.0)
    sigma = float(sb[0] * sc[0])
    entry = u * float(np.linalg.norm(B)) * float(np.linalg.norm(C)) * (1 + 4 * unit_roundoff("float64"))
    lo = sigma * (1 - eb) * (1 - ec) / (1 + 4 * unit_roundoff("float64")) - entry
    hi = sigma * (1 + eb) * (1 + ec) * (1 + 4 * unit_roundoff("float64")) + entry
    return VirtualMatrix(A, sigma, (max(0.0, lo), hi),
                         f"kron({B.shape[0]}x{B.shape[1]}, {C.shape[0]}x{C.shape[1]}) {dtype}")


def known_kronecker(b_shape: tuple[int, int], c_shape: tuple[int, int], *, family_b: str = "gaussian",
                    family_c: str = "geometric", seed: int = 0, dtype: str = "float64",
                    chunk_bytes: int = CHUNK_BYTES, **chunking: Any) -> VirtualMatrix:
    """:func:`kronecker` of two :mod:`lipbench.matrices` families drawn from
    ``seed`` (B from ``seed``, C from ``seed + 1``): e.g. a 60 000 x 60 000
    matrix from ``b_shape=(240, 240), c_shape=(250, 250)``."""
    B = matrices.make(family_b, *b_shape, seed=seed).matrix
    C = matrices.make(family_c, *c_shape, seed=seed + 1).matrix
    return kronecker(B, C, dtype=dtype, chunk_bytes=chunk_bytes, **chunking)


def write_zarr(A: Any, path: str) -> Any:
    """Write a Dask array once to a Zarr store at ``path``, uncompressed (random
    floats do not compress), chunked as A; returns the array read back lazily."""
    import inspect

    import dask.array as da
    import zarr

    kw: dict[str, Any] = {"compressors": None} if int(zarr.__version__.split(".")[0]) >= 3 else {"compressor": None}
    kw.update({"mode": "w"} if "mode" in inspect.signature(da.to_zarr).parameters else {"overwrite": True})
    da.to_zarr(A, path, **kw)
    return read_zarr(path)


def read_zarr(path: str) -> Any:
    """The Dask array of a Zarr store (chunks as stored)."""
    import dask.array as da

    return da.from_zarr(path)

