"""The ONNX ``ConvTranspose`` handler: every attribute (pads, auto_pad, strides, dilations,
group, output_padding, output_shape) reduced to the begin/end crop of the full output that
:class:`~lipbench.models.graph_conv_transpose.ConvTranspose` takes."""

from __future__ import annotations

from typing import Any

from ._onnx_context import Context, Refuse, conv_operands, unary
from .graph import Node
from .graph_conv_transpose import ConvTranspose

__all__ = ["conv_transpose"]


def _crop(attrs: dict, spatial: tuple[int, ...], kernel: tuple[int, ...], strides: tuple[int, ...],
          dilations: tuple[int, ...], out_pad: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(begin, end) cropped from the full output ``s (L - 1) + (k - 1) d + 1 + output_padding``,
    as onnx.reference computes them: explicit pads (an ``output_shape`` then fixes the extent,
    the end absorbing the rest), or SAME_UPPER/SAME_LOWER splitting the total around an
    ``output_shape`` that defaults to ``L s``; a negative crop extends the output with zeros."""
    d = len(spatial)
    full = [s * (n - 1) + (k - 1) * dl + 1 + op
            for n, k, s, dl, op in zip(spatial, kernel, strides, dilations, out_pad)]
    auto = attrs.get("auto_pad", "NOTSET") or "NOTSET"
    if auto not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise Refuse(f"auto_pad={auto!r} is not an ONNX value")
    shape = attrs.get("output_shape")
    if shape is not None:
        shape = [int(v) for v in shape][-d:]
        if len(shape) != d:
            raise Refuse(f"output_shape={list(attrs['output_shape'])} does not give the {d} spatial sizes")
    if auto in ("SAME_UPPER", "SAME_LOWER") and "pads" not in attrs:
        target = shape if shape is not None else [n * s for n, s in zip(spatial, strides)]
        total = [f - t for f, t in zip(full, target)]
        small = [t // 2 for t in total]
        begin = small if auto == "SAME_UPPER" else [t - s for t, s in zip(total, small)]
    else:
        pads = [int(p) for p in attrs.get("pads", [0] * 2 * d)] if auto != "VALID" else [0] * 2 * d
        begin = pads[:d]
        target = shape if shape is not None else [f - b - e for f, b, e in zip(full, begin, pads[d:])]
    end = [f - b - t for f, b, t in zip(full, begin, target)]
    if min(target) < 1:
        raise Refuse(f"the output {target} is empty")
    return tuple(begin), tuple(end)  # negative: the output extends the full one with zeros


def conv_transpose(node: Any, name: str, attrs: dict, ctx: Context) -> list[Node]:
    x, W, shape, d = conv_operands(node, ctx)
    kernel = tuple(int(k) for k in attrs.get("kernel_shape", W.shape[2:]))
    if kernel != tuple(W.shape[2:]):
        raise Refuse(f"kernel_shape={list(kernel)} differs from the weight's {list(W.shape[2:])}")
    strides = tuple(int(s) for s in attrs.get("strides", [1] * d))
    dilations = tuple(int(s) for s in attrs.get("dilations", [1] * d))
    out_pad = tuple(int(p) for p in attrs.get("output_padding", [0] * d))[:d]
    begin, end = _crop(attrs, shape[1:], kernel, strides, dilations, out_pad)
    b = None
    if len(node.input) > 2 and node.input[2]:
        b = ctx.const(node.input[2])
        if b is None:
            raise Refuse("needs a constant bias")
    layer = ConvTranspose(W, shape, bias=b, stride=strides, dilation=dilations, groups=int(attrs.get("group", 1)),
                          pad_begin=begin, pad_end=end, output_padding=out_pad)
    return unary(node, name, layer, ctx, layer.output_shape)
