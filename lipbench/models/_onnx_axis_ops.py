"""The ONNX handlers for ops that normalise along axes: ``Softmax``, ``LogSoftmax`` (opset 13's
one axis, and the older opsets' "everything from ``axis`` on") and ``LayerNormalization``,
onto :mod:`lipbench.models.graph_axis_layers` (whose docstring proves each constant)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._onnx_context import Context, Refuse, one_dynamic, unary
from .graph import Node
from .graph_axis_layers import LayerNorm, Softmax

__all__ = ["AXIS_OPS"]


def _axis(attrs: dict, default: int, shape: tuple[int, ...], what: str) -> int:
    """The per-sample axis (0-based) of ONNX's ``axis`` on ``(batch, *shape)``; refuses the batch axis."""
    rank = len(shape) + 1
    axis = int(attrs.get("axis", default))
    if not -rank <= axis < rank:
        raise Refuse(f"axis={axis} is out of range for rank {rank}")
    axis %= rank
    if axis == 0:
        raise Refuse(f"axis=0 {what} across the batch axis, mixing samples")
    return axis - 1


def _softmax(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    shape = ctx.shapes[x]
    old = ctx.opset < 13  # before opset 13: the input is flattened to 2-D at axis (default 1)
    axis = _axis(attrs, 1 if old else -1, shape, "normalises")
    return unary(node, name, Softmax(shape, axis, log=node.op_type == "LogSoftmax", to_end=old), ctx)


def _layer_norm(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    if any(o and ctx.consumers.get(o, 0) for o in node.output[1:]):
        raise Refuse("its Mean or InvStdDev output is read; only the normalised output is supported")
    shape = ctx.shapes[x]
    axis = _axis(attrs, -1, shape, "normalises")
    scale = ctx.const(node.input[1])
    bias = ctx.const(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    if scale is None or (len(node.input) > 2 and node.input[2] and bias is None):
        raise Refuse("needs a constant scale and bias")
    eps = float(np.float32(attrs.get("epsilon", 1e-5)))
    try:
        layer = LayerNorm(shape, axis, scale, bias, eps)
    except ValueError as exc:
        raise Refuse(str(exc)) from None
    return unary(node, name, layer, ctx)


#: op type -> handler
AXIS_OPS = {"Softmax": _softmax, "LogSoftmax": _softmax, "LayerNormalization": _layer_norm}
