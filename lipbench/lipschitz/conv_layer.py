"""A convolution layer on flattened inputs, with PyTorch's conventions.

``Conv(weight, input_shape, ...)`` maps ``x`` of shape ``(C_in * prod(spatial),)``
(the input ``(C_in, *spatial)`` in row-major order; or a batch of such rows) to
the output ``(C_out, *spatial_out)`` flattened the same way.  ``weight`` has
PyTorch's layout ``(C_out, C_in // groups, *kernel)``; ``stride``, ``padding``,
``dilation``, ``groups`` and ``padding_mode`` (zeros, circular, reflect,
replicate) mean what they mean in ``torch.nn.Conv{1,2,3}d``.  Any number of
spatial dimensions works.

The forward pass gathers each window through a table of input indices and
contracts it with the kernel (``einsum``); the layer is affine, so its Jacobian
is the operator's matrix at every input.  Its Lipschitz constant is that
operator's sigma_max: :meth:`Conv.lipschitz_upper` takes the proven upper end
(:func:`lipbench.lipschitz.conv.layer_upper`) of
:func:`lipbench.lipschitz.conv.conv_certified_bracket` (the assembled
matrix's proven bracket) for operators that fit, else the smaller of
``conv_upper_bound`` and the proven circular embedding
(:func:`lipbench.lipschitz.conv.embedding_bound`, up to
:data:`~lipbench.lipschitz.conv.EMBEDDING_MAX_FLOPS`; with zeros padding a few
percent above the norm where the size-free bound can be twice it; the other
padding modes copy edge entries, which costs it up to sqrt 2 per axis).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._rounding import sum_up
from .._rounding_maps import assembly_error
from . import _sigma
from .conv import conv_geometry, layer_upper
from .layers import check_input
from .windows import PADDING_MODES, Windowed, as_tuple, check_shape, window_table

__all__ = ["Conv"]


@dataclass(frozen=True)
class Conv(Windowed):
    """``x -> conv(x, weight) + bias`` on the flattened ``(C_in, *spatial)`` input."""

    weight: np.ndarray
    input_shape: tuple[int, ...]
    bias: np.ndarray | None = None
    stride: Any = 1
    padding: Any = 0
    dilation: Any = 1
    groups: int = 1
    padding_mode: str = "zeros"
    _table: np.ndarray = field(init=False, repr=False, compare=False)
    _out_spatial: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _cache: dict = field(init=False, repr=False, compare=False, default_factory=dict)

    def __post_init__(self) -> None:
        shape = check_shape(self.input_shape)
        w = _sigma.host(self.weight)
        if w.dtype == object or not np.issubdtype(w.dtype, np.number) or np.iscomplexobj(w):
            raise TypeError(f"weight must be a real numeric array; got dtype {w.dtype}")
        d = len(shape) - 1
        if w.ndim != d + 2:
            raise ValueError(f"weight must have shape (C_out, C_in // groups, *kernel) with {d} kernel dimension(s) "
                             f"for input_shape {shape}; got {w.shape}")
        w = w.astype(np.float64)
        if not np.all(np.isfinite(w)):
            raise ValueError("weight contains NaN or inf")
        g = self.groups
        if not (isinstance(g, (int, np.integer)) and g >= 1):
            raise ValueError(f"groups must be a positive integer; got {g!r}")
        if shape[0] % g or w.shape[0] % g:
            raise ValueError(f"groups={g} must divide C_in={shape[0]} and C_out={w.shape[0]}")
        if w.shape[1] != shape[0] // g:
            raise ValueError(f"weight has {w.shape[1]} input channels per group; input_shape {shape} with groups={g} "
                             f"needs {shape[0] // g}")
        if self.padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode must be one of {PADDING_MODES}; got {self.padding_mode!r}")
        stride = as_tuple(self.stride, d, "stride", 1)
        padding = as_tuple(self.padding, d, "padding", 0)
        dilation = as_tuple(self.dilation, d, "dilation", 1)
        table, out_spatial = window_table(shape[1:], tuple(w.shape[2:]), stride, padding, dilation, self.padding_mode)
        if self.bias is not None:
            b = np.asarray(_sigma.host(self.bias), dtype=np.float64)
            if b.shape != (w.shape[0],) or not np.all(np.isfinite(b)):
                raise ValueError(f"bias must be a finite array of shape ({w.shape[0]},); got shape {b.shape}")
            object.__setattr__(self, "bias", b)
        for name, value in (("weight", w), ("input_shape", shape), ("stride", stride), ("padding", padding),
                            ("dilation", dilation), ("groups", int(g)), ("_table", table),
                            ("_out_spatial", out_spatial)):
            object.__setattr__(self, name, value)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (int(self.weight.shape[0]),) + self._out_spatial

    def _apply(self, a: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Convolve rows of ``a`` (batch, in_features) with ``weight``, no bias."""
        c_in, n = self.input_shape[0], int(np.prod(self.input_shape[1:]))
        g = self.groups
        x = np.concatenate([a.reshape(a.shape[0], c_in, n), np.zeros((a.shape[0], c_in, 1))], axis=2)
        cols = x[:, :, self._table]  # (batch, C_in, P, K); index -1 reads the appended zero
        cols = cols.reshape(a.shape[0], g, c_in // g, *cols.shape[2:])
        k = weight.reshape(g, weight.shape[0] // g, weight.shape[1], -1)
        out = np.einsum("bgcpk,gock->bgop", cols, k)
        return out.reshape(a.shape[0], -1)

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        y = self._apply(np.atleast_2d(a), self.weight)
        if self.bias is not None:
            y = y + np.repeat(self.bias, len(self._table))
        return y.reshape(-1) if a.ndim == 1 else y

    def operator_matrix(self) -> np.ndarray:
        """The (out_features, in_features) matrix of the linear part (a copy).

        Built by convolving the unit vectors: each entry is a kernel entry, or a
        sum of the few kernel entries whose taps read the same input (possible
        with circular/reflect/replicate padding on short inputs)."""
        return self._matrix().copy()

    def _matrix(self) -> np.ndarray:
        """The cached operator matrix, read-only."""
        if "matrix" not in self._cache:
            m = self._apply(np.eye(self.in_features), self.weight).T.copy()
            m.flags.writeable = False
            self._cache["matrix"] = m
        return self._cache["matrix"]

    def jacobian(self, x: Any) -> np.ndarray:
        """The operator matrix (the layer is affine), read-only: a network's Jacobian takes it
        at every input without copying it."""
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return self._matrix()

    def taps_per_entry(self) -> int:
        """The most taps of one window that read the same input index (1 unless padding wraps onto itself)."""
        t = self._table
        most = 1
        for row in t:
            v = row[row >= 0]
            if v.size:
                most = max(most, int(np.bincount(v).max()))
        return most

    def matrix_lipschitz_upper(self) -> float:
        """Certified sigma_max of the operator from ``lipbench.spectral_norm`` of its
        assembled matrix, plus :meth:`operator_error_bound` (rounded up)."""
        return sum_up([_sigma.sigma_upper(self.operator_matrix()), self.operator_error_bound()])

    def operator_error_bound(self) -> float:
        """A bound on ``||operator_matrix() - exact matrix||_2``: 0 when no entry is a
        sum (m = 1), else ``gamma_{m-1} || |A| ||_F`` with ``|A|`` assembled from |weight|
        (:func:`lipbench._rounding_maps.assembly_error`, term ``conv_assembly``)."""
        m = self.taps_per_entry()
        if m == 1:
            return 0.0
        absA = self._apply(np.eye(self.in_features), np.abs(self.weight))
        return assembly_error(absA, m)

    def lipschitz_upper(self) -> float:
        """Proven sigma_max of the convolution operator (see the module docstring for the route)."""
        if "upper" not in self._cache:
            self._cache["upper"] = layer_upper(conv_geometry(
                self.weight, self.input_shape, stride=self.stride, padding=self.padding, dilation=self.dilation,
                groups=self.groups, padding_mode=self.padding_mode))
        return self._cache["upper"]

    def lipschitz_exact(self) -> float:
        """sigma_max of the assembled operator matrix to working accuracy."""
        return _sigma.sigma_exact(self.operator_matrix())

    @property
    def n_positions(self) -> int:
        return int(math.prod(self._out_spatial))
