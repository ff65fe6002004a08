"""What the ONNX op handlers share: the import's context (shapes, constants,
which tensors depend on the input), node attributes, a refusal with what a
node would need, and the handlers' common steps."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .graph import Node

__all__ = ["Refuse", "Context", "attributes", "Handler", "one_dynamic", "unary", "shape_of", "per_sample_constant",
           "not_lipschitz", "conv_operands", "axes_of"]


class Refuse(Exception):
    """A handler cannot express this node; the message says what it would need."""


@dataclass
class Context:
    shapes: dict[str, tuple[int, ...]]      # per-sample shape of each dynamic tensor
    consts: dict[str, np.ndarray]           # full value of each constant tensor
    producer: dict[str, Node]               # graph node computing each dynamic tensor
    onnx_producer: dict[str, Any]           # ONNX node computing each tensor
    consumers: dict[str, int]               # how many ONNX nodes (and graph outputs) read each tensor
    graph_constants: dict[str, np.ndarray]  # per-sample constants that concat nodes read
    opset: int = 0                          # the default domain's opset version

    def const(self, name: str) -> np.ndarray | None:
        return self.consts.get(name)

    def dynamic(self, name: str) -> bool:
        return name in self.shapes


def attributes(node: Any) -> dict[str, Any]:
    from onnx import helper

    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


# ------------------------------------------------------------------- handlers
Handler = Callable[[Any, str, dict, Context], list[Node]]


def one_dynamic(node: Any, ctx: Context) -> str:
    ins = [t for t in node.input if t and ctx.dynamic(t)]
    if len(ins) != 1 or node.input[0] != ins[0]:
        raise Refuse("needs its first input to be the only input-dependent one (the others constants)")
    return ins[0]


def unary(node: Any, name: str, layer: Any, ctx: Context, shape: tuple[int, ...] | None = None) -> list[Node]:
    x = one_dynamic(node, ctx)
    ctx.shapes[node.output[0]] = ctx.shapes[x] if shape is None else shape
    return [Node(name, node.op_type, "layer", (x,), node.output[0], layer)]


def shape_of(node: Any, attrs: dict, ctx: Context) -> np.ndarray:
    full = np.array([1, *ctx.shapes[node.input[0]]], dtype=np.int64)
    start, end = int(attrs.get("start", 0)), attrs.get("end")
    return full[start:None if end is None else int(end)]


def per_sample_constant(c: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    full = (1, *shape)
    try:
        out = np.broadcast_shapes(np.shape(c), full)
    except ValueError:
        raise Refuse(f"a constant of shape {np.shape(c)} does not broadcast to (batch, {shape})") from None
    if out != full:
        raise Refuse(f"a constant of shape {np.shape(c)} changes the shape (batch, {shape}) to {out}")
    return np.broadcast_to(np.asarray(c, dtype=np.float64), full)[0]


def not_lipschitz(node: Any, name: str, ctx: Context, kind: str, reason: str) -> list[Node]:
    a, b = node.input[0], node.input[1]
    sa, sb = ctx.shapes[a], ctx.shapes[b]
    if node.op_type == "MatMul":
        if len(sa) < 2 or len(sb) < 2:
            raise Refuse("a matrix product of input-dependent vectors is not supported")
        out = (*np.broadcast_shapes(sa[:-2], sb[:-2]), sa[-2], sb[-1])

        def matmul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
            n = x.shape[0]
            return np.matmul(x.reshape(n, *sa), y.reshape(n, *sb)).reshape(n, -1)

        ctx.shapes[node.output[0]] = tuple(int(v) for v in out)
        return [Node(name, node.op_type, kind, (a, b), node.output[0], matmul, reason=reason)]
    if sa != sb:
        raise Refuse(f"broadcasts input-dependent tensors of shapes {sa} and {sb}; needs equal shapes")
    ctx.shapes[node.output[0]] = sa
    return [Node(name, node.op_type, kind, (a, b), node.output[0], reason=reason)]


def conv_operands(node: Any, ctx: Context) -> tuple[str, np.ndarray, tuple[int, ...], int]:
    """A Conv or ConvTranspose node's (input tensor, constant weight, per-sample input shape,
    spatial dimensions), or Refuse naming what does not fit."""
    x = one_dynamic(node, ctx)
    W = ctx.const(node.input[1])
    if W is None:
        raise Refuse("needs a constant weight")
    W = np.asarray(W, dtype=np.float64)
    shape = ctx.shapes[x]
    d = len(shape) - 1
    if d < 1 or W.ndim != d + 2:
        raise Refuse(f"weight {W.shape} does not fit an input of per-sample shape {shape}")
    return x, W, shape, d


def axes_of(node: Any, attrs: dict, ctx: Context) -> list[int]:
    """A node's ``axes``: its second input from opset 13/18 on (a constant), else its attribute."""
    if len(node.input) > 1 and node.input[1]:
        c = ctx.const(node.input[1])
        if c is None:
            raise Refuse("needs constant axes")
        return [int(a) for a in np.atleast_1d(c)]
    return [int(a) for a in attrs.get("axes", [])]
