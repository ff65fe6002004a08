"""The vector work of a device-resident Lanczos step, and the lagged read of its scalars.

A Lanczos step on a GPU is a handful of memory-bound kernels; what makes it
slow is the host: every array call costs tens of microseconds, and every
``float()`` of a norm waits for the whole queue.  The loops of
:mod:`.lanczos_device` therefore keep the step's scalars on the device --
``scal[j] = (alpha_j, beta_j)`` in one preallocated ``(rows, 2)`` array --
and read them on the host only at the stopping test's checks, in one
transfer.

:class:`ArraySteps` does the vector work with array-API calls (any backend);
:class:`CupySteps` does the same work with cuBLAS calls that write into
preallocated buffers (``gemv`` for the block reorthogonalization, ``nrm2``
into a device scalar) and one elementwise kernel for the normalization.
:func:`steps_for` picks one.  Both compute the same quantities:

* ``orthogonalize(Q, x)``: classical Gram-Schmidt twice, ``x - Q^T (Q x)``,
  returning the first pass's coefficients ``Q x``;
* ``normalize(x, scal, j, col, dest, row)``: ``scal[j, col] = ||x||`` and
  ``dest[row] = x / ||x||`` (a zero vector stays zero: the division is by
  ``max(||x||, tiny)``, so a breakdown never puts a NaN in the basis; the
  loop finds the breakdown in the scalars at its next check).

The readers (:class:`ScalarReader`, :class:`CupyScalarReader`) copy the first
rows of ``scal`` to the host: at once on CPU backends, asynchronously into
pinned memory on CuPy, where the loop polls an event and resolves the check
a step later instead of stalling the stream.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import backends as _backends

__all__ = ["ArraySteps", "CupySteps", "steps_for", "ScalarReader", "CupyScalarReader", "reader_for",
           "DeviceRows"]


class DeviceRows:
    """Preallocated rows of vectors on the device, grown by doubling
    (a device-side copy; nothing is read back)."""

    def __init__(self, xp: Any, length: int, dtype: Any, rows: int = 32):
        self.xp, self.length, self.dtype = xp, length, dtype
        self.buf = xp.zeros((rows, length), dtype=dtype)

    def reserve(self, rows: int) -> None:
        have = self.buf.shape[0]
        if rows <= have:
            return
        grown = self.xp.zeros((max(rows, 2 * have), self.length), dtype=self.dtype)
        grown[:have, :] = self.buf
        self.buf = grown


class ArraySteps:
    """The step's vector work in array-API calls (NumPy, array-api-strict,
    CuPy without its cuBLAS wrappers): no host transfer."""

    def __init__(self, xp: Any, dtype: Any):
        self.xp = xp
        self.tiny = xp.asarray(xp.finfo(dtype).smallest_normal, dtype=dtype)

    def orthogonalize(self, Q: Any, x: Any) -> tuple[Any, Any]:
        c = Q @ x
        x = x - c @ Q
        return x - (Q @ x) @ Q, c

    def normalize(self, x: Any, scal: Any, j: int, col: int, dest: Any, row: int) -> None:
        s = self.xp.linalg.vector_norm(x)
        scal[j, col] = s
        dest[row, :] = x / self.xp.maximum(s, self.tiny)

    def store(self, scal: Any, j: int, col: int, value: Any) -> None:
        """``scal[j, col] = value`` for a 0-d device array."""
        scal[j, col] = value


class CupySteps:
    """The step's vector work in cuBLAS calls writing into preallocated
    buffers, on a C-ordered float32/float64 CuPy backend: ``orthogonalize``
    is four ``gemv`` (two passes), ``normalize`` one ``nrm2`` into the
    device scalar (device pointer mode) and one elementwise kernel."""

    def __init__(self, xp: Any, dtype: Any, rows: int):
        import cupy
        from cupy import cublas

        self.xp, self.cp, self.cublas = xp, cupy, cublas
        npdt = np.dtype(str(dtype).split(".")[-1])
        self.one, self.zero, self.minus = (np.array(v, dtype=npdt) for v in (1.0, 0.0, -1.0))
        self.tiny = npdt.type(np.finfo(npdt).tiny)
        self.c1 = cupy.empty(rows, dtype=npdt)
        self.c2 = cupy.empty(rows, dtype=npdt)
        self.kernel = _normalize_kernel(cupy)

    def reserve(self, rows: int) -> None:
        if rows > self.c1.shape[0]:
            self.c1 = self.cp.empty(max(rows, 2 * self.c1.shape[0]), dtype=self.c1.dtype)
            self.c2 = self.cp.empty_like(self.c1)

    def orthogonalize(self, Q: Any, x: Any) -> tuple[Any, Any]:
        k = Q.shape[0]
        self.reserve(k)
        c1, c2 = self.c1[:k], self.c2[:k]
        g = self.cublas.gemv
        g("N", self.one, Q, x, self.zero, c1)  # c1 = Q x
        g("T", self.minus, Q, c1, self.one, x)  # x -= Q^T c1
        g("N", self.one, Q, x, self.zero, c2)
        g("T", self.minus, Q, c2, self.one, x)
        return x, c1

    def normalize(self, x: Any, scal: Any, j: int, col: int, dest: Any, row: int) -> None:
        self.cublas.nrm2(x, out=scal[j, col])
        self.kernel(x, scal, 2 * j + col, self.tiny, dest[row])

    def store(self, scal: Any, j: int, col: int, value: Any) -> None:
        scal[j, col] = value


def _normalize_kernel(cupy: Any) -> Any:
    return cupy.ElementwiseKernel(
        "T x, raw T s, int32 at, T tiny", "T y",
        "T d = s[at]; y = x / (d > tiny ? d : tiny);",
        "lipbench_lanczos_normalize")


def steps_for(op: Any, dtype: Any) -> Any:
    """:class:`CupySteps` for a dense C-ordered CuPy operator (if CuPy's
    cuBLAS wrappers load), else :class:`ArraySteps`."""
    xp = op.xp
    if op.backend == "cupy" and op.dense is not None:
        try:
            a = op.dense
            if a.flags.c_contiguous and str(a.dtype) in ("float32", "float64"):
                return CupySteps(xp, a.dtype, 64)
        except Exception:  # an incomplete CuPy install: the array-API path still works
            pass
    return ArraySteps(xp, dtype)


class ScalarReader:
    """Reads the first k rows of the scalars to the host, at once (one
    transfer); ``ready()`` is always true."""

    lagged = False

    def __init__(self) -> None:
        self.k: int | None = None
        self._host: np.ndarray | None = None

    def request(self, scal: Any, k: int) -> None:
        self.k = k
        self._host = np.array(_backends.to_numpy(scal[:k, :]), dtype=np.float64)

    def ready(self) -> bool:
        return True

    def take(self) -> tuple[int, np.ndarray]:
        k, host = self.k, self._host
        assert k is not None and host is not None, "take() before request()"
        self.k, self._host = None, None
        return k, host


class CupyScalarReader(ScalarReader):
    """Copies the first k rows of the scalars into pinned host memory without
    blocking (``ndarray.get(out=..., blocking=False)``) and records an event;
    ``ready()`` polls it, ``take()`` waits for it."""

    lagged = True

    def __init__(self, cupy: Any, rows: int, dtype: Any):
        super().__init__()
        import cupyx

        self.cp = cupy
        self.pinned = cupyx.empty_pinned((rows, 2), dtype=dtype)
        self.event: Any = None

    def request(self, scal: Any, k: int) -> None:
        if k > self.pinned.shape[0]:
            import cupyx

            self.pinned = cupyx.empty_pinned((max(k, 2 * self.pinned.shape[0]), 2), dtype=self.pinned.dtype)
        self.k = k
        out = self.pinned[:k]
        try:
            scal[:k].get(out=out, blocking=False)
        except TypeError:  # CuPy < 13: no non-blocking get
            scal[:k].get(out=out)
        self.event = self.cp.cuda.Event()
        self.event.record()

    def ready(self) -> bool:
        return self.event is None or self.event.done

    def take(self) -> tuple[int, np.ndarray]:
        if self.event is not None:
            self.event.synchronize()
        k = self.k
        assert k is not None, "take() before request()"
        self.k, self.event = None, None
        return k, np.array(self.pinned[:k], dtype=np.float64)


def reader_for(op: Any, rows: int, dtype: Any) -> ScalarReader:
    """The lagged reader on CuPy, else the immediate one."""
    if op.backend == "cupy":
        try:
            import cupy

            return CupyScalarReader(cupy, rows, np.dtype(str(dtype).split(".")[-1]))
        except Exception:  # no pinned memory (odd CUDA setups): read at once
            pass
    return ScalarReader()
