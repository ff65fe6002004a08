"""The elementwise ONNX op handlers: activations with their derived constants (Erf
alone too), PRelu, Neg, and Add/Sub/Mul/Div (by constants, residual sums, the fused
patterns of :mod:`._onnx_patterns`, or named as not globally Lipschitz)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..lipschitz.activations import activation
from ..lipschitz.layers import ActivationLayer, Dense
from ._onnx_context import Context, Handler, Refuse, not_lipschitz, one_dynamic, per_sample_constant, unary
from ._onnx_layer_norm import fuse_center, fuse_layer_norm
from ._onnx_patterns import fold_scale, fuse_product
from .graph import Node
from .graph_layers import ConstantOp, PReLU

__all__ = ["ELEMENTWISE_OPS"]


def _activation_layer(act_name: str, **params: float) -> Callable[[Any, str, dict, Context], list[Node]]:
    def handle(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
        x = one_dynamic(node, ctx)
        width = int(np.prod(ctx.shapes[x]))
        return unary(node, name, ActivationLayer(activation(act_name, **params), width), ctx)

    return handle


def _leaky_relu(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    return _activation_layer("leaky_relu", alpha=float(attrs.get("alpha", 0.01)))(node, name, attrs, ctx)


def _elu(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    return _activation_layer("elu", alpha=float(attrs.get("alpha", 1.0)))(node, name, attrs, ctx)


def _selu(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    a = float(np.float32(attrs.get("alpha", 1.67326319217681884765625)))
    g = float(np.float32(attrs.get("gamma", 1.05070102214813232421875)))
    return _activation_layer("selu", alpha=a, gamma=g)(node, name, attrs, ctx)


def _hard_sigmoid(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    return _activation_layer("hard_sigmoid", alpha=float(attrs.get("alpha", 0.2)),
                             beta=float(attrs.get("beta", 0.5)))(node, name, attrs, ctx)


def _hard_swish(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    return _activation_layer("hard_swish", alpha=float(np.float32(1 / 6)), beta=0.5)(node, name, attrs, ctx)


def _gelu(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    approximate = attrs.get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise Refuse(f"approximate={approximate!r}: ONNX's Gelu knows 'none' and 'tanh'")
    return _activation_layer("gelu" if approximate == "none" else "gelu_tanh")(node, name, attrs, ctx)


def _softplus(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    return _activation_layer("softplus", beta=1.0)(node, name, attrs, ctx)


def _clip(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    lo, hi = attrs.get("min", -math.inf), attrs.get("max", math.inf)  # opset < 11: attributes
    for i, which in ((1, "min"), (2, "max")):
        if len(node.input) > i and node.input[i]:
            c = ctx.const(node.input[i])
            if c is None:
                raise Refuse(f"needs a constant {which}; an input-dependent bound is not supported")
            if which == "min":
                lo = float(c)
            else:
                hi = float(c)
    return _activation_layer("clip", lo=float(lo), hi=float(hi))(node, name, attrs, ctx)


def _prelu(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    slope = ctx.const(node.input[1])
    if slope is None:
        raise Refuse("needs constant slopes")
    shape = ctx.shapes[x]
    if ctx.opset < 7 and np.ndim(slope) == 1 and np.size(slope) == shape[0] > 1:  # opset 6: one slope per channel
        slope = np.reshape(slope, (shape[0],) + (1,) * (len(shape) - 1))
    per_sample = per_sample_constant(slope, shape)  # from opset 7: broadcast against (batch, ...)
    return unary(node, name, PReLU(per_sample, ctx.shapes[x]), ctx)


def _arith(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    a, b = node.input[0], node.input[1]
    op = node.op_type
    if ctx.dynamic(a) and ctx.dynamic(b):
        fused = fuse_center(node, name, ctx) or fuse_layer_norm(node, name, ctx)  # layer norm written out
        if fused is not None:
            return fused
        if op in ("Add", "Sub"):
            if ctx.shapes[a] != ctx.shapes[b]:
                raise Refuse(f"broadcasts input-dependent tensors of shapes {ctx.shapes[a]} and {ctx.shapes[b]}; "
                              f"needs equal shapes")
            ctx.shapes[node.output[0]] = ctx.shapes[a]
            return [Node(name, op, op.lower(), (a, b), node.output[0])]
        if op == "Mul":
            fused = fuse_product(node, name, ctx)  # SiLU, hard swish, GELU's erf form
            if fused is not None:
                return fused
            return not_lipschitz(node, name, ctx, "product", "the product of two input-dependent tensors "
                                  "(gating) grows quadratically: no global Lipschitz constant")
        return not_lipschitz(node, name, ctx, "quotient", "division by an input-dependent tensor is unbounded "
                              "near its zeros: no global Lipschitz constant")
    x, c, first = (a, ctx.const(b), True) if ctx.dynamic(a) else (b, ctx.const(a), False)
    assert c is not None
    if op == "Div" and not first:
        return _refuse_reciprocal(node, name, ctx, x, c)
    kind = {"Add": "add", "Sub": "sub" if first else "rsub", "Mul": "mul", "Div": "div"}[op]
    cs = per_sample_constant(c, ctx.shapes[x])
    folded = fold_scale(node, name, ctx, x, kind, cs)  # a pattern's scale times this one, exactly
    if folded is not None:
        return folded
    producer = ctx.producer.get(x)
    if (kind == "add" and producer is not None and isinstance(producer.layer, Dense) and producer.layer.bias is None
            and ctx.consumers.get(x, 0) == 1 and cs.ndim == 1):
        ctx.shapes[node.output[0]] = ctx.shapes[x]  # MatMul + Add: the bias of one Dense layer
        return [Node(name, f"{producer.op_type}+Add", "layer", producer.inputs, node.output[0],
                     Dense(producer.layer.weight, cs))]
    ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, op, "layer", (x,), node.output[0], ConstantOp(kind, cs, ctx.shapes[x]))]


def _neg(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    return unary(node, name, ConstantOp("mul", np.asarray(-1.0), ctx.shapes[x]), ctx)


def _refuse_reciprocal(node: Any, name: str, ctx: Context, x: str, c: np.ndarray) -> list[Node]:
    key = f"{name}::numerator"
    ctx.graph_constants[key] = np.broadcast_to(per_sample_constant(c, ctx.shapes[x]), ctx.shapes[x]).copy()
    ctx.shapes[key] = ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, node.op_type, "quotient", (key, x), node.output[0],
                 reason="a constant divided by an input-dependent tensor is unbounded near its zeros: "
                        "no global Lipschitz constant")]

#: elementwise op type -> handler
ELEMENTWISE_OPS: dict[str, Handler] = {
    "Relu": _activation_layer("relu"), "LeakyRelu": _leaky_relu, "Elu": _elu, "Selu": _selu,
    "Sigmoid": _activation_layer("sigmoid"), "Tanh": _activation_layer("tanh"), "Softplus": _softplus,
    "HardSigmoid": _hard_sigmoid, "HardSwish": _hard_swish, "Gelu": _gelu, "Erf": _activation_layer("erf"),
    "Clip": _clip, "PRelu": _prelu,
    "Add": _arith, "Sub": _arith, "Mul": _arith, "Div": _arith, "Neg": _neg,
}
