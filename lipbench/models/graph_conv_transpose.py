"""A transposed convolution on flattened ``(C_in, *spatial)`` inputs (ONNX ``ConvTranspose``).

``ConvTranspose(weight, input_shape, ...)`` takes ONNX's (and PyTorch's) layout
``weight = (C_in, C_out / groups, *kernel)``, strides, dilations, groups, the
output's ``pad_begin``/``pad_end`` per spatial axis (cropped from the full
output) and ``output_padding`` (zeros added at the end before cropping).  The
full output along one axis has ``(L - 1) s + (k - 1) d + 1 + output_padding``
entries; the layer keeps ``pad_begin`` to ``full - pad_end``.  A negative pad
(ONNX's ``auto_pad=SAME_*`` when the kernel is shorter than the stride, or an
``output_shape`` beyond the full output) extends the output with zeros instead.

Why its constant is a convolution's: the map is ``A^T``, the adjoint of the
forward convolution ``A`` whose kernel is ``weight`` read in the forward layout
``(C_out_A, C_in_A / groups, *k)`` (no flip: the transposed convolution is the
gradient of a correlation), on an input of the transposed map's *output* size,
zero-padded by ``pad_begin``/``pad_end`` (cropping the full transposed output is
the adjoint of zero-padding the forward input).  ``||A^T||_2 = ||A||_2``, and a
zero extension ``E`` of the output is an isometric embedding (``E^T E = I``), so
``||E A^T||_2 = ||A||_2`` too.  The
layer hands :class:`lipbench.lipschitz.conv_map.ConvGeometry` with
``transposed=True`` to the convolution's own proven routes
(:func:`lipbench.lipschitz.conv.conv_certified_bracket`, or, when the matrix is too
large to assemble, the smaller of :func:`~lipbench.lipschitz.conv_bound.conv_upper_bound`
and the proven circular embedding, :func:`~lipbench.lipschitz.conv.embedding_bound`):
no new numerics.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..lipschitz import _sigma
from ..lipschitz.conv import layer_upper
from ..lipschitz.conv_map import ConvGeometry, conv_geometry, conv_operator
from ..lipschitz.layers import check_input
from ..lipschitz.windows import Windowed, as_tuple, check_shape

__all__ = ["ConvTranspose"]


@dataclass(frozen=True)
class ConvTranspose(Windowed):
    """``x -> conv_transpose(x, weight) + bias`` on the flattened ``(C_in, *spatial)`` input."""

    weight: np.ndarray
    input_shape: tuple[int, ...]
    bias: np.ndarray | None = None
    stride: Any = 1
    dilation: Any = 1
    groups: int = 1
    pad_begin: Any = 0
    pad_end: Any = 0
    output_padding: Any = 0
    _geometry: ConvGeometry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        shape = check_shape(self.input_shape)
        d = len(shape) - 1
        stride = as_tuple(self.stride, d, "stride", 1)
        dilation = as_tuple(self.dilation, d, "dilation", 1)
        begin = as_tuple(self.pad_begin, d, "pad_begin", -(1 << 62))
        end = as_tuple(self.pad_end, d, "pad_end", -(1 << 62))
        out_pad = as_tuple(self.output_padding, d, "output_padding", 0)
        # the kernel, channels and groups checked by the convolution's own validation
        g = conv_geometry(self.weight, shape, stride=stride, dilation=dilation, groups=self.groups, transposed=True)
        full = tuple(n + p for n, p in zip(g.in_spatial, out_pad))
        crop_b, crop_e = tuple(max(b, 0) for b in begin), tuple(max(e, 0) for e in end)
        kept = tuple(f - b - e for f, b, e in zip(full, crop_b, crop_e))
        if any(n < 1 for n in kept) or any(f - b - e < 1 for f, b, e in zip(full, begin, end)):
            raise ValueError(f"the transposed convolution's full output {full} minus pads {begin}/{end} is empty")
        geometry = dataclasses.replace(g, in_spatial=kept, pad_left=crop_b, pad_right=tuple(
            f - n - b for f, n, b in zip(full, kept, crop_b)))
        if self.bias is not None:
            b = np.asarray(_sigma.host(self.bias), dtype=np.float64)
            if b.shape != (geometry.in_channels,) or not np.all(np.isfinite(b)):
                raise ValueError(f"bias must be a finite array of shape ({geometry.in_channels},); got {b.shape}")
            object.__setattr__(self, "bias", b)
        for name, value in (("weight", g.weight), ("input_shape", shape), ("stride", stride), ("dilation", dilation),
                            ("groups", int(self.groups)), ("pad_begin", begin), ("pad_end", end),
                            ("output_padding", out_pad), ("_geometry", geometry)):
            object.__setattr__(self, name, value)

    @property
    def geometry(self) -> ConvGeometry:
        """The forward convolution whose adjoint this layer is (``transposed=True``)."""
        return self._geometry

    @property
    def output_shape(self) -> tuple[int, ...]:
        extend = [(max(-b, 0), max(-e, 0)) for b, e in zip(self.pad_begin, self.pad_end)]
        return (self._geometry.in_channels,) + tuple(n + b + e for n, (b, e) in zip(self._geometry.in_spatial, extend))

    def _linear(self, rows: np.ndarray) -> np.ndarray:
        """The linear part on rows (batch, in_features): ``A^T`` per row, then the zero extension."""
        g = self._geometry
        y = np.asarray(conv_operator(g, ()).matmat(rows.T)).T.reshape(rows.shape[0], g.in_channels, *g.in_spatial)
        extend = [(0, 0), (0, 0)] + [(max(-b, 0), max(-e, 0)) for b, e in zip(self.pad_begin, self.pad_end)]
        return np.pad(y, extend).reshape(rows.shape[0], -1)

    def __call__(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        y = self._linear(np.atleast_2d(a))
        if self.bias is not None:
            y = y + np.repeat(self.bias, math.prod(self.output_shape[1:]))
        return y.reshape(-1) if a.ndim == 1 else y

    def operator_matrix(self) -> np.ndarray:
        """The (out_features, in_features) matrix of the linear part."""
        return self._linear(np.eye(self.in_features)).T.copy()

    def jacobian(self, x: Any) -> np.ndarray:
        a = check_input(x, self.in_features)
        if a.ndim != 1:
            raise ValueError(f"jacobian takes one input of shape (n,); got {a.shape}")
        return self.operator_matrix()

    def lipschitz_upper(self) -> float:
        """Proven sigma_max of the forward convolution (= that of its adjoint, this layer):
        the dense route's certified upper end when the matrix has at most
        ``DENSE_MAX_ENTRIES`` entries, else the smaller of the kernel-reshaping bound and
        the proven circular embedding (up to ``EMBEDDING_MAX_FLOPS``)."""
        return layer_upper(self._geometry)

    def lipschitz_exact(self) -> float:
        return _sigma.sigma_exact(self.operator_matrix())
