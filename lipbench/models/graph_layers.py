"""Small layers that imported graphs need beside :mod:`lipbench.lipschitz`'s own.

Each works, like the others, on a flattened ``(C, *spatial)`` input (one row per
sample) and offers ``__call__``, ``jacobian`` and a certified ``lipschitz_upper``:

* :class:`ConstantOp` -- elementwise ``x + c``, ``x - c``, ``c - x``, ``x * c``,
  ``x / c`` with a constant ``c`` broadcast to the input's shape: a diagonal affine
  map, constant 1 for a shift and ``max |c|`` (``max 1/|c|`` for a quotient) for a scale;
* :class:`Pad` -- padding of the spatial axes (any begin/end widths): ``constant``
  mode (any fill value) is an isometric embedding plus a constant, so its constant is
  exactly 1; ``reflect``, ``edge`` and ``wrap`` modes copy inputs (NumPy's ``np.pad``
  modes, ONNX's too): a 0/1 matrix ``P`` with one 1 per row, so ``P^T P`` is diagonal
  with entry j the number of outputs copying input j, and ``||P||_2 = sqrt(max_j copies)``
  exactly (a unit vector at the most-copied input attains it);
* :class:`Permute` -- a permutation of the per-sample axes (ONNX ``Transpose``): it
  only reorders entries, so its constant is exactly 1;
* :class:`PReLU` -- ``x`` where ``x > 0``, ``slope * x`` elsewhere, with slopes
  broadcast per entry (per channel): a diagonal map with entries 1 or the slope on
  each region, so the constant is ``max(1, max |slope|)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import sqrt_int_up, up
from ..lipschitz.layers import check_input
from ..lipschitz.windows import Windowed

__all__ = ["ConstantOp", "Pad", "Permute", "PReLU", "CONSTANT_OPS", "PAD_MODES"]

#: the padding modes of :class:`Pad` (``np.pad``'s names, as ONNX's)
PAD_MODES = ("constant", "reflect", "edge", "wrap")

#: the elementwise operations with a constant; ``rsub`` is ``c - x``
CONSTANT_OPS = ("add", "sub", "rsub", "mul", "div")


class _Elementwise:
    """A layer acting entry by entry on inputs of per-sample ``shape``: as
    many outputs as inputs."""

    shape: tuple[int, ...]

    @property
    def in_features(self) -> int:
        return int(np.prod(self.shape))

    @property
    def out_features(self) -> int:
        return self.in_features


@dataclass(frozen=True)
class ConstantOp(_Elementwise):
    """``x -> x (op) c`` elementwise on inputs of shape ``shape``; ``c`` broadcasts to ``shape``."""

    op: str
    constant: np.ndarray
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.op not in CONSTANT_OPS:
            raise ValueError(f"op must be one of {CONSTANT_OPS}; got {self.op!r}")
        shape = tuple(int(s) for s in self.shape)
        c = np.asarray(self.constant, dtype=np.float64)
        try:
            c = np.broadcast_to(c, shape).copy()
        except ValueError:
            raise ValueError(f"the constant of shape {c.shape} does not broadcast to the input's shape {shape} "
                             f"without changing it") from None
        if not np.all(np.isfinite(c)):
            raise ValueError("the constant contains NaN or inf")
        if self.op == "div" and np.any(c == 0):
            raise ValueError("division by a constant that has a zero entry")
        object.__setattr__(self, "constant", c)
        object.__setattr__(self, "shape", shape)

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        c = self.constant.reshape(-1)
        if self.op == "add":
            return a + c
        if self.op == "sub":
            return a - c
        if self.op == "rsub":
            return c - a
        if self.op == "mul":
            return a * c
        return a / c

    def scale(self) -> np.ndarray:
        """The diagonal of the Jacobian (computed; 1/c rounded for a quotient)."""
        c = self.constant.reshape(-1)
        if self.op in ("add", "sub"):
            return np.ones_like(c)
        if self.op == "rsub":
            return -np.ones_like(c)
        return c.copy() if self.op == "mul" else 1.0 / c

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return np.diag(self.scale())

    def lipschitz_upper(self) -> float:
        """1 for a shift, ``max |c|`` for a product, ``1 / min |c|`` rounded up for a quotient."""
        c = np.abs(self.constant)
        if self.op in ("add", "sub", "rsub"):
            return 1.0
        if self.op == "mul":
            return float(c.max()) if c.size else 0.0
        return up(Fraction(1) / Fraction(float(c.min()))) if c.size else 0.0

    def lipschitz_exact(self) -> float:
        c = np.abs(self.constant)
        if self.op in ("add", "sub", "rsub"):
            return 1.0
        return float(c.max() if self.op == "mul" else 1.0 / c.min())


@dataclass(frozen=True)
class Pad(Windowed):
    """Padding of ``input_shape = (C, *spatial)``: ``begin[i]`` and ``end[i]`` entries before and
    after spatial axis i, filled with ``value`` (``mode="constant"``) or copies of the input
    (``reflect``, ``edge``, ``wrap``).  Constant: 1, or ``sqrt(max copies of one input)``."""

    input_shape: tuple[int, ...]
    begin: tuple[int, ...]
    end: tuple[int, ...]
    value: float = 0.0
    mode: str = "constant"

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.input_shape)
        d = len(shape) - 1
        begin, end = tuple(int(b) for b in self.begin), tuple(int(e) for e in self.end)
        if d < 1 or len(begin) != d or len(end) != d or min(begin + end) < 0:
            raise ValueError(f"Pad needs (C, *spatial) and non-negative begin/end widths per spatial axis; "
                             f"got input_shape {shape}, begin {begin}, end {end}")
        if self.mode not in PAD_MODES:
            raise ValueError(f"mode must be one of {PAD_MODES}; got {self.mode!r}")
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "begin", begin)
        object.__setattr__(self, "end", end)
        object.__setattr__(self, "value", float(self.value))

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.input_shape[0],) + tuple(n + b + e for n, b, e in
                                              zip(self.input_shape[1:], self.begin, self.end))

    def sources(self) -> np.ndarray:
        """The flat spatial input index each output position reads (-1: the fill value)."""
        spatial = self.input_shape[1:]
        widths = list(zip(self.begin, self.end))
        idx = np.arange(int(np.prod(spatial))).reshape(spatial)
        if self.mode == "constant":
            return np.pad(idx, widths, constant_values=-1).reshape(-1)
        return np.pad(idx, widths, mode=self.mode).reshape(-1)  # type: ignore[call-overload]

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        rows = np.atleast_2d(a).reshape(-1, *self.input_shape)
        if self.mode == "constant":
            widths = [(0, 0), (0, 0)] + list(zip(self.begin, self.end))
            y = np.pad(rows, widths, constant_values=self.value).reshape(rows.shape[0], -1)
        else:
            y = rows.reshape(rows.shape[0], self.input_shape[0], -1)[:, :, self.sources()].reshape(rows.shape[0], -1)
        return y.reshape(-1) if a.ndim == 1 else y

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        src, c, n = self.sources(), self.input_shape[0], int(np.prod(self.input_shape[1:]))
        idx = (np.arange(c)[:, None] * n + src[None, :]).reshape(-1)  # flat input index of each output
        idx[np.tile(src < 0, c)] = -1
        J = np.zeros((self.out_features, self.in_features))
        rows = np.flatnonzero(idx >= 0)
        J[rows, idx[rows]] = 1.0
        return J

    def copies(self) -> int:
        """The most outputs that read one input (1 for constant padding)."""
        src = self.sources()
        return int(np.bincount(src[src >= 0]).max(initial=0))

    def lipschitz_upper(self) -> float:
        """``sqrt(max copies)`` rounded up (exact when a perfect square: 1 for constant padding)."""
        return sqrt_int_up(self.copies())

    def lipschitz_exact(self) -> float:
        return math.sqrt(self.copies())


@dataclass(frozen=True)
class Permute(Windowed):
    """``x -> transpose(x, perm)`` on inputs of shape ``input_shape`` (``perm`` over the per-sample axes)."""

    input_shape: tuple[int, ...]
    perm: tuple[int, ...]

    def __post_init__(self) -> None:
        shape, perm = tuple(int(s) for s in self.input_shape), tuple(int(p) for p in self.perm)
        if sorted(perm) != list(range(len(shape))):
            raise ValueError(f"perm must be a permutation of the {len(shape)} per-sample axes; got {perm}")
        object.__setattr__(self, "input_shape", shape)
        object.__setattr__(self, "perm", perm)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return tuple(self.input_shape[p] for p in self.perm)

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        rows = np.atleast_2d(a).reshape(-1, *self.input_shape)
        y = rows.transpose(0, *(p + 1 for p in self.perm)).reshape(rows.shape[0], -1)
        return y.reshape(-1) if a.ndim == 1 else y

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        idx = self(np.arange(self.in_features, dtype=np.float64)).astype(np.int64)
        J = np.zeros((self.out_features, self.in_features))
        J[np.arange(self.out_features), idx] = 1.0
        return J

    def lipschitz_upper(self) -> float:
        return 1.0

    lipschitz_exact = lipschitz_upper


@dataclass(frozen=True)
class PReLU(_Elementwise):
    """``x -> where(x > 0, x, slope * x)`` with ``slope`` broadcast to ``shape``."""

    slope: np.ndarray
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        shape = tuple(int(s) for s in self.shape)
        s = np.asarray(self.slope, dtype=np.float64)
        try:
            s = np.broadcast_to(s, shape).copy()
        except ValueError:
            raise ValueError(f"slopes of shape {np.shape(self.slope)} do not broadcast to {shape}") from None
        if not np.all(np.isfinite(s)):
            raise ValueError("slope contains NaN or inf")
        object.__setattr__(self, "slope", s)
        object.__setattr__(self, "shape", shape)

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        return np.where(a > 0, a, self.slope.reshape(-1) * a)

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return np.diag(np.where(a > 0, 1.0, self.slope.reshape(-1)))

    def lipschitz_upper(self) -> float:
        """``max(1, max |slope|)``: on a segment from x to y each entry is piecewise linear
        with slopes 1 and s_i, so |f_i(x) - f_i(y)| <= max(1, |s_i|) |x_i - y_i|."""
        return max(1.0, float(np.max(np.abs(self.slope)))) if self.slope.size else 1.0

    lipschitz_exact = lipschitz_upper
