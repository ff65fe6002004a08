"""Layer normalisation as older exporters write it out, fused into one
:class:`~lipbench.models.graph_axis_layers.LayerNorm`:

``ReduceMean(x) -> Sub(x, mean) -> Pow(d, 2) -> ReduceMean -> Add(var, eps) -> Sqrt -> Div(d, std)``
(then ``Mul`` by gamma and ``Add`` of beta, which stay constant layers).

The pieces import on their own: ``ReduceMean`` over trailing axes is a linear
:class:`GroupMean` (norm ``1/sqrt(n)``), ``Sub(x, ReduceMean(x))`` the centring projection
:class:`Center` (norm 1), ``Pow(d, 2)`` and ``Sqrt`` nodes without a global constant (a
square grows quadratically; sqrt's slope is unbounded near 0).  ``Div(d, Sqrt(var + eps))``
with ``d`` centred and ``var`` the mean of ``d^2`` over the same axes is the normalisation,
whose constant ``1/sqrt(eps)`` :mod:`.graph_axis_layers` proves; the square and the root
are then read by nobody and leave the graph.  Any other arrangement keeps their refusal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._onnx_context import Context, Refuse, axes_of, one_dynamic, unary
from .graph import Node
from .graph_axis_layers import Center, GroupMean, LayerNorm

__all__ = ["LAYER_NORM_OPS", "fuse_center", "fuse_layer_norm"]


def _reduce_mean(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    shape = ctx.shapes[x]
    axes = axes_of(node, attrs, ctx)
    rank = len(shape) + 1
    if not axes:
        raise Refuse("a mean over every axis mixes the batch axis")
    axes = sorted(a % rank for a in axes)
    if axes[0] == 0 or axes != list(range(axes[0], rank)):
        raise Refuse(f"axes={axes}: only a mean over trailing per-sample axes is supported")
    try:
        layer = GroupMean(shape, axes[0] - 1, bool(attrs.get("keepdims", 1)))
    except ValueError as exc:
        raise Refuse(str(exc)) from None
    return unary(node, name, layer, ctx, layer.output_shape)


def _pow(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    e = ctx.const(node.input[1])
    if e is None or np.size(e) != 1 or float(np.asarray(e).reshape(-1)[0]) != 2.0:
        raise Refuse("only the exponent 2 (a square, as layer normalisation's variance) is supported")
    ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, "Pow", "product", (x, x), node.output[0],
                 reason="a square grows quadratically: no global Lipschitz constant")]


def _sqrt(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, "Sqrt", "product", (x,), node.output[0], np.sqrt,
                 reason="the square root's slope is unbounded near 0: no global Lipschitz constant")]


def fuse_center(node: Any, name: str, ctx: Context) -> list[Node] | None:
    """``Sub(x, ReduceMean(x))`` (keepdims) as the centring projection, else None."""
    x, m = node.input[0], node.input[1]
    mean = ctx.producer.get(m)
    if node.op_type != "Sub" or mean is None or not isinstance(mean.layer, GroupMean) or mean.inputs != (x,) \
            or not mean.layer.keepdims:
        return None
    ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, "Sub(x, ReduceMean(x))", "layer", (x,), node.output[0], Center(ctx.shapes[x], mean.layer.axis))]


def fuse_layer_norm(node: Any, name: str, ctx: Context) -> list[Node] | None:
    """``Div(d, Sqrt(ReduceMean(d^2) + eps))`` with ``d`` centred over the same axes, as one
    :class:`LayerNorm` (scale 1, no bias) of the tensor ``d`` centres; else None."""
    d, std = node.input[0], node.input[1]
    center = ctx.producer.get(d)
    sqrt = ctx.onnx_producer.get(std)
    if node.op_type != "Div" or center is None or not isinstance(center.layer, Center) or sqrt is None \
            or sqrt.op_type != "Sqrt":
        return None
    add = ctx.onnx_producer.get(sqrt.input[0])
    if add is None or add.op_type != "Add":
        return None
    var, eps = (add.input[0], ctx.const(add.input[1])) if ctx.dynamic(add.input[0]) else \
        (add.input[1], ctx.const(add.input[0]))
    mean = ctx.producer.get(var)
    if eps is None or np.size(eps) != 1 or not float(np.asarray(eps).reshape(-1)[0]) > 0 or mean is None \
            or not isinstance(mean.layer, GroupMean) or mean.layer.axis != center.layer.axis:
        return None
    square = ctx.onnx_producer.get(mean.inputs[0])
    if square is None or not ((square.op_type == "Pow" and square.input[0] == d)
                              or (square.op_type == "Mul" and list(square.input) == [d, d])):
        return None
    x = center.inputs[0]
    ctx.shapes[node.output[0]] = ctx.shapes[x]
    layer = LayerNorm(ctx.shapes[x], center.layer.axis, np.ones(()), None, float(np.asarray(eps).reshape(-1)[0]))
    return [Node(name, "LayerNorm (ReduceMean-Sub-Pow-ReduceMean-Add-Sqrt-Div)", "layer", (x,), node.output[0], layer)]


#: op type -> handler
LAYER_NORM_OPS = {"ReduceMean": _reduce_mean, "Pow": _pow, "Sqrt": _sqrt}
