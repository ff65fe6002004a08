"""The convolution as a linear map: its geometry (PyTorch's arguments
checked once), forward and adjoint products, and its ``LinearOperator``.

The map is ``A = V P`` with ``P`` the padding (a 0/1 matrix: zeros, circular,
reflect or replicate) and ``V`` the "valid" strided, dilated correlation
``y[o, i] = sum_{c, t} W[o, c, t] xp[c, i*s + t*d]``; a transposed convolution
is ``A^T`` for the forward map whose kernel is the transposed one read in the
forward layout (PyTorch defines it as that gradient), so it has the same norm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._sigma import real_array
from .windows import PADDING_MODES, as_tuple

__all__ = ["ConvGeometry", "conv_geometry", "conv_operator", "check_kernel", "PADDING_MODES"]


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution reduced to its forward form ``A = V P`` (see the module doc).

    ``weight`` is float64 in the forward layout ``(C_out, C_in/groups, *k)``;
    ``in_spatial`` and ``out_spatial`` are the forward map's input and output
    sizes (for ``transposed`` the operator is ``A^T``); ``pad_left``/``pad_right``
    the padding on each side per axis.
    """

    weight: np.ndarray
    groups: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_left: tuple[int, ...]
    pad_right: tuple[int, ...]
    padding_mode: str
    transposed: bool

    @property
    def ndim(self) -> int:
        return len(self.in_spatial)

    @property
    def kernel_size(self) -> tuple[int, ...]:
        return tuple(self.weight.shape[2:])

    @property
    def out_channels(self) -> int:
        return int(self.weight.shape[0])

    @property
    def in_channels(self) -> int:
        return int(self.weight.shape[1]) * self.groups

    @property
    def forward_shape(self) -> tuple[int, int]:
        """(rows, columns) of the forward matrix A."""
        return (self.out_channels * math.prod(self.out_spatial), self.in_channels * math.prod(self.in_spatial))

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the operator the user asked about (A, or A^T when transposed)."""
        m, n = self.forward_shape
        return (n, m) if self.transposed else (m, n)

    def pad_index(self, axis: int) -> np.ndarray:
        """Source index in ``[0, L)`` of each padded position along ``axis``; -1 for a zero."""
        L, pl, pr = self.in_spatial[axis], self.pad_left[axis], self.pad_right[axis]
        j = np.arange(-pl, L + pr)
        if self.padding_mode == "zeros":
            return np.where((j >= 0) & (j < L), j, -1)
        if self.padding_mode == "circular":
            return np.mod(j, L)
        if self.padding_mode == "reflect":
            j = np.abs(j)
            return np.where(j >= L, 2 * (L - 1) - j, j)
        return np.clip(j, 0, L - 1)  # replicate

    def describe(self) -> str:
        kind = "conv_transpose" if self.transposed else "conv"
        return (f"{kind}{self.ndim}d kernel {self.weight.shape}"
                f"{' (forward layout)' if self.transposed else ''}, input "
                f"{(self.out_channels, *self.out_spatial) if self.transposed else (self.in_channels, *self.in_spatial)}"
                ", "
                f"stride {self.stride}, padding {self.pad_left}"
                + (f"/{self.pad_right}" if self.pad_right != self.pad_left else "")
                + f" {self.padding_mode}, dilation {self.dilation}, groups {self.groups}")


def check_kernel(kernel: Any) -> np.ndarray:
    a = real_array(kernel, "kernel")
    if a.ndim not in (3, 4, 5):
        raise ValueError("kernel must have shape (out, in/groups, *k) with 1, 2 or 3 spatial axes; "
                         f"got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"kernel is empty (shape {a.shape})")
    a = np.array(a, dtype=np.float64, copy=True)  # never a view of the caller's array
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        raise ValueError(f"kernel contains {a[tuple(bad[0])]} at {tuple(int(i) for i in bad[0])}; "
                         "the operator norm is undefined")
    return a


def conv_geometry(kernel: Any, input_shape: Sequence[int], *, stride: Any = 1, padding: Any = 0,
                  dilation: Any = 1, groups: int = 1, padding_mode: str = "zeros", transposed: bool = False,
                  output_padding: Any = 0) -> ConvGeometry:
    """Validate PyTorch-style arguments and reduce them to a :class:`ConvGeometry`.

    ``input_shape`` is the spatial shape ``(*S)`` of one input, or ``(C, *S)``
    with C checked against the kernel.  ``padding`` is an int, a tuple, or
    ``"valid"`` / ``"same"`` (stride 1, not transposed; an odd total goes one
    more to the right, as in PyTorch).
    """
    W = check_kernel(kernel)
    d = W.ndim - 2
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError):
        raise TypeError(f"input_shape must be a sequence of ints; got {input_shape!r}") from None
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int; got {groups!r}")
    groups = int(groups)
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode must be one of {PADDING_MODES}; got {padding_mode!r}")
    if transposed and padding_mode != "zeros":
        raise ValueError("a transposed convolution takes padding_mode 'zeros' only (as in PyTorch); "
                         f"got {padding_mode!r}")
    stride_t = as_tuple(stride, d, "stride", 1)
    dil = as_tuple(dilation, d, "dilation", 1)
    ksize = W.shape[2:]
    # channels: forward layout (C_out, C_in/g); transposed kernels are (C_in_T, C_out_T/g) = forward (C_out, C_in/g)
    c_first = W.shape[0]
    if c_first % groups:
        which = "in" if transposed else "out"
        raise ValueError(f"the kernel's first axis ({which}_channels = {c_first}) is not divisible by groups={groups}")
    user_channels = c_first if transposed else W.shape[1] * groups
    if len(shape) == d + 1:
        if shape[0] != user_channels:
            raise ValueError(f"input_shape {shape}, read as (C_in, *spatial) since the kernel {W.shape} has {d} "
                             f"spatial axes, has {shape[0]} channels; the kernel with groups={groups} takes "
                             f"{user_channels}")
        shape = shape[1:]
    elif len(shape) != d:
        raise ValueError(f"kernel {W.shape} has {d} spatial axes but input_shape {tuple(input_shape)} has {len(shape)} "
                         f"(give (*spatial) or (C_in, *spatial))")
    if any(s < 1 for s in shape):
        raise ValueError(f"input_shape {tuple(input_shape)} has an empty axis")
    span = tuple(dl * (k - 1) + 1 for dl, k in zip(dil, ksize))
    if isinstance(padding, str):
        if padding == "valid":
            pl = pr = (0,) * d
        elif padding == "same":
            if transposed or any(s != 1 for s in stride_t):
                raise ValueError("padding='same' needs stride 1 and no transposition (as in PyTorch)")
            pl = tuple((sp - 1) // 2 for sp in span)
            pr = tuple(sp - 1 - p for sp, p in zip(span, pl))
        else:
            raise ValueError(f"padding must be an int, a tuple, 'valid' or 'same'; got {padding!r}")
    else:
        pl = pr = as_tuple(padding, d, "padding", 0)
    if transposed:
        outp = as_tuple(output_padding, d, "output_padding", 0)
        if any(op >= max(s, dl) for op, s, dl in zip(outp, stride_t, dil)):
            raise ValueError(f"output_padding {output_padding!r} must be smaller than stride or dilation on each axis")
        fwd_in = tuple((L - 1) * s - 2 * p + sp - 1 + op + 1
                       for L, s, p, sp, op in zip(shape, stride_t, pl, span, outp))
        if any(n < 1 for n in fwd_in):
            raise ValueError(f"transposed convolution of input {shape} with padding {pl} has an empty output {fwd_in}")
        fwd_out = shape
    else:
        if any(op != 0 for op in as_tuple(output_padding, d, "output_padding", 0)):
            raise ValueError("output_padding applies to transposed convolutions only")
        fwd_in = shape
        fwd_out = None
    for ax, (L, a, b) in enumerate(zip(fwd_in, pl, pr)):
        if padding_mode == "circular" and max(a, b) > L:
            raise ValueError(f"circular padding {max(a, b)} on axis {ax} exceeds the input length {L} "
                             "(PyTorch refuses it)")
        if padding_mode == "reflect" and max(a, b) >= L:
            raise ValueError(f"reflect padding {max(a, b)} on axis {ax} must be smaller than the input length {L}")
    padded = tuple(L + a + b for L, a, b in zip(fwd_in, pl, pr))
    if any(P < sp for P, sp in zip(padded, span)):
        raise ValueError(f"the padded input {padded} is smaller than the dilated kernel {span}; "
                         "no output position exists")
    full_out = tuple((P - sp) // s + 1 for P, sp, s in zip(padded, span, stride_t))
    if fwd_out is None:
        fwd_out = full_out
    return ConvGeometry(weight=W, groups=groups, in_spatial=fwd_in, out_spatial=tuple(fwd_out), stride=stride_t,
                        dilation=dil, pad_left=pl, pad_right=pr, padding_mode=padding_mode, transposed=bool(transposed))


# --------------------------------------------------------------- the operator
def _taps(g: ConvGeometry):
    """(tap index, slices into the padded input) for every kernel tap."""
    for t in np.ndindex(*g.kernel_size):
        yield t, tuple(slice(tk * dl, tk * dl + s * (n - 1) + 1, s)
                       for tk, dl, s, n in zip(t, g.dilation, g.stride, g.out_spatial))


def _pad(g: ConvGeometry, x: np.ndarray) -> np.ndarray:
    """P x for x of shape (C, *in_spatial)."""
    if g.padding_mode == "zeros":
        return np.pad(x, [(0, 0)] + list(zip(g.pad_left, g.pad_right)))
    for ax in range(g.ndim):
        x = np.take(x, g.pad_index(ax), axis=ax + 1)
    return x


def _pad_adjoint(g: ConvGeometry, z: np.ndarray) -> np.ndarray:
    """P^T z for z of shape (C, *padded): each source entry sums the padded entries copied from it."""
    if g.padding_mode == "zeros":
        return z[(slice(None),) + tuple(slice(a, a + L) for a, L in zip(g.pad_left, g.in_spatial))]
    for ax in range(g.ndim):
        idx = g.pad_index(ax)
        gather = np.zeros((idx.size, g.in_spatial[ax]))
        gather[np.arange(idx.size), idx] = 1.0
        z = np.moveaxis(np.tensordot(z, gather, axes=([ax + 1], [0])), -1, ax + 1)
    return z


def _forward(g: ConvGeometry, x: np.ndarray) -> np.ndarray:
    """A x (x flat, length C_in * prod(in_spatial))."""
    G = g.groups
    xp = _pad(g, x.reshape((g.in_channels,) + g.in_spatial)).reshape((G, g.in_channels // G) + tuple(
        L + a + b for L, a, b in zip(g.in_spatial, g.pad_left, g.pad_right)))
    Wg = g.weight.reshape((G, g.out_channels // G) + g.weight.shape[1:])
    n_out = math.prod(g.out_spatial)
    y = np.zeros((G, g.out_channels // G, n_out))
    for t, sl in _taps(g):
        y += Wg[(slice(None),) * 3 + t] @ xp[(slice(None), slice(None)) + sl].reshape(G, -1, n_out)
    return y.reshape(-1)


def _adjoint(g: ConvGeometry, y: np.ndarray) -> np.ndarray:
    """A^T y (y flat, length C_out * prod(out_spatial))."""
    G = g.groups
    padded = tuple(L + a + b for L, a, b in zip(g.in_spatial, g.pad_left, g.pad_right))
    yg = y.reshape(G, g.out_channels // G, -1)
    Wg = g.weight.reshape((G, g.out_channels // G) + g.weight.shape[1:])
    z = np.zeros((G, g.in_channels // G) + padded)
    for t, sl in _taps(g):
        WtT = np.swapaxes(Wg[(slice(None),) * 3 + t], 1, 2)
        z[(slice(None), slice(None)) + sl] += (WtT @ yg).reshape((G, g.in_channels // G) + g.out_spatial)
    return _pad_adjoint(g, z.reshape((g.in_channels,) + padded)).reshape(-1)


def conv_operator(kernel: Any, input_shape: Sequence[int], **conv_args: Any):
    """The convolution as a ``scipy.sparse.linalg.LinearOperator`` (float64) on
    flattened ``(C, *spatial)`` arrays (C-order), with its exact adjoint as
    ``rmatvec``.  Arguments as :func:`conv_operator_norm`; also takes a
    :class:`ConvGeometry` in place of the kernel (then no other arguments).
    Cost per product: ``prod(k)`` matrix products of ``(C_out/g, C_in/g)`` by
    ``(C_in/g, prod(out))`` per group, plus the padding's copies."""
    from scipy.sparse.linalg import LinearOperator

    g = kernel if isinstance(kernel, ConvGeometry) else conv_geometry(kernel, input_shape, **conv_args)
    fwd, adj = (_adjoint, _forward) if g.transposed else (_forward, _adjoint)

    def matvec(v: np.ndarray) -> np.ndarray:
        return fwd(g, np.asarray(v, dtype=np.float64).reshape(-1))

    def rmatvec(v: np.ndarray) -> np.ndarray:
        return adj(g, np.asarray(v, dtype=np.float64).reshape(-1))

    return LinearOperator(g.shape, matvec=matvec, rmatvec=rmatvec, dtype=np.float64)
