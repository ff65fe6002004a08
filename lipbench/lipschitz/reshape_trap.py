"""The reshape trap: sigma of a conv kernel reshaped to ``(out, in * prod(k))`` is not the layer's norm.

Spectral normalization code (Miyato et al. 2018; PyTorch's
``spectral_norm`` with its default ``dim=0``) normalizes a convolution by
``sigma_max(R)`` with ``R = kernel.reshape(out, -1)``, the matrix
``[W_1 | ... | W_T]`` of its ``T`` taps side by side.  The Lipschitz constant of
the layer is the operator norm ``||A||`` of the convolution on its input, and
the two differ in both directions:

* *under*-estimate: with circular padding, stride 1, output size = input size
  and every input length at least the dilated kernel span, the DFT blocks
  ``B(w) = sum_t W_t e^{-i w t}`` average to ``mean_w B B^* = sum_t W_t W_t^T
  = R R^T``, so ``sigma(R) <= ||A|| = max_w ||B(w)||``; equal taps reach
  ``||A|| = sqrt(T) sigma(R)``;
* *over*-estimate: with zero padding on a small input most taps read padding
  (a 1x1 input sees only the centre tap), so ``||A||`` can be far below
  ``sigma(R)`` -- down to 0.

What always holds for stride 1 under zeros or circular padding (each input
entry read by at most ``T`` (output, tap) pairs): ``||A|| <= sqrt(T) sigma(R)``
(:func:`~lipbench.lipschitz.conv_bound.conv_upper_bound`'s argument).

:func:`reshape_trap` compares the two certified brackets; a verdict
"under"/"over" holds against the brackets, not against point estimates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _sigma
from .conv import conv_certified_bracket, conv_operator_norm
from .conv_map import check_kernel

__all__ = ["ReshapeTrap", "reshaped_kernel", "reshape_trap"]


def reshaped_kernel(kernel: Any) -> np.ndarray:
    """``kernel.reshape(out, -1)`` as float64: the matrix spectral-normalization code takes
    sigma of for a convolution (PyTorch ``spectral_norm(conv)``, ``dim=0``)."""
    W = check_kernel(kernel)
    return W.reshape(W.shape[0], -1)


@dataclass(frozen=True)
class ReshapeTrap:
    """Certified brackets of sigma(reshaped kernel) and of the operator norm, and their verdict."""

    reshape_lower: float
    reshape_upper: float
    operator_lower: float
    operator_upper: float
    taps: int
    operator_method: str

    @property
    def under_ratio(self) -> float:
        """``operator_lower / reshape_upper``: above 1 proves the reshape under-estimates by that factor."""
        return _ratio(self.operator_lower, self.reshape_upper)

    @property
    def over_ratio(self) -> float:
        """``reshape_lower / operator_upper``: above 1 proves the reshape over-estimates by that factor."""
        return _ratio(self.reshape_lower, self.operator_upper)

    @property
    def verdict(self) -> str:
        """"under", "over", or "undecided" (the brackets overlap)."""
        return "under" if self.under_ratio > 1 else "over" if self.over_ratio > 1 else "undecided"


def _ratio(a: float, b: float) -> float:
    if b > 0:
        return a / b
    return math.inf if a > 0 else math.nan


def reshape_trap(kernel: Any, input_shape: Sequence[int], **conv_args: Any) -> ReshapeTrap:
    """Compare sigma(kernel.reshape(out, -1)) with the operator norm on ``input_shape``.

    ``conv_args`` are those of :func:`conv_operator_norm` (stride, padding,
    dilation, groups, padding_mode, method, tol); transposed convolutions are
    refused (PyTorch reshapes their kernel along ``dim=1``).  Without ``method``
    the operator's bracket is proven (:func:`~.conv.conv_certified_bracket`: the
    assembled matrix for small operators), so the verdict is a proof; with one
    it is ``conv_operator_norm``'s bracket for that method (an estimate unless
    certified).
    """
    if conv_args.get("transposed"):
        raise ValueError("reshape_trap takes forward convolutions; a transposed kernel is reshaped along dim=1 "
                         "by PyTorch's spectral_norm, not dim=0")
    R = reshaped_kernel(kernel)
    r_low, _, r_up = _sigma.sigma_bracket(R)
    if conv_args.get("method") is None:
        args = {k: v for k, v in conv_args.items() if k not in ("method", "tol", "maxiter", "strict")}
        o_low, o_up, method = conv_certified_bracket(kernel, input_shape, **args)
    else:
        op = conv_operator_norm(kernel, input_shape, **conv_args)
        o_low, o_up, method = float(op.lower), float(op.upper), str(op.method)
    W = np.asarray(kernel)
    return ReshapeTrap(reshape_lower=r_low, reshape_upper=r_up, operator_lower=o_low, operator_upper=o_up,
                       taps=int(np.prod(W.shape[2:])), operator_method=method)
