"""PyTorch's arguments for the ops the ONNX importer gained, as the same graph layers: the
translation shared by the ``torch.fx`` walk (:mod:`.torch_import`) and the ATen walk of
``torch.export`` programs (:mod:`.export_import`).  No new numerics: each op lands on a
layer whose constant is proven where the layer is defined.

* transposed convolution -> :class:`~.graph_conv_transpose.ConvTranspose`: PyTorch's
  ``padding`` crops that many entries from both ends of the full output
  ``(L - 1) s + (k - 1) d + 1 + output_padding`` (``output_padding`` extends its end);
* softmax / log-softmax along ``dim`` -> :class:`~.graph_axis_layers.Softmax`;
* layer normalisation over the trailing ``normalized_shape`` ->
  :class:`~.graph_axis_layers.LayerNorm` (eps-dominated), ``eps`` rounded to the tensor's
  dtype as PyTorch adds it;
* max pooling with padding (read as ``-inf``) and dilation -> :class:`MaxPool`; average
  pooling whose padding is counted in the mean (``count_include_pad=True``) -> a zero
  :class:`~.graph_layers.Pad` then :class:`AvgPool`; padding not counted, a
  ``divisor_override`` or ``ceil_mode`` partial windows are refused by name;
* ``F.pad`` and the padding modules -> :class:`~.graph_layers.Pad` (``replicate`` is
  NumPy's ``edge``, ``circular`` its ``wrap``).

Every layer's output shape is checked against the one the trace recorded, so an argument
read wrongly is a refusal, never a different map.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..lipschitz.pooling import AvgPool, MaxPool
from .graph import Node
from .graph_axis_layers import LayerNorm, Softmax
from .graph_conv_transpose import ConvTranspose
from .graph_layers import Pad

__all__ = ["Refuse", "TORCH_PAD_MODES", "conv_transpose", "softmax", "layer_norm", "pool", "pad", "chain"]

#: PyTorch's padding modes -> :class:`Pad`'s
TORCH_PAD_MODES = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


class Refuse(Exception):
    """The op cannot be imported; the message says why."""


def _tuple(v: Any, d: int, what: str) -> tuple[int, ...]:
    """PyTorch's int-or-sequence argument as ``d`` ints (a one-entry sequence repeats, as torch's)."""
    t = tuple(int(a) for a in v) if isinstance(v, (list, tuple)) else (int(v),) * d
    if len(t) == 1 and d > 1:
        t = t * d
    if len(t) != d:
        raise Refuse(f"{what}={list(t)} does not give the {d} spatial sizes")
    return t


def _shaped(layer: Any, out: tuple[int, ...]) -> Any:
    """``layer`` when its output shape is the traced one; else refused (an argument read wrongly)."""
    if tuple(layer.output_shape) != tuple(out):
        raise Refuse(f"the layer's output shape {layer.output_shape} differs from the traced {out}")
    return layer


def _layer(make: Any, *args: Any, **kwargs: Any) -> Any:
    """The layer, its own validation error as a refusal."""
    try:
        return make(*args, **kwargs)
    except ValueError as exc:
        raise Refuse(str(exc)) from None


def conv_transpose(weight: np.ndarray, bias: np.ndarray | None, shape: tuple[int, ...], out: tuple[int, ...],
                   stride: Any, padding: Any, output_padding: Any, groups: int, dilation: Any) -> ConvTranspose:
    """``ConvTranspose{d}d`` / ``conv_transpose{d}d``: ``padding`` cropped from both ends."""
    d = len(shape) - 1
    if isinstance(padding, str):
        raise Refuse(f"padding={padding!r}: a transposed convolution takes numbers")
    pad = _tuple(padding, d, "padding")
    layer = _layer(ConvTranspose, weight, shape, bias=bias, stride=_tuple(stride, d, "stride"),
                   dilation=_tuple(dilation, d, "dilation"), groups=int(groups), pad_begin=pad, pad_end=pad,
                   output_padding=_tuple(output_padding, d, "output_padding"))
    return _shaped(layer, out)


def _axis(dim: Any, shape: tuple[int, ...]) -> int:
    """The per-sample axis of ``dim`` on ``(batch, *shape)``; refuses the batch axis."""
    if dim is None:
        raise Refuse("dim=None (PyTorch's implicit, deprecated choice of axis): pass dim")
    rank = len(shape) + 1
    if not -rank <= int(dim) < rank:
        raise Refuse(f"dim={dim} is out of range for rank {rank}")
    axis = int(dim) % rank
    if axis == 0:
        raise Refuse("dim=0 normalises across the batch axis, mixing samples")
    return axis - 1


def softmax(shape: tuple[int, ...], dim: Any, log: bool) -> Softmax:
    """Softmax (log-softmax) along ``dim`` of ``(batch, *shape)``."""
    return _layer(Softmax, shape, _axis(dim, shape), log=log)


def layer_norm(shape: tuple[int, ...], normalized_shape: Any, weight: np.ndarray | None,
               bias: np.ndarray | None, eps: float, dtype: Any) -> LayerNorm:
    """Layer normalisation over the trailing ``normalized_shape``; ``eps`` as the tensor's
    ``dtype`` (a NumPy dtype name) holds it."""
    ns = tuple(int(s) for s in (normalized_shape if isinstance(normalized_shape, (list, tuple))
                                else (normalized_shape,)))
    if not ns or len(ns) > len(shape) or tuple(shape[len(shape) - len(ns):]) != ns:
        raise Refuse(f"normalized_shape={list(ns)} is not the trailing per-sample shape of {shape}")
    eps_t = float(np.asarray(eps, dtype=np.float64 if dtype == "float64" else np.float32))
    return _layer(LayerNorm, shape, len(shape) - len(ns), np.ones(()) if weight is None else weight, bias, eps_t)


def pool(kind: str, shape: tuple[int, ...], out: tuple[int, ...], kernel: Any, stride: Any, padding: Any,
         dilation: Any = 1, ceil_mode: bool = False, count_include_pad: bool = True,
         divisor_override: Any = None) -> list[Any]:
    """``max`` / ``avg`` pooling as layers: ``[MaxPool]``, ``[AvgPool]`` or ``[Pad, AvgPool]``."""
    d = len(shape) - 1
    k = _tuple(kernel, d, "kernel_size")
    s = _tuple(stride, d, "stride") if stride not in (None, [], ()) else k
    p, dl = _tuple(padding, d, "padding"), _tuple(dilation, d, "dilation")
    if kind == "avg" and divisor_override:
        raise Refuse(f"divisor_override={divisor_override} changes the average's divisor")
    if kind == "avg" and any(p) and not count_include_pad:
        raise Refuse(f"padding={list(p)} with count_include_pad=False divides each window by its own count; "
                     f"needs a pooling layer with per-window divisors")
    layers: list[Any] = []
    if kind == "max":
        layers.append(_layer(MaxPool, k, shape, s, dl, p, p))
    else:
        if any(p):
            layers.append(_layer(Pad, shape, p, p))
        layers.append(_layer(AvgPool, k, layers[0].output_shape if layers else shape, s, dl))
    if tuple(layers[-1].output_shape) != tuple(out):
        why = "ceil_mode=True adds partial windows here" if ceil_mode else "the pooling's output shape differs"
        raise Refuse(f"{why} ({layers[-1].output_shape} for floor windows, {out} traced); needs pooling with "
                     f"partial windows")
    return layers


def pad(shape: tuple[int, ...], out: tuple[int, ...], widths: Any, mode: str, value: Any) -> Pad:
    """``F.pad(x, widths, mode, value)``: ``widths`` pairs from the last axis backwards, only the
    spatial axes of ``(batch, C, *spatial)``."""
    if mode not in TORCH_PAD_MODES:
        raise Refuse(f"mode={mode!r} is not a PyTorch padding mode")
    w = [int(v) for v in widths]
    d = len(shape) - 1
    pairs = [(w[2 * i], w[2 * i + 1]) for i in range(len(w) // 2)][::-1]  # outermost padded axis first
    extra = pairs[:max(len(pairs) - d, 0)]  # pairs beyond the spatial axes: channels or batch
    if d < 1 or len(w) % 2 or min(w, default=0) < 0 or any(extra_pair != (0, 0) for extra_pair in extra):
        raise Refuse(f"pad={w}: only non-negative padding of the spatial axes of (batch, C, *spatial) is "
                     f"supported (not batch, channels or cropping)")
    pairs = [(0, 0)] * (d - len(pairs)) + pairs[len(extra):]
    if mode != "constant" and value not in (None, 0, 0.0):
        raise Refuse(f"value={value} is read only by constant padding")
    layer = _layer(Pad, shape, tuple(b for b, _ in pairs), tuple(e for _, e in pairs),
                   0.0 if value is None else float(value), TORCH_PAD_MODES[mode])
    return _shaped(layer, out)


def chain(name: str, op: str, x: str, layers: list[Any], shapes: dict) -> list[Node]:
    """Layers applied in turn to ``x`` as nodes; the last one's output is ``name``."""
    nodes, t = [], x
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        out = name if last else f"{name}::{type(layer).__name__.lower()}"
        if not last:
            shapes[out] = tuple(layer.output_shape)
        nodes.append(Node(out, op, "layer", (t,), out, layer))
        t = out
    return nodes
