"""The elementwise patterns exporters write as a product of two tensors that both come from
one input, each fused into one activation with its derived constant:

* ``Mul(x, Sigmoid(x))`` -- SiLU (constant: :func:`~lipbench.lipschitz.activations.silu_sup_upper`);
* ``Mul(x, HardSigmoid(x))`` -- hard swish ``x clip(alpha x + beta, 0, 1)``, constant
  ``max(1, |beta|, |2 - beta|)`` (:func:`~lipbench.lipschitz.activations.hard_swish`);
* ``Mul(x, Clip(Add(x, b), 0, h))`` (then ``Div`` by ``h``) -- hard swish again:
  ``x clip(x + b, 0, h) = h x clip(x / h + b / h, 0, 1)``, fused when ``beta = b / h`` is exact
  in floating point, so that the constant is the model's own;
* ``Mul(x, Add(Erf(x / c), 1))`` (``Div`` by c or ``Mul`` by 1/c; the 0.5 on either factor or
  after) -- ``2 x Phi(a x)`` with ``a = sqrt 2 / c``: GELU's proven constant, whatever a > 0
  (:func:`~lipbench.lipschitz.activations.gelu`).

A factor ``k`` on the ``x`` side (``Mul(x, k)``) and the activation's own scale (2 for the
erf form, ``h`` for the clip form) become one ``x k`` node after the activation; a following
``Mul``/``Div`` by a scalar folds into it (:func:`fold_scale`) when the product is exact, so
``x * 0.5 * (1 + erf(x / sqrt 2))`` imports as GELU alone.  Anything else keeps its refusal
(a product of two input-dependent tensors has no global constant).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import numpy as np

from ..lipschitz.activations import Activation, activation
from ..lipschitz.layers import ActivationLayer
from ._onnx_context import Context, attributes
from .graph import Node
from .graph_layers import ConstantOp

__all__ = ["fuse_product", "fold_scale"]


def _scalar(ctx: Context, t: str) -> float | None:
    c = ctx.const(t) if t else None
    return float(np.asarray(c).reshape(-1)[0]) if c is not None and np.size(c) == 1 else None


def _producer(ctx: Context, t: str, op: str) -> Any:
    p = ctx.onnx_producer.get(t)
    return p if p is not None and p.op_type == op else None


def _split(ctx: Context, node: Any) -> tuple[str, float] | None:
    """(the dynamic input, the scalar constant) of a two-input node, in either order."""
    a, b = node.input[0], node.input[1]
    for x, c in ((a, b), (b, a)):
        k = _scalar(ctx, c)
        if ctx.dynamic(x) and k is not None:
            return x, k
    return None


def _scaled(ctx: Context, t: str) -> tuple[str, float]:
    """``t = k x`` through a ``Mul`` by a scalar: (x, k); else (t, 1)."""
    p = _producer(ctx, t, "Mul")
    found = _split(ctx, p) if p is not None and ctx.consumers.get(t, 0) == 1 else None
    return found if found is not None else (t, 1.0)


def _erf_factor(ctx: Context, t: str, x: str) -> float | None:
    """a > 0 when ``t = 1 + erf(x / c)`` (or ``erf(x c')``), a = sqrt 2 / c (= sqrt 2 c')."""
    add = _producer(ctx, t, "Add")
    inner = _split(ctx, add) if add is not None else None
    if inner is None or inner[1] != 1.0:
        return None
    erf = _producer(ctx, inner[0], "Erf")
    arg = ctx.onnx_producer.get(erf.input[0]) if erf is not None else None
    if arg is None or arg.op_type not in ("Div", "Mul"):
        return None
    split = _split(ctx, arg)
    if split is None or split[0] != x or (arg.op_type == "Div" and arg.input[0] != x) or split[1] <= 0:
        return None
    a = math.sqrt(2) / split[1] if arg.op_type == "Div" else math.sqrt(2) * split[1]
    return a if math.isfinite(a) and a > 0 else None


def _clip_swish(ctx: Context, t: str, x: str) -> tuple[Activation, float] | None:
    """(hard swish, h) when ``t = clip(x + b, 0, h)`` with h > 0 and b / h exact."""
    clip = _producer(ctx, t, "Clip")
    if clip is None:
        return None
    attrs = attributes(clip)
    lo = _scalar(ctx, clip.input[1]) if len(clip.input) > 1 and clip.input[1] else attrs.get("min")
    hi = _scalar(ctx, clip.input[2]) if len(clip.input) > 2 and clip.input[2] else attrs.get("max")
    add = _producer(ctx, clip.input[0], "Add")
    shift = _split(ctx, add) if add is not None else None
    if shift is None or shift[0] != x or lo != 0.0 or hi is None or not (0 < hi < math.inf):
        return None
    beta = shift[1] / hi
    if Fraction(beta) != Fraction(shift[1]) / Fraction(hi):
        return None  # beta rounded: the fused constant would not be the model's
    return activation("hard_swish", alpha=1.0 / hi, beta=beta), float(hi)


def _match(ctx: Context, x0: str, other: str) -> tuple[Activation, float, str] | None:
    """(activation, its scale, a label) when ``x0 * other`` is one of the patterns."""
    sig = _producer(ctx, other, "Sigmoid")
    if sig is not None and sig.input[0] == x0:
        return activation("silu"), 1.0, "Mul(x, Sigmoid(x))"
    hs = _producer(ctx, other, "HardSigmoid")
    if hs is not None and hs.input[0] == x0:
        attrs = attributes(hs)
        alpha, beta = float(np.float32(attrs.get("alpha", 0.2))), float(np.float32(attrs.get("beta", 0.5)))
        return (activation("hard_swish", alpha=alpha, beta=beta), 1.0, "Mul(x, HardSigmoid(x))") if alpha > 0 else None
    a = _erf_factor(ctx, other, x0)
    if a is not None:
        return activation("gelu", a=a), 2.0, "x (1 + Erf(x / c)) (GELU)"
    swish = _clip_swish(ctx, other, x0)
    if swish is not None:
        return swish[0], swish[1], "x Clip(x + b, 0, h) (hard swish)"
    return None


def fuse_product(node: Any, name: str, ctx: Context) -> list[Node] | None:
    """The fused nodes for ``Mul(a, b)`` of two dynamic tensors that is one of the patterns, else None."""
    a, b = node.input[0], node.input[1]
    for x_side, other in ((a, b), (b, a)):
        x0, k = _scaled(ctx, x_side)
        found = _match(ctx, x0, other) if ctx.dynamic(x0) and ctx.shapes[x0] == ctx.shapes[other] else None
        if found is None:
            continue
        act, scale, label = found
        shape, out = ctx.shapes[x0], node.output[0]
        layer = ActivationLayer(act, int(np.prod(shape)))
        ctx.shapes[out] = shape
        total = Fraction(scale) * Fraction(k)
        if total == 1:
            return [Node(name, label, "layer", (x0,), out, layer)]
        t = f"{out}::activation"
        ctx.shapes[t] = shape
        return [Node(f"{name}::activation", label, "layer", (x0,), t, layer),
                Node(name, "Mul", "layer", (t,), out, ConstantOp("mul", np.asarray(float(total)), shape))]
    return None


def fold_scale(node: Any, name: str, ctx: Context, x: str, kind: str, c: np.ndarray) -> list[Node] | None:
    """``(y = x k1) * c`` or ``/ c`` with ``x k1`` a scalar ``mul`` node read only here, and the
    combined scalar exact: one ``mul`` node (the identity when it is 1); else None."""
    producer = ctx.producer.get(x)
    c = np.asarray(c, dtype=np.float64)
    if (kind not in ("mul", "div") or producer is None or not isinstance(producer.layer, ConstantOp)
            or producer.layer.op != "mul" or ctx.consumers.get(x, 0) != 1 or c.size == 0 or np.any(c != c.flat[0])):
        return None
    k1 = producer.layer.constant
    if k1.size == 0 or np.any(k1 != k1.flat[0]) or c.flat[0] == 0:
        return None
    c2 = Fraction(float(c.flat[0]))
    exact = Fraction(float(k1.flat[0])) * (c2 if kind == "mul" else 1 / c2)
    if Fraction(float(exact)) != exact:
        return None
    out = node.output[0]
    ctx.shapes[out] = ctx.shapes[x]
    layer = None if exact == 1 else ConstantOp("mul", np.asarray(float(exact)), ctx.shapes[x])
    return [Node(name, node.op_type, "layer", producer.inputs, out, layer)]
