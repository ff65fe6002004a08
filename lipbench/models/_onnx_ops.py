"""The ONNX op handlers of :func:`lipbench.models.onnx_import.import_onnx`: one function per op
type, each turning one ONNX node into graph nodes over existing lipschitz layers, or
raising :class:`Refuse` with what the node would need."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..lipschitz.batchnorm import BatchNorm
from ..lipschitz.conv_layer import Conv
from ..lipschitz.layers import Dense
from ..lipschitz.pooling import AvgPool, MaxPool
from ._onnx_axis_ops import AXIS_OPS
from ._onnx_context import (
    Context,
    Handler,
    Refuse,
    attributes,
    axes_of,
    conv_operands,
    not_lipschitz,
    one_dynamic,
    shape_of,
    unary,
)
from ._onnx_conv_transpose import conv_transpose
from ._onnx_elementwise import ELEMENTWISE_OPS
from ._onnx_layer_norm import LAYER_NORM_OPS
from .graph import Node
from .graph_layers import PAD_MODES, ConstantOp, Pad, Permute

__all__ = ["SUPPORTED_OPS", "needed", "attributes", "shape_of", "Context", "Refuse"]


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
    x = one_dynamic(node, ctx)
    rank = len(ctx.shapes[x]) + 1
    axis = int(attrs.get("axis", 1))
    if (axis % rank if axis < 0 else axis) != 1:
        raise Refuse(f"axis={axis} mixes the batch axis with the others; only axis=1 keeps samples apart")
    return unary(node, name, None, ctx, (int(np.prod(ctx.shapes[x])),))


def _reshape(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
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
    return unary(node, name, None, ctx, tuple(t[1:]))


def _squeeze(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    axes = axes_of(node, attrs, ctx)
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
    return unary(node, name, None, ctx, tuple(full[1:]))


def _transpose(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    rank = len(ctx.shapes[x]) + 1
    perm = [int(p) for p in attrs.get("perm", range(rank - 1, -1, -1))]
    if perm[0] != 0:
        raise Refuse(f"perm={perm} moves the batch axis")
    layer = Permute(ctx.shapes[x], tuple(p - 1 for p in perm[1:]))
    return unary(node, name, layer, ctx, layer.output_shape)


def _dense(node: Any, name: str, x: str, W: np.ndarray, b: np.ndarray | None, ctx: Context) -> list[Node]:
    if len(ctx.shapes[x]) != 1:
        raise Refuse(f"the input has per-sample shape {ctx.shapes[x]}; a matrix product on a tensor of rank > 1 "
                      f"(batched over positions) needs a Kronecker-structured layer")
    if W.shape[1] != ctx.shapes[x][0]:
        raise Refuse(f"weight {W.shape} does not match the input width {ctx.shapes[x][0]}")
    ctx.shapes[node.output[0]] = (int(W.shape[0]),)
    return [Node(name, node.op_type, "layer", (x,), node.output[0], Dense(W, b))]


def _gemm(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
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
        return not_lipschitz(node, name, ctx, "product", "a matrix product of two input-dependent tensors "
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
    x, W, shape, d = conv_operands(node, ctx)
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
    x = one_dynamic(node, ctx)
    if attrs.get("training_mode", 0) or any(o and ctx.consumers.get(o, 0) for o in node.output[1:]):
        raise Refuse("training mode (batch statistics) is input-dependent; only inference form is supported")
    params = [ctx.const(t) for t in node.input[1:5]]
    if any(p is None for p in params):
        raise Refuse("needs constant scale, bias, mean and variance")
    gamma, beta, mean, var = (np.asarray(p, dtype=np.float64) for p in params)
    layer = BatchNorm(gamma, beta, mean, var, eps=float(np.float32(attrs.get("epsilon", 1e-5))),
                      input_shape=ctx.shapes[x])
    return unary(node, name, layer, ctx)


def _pool(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    if len(node.output) > 1 and node.output[1] and ctx.consumers.get(node.output[1], 0):
        raise Refuse("its Indices output is read; only the pooled values are supported")
    shape = ctx.shapes[x]
    d = len(shape) - 1
    kernel = tuple(int(k) for k in attrs["kernel_shape"])
    strides = tuple(int(s) for s in attrs.get("strides", [1] * d))
    dilations = tuple(int(s) for s in attrs.get("dilations", [1] * d))
    begin, end = _spatial_pads(attrs, shape[1:], kernel, strides, dilations)
    padded = any(begin) or any(end)
    if padded and node.op_type == "AveragePool" and not attrs.get("count_include_pad", 0):
        raise Refuse(f"pads={list(begin + end)} with count_include_pad=0 divides each window by its own count; "
                      f"needs a pooling layer with per-window divisors")
    span = [(k - 1) * dl + 1 for k, dl in zip(kernel, dilations)]
    total = [n + b + e for n, b, e in zip(shape[1:], begin, end)]
    if attrs.get("ceil_mode", 0) and any((n - sp) % s for n, sp, s in zip(total, span, strides)):
        raise Refuse("ceil_mode=1 adds partial windows here; needs pooling with partial windows")
    nodes: list[Node] = []
    t = x
    layer: MaxPool | AvgPool
    try:
        if node.op_type == "MaxPool":  # pads read -inf: the layer's own padding
            layer = MaxPool(kernel, shape, strides, dilations, begin, end)
        else:  # zero padding counted in the mean: a Pad layer before the pooling
            nodes, t, tshape = _padded(node, name, x, begin, end, ctx) if padded else ([], x, shape)
            layer = AvgPool(kernel, tshape, strides, dilations)
    except ValueError as exc:
        raise Refuse(str(exc)) from None
    ctx.shapes[node.output[0]] = layer.output_shape
    return nodes + [Node(name, node.op_type, "layer", (t,), node.output[0], layer)]


def _global_avg(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = one_dynamic(node, ctx)
    shape = ctx.shapes[x]
    if len(shape) < 2:
        raise Refuse(f"needs spatial axes; the input has per-sample shape {shape}")
    layer = AvgPool(tuple(shape[1:]), shape)
    return unary(node, name, layer, ctx, layer.output_shape)


def _pad(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x = node.input[0]
    if not ctx.dynamic(x):
        raise Refuse("pads a constant")
    mode = attrs.get("mode", "constant")
    if mode not in PAD_MODES:
        raise Refuse(f"mode={mode!r} is not an ONNX padding mode")
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
    if mode == "reflect" and any(p >= n for p, n in zip(pads[2:r] + pads[r + 2:], 2 * ctx.shapes[x][1:])):
        raise Refuse(f"pads={pads}: reflect padding must be shorter than the axis it reflects")
    layer = Pad(ctx.shapes[x], tuple(pads[2:r]), tuple(pads[r + 2:]), value, mode)
    return unary(node, name, layer, ctx, layer.output_shape)


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

#: op type -> handler; every op listed here has an import test and a forward-pass check
SUPPORTED_OPS: dict[str, Handler] = {
    **ELEMENTWISE_OPS, **AXIS_OPS, **LAYER_NORM_OPS,
    "Gemm": _gemm, "MatMul": _matmul, "Conv": _conv, "ConvTranspose": conv_transpose, "BatchNormalization": _batchnorm,
    "MaxPool": _pool, "AveragePool": _pool, "GlobalAveragePool": _global_avg, "Pad": _pad,
    "Flatten": _flatten, "Reshape": _reshape, "Squeeze": _squeeze, "Unsqueeze": _squeeze,
    "Identity": _identity, "Dropout": _identity, "Transpose": _transpose, "Concat": _concat,
}


#: what an op the importer has no handler for would need, for the error message
_NEEDS = {
    "Gather": "an embedding layer (a row lookup is not Lipschitz in the index); a Gather of constants folds",
}


def needed(op: str) -> str:
    return f"no importer for this op; needs {_NEEDS[op]}" if op in _NEEDS else "no importer for this op"
