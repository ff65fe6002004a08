"""The :class:`Operator` of a Dask array: A stays distributed, the vectors stay in NumPy.

Every product is one ``compute`` that reads each chunk of A exactly once.
A is cut into *slabs* -- the row chunks of A, or the column chunks of A
when that makes smaller slabs (a wide matrix chunked by columns): the
operator then works on ``A^T``, which has the same singular values.  One
task per slab receives the slab's blocks and the vector, computes
``t = a x`` and ``z = a^T t`` (row piece by row piece, so each piece is
read from memory once and used twice while it sits in cache), and the
slabs' ``z`` are tree-summed.  ``x`` travels once per pass (scattered to
the workers when a ``dask.distributed`` client runs the graph and x is
large).

The matrix is never scaled: the power-of-two ``scale`` is applied to the
vectors (``A_scaled x = A (x / scale)``; division by a power of two is
exact but for results in the subnormal range, whose rounding is carried as
the operator's ``input_error``), so the rounding of every product is that of
the scaled matrix and :mod:`lipbench._rounding`'s bounds apply.  All products run in float64
(float32 chunks are converted piece by piece); a product with the whole of
A is computed in whatever order the tree sum takes, which the inner-product
bound ``gamma_k |A| |x|`` allows.

The operator is built, after one summary pass over A, by
:func:`._dask_prepare.prepare_dask`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._rounding import abs_sum_upper, norm_bounds, up
from ._dask_schedule import _distributed_client, compute
from ._operator import Operator

__all__ = ["DaskOperator", "PassReport", "PIECE_BYTES", "TREE_FAN_IN"]

#: bytes of a row piece inside a slab task: it stays in a core's cache
#: between its two uses (the same size as the in-memory fused product's blocks)
PIECE_BYTES = 1 << 20
#: ... but at least this many rows: each piece also reads and updates z (one
#: row of A's width), which must stay small next to the piece
MIN_PIECE_ROWS = 32
#: partial sums combined per node of the tree sums
TREE_FAN_IN = 8
#: a vector (or block) larger than this is scattered to the workers once per
#: pass instead of travelling inside the graph (distributed only)
SCATTER_BYTES = 1 << 20


@dataclass(frozen=True)
class PassReport:
    """The passes over A one call made: how many, of which kind (``summary``,
    ``normal`` for ``A^T (A x)``, ``rmatvec``, ``gram``), and the seconds each
    took (wall clock on the client, graph construction included)."""

    passes: int
    seconds: tuple[float, ...]
    kinds: tuple[str, ...]

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds))

    @property
    def seconds_per_pass(self) -> float:
        """Median seconds per pass (nan before any pass)."""
        return float(statistics.median(self.seconds)) if self.seconds else math.nan

    def count(self, kind: str) -> int:
        return sum(k == kind for k in self.kinds)


# ----------------------------------------------------------------- task kernels
def _rows_per_piece(width: int, rows: int) -> int:
    return max(1, min(rows, max(MIN_PIECE_ROWS, PIECE_BYTES // (8 * max(1, width)))))


def _blas_operand(p: Any) -> tuple[np.ndarray, int]:
    """``(a, trans)`` with ``a`` Fortran-ordered float64 and ``op(a) == p``
    (``a = p^T`` for a C-ordered piece: no copy)."""
    p = np.asarray(p, dtype=np.float64)
    if p.flags.f_contiguous:
        return p, 0
    if p.flags.c_contiguous:
        return p.T, 1
    return np.asfortranarray(p), 0


def _mul(a: np.ndarray, trans: int, x: np.ndarray, alpha: float = 1.0, acc: Any = None) -> np.ndarray:
    """``alpha op(a) x`` (+ ``acc``, updated in place when it is Fortran-ordered
    float64) by BLAS ``gemv``/``gemm``: no temporary for the sum."""
    from scipy.linalg import blas

    if x.ndim == 1:
        if acc is None:
            return blas.dgemv(alpha, a, x, trans=trans)
        return blas.dgemv(alpha, a, x, beta=1.0, y=acc, trans=trans, overwrite_y=1)
    if acc is None:
        return blas.dgemm(alpha, a, x, trans_a=trans)
    return blas.dgemm(alpha, a, x, beta=1.0, c=acc, trans_a=trans, overwrite_c=1)


def _slab_products(blocks: list, x: Any, col_starts: tuple[int, ...], inv_scale: float,
                   want_t: bool, want_z: bool) -> tuple[Any, Any]:
    """``t = a (x inv_scale)`` and ``z = a^T (t inv_scale)`` of one slab ``a =
    [blocks]`` in float64; x is (n,) or (n, b).  C-ordered blocks are taken
    row piece by row piece (each piece used twice while in cache); other
    layouts whole (each block read twice from memory, once from A).  The
    products are BLAS calls on the pieces as stored (a C-ordered piece is the
    transpose of a Fortran-ordered one) that accumulate into t and z."""
    x = np.asarray(x, dtype=np.float64) * inv_scale
    rows = int(blocks[0].shape[0])
    tail = x.shape[1:]
    xs = [np.asfortranarray(x[c:c + int(b.shape[1])]) for b, c in zip(blocks, col_starts)]
    t = np.zeros((rows,) + tail)
    zs = [np.zeros((int(b.shape[1]),) + tail, order="F") for b in blocks] if want_z else None
    # C-ordered: cache-sized row pieces; another layout: each block whole
    step = (_rows_per_piece(sum(int(b.shape[1]) for b in blocks), rows)
            if all(b.flags.c_contiguous for b in blocks) else rows)
    for r0 in range(0, rows, step):
        pieces = [_blas_operand(b[r0:r0 + step]) for b in blocks]
        tp = None
        for (a, tr), xj in zip(pieces, xs):
            tp = _mul(a, tr, xj, acc=tp)
        assert tp is not None  # blocks is not empty
        t[r0:r0 + step] = tp
        if zs is not None:  # scaled before the product: a^T t of an unscaled a can overflow
            tp = np.asfortranarray(tp * inv_scale)
            for j, ((a, tr), zj) in enumerate(zip(pieces, zs)):
                zs[j] = _mul(a, 1 - tr, tp, acc=zj)
    return (t if want_t else None), (np.concatenate(zs) if zs is not None else None)


def _slab_rmatvec(blocks: list, y: Any, row_start: int, inv_scale: float) -> Any:
    """``a^T (y_slab inv_scale)`` of one slab, in float64."""
    ys = np.asarray(y, dtype=np.float64)[row_start:row_start + int(blocks[0].shape[0])] * inv_scale
    return np.concatenate([np.asarray(b, dtype=np.float64).T @ ys for b in blocks])


def _slab_gram(blocks: list, inv_scale: float) -> np.ndarray:
    """``a^T a`` of one slab (scaled), in float64, row piece by row piece."""
    width = sum(int(b.shape[1]) for b in blocks)
    rows = int(blocks[0].shape[0])
    step = max(64, _rows_per_piece(width, rows))
    G = np.zeros((width, width))
    for r0 in range(0, rows, step):
        p = np.concatenate([np.asarray(b[r0:r0 + step], dtype=np.float64) for b in blocks], axis=1)
        p *= inv_scale
        G += p.T @ p
    return G


def _add(*parts: Any) -> Any:
    out = parts[0].copy()
    for p in parts[1:]:
        out += p
    return out


def _tree_sum(items: list) -> Any:
    """A delayed tree sum (fan-in :data:`TREE_FAN_IN`) of delayed arrays."""
    import dask

    add = dask.delayed(_add, pure=True)
    while len(items) > 1:
        items = [add(*items[i:i + TREE_FAN_IN]) if len(items[i:i + TREE_FAN_IN]) > 1 else items[i]
                 for i in range(0, len(items), TREE_FAN_IN)]
    return items[0]


def _ship(x: np.ndarray) -> Any:
    """x as one graph key (scattered once when a distributed client runs the
    graph and x is large)."""
    import dask

    client = _distributed_client()
    if client is not None and x.nbytes > SCATTER_BYTES:
        return client.scatter(x, broadcast=True, hash=False)
    return dask.delayed(x, pure=False)


@dataclass
class _PassLog:
    seconds: list = field(default_factory=list)
    kinds: list = field(default_factory=list)

    def record(self, kind: str, seconds: float) -> None:
        self.kinds.append(kind)
        self.seconds.append(float(seconds))

    def report(self) -> PassReport:
        return PassReport(len(self.seconds), tuple(self.seconds), tuple(self.kinds))


# ------------------------------------------------------------------ operator
@dataclass
class DaskOperator(Operator):
    """An :class:`Operator` whose matrix is a Dask array (``array``: A, or
    ``A^T`` when ``array_is_transpose``; ``m`` and ``n`` are ``array``'s, ``shape`` is
    A's), with NumPy vectors.

    ``matvec`` computes ``A x`` and ``A^T (A x)`` in the same pass and keeps
    the second: ``rmatvec`` of exactly the array ``matvec`` returned (read-only)
    costs no pass -- power iteration and block Krylov take one pass per step
    as the normal-operator Lanczos does; any other ``rmatvec`` is a pass."""

    array: Any = None
    array_is_transpose: bool = False
    log: _PassLog = field(default_factory=_PassLog, repr=False)
    _blocks: Any = field(default=None, repr=False)
    _row_starts: tuple = field(default=(), repr=False)
    _col_starts: tuple = field(default=(), repr=False)
    _ahead: Any = field(default=None, repr=False)

    def assembled64(self, max_entries: int) -> tuple[Any, str]:
        return None, "a Dask array is not gathered to be certified (its Gram side may not fit in memory)"

    # ``shape`` is A's; the estimators work on ``array``, which is A^T when transposed
    @property
    def m(self) -> int:
        return self.shape[1] if self.array_is_transpose else self.shape[0]

    @property
    def n(self) -> int:
        return self.shape[0] if self.array_is_transpose else self.shape[1]

    def _slabs(self) -> tuple[Any, tuple, tuple]:
        if self._blocks is None:
            self._blocks = self.array.to_delayed(optimize_graph=True)
            self._row_starts = tuple(int(s) for s in np.cumsum((0,) + self.array.chunks[0][:-1]))
            self._col_starts = tuple(int(s) for s in np.cumsum((0,) + self.array.chunks[1][:-1]))
        return self._blocks, self._row_starts, self._col_starts

    def _products(self, x: Any, kind: str, want_t: bool) -> tuple[Any, Any]:
        import dask

        blocks, row_starts, col_starts = self._slabs()
        xd = _ship(np.ascontiguousarray(x, dtype=np.float64))
        task = dask.delayed(_slab_products, pure=True, nout=2)
        parts = [task(list(blocks[i]), xd, col_starts, 1.0 / self.scale, want_t, True)
                 for i in range(blocks.shape[0])]
        z = _tree_sum([p[1] for p in parts])
        if not want_t:
            (z,) = compute(self.log, kind, z)
            return None, z
        *ts, z = compute(self.log, kind, *[p[0] for p in parts], z)
        return np.concatenate(ts), z

    def matvec(self, x: Any) -> Any:
        """``A x`` for a vector (n,) or block (n, b), one pass (``A^T (A x)`` kept)."""
        self._count(x)
        t, z = self._products(x, "normal", True)
        t.flags.writeable = False
        self._ahead = (t, z)
        return t

    def rmatvec(self, y: Any) -> Any:
        """``A^T y``: free right after ``matvec`` returned ``y``, else one pass."""
        self._count(y)
        if self._ahead is not None and y is self._ahead[0]:
            z, self._ahead = self._ahead[1], None
            return z
        import dask

        blocks, row_starts, _ = self._slabs()
        yd = _ship(np.ascontiguousarray(y, dtype=np.float64))
        task = dask.delayed(_slab_rmatvec, pure=True)
        parts = [task(list(blocks[i]), yd, row_starts[i], 1.0 / self.scale) for i in range(blocks.shape[0])]
        (z,) = compute(self.log, "rmatvec", _tree_sum(parts))
        return z

    def normal_matvec(self, x: Any) -> Any:
        """``A^T (A x)``: one pass, two counted products."""
        self.matvecs += 2
        return self._products(x, "normal", False)[1]

    def rmatvec64(self, w: Any) -> Any:
        return self.rmatvec(w)

    def gram(self) -> np.ndarray:
        """``A^T A`` of the scaled matrix (n x n, float64) in one pass; counts n products."""
        import dask

        blocks, _, _ = self._slabs()
        task = dask.delayed(_slab_gram, pure=True)
        (G,) = compute(self.log, "gram", _tree_sum([task(list(blocks[i]), 1.0 / self.scale)
                                                     for i in range(blocks.shape[0])]))
        self.matvecs += self.n
        return G

    def dense64(self) -> Any:
        raise TypeError("a Dask array is never brought into memory whole; this route needs a dense matrix")

    sparse64 = dense64

    def cheap_upper(self) -> float:
        return min(self.fro_upper(), up(math.sqrt(up(abs_sum_upper(self._abs1, self.m)
                                                        * abs_sum_upper(self._absinf, self.n)))))

    def cheap_lower(self) -> float:
        assert self._col2_max is not None  # set by prepare_dask
        return norm_bounds(float(self._col2_max), self.m)[0]

    def pass_report(self) -> PassReport:
        return self.log.report()
