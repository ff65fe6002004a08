"""A certified upper bound on a convolution's operator norm from reshaped kernels.

No iteration and, for zeros padding, no input size: the bound of
:func:`conv_upper_bound` is what ``conv_operator_norm(..., method="bound")``
returns and what every other route's upper end is intersected with.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._rounding import prod_up, sqrt_int_up
from . import _sigma
from .conv_map import ConvGeometry, check_kernel, conv_geometry
from .windows import as_tuple

__all__ = ["conv_upper_bound", "size_free_read_count"]


def _read_counts(g: ConvGeometry, axis: int) -> tuple[int, int]:
    """(most reads of one source entry over all taps and outputs along ``axis``,
    most valid taps of one output position along ``axis``)."""
    idx = g.pad_index(axis)
    k, dl, s, n = g.kernel_size[axis], g.dilation[axis], g.stride[axis], g.out_spatial[axis]
    pos = (np.arange(n)[:, None] * s + np.arange(k)[None, :] * dl)  # (out, tap) padded positions
    src = idx[pos]
    per_source = np.bincount(src[src >= 0], minlength=g.in_spatial[axis])
    per_output = np.sum(src >= 0, axis=1)
    return int(per_source.max(initial=0)), int(per_output.max(initial=0))


def size_free_read_count(kernel_size: Sequence[int], stride: Sequence[int], dilation: Sequence[int]) -> int:
    """``prod_k ceil(k gcd(s, d) / s)``: the most (output, tap) pairs that can read
    one input entry under zero padding, for every input size."""
    return math.prod(-(-k * math.gcd(s, dl) // s) for k, s, dl in zip(kernel_size, stride, dilation))


def conv_upper_bound(kernel: Any, input_shape: Sequence[int] | None = None, **conv_args: Any) -> float:
    """A certified upper bound on the convolution's operator norm, by reshaping the kernel.

    Writing ``A = sum_t W_t (x) S_t`` (``S_t`` the 0/1 map that reads tap t of
    every output position), ``A = (R (x) I) [S_1 x; ...; S_T x]`` with
    ``R = [W_1 | ... | W_T]`` (C_out x C_in T per group), so
    ``||A|| <= ||R||_2 sqrt(N_in)``, where ``N_in`` is the most (output, tap)
    pairs that read one input entry; symmetrically ``||A|| <= ||R'||_2 sqrt(N_out)``
    with ``R'`` the taps stacked (C_out T x C_in) and ``N_out`` bounding
    ``||sum_t S_t S_t^T||`` (the most taps per output under zeros/circular
    padding without repeats, ``sum_t max reads`` otherwise).  Groups: the max
    over the diagonal blocks.  The smaller of the two is returned.

    With ``input_shape`` the counts are exact for that size and every padding
    mode.  Without it the bound holds for every input size: it needs
    ``padding_mode="zeros"`` and uses ``N_in = prod ceil(k gcd(s, d)/s)``
    (stride tightens it, dilation alone does not) and ``N_out = prod(k)``.
    sigma of the reshaped kernels is the ``svd`` method's certified upper end,
    and each product ``sigma sqrt(N)`` is rounded up (``sqrt`` stepped up, the
    product exact in rationals then rounded up once).
    """
    if input_shape is None:
        W = check_kernel(kernel)
        d = W.ndim - 2
        groups = conv_args.get("groups", 1)
        if conv_args.get("padding_mode", "zeros") != "zeros":
            raise ValueError("conv_upper_bound without input_shape holds for padding_mode='zeros' only; "
                             "give input_shape for the other modes")
        if not isinstance(groups, (int, np.integer)) or groups < 1 or W.shape[0] % groups:
            raise ValueError(f"the kernel's first axis ({W.shape[0]}) is not divisible by groups={groups!r}")
        k = W.shape[2:]
        n_in = size_free_read_count(k, as_tuple(conv_args.get("stride", 1), d, "stride", 1),
                                    as_tuple(conv_args.get("dilation", 1), d, "dilation", 1))
        n_out = math.prod(k)
    else:
        g = kernel if isinstance(kernel, ConvGeometry) else conv_geometry(kernel, input_shape, **conv_args)
        W, groups = g.weight, g.groups
        counts = [_read_counts(g, ax) for ax in range(g.ndim)]
        n_in = math.prod(c[0] for c in counts)
        if all(_no_repeat(g, ax) for ax in range(g.ndim)):  # each S_t S_t^T is diagonal
            n_out = math.prod(c[1] for c in counts)
        else:
            n_out = math.prod(g.kernel_size) * n_in  # sum_t ||S_t||^2 <= T * max reads
    if n_in == 0:
        return 0.0
    c_out = W.shape[0] // groups
    T = math.prod(W.shape[2:])
    blocks = W.reshape((groups, c_out, W.shape[1], T))
    best = 0.0
    for Wb in blocks:  # the norm of a block-diagonal map is the largest block's
        r_in = _sigma.sigma_upper(Wb.transpose(0, 2, 1).reshape(c_out, T * W.shape[1]))  # [W_1 | ... | W_T]
        r_out = _sigma.sigma_upper(Wb.transpose(2, 0, 1).reshape(T * c_out, W.shape[1]))  # [W_1; ...; W_T]
        best = max(best, min(prod_up([r_in, sqrt_int_up(n_in)]), prod_up([r_out, sqrt_int_up(n_out)])))
    return float(best)


def _no_repeat(g: ConvGeometry, axis: int) -> bool:
    """Whether, for each tap, distinct outputs read distinct source entries along ``axis``."""
    idx = g.pad_index(axis)
    pos = np.arange(g.out_spatial[axis])[:, None] * g.stride[axis] + np.arange(g.kernel_size[axis]) * g.dilation[axis]
    src = idx[pos]
    return all(np.unique(col[col >= 0]).size == np.count_nonzero(col >= 0) for col in src.T)
