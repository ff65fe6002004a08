"""Sliding windows over a flattened (channels, *spatial) input: shared by Conv and pooling.

A window table ``T`` of shape ``(P, K)`` lists, for each of the P output
positions and each of the K taps of the window, the flat spatial index of the
input it reads, or ``-1`` where it reads zero padding.  The index of a padded
coordinate follows PyTorch's ``padding_mode`` names: ``zeros`` (read 0),
``circular`` (wrap), ``reflect`` (mirror without repeating the edge) and
``replicate`` (repeat the edge).
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

import numpy as np

__all__ = ["FlatSizes", "Windowed", "PADDING_MODES", "as_tuple", "check_shape", "window_table", "output_size",
           "coverage"]

PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


class _Shaped(Protocol):
    @property
    def input_shape(self) -> tuple[int, ...]: ...

    @property
    def output_shape(self) -> tuple[int, ...]: ...


class FlatSizes:
    """Flat sizes of whatever has an ``input_shape`` and an ``output_shape``
    (a layer of :class:`Windowed`, a whole graph), in (channels, *spatial) order."""

    @property
    def in_features(self: _Shaped) -> int:
        return int(np.prod(self.input_shape))

    @property
    def out_features(self: _Shaped) -> int:
        return int(np.prod(self.output_shape))


class Windowed(FlatSizes):
    """A layer with an ``input_shape`` (a convolution, a pooling, a padding, a
    permutation) whose ``output_shape`` follows from it."""

    input_shape: tuple[int, ...]

    @property
    def output_shape(self) -> tuple[int, ...]:
        raise NotImplementedError


def as_tuple(value: Any, d: int, name: str, minimum: int) -> tuple[int, ...]:
    """An int or a length-d sequence of ints, each >= minimum, as a d-tuple
    (a bool is refused, not read as 0 or 1)."""
    vals = (value,) * d if isinstance(value, (int, np.integer)) and not isinstance(value, bool) else value
    try:
        vals = tuple(vals)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of {d} ints; got {value!r}") from None
    if len(vals) != d or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in vals):
        raise ValueError(f"{name} must be an int or a tuple of {d} ints (one per spatial axis); got {value!r}")
    if any(v < minimum for v in vals):
        raise ValueError(f"{name} must be >= {minimum} on every axis; got {value!r}")
    return tuple(int(v) for v in vals)


def check_shape(shape: Any, name: str = "input_shape") -> tuple[int, ...]:
    """(channels, *spatial) with at least one spatial dimension, all positive."""
    shp = tuple(shape)
    if len(shp) < 2 or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in shp):
        raise ValueError(f"{name} must be (channels, *spatial) with positive integers and at least one spatial "
                         f"dimension; got {shape!r}")
    return tuple(int(s) for s in shp)


def output_size(n: int, k: int, stride: int, padding: int, dilation: int) -> int:
    """Number of window positions along one dimension (PyTorch's floor formula)."""
    span = dilation * (k - 1) + 1
    if n + 2 * padding < span:
        raise ValueError(f"the window (kernel {k}, dilation {dilation}, span {span}) does not fit the input of "
                         f"length {n} with padding {padding}")
    return (n + 2 * padding - span) // stride + 1


def _index_1d(q: np.ndarray, n: int, mode: str) -> np.ndarray:
    """Input index of padded coordinate q (may be < 0 or >= n), -1 for zero padding."""
    if mode == "zeros":
        return np.where((q >= 0) & (q < n), q, -1)
    if mode == "circular":
        return np.mod(q, n)
    if mode == "replicate":
        return np.clip(q, 0, n - 1)
    if n == 1:
        return np.zeros_like(q)
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    r = np.mod(q, period)
    return np.where(r < n, r, period - r)


def _table_1d(n: int, k: int, stride: int, padding: int, dilation: int, mode: str) -> np.ndarray:
    p_out = output_size(n, k, stride, padding, dilation)
    q = np.arange(p_out)[:, None] * stride + np.arange(k)[None, :] * dilation - padding
    if mode in ("reflect", "circular") and padding > n - (mode == "reflect"):
        raise ValueError(f"{mode} padding {padding} must be smaller than the input length {n}")
    return _index_1d(q, n, mode)


def window_table(spatial: tuple[int, ...], kernel: tuple[int, ...], stride: tuple[int, ...],
                 padding: tuple[int, ...], dilation: tuple[int, ...],
                 mode: str = "zeros") -> tuple[np.ndarray, tuple[int, ...]]:
    """The (P, K) table of flat input indices (-1: zero padding) for a d-dimensional
    window, and the output's spatial shape (P is its product)."""
    if mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}; got {mode!r}")
    tables = [_table_1d(*args, mode) for args in zip(spatial, kernel, stride, padding, dilation)]
    p_out = tuple(t.shape[0] for t in tables)
    rows = []
    for pos in itertools.product(*(range(p) for p in p_out)):
        per_dim = [tables[d][pos[d]] for d in range(len(spatial))]
        grids = np.meshgrid(*per_dim, indexing="ij")
        valid = np.all([g >= 0 for g in grids], axis=0)
        flat = np.ravel_multi_index(tuple(np.maximum(g, 0) for g in grids), spatial)
        rows.append(np.where(valid, flat, -1).ravel())
    table = np.asarray(rows, dtype=np.int64).reshape(int(np.prod(p_out)), int(np.prod(kernel)))
    return table, p_out


def coverage(table: np.ndarray, n_inputs: int) -> np.ndarray:
    """How many (position, tap) pairs read each input index (padding excluded)."""
    t = table[table >= 0]
    return np.bincount(t, minlength=n_inputs)
