"""Average and max pooling on flattened ``(C, *spatial)`` inputs, with exact constants.

Windows may be dilated (``dilation``: taps ``d`` apart) and max pooling may be
padded (``pad_begin``/``pad_end`` per spatial axis, read as ``-inf`` as in ONNX
and PyTorch); average pooling takes no padding (zero padding that is counted is a
padding layer before it).

Average pooling with window ``k = (k_1, ..., k_d)`` and stride ``s`` is linear:
per channel it is the Kronecker product ``A_1 (x) ... (x) A_d`` of 1-D averaging
matrices ``A_j = B_j / k_j`` (``B_j`` the 0/1 window-membership matrix), so
``L = prod_j sigma_max(B_j) / k_j``.  For non-overlapping windows (``s_j >= k_j``)
the rows of ``B_j`` are orthogonal with norm ``sqrt(k_j)`` and ``L = 1 /
sqrt(prod k_j)``; overlapping windows make it larger, up to
``sqrt(prod c_j / prod k_j)`` with ``c_j <= ceil(k_j / s_j)`` the most windows
covering one input along dimension j (``||B||_2^2 <= ||B||_1 ||B||_inf``), which
``sigma_max(B_j)`` approaches on long inputs.

Max pooling is piecewise linear: its Jacobian picks one input per output, so
``J^T J`` is diagonal with entry j the number of outputs selecting input j, and
``sigma(J) = sqrt(max_j #outputs selecting j)``.  An input larger than every
other is selected by every window that covers it, so
``L = sqrt(max_j #windows covering j) = sqrt(prod_j c_j)``: 1 without overlap,
3 for a 3x3 window with stride 1.  Both arguments hold unchanged for dilated windows
(each window is still a product of per-axis tap sets, read once each), and for max
pooling with ``-inf`` padding: a padded position never wins a window that holds a real
input (every window must hold one), so the Jacobian still picks one real input per
output and ``L = sqrt(max_j #windows covering real input j)``, the padded positions
not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import up
from . import _sigma
from .layers import check_input
from .windows import Windowed, as_tuple, check_shape, coverage, window_table

__all__ = ["AvgPool", "MaxPool"]


@dataclass(frozen=True)
class _Pool(Windowed):
    kernel_size: Any
    input_shape: tuple[int, ...]
    stride: Any = None
    dilation: Any = 1
    pad_begin: Any = 0
    pad_end: Any = 0
    _table: np.ndarray = field(init=False, repr=False, compare=False)
    _out_spatial: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shape = check_shape(self.input_shape)
        d = len(shape) - 1
        k = as_tuple(self.kernel_size, d, "kernel_size", 1)
        s = k if self.stride is None else as_tuple(self.stride, d, "stride", 1)
        dl = as_tuple(self.dilation, d, "dilation", 1)
        begin, end = as_tuple(self.pad_begin, d, "pad_begin", 0), as_tuple(self.pad_end, d, "pad_end", 0)
        padded = tuple(n + b + e for n, b, e in zip(shape[1:], begin, end))
        table, out_spatial = window_table(padded, k, s, (0,) * d, dl)
        if any(begin) or any(end):  # padded flat index -> the input's, -1 in the padding
            coords = np.unravel_index(table, padded)
            inside = np.all([(c >= b) & (c < b + n) for c, b, n in zip(coords, begin, shape[1:])], axis=0)
            flat = np.ravel_multi_index(tuple(np.clip(c - b, 0, n - 1) for c, b, n in zip(coords, begin, shape[1:])),
                                        shape[1:])
            table = np.where(inside, flat, -1)
            if np.any(np.all(table < 0, axis=1)):
                raise ValueError(f"pads {begin}/{end} leave a window of kernel {k}, dilation {dl} on input "
                                 f"{shape[1:]} with no input in it")
        for name, value in (("input_shape", shape), ("kernel_size", k), ("stride", s), ("dilation", dl),
                            ("pad_begin", begin), ("pad_end", end), ("_table", table), ("_out_spatial", out_spatial)):
            object.__setattr__(self, name, value)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0],) + self._out_spatial

    def _windows(self, a: np.ndarray, fill: float = -math.inf) -> np.ndarray:
        """(batch, C, P, K): the inputs each window reads (``fill`` at padded positions)."""
        c = self.input_shape[0]
        x = a.reshape(a.shape[0], c, -1)
        if np.any(self._table < 0):
            x = np.concatenate([x, np.full((a.shape[0], c, 1), fill)], axis=2)  # index -1 reads the fill
        return x[:, :, self._table]

    def max_coverage(self) -> int:
        """The most windows that contain one input position."""
        return int(coverage(self._table, int(np.prod(self.input_shape[1:]))).max())


@dataclass(frozen=True)
class AvgPool(_Pool):
    """Mean over each window (``torch.nn.AvgPool{d}d`` without padding; dilated windows allowed)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if any(self.pad_begin) or any(self.pad_end):
            raise ValueError(f"AvgPool takes no pads (got {self.pad_begin}/{self.pad_end}); zero padding counted "
                             f"in the mean is a padding layer before it")

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        y = self._windows(np.atleast_2d(a)).mean(axis=3).reshape(-1, self.out_features)
        return y.reshape(-1) if a.ndim == 1 else y

    def operator_matrix(self) -> np.ndarray:
        """The (out_features, in_features) matrix: 1/prod(k) where a window reads an input."""
        c, n = self.input_shape[0], int(np.prod(self.input_shape[1:]))
        per_channel = np.zeros((len(self._table), n))
        np.add.at(per_channel, (np.repeat(np.arange(len(self._table)), self._table.shape[1]), self._table.ravel()),
                  1.0 / self._table.shape[1])
        return np.kron(np.eye(c), per_channel)

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return self.operator_matrix()

    def _membership(self, j: int) -> np.ndarray:
        """B_j: the 0/1 matrix of which inputs each window reads along dimension j."""
        n, k, s = self.input_shape[1 + j], self.kernel_size[j], self.stride[j]
        p = self._out_spatial[j]
        B = np.zeros((p, n))
        dl = self.dilation[j]
        for i in range(p):
            B[i, i * s:i * s + (k - 1) * dl + 1:dl] = 1.0
        return B

    def lipschitz_upper(self) -> float:
        """``prod_j sigma_max(B_j) / k_j``, each sigma the certified upper end, in exact
        rational arithmetic rounded up once."""
        d = len(self.kernel_size)
        value = math.prod((Fraction(_sigma.sigma_upper(self._membership(j))) / self.kernel_size[j]
                           for j in range(d)), start=Fraction(1))
        return up(value)

    def operator_error(self) -> float:
        """A bound on ``||operator_matrix() - exact matrix||_2``: every stored entry is
        ``fl(1 / K)`` (no window reads an input twice), so the error is ``|fl(1/K) - 1/K|``
        times the 0/1 pattern, whose Frobenius norm is ``sqrt(nnz)`` (exact rationals, rounded up)."""
        K = self._table.shape[1]
        delta = abs(Fraction(1.0 / K) - Fraction(1, K))
        nnz = self.input_shape[0] * self._table.size
        return up(delta * Fraction(up(math.sqrt(nnz)))) if delta else 0.0

    def lipschitz_exact(self) -> float:
        return math.prod(_sigma.sigma_exact(self._membership(j)) / self.kernel_size[j]
                         for j in range(len(self.kernel_size)))

    def overlap_bound(self) -> float:
        """The closed-form bound ``sqrt(max coverage / prod k)`` (exact without overlap)."""
        return math.sqrt(self.max_coverage() / math.prod(self.kernel_size))


@dataclass(frozen=True)
class MaxPool(_Pool):
    """Max over each window (``torch.nn.MaxPool{d}d``: padding reads -inf; ties pick the first)."""

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        y = self._windows(np.atleast_2d(a)).max(axis=3).reshape(-1, self.out_features)
        return y.reshape(-1) if a.ndim == 1 else y

    def jacobian(self, x: Any) -> np.ndarray:
        """One 1 per row, at the input the window's max reads (an element of the Clarke Jacobian at ties)."""
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        c, n = self.input_shape[0], int(np.prod(self.input_shape[1:]))
        w = self._windows(a[None, :])[0]  # (C, P, K)
        pick = self._table[np.arange(len(self._table))[None, :], np.argmax(w, axis=2)]  # (C, P)
        J = np.zeros((self.out_features, self.in_features))
        J[np.arange(self.out_features), (np.arange(c)[:, None] * n + pick).ravel()] = 1.0
        return J

    def lipschitz_upper(self) -> float:
        """``sqrt(max coverage)``, rounded up (exact for perfect squares)."""
        c = self.max_coverage()
        r = math.isqrt(c)
        return float(r) if r * r == c else up(math.sqrt(c))  # IEEE sqrt is correctly rounded

    def lipschitz_exact(self) -> float:
        return math.sqrt(self.max_coverage())
