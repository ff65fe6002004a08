"""The ONNX op handlers of :func:`lipbench.models.onnx_import.import_onnx`: one function per op
type, each turning one ONNX node into graph nodes over existing lipschitz layers, or
raising :class:`Refuse` with what the node would need."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..lipschitz.activations import activation
from ..lipschitz.batchnorm import BatchNorm
from ..lipschitz.conv_layer import Conv
from ..lipschitz.layers import ActivationLayer, Dense
from ..lipschitz.pooling import AvgPool, MaxPool
from .graph import Node
from .graph_layers import ConstantOp, Pad, Permute, PReLU

__all__ = ["SUPPORTED_OPS", "needed", "attributes", "shape_of", "Context", "Refuse"]


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


def _one_dynamic(node: Any, ctx: Context) -> str:
    ins = [t for t in node.input if t and ctx.dynamic(t)]
    if len(ins) != 1 or node.input[0] != ins[0]:
        raise Refuse("needs its first input to be the only input-dependent one (the others constants)")
    return ins[0]


def _unary(node: Any, name: str, layer: Any, ctx: Context, shape: tuple[int, ...] | None = None) -> list[Node]:
    x = _one_dynamic(node, ctx)
    ctx.shapes[node.output[0]] = ctx.shapes[x] if shape is None else shape
    return [Node(name, node.op_type, "layer", (x,), node.output[0], layer)]


def _activation_layer(act_name: str, **params: float) -> Callable[[Any, str, dict, Context], list[Node]]:
    def handle(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
        x = _one_dynamic(node, ctx)
        width = int(np.prod(ctx.shapes[x]))
        return _unary(node, name, ActivationLayer(activation(act_name, **params), width), ctx)

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
    if attrs.get("approximate", "none") != "none":
        raise Refuse("approximate='tanh' needs the tanh-approximation's activation and its derived constant")
    return _activation_layer("gelu")(node, name, attrs, ctx)


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


def _identity(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    if node.op_type == "Dropout":
        if len(node.output) > 1 and node.output[1] and ctx.consumers.get(node.output[1], 0):
            raise Refuse("its mask output is read; only inference (identity) Dropout is supported")
        if len(node.input) > 2 and node.input[2]:
            mode = ctx.const(node.input[2])
            if mode is None or bool(mode):
                raise Refuse("training_mode must be a constant false (inference)")
    x = node.input[0]
    ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, node.op_type, "layer", (x,), node.output[0], None)]


def _flatten(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    rank = len(ctx.shapes[x]) + 1
    axis = int(attrs.get("axis", 1))
    if (axis % rank if axis < 0 else axis) != 1:
        raise Refuse(f"axis={axis} mixes the batch axis with the others; only axis=1 keeps samples apart")
    return _unary(node, name, None, ctx, (int(np.prod(ctx.shapes[x])),))


def _reshape(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    target = ctx.const(node.input[1])
    if target is None:
        raise Refuse("needs a target shape that folds to a constant at import")
    shape_in = (1, *ctx.shapes[x])
    t = [int(v) for v in target]
    if not attrs.get("allowzero", 0):
        t = [shape_in[i] if v == 0 and i < len(shape_in) else v for i, v in enumerate(t)]
    total = int(np.prod(shape_in))
    if t.count(-1) == 1:
        known = int(np.prod([v for v in t if v != -1]))
        t[t.index(-1)] = total // known if known else 0
    if int(np.prod(t)) != total or not t or t[0] != 1:
        raise Refuse(f"target {list(map(int, target))} on input (batch, {', '.join(map(str, shape_in[1:]))}) "
                      f"does not keep the batch axis apart (first entry must be the batch size, 0 or -1)")
    return _unary(node, name, None, ctx, tuple(t[1:]))


def _squeeze(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    if len(node.input) > 1 and node.input[1]:
        c = ctx.const(node.input[1])
        if c is None:
            raise Refuse("needs constant axes")
        axes = [int(a) for a in np.atleast_1d(c)]
    else:
        axes = [int(a) for a in attrs.get("axes", [])]
    full = [1, *ctx.shapes[x]]
    if node.op_type == "Unsqueeze":
        rank = len(full) + len(axes)
        axes = sorted(a % rank for a in axes)
        for a in axes:
            full.insert(a, 1)
    else:
        if not axes:
            axes = [i for i in range(1, len(full)) if full[i] == 1]
        axes = sorted(a % len(full) for a in axes)
        if any(full[a] != 1 for a in axes):
            raise Refuse(f"squeezes axes {axes} of (batch, {ctx.shapes[x]}) that are not of size 1")
        full = [v for i, v in enumerate(full) if i not in axes]
    if 0 in axes:
        raise Refuse("moves the batch axis (axis 0)")
    return _unary(node, name, None, ctx, tuple(full[1:]))


def _transpose(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    rank = len(ctx.shapes[x]) + 1
    perm = [int(p) for p in attrs.get("perm", range(rank - 1, -1, -1))]
    if perm[0] != 0:
        raise Refuse(f"perm={perm} moves the batch axis")
    layer = Permute(ctx.shapes[x], tuple(p - 1 for p in perm[1:]))
    return _unary(node, name, layer, ctx, layer.output_shape)


def _prelu(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    slope = ctx.const(node.input[1])
    if slope is None:
        raise Refuse("needs constant slopes")
    shape = ctx.shapes[x]
    if ctx.opset < 7 and np.ndim(slope) == 1 and np.size(slope) == shape[0] > 1:  # opset 6: one slope per channel
        slope = np.reshape(slope, (shape[0],) + (1,) * (len(shape) - 1))
    per_sample = _per_sample_constant(slope, shape)  # from opset 7: broadcast against (batch, ...)
    return _unary(node, name, PReLU(per_sample, ctx.shapes[x]), ctx)


def _dense(node: Any, name: str, x: str, W: np.ndarray, b: np.ndarray | None, ctx: Context) -> list[Node]:
    if len(ctx.shapes[x]) != 1:
        raise Refuse(f"the input has per-sample shape {ctx.shapes[x]}; a matrix product on a tensor of rank > 1 "
                      f"(batched over positions) needs a Kronecker-structured layer")
    if W.shape[1] != ctx.shapes[x][0]:
        raise Refuse(f"weight {W.shape} does not match the input width {ctx.shapes[x][0]}")
    ctx.shapes[node.output[0]] = (int(W.shape[0]),)
    return [Node(name, node.op_type, "layer", (x,), node.output[0], Dense(W, b))]


def _gemm(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    B = ctx.const(node.input[1])
    if B is None:
        raise Refuse("needs a constant B (a weight); an input-dependent B makes a product of two tensors")
    if attrs.get("transA", 0):
        raise Refuse("transA=1 transposes the batch axis into the features")
    B = np.asarray(B, dtype=np.float64)
    W = B if attrs.get("transB", 0) else B.T  # (n_out, n_in)
    alpha, beta = float(attrs.get("alpha", 1.0)), float(attrs.get("beta", 1.0))
    exact_scale = alpha != 0.0 and math.frexp(alpha)[0] in (0.5, -0.5)  # a power of two: alpha W is exact
    if exact_scale:
        W = alpha * W
    b = None
    if len(node.input) > 2 and node.input[2]:
        C = ctx.const(node.input[2])
        if C is None:
            raise Refuse("needs a constant C (a bias)")
        C = np.asarray(C, dtype=np.float64)
        if C.ndim == 2 and C.shape[0] != 1:
            raise Refuse(f"C of shape {C.shape} differs per sample; only a bias shared by the batch is supported")
        b = beta * np.broadcast_to(C.reshape(-1) if C.ndim == 2 else C, (W.shape[0],))
    if exact_scale:
        return _dense(node, name, x, W, b, ctx)
    # alpha W would be rounded: Dense(W), then x alpha (constant |alpha|), then the bias
    out = node.output[0]
    t = f"{out}::product"
    dense = _dense(node, f"{name}::matmul", x, W, None, ctx)[0]
    ctx.shapes[t] = ctx.shapes.pop(out)
    nodes = [Node(dense.name, "Gemm", "layer", dense.inputs, t, dense.layer)]
    steps = [("mul", alpha, f"{out}::scaled" if b is not None else out)] + ([("add", b, out)] if b is not None else [])
    for kind, c, dest in steps:
        ctx.shapes[dest] = ctx.shapes[t]
        layer = ConstantOp(kind, np.asarray(c), ctx.shapes[t])
        nodes.append(Node(f"{name}::{kind}", "Gemm", "layer", (t,), dest, layer))
        t = dest
    return nodes


def _matmul(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    a, b = node.input[0], node.input[1]
    if ctx.dynamic(a) and ctx.dynamic(b):
        return _not_lipschitz(node, name, ctx, "product", "a matrix product of two input-dependent tensors "
                              "(attention-like) grows quadratically with the input")
    if not ctx.dynamic(a):
        raise Refuse("a constant times an input-dependent matrix mixes the batch axis; needs a transposed layout")
    W = ctx.const(b)
    assert W is not None
    if np.ndim(W) != 2:
        raise Refuse(f"needs a 2-D constant weight; got shape {np.shape(W)}")
    return _dense(node, name, a, np.asarray(W, dtype=np.float64).T, None, ctx)


def _spatial_pads(attrs: dict, spatial: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
                  dilations: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(begin, end) pads from ``pads`` or ``auto_pad`` (ONNX's formulas)."""
    d = len(spatial)
    auto = attrs.get("auto_pad", "NOTSET")
    if auto in ("NOTSET", ""):
        pads = tuple(int(p) for p in attrs.get("pads", [0] * 2 * d))
        return pads[:d], pads[d:]
    if auto == "VALID":
        return (0,) * d, (0,) * d
    if auto not in ("SAME_UPPER", "SAME_LOWER"):
        raise Refuse(f"auto_pad={auto!r} is not an ONNX value")
    begin, end = [], []
    for n, k, s, dl in zip(spatial, kernel, strides, dilations):
        total = max((math.ceil(n / s) - 1) * s + (k - 1) * dl + 1 - n, 0)
        small = total // 2
        begin.append(small if auto == "SAME_UPPER" else total - small)
        end.append(total - small if auto == "SAME_UPPER" else small)
    return tuple(begin), tuple(end)


def _padded(node: Any, name: str, x: str, begin: tuple[int, ...], end: tuple[int, ...], ctx: Context,
            value: float = 0.0) -> tuple[list[Node], str, tuple[int, ...]]:
    """A Pad node before a windowed layer when the pads are asymmetric; (nodes, tensor, its shape)."""
    if begin == end and value == 0.0:
        return [], x, ctx.shapes[x]
    pad = Pad(ctx.shapes[x], begin, end, value)
    t = f"{node.output[0]}::padded"
    ctx.shapes[t] = pad.output_shape
    return [Node(f"{name}::pad", "Pad", "layer", (x,), t, pad)], t, pad.output_shape


def _conv(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    W = ctx.const(node.input[1])
    if W is None:
        raise Refuse("needs a constant weight")
    W = np.asarray(W, dtype=np.float64)
    shape = ctx.shapes[x]
    d = len(shape) - 1
    if d < 1 or W.ndim != d + 2:
        raise Refuse(f"weight {W.shape} does not fit an input of per-sample shape {shape}")
    kernel = tuple(int(k) for k in attrs.get("kernel_shape", W.shape[2:]))
    strides = tuple(int(s) for s in attrs.get("strides", [1] * d))
    dilations = tuple(int(s) for s in attrs.get("dilations", [1] * d))
    begin, end = _spatial_pads(attrs, shape[1:], kernel, strides, dilations)
    b = None
    if len(node.input) > 2 and node.input[2]:
        b = ctx.const(node.input[2])
        if b is None:
            raise Refuse("needs a constant bias")
    symmetric = begin == end
    nodes, t, tshape = ([], x, shape) if symmetric else _padded(node, name, x, begin, end, ctx)
    conv = Conv(W, tshape, bias=b, stride=strides, padding=begin if symmetric else 0, dilation=dilations,
                groups=int(attrs.get("group", 1)))
    ctx.shapes[node.output[0]] = conv.output_shape
    return nodes + [Node(name, node.op_type, "layer", (t,), node.output[0], conv)]


def _batchnorm(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    if attrs.get("training_mode", 0) or any(o and ctx.consumers.get(o, 0) for o in node.output[1:]):
        raise Refuse("training mode (batch statistics) is input-dependent; only inference form is supported")
    params = [ctx.const(t) for t in node.input[1:5]]
    if any(p is None for p in params):
        raise Refuse("needs constant scale, bias, mean and variance")
    gamma, beta, mean, var = (np.asarray(p, dtype=np.float64) for p in params)
    layer = BatchNorm(gamma, beta, mean, var, eps=float(np.float32(attrs.get("epsilon", 1e-5))),
                      input_shape=ctx.shapes[x])
    return _unary(node, name, layer, ctx)


def _pool(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    if len(node.output) > 1 and node.output[1] and ctx.consumers.get(node.output[1], 0):
        raise Refuse("its Indices output is read; only the pooled values are supported")
    shape = ctx.shapes[x]
    d = len(shape) - 1
    kernel = tuple(int(k) for k in attrs["kernel_shape"])
    strides = tuple(int(s) for s in attrs.get("strides", [1] * d))
    dilations = tuple(int(s) for s in attrs.get("dilations", [1] * d))
    if any(v != 1 for v in dilations):
        raise Refuse(f"dilations={list(dilations)}: pooling layers with dilated windows are not implemented")
    begin, end = _spatial_pads(attrs, shape[1:], kernel, strides, dilations)
    padded = any(begin) or any(end)
    if padded and node.op_type == "MaxPool":
        raise Refuse(f"pads={list(begin + end)}: MaxPool pads with -inf, which a zero Pad layer cannot express")
    if padded and not attrs.get("count_include_pad", 0):
        raise Refuse(f"pads={list(begin + end)} with count_include_pad=0 divides each window by its own count; "
                      f"needs a pooling layer with per-window divisors")
    nodes, t, tshape = _padded(node, name, x, begin, end, ctx) if padded else ([], x, shape)
    floor_out = [(n - k) // s + 1 for n, k, s in zip(tshape[1:], kernel, strides)]
    if attrs.get("ceil_mode", 0) and [math.ceil((n - k) / s) + 1 for n, k, s in zip(tshape[1:], kernel, strides)] \
            != floor_out:
        raise Refuse("ceil_mode=1 adds partial windows here; needs pooling with partial windows")
    cls = MaxPool if node.op_type == "MaxPool" else AvgPool
    layer = cls(kernel, tshape, strides)
    ctx.shapes[node.output[0]] = layer.output_shape
    return nodes + [Node(name, node.op_type, "layer", (t,), node.output[0], layer)]


def _global_avg(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = _one_dynamic(node, ctx)
    shape = ctx.shapes[x]
    if len(shape) < 2:
        raise Refuse(f"needs spatial axes; the input has per-sample shape {shape}")
    layer = AvgPool(tuple(shape[1:]), shape)
    return _unary(node, name, layer, ctx, layer.output_shape)


def _pad(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = node.input[0]
    if not ctx.dynamic(x):
        raise Refuse("pads a constant")
    if attrs.get("mode", "constant") != "constant":
        raise Refuse(f"mode={attrs['mode']!r}: only constant padding is implemented (reflect/edge need a "
                      f"padding-mode layer)")
    if len(node.input) > 1 and node.input[1]:
        pads_c = ctx.const(node.input[1])
        if pads_c is None:
            raise Refuse("needs constant pads")
        pads = [int(p) for p in pads_c]
    else:
        pads = [int(p) for p in attrs.get("pads", [])]
    value = float(attrs.get("value", 0.0))
    if len(node.input) > 2 and node.input[2]:
        v = ctx.const(node.input[2])
        if v is None:
            raise Refuse("needs a constant fill value")
        value = float(np.asarray(v).reshape(-1)[0]) if np.size(v) else 0.0
    if len(node.input) > 3 and node.input[3]:
        raise Refuse("the axes input is not supported; give pads for every axis")
    r = len(ctx.shapes[x]) + 1
    if len(pads) != 2 * r or pads[0] or pads[1] or pads[r] or pads[r + 1] or min(pads) < 0:
        raise Refuse(f"pads={pads}: only non-negative padding of the spatial axes is supported (not batch, "
                      f"channels or cropping)")
    if not any(pads):
        return _identity(node, name, attrs, ctx)
    layer = Pad(ctx.shapes[x], tuple(pads[2:r]), tuple(pads[r + 2:]), value)
    return _unary(node, name, layer, ctx, layer.output_shape)


def _per_sample_constant(c: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    full = (1, *shape)
    try:
        out = np.broadcast_shapes(np.shape(c), full)
    except ValueError:
        raise Refuse(f"a constant of shape {np.shape(c)} does not broadcast to (batch, {shape})") from None
    if out != full:
        raise Refuse(f"a constant of shape {np.shape(c)} changes the shape (batch, {shape}) to {out}")
    return np.broadcast_to(np.asarray(c, dtype=np.float64), full)[0]


def _not_lipschitz(node: Any, name: str, ctx: Context, kind: str, reason: str) -> list[Node]:
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


def _arith(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    a, b = node.input[0], node.input[1]
    op = node.op_type
    if ctx.dynamic(a) and ctx.dynamic(b):
        if op in ("Add", "Sub"):
            if ctx.shapes[a] != ctx.shapes[b]:
                raise Refuse(f"broadcasts input-dependent tensors of shapes {ctx.shapes[a]} and {ctx.shapes[b]}; "
                              f"needs equal shapes")
            ctx.shapes[node.output[0]] = ctx.shapes[a]
            return [Node(name, op, op.lower(), (a, b), node.output[0])]
        if op == "Mul":
            for x, s in ((a, b), (b, a)):
                src = ctx.onnx_producer.get(s)
                if src is not None and src.op_type == "Sigmoid" and src.input[0] == x:
                    width = int(np.prod(ctx.shapes[x]))
                    ctx.shapes[node.output[0]] = ctx.shapes[x]
                    return [Node(name, "Mul(x, Sigmoid(x))", "layer", (x,), node.output[0],
                                 ActivationLayer(activation("silu"), width))]
            return _not_lipschitz(node, name, ctx, "product", "the product of two input-dependent tensors "
                                  "(gating) grows quadratically: no global Lipschitz constant")
        return _not_lipschitz(node, name, ctx, "quotient", "division by an input-dependent tensor is unbounded "
                              "near its zeros: no global Lipschitz constant")
    x, c, first = (a, ctx.const(b), True) if ctx.dynamic(a) else (b, ctx.const(a), False)
    assert c is not None
    if op == "Div" and not first:
        return _refuse_reciprocal(node, name, ctx, x, c)
    kind = {"Add": "add", "Sub": "sub" if first else "rsub", "Mul": "mul", "Div": "div"}[op]
    cs = _per_sample_constant(c, ctx.shapes[x])
    producer = ctx.producer.get(x)
    if (kind == "add" and producer is not None and isinstance(producer.layer, Dense) and producer.layer.bias is None
            and ctx.consumers.get(x, 0) == 1 and cs.ndim == 1):
        ctx.shapes[node.output[0]] = ctx.shapes[x]  # MatMul + Add: the bias of one Dense layer
        return [Node(name, f"{producer.op_type}+Add", "layer", producer.inputs, node.output[0],
                     Dense(producer.layer.weight, cs))]
    ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, op, "layer", (x,), node.output[0], ConstantOp(kind, cs, ctx.shapes[x]))]


def _refuse_reciprocal(node: Any, name: str, ctx: Context, x: str, c: np.ndarray) -> list[Node]:
    key = f"{name}::numerator"
    ctx.graph_constants[key] = np.broadcast_to(_per_sample_constant(c, ctx.shapes[x]), ctx.shapes[x]).copy()
    ctx.shapes[key] = ctx.shapes[node.output[0]] = ctx.shapes[x]
    return [Node(name, node.op_type, "quotient", (key, x), node.output[0],
                 reason="a constant divided by an input-dependent tensor is unbounded near its zeros: "
                        "no global Lipschitz constant")]


def _concat(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    dyn = [t for t in node.input if ctx.dynamic(t)]
    rank = len(ctx.shapes[dyn[0]]) + 1
    axis = int(attrs["axis"])
    axis = axis % rank if axis < 0 else axis
    if axis == 0:
        raise Refuse("concatenates along the batch axis")
    inputs = []
    for t in node.input:
        if not ctx.dynamic(t):
            c = np.asarray(ctx.const(t), dtype=np.float64)
            if c.ndim != rank or c.shape[0] != 1:
                raise Refuse(f"a constant input of shape {c.shape} needs a batch axis of size 1")
            key = f"{name}::const::{t}"
            ctx.graph_constants[key] = c[0]
            ctx.shapes[key] = tuple(c.shape[1:])
            t = key
        inputs.append(t)
    shapes = [ctx.shapes[t] for t in inputs]
    if any(len(s) != rank - 1 or s[:axis - 1] + s[axis:] != shapes[0][:axis - 1] + shapes[0][axis:] for s in shapes):
        raise Refuse(f"inputs of per-sample shapes {shapes} do not agree off axis {axis}")
    out = list(shapes[0])
    out[axis - 1] = sum(s[axis - 1] for s in shapes)
    ctx.shapes[node.output[0]] = tuple(out)
    return [Node(name, "Concat", "concat", tuple(inputs), node.output[0], axis=axis - 1)]


def shape_of(node: Any, attrs: dict, ctx: Context) -> np.ndarray:
    full = np.array([1, *ctx.shapes[node.input[0]]], dtype=np.int64)
    start, end = int(attrs.get("start", 0)), attrs.get("end")
    return full[start:None if end is None else int(end)]


#: op type -> handler; every op listed here has an import test and a forward-pass check
SUPPORTED_OPS: dict[str, Handler] = {
    "Gemm": _gemm, "MatMul": _matmul, "Conv": _conv, "BatchNormalization": _batchnorm,
    "Relu": _activation_layer("relu"), "LeakyRelu": _leaky_relu, "Elu": _elu, "Selu": _selu,
    "Sigmoid": _activation_layer("sigmoid"), "Tanh": _activation_layer("tanh"), "Softplus": _softplus,
    "HardSigmoid": _hard_sigmoid, "HardSwish": _hard_swish, "Gelu": _gelu, "Clip": _clip,
    "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _global_avg, "Pad": _pad,
    "Flatten": _flatten, "Reshape": _reshape, "Squeeze": _squeeze, "Unsqueeze": _squeeze,
    "Identity": _identity, "Dropout": _identity, "Transpose": _transpose, "PRelu": _prelu,
    "Add": _arith, "Sub": _arith, "Mul": _arith, "Div": _arith, "Concat": _concat,
}


#: what an op the importer has no handler for would need, for the error message
_NEEDS = {
    "ConvTranspose": "a transposed-convolution layer in the graph (the operator norm exists: conv_operator_norm)",
    "Softmax": "a softmax layer along its axis, with a derived constant",
    "LogSoftmax": "a log-softmax layer along its axis, with a derived constant",
    "LayerNormalization": "the eps-dominated constant |gamma| / sqrt(eps) (not globally Lipschitz otherwise)",
    "Erf": "fusing the exporter's GELU pattern x * 0.5 * (1 + Erf(x / sqrt 2))",
    "Gather": "an embedding layer (a row lookup is not Lipschitz in the index); a Gather of constants folds",
}


def needed(op: str) -> str:
    return f"no importer for this op; needs {_NEEDS[op]}" if op in _NEEDS else "no importer for this op"
