"""A :class:`~lipbench.lipschitz.Sequential` network (or one layer) as a :class:`~.graph.Graph`.

The graph is what the exporter (:mod:`.onnx_export`) and the graph ladder work on,
so a network built by hand goes out the same way an imported one does.  Each
layer becomes one node; its per-sample output shape is the layer's own
(``output_shape`` for windowed layers, ``(out_features,)`` for ``Dense``, the input's
for elementwise layers).  A nested ``Sequential`` is spliced in; a ``Residual``
``x + f(x)`` becomes ``f``'s nodes and a sum node; ``Flatten`` is the identity
(shape only); a test-time ``Dropout`` is the identity (inverted) or a scale by ``p``
(classical).  A train-time ``Dropout`` is refused: it is random.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..lipschitz.dropout import Dropout
from ..lipschitz.layers import ActivationLayer, Dense
from ..lipschitz.network import Sequential
from ..lipschitz.residual import Flatten, Residual
from .graph import Graph, Node
from .graph_layers import ConstantOp

__all__ = ["as_graph", "layer_input_shape", "layer_output_shape"]


def layer_input_shape(layer: Any, current: tuple[int, ...] | None) -> tuple[int, ...] | None:
    """The per-sample shape ``layer`` reads (``current`` for elementwise layers without one)."""
    if isinstance(layer, Dense):
        return (layer.in_features,)
    shape = getattr(layer, "input_shape", None)
    if shape is None:
        shape = getattr(layer, "shape", None)  # ConstantOp, PReLU
    if shape is not None:
        return tuple(int(s) for s in shape)
    n = getattr(layer, "in_features", None)
    if current is not None and (n is None or int(np.prod(current)) == n):
        return current
    return None if n is None else (int(n),)


def layer_output_shape(layer: Any, in_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The per-sample shape ``layer`` writes when it reads ``in_shape``."""
    if isinstance(layer, Dense):
        return (layer.out_features,)
    shape = getattr(layer, "output_shape", None)
    return in_shape if shape is None else tuple(int(s) for s in shape)


def as_graph(net: Any, input_shape: tuple[int, ...] | None = None) -> Graph:
    """``net`` (a :class:`Graph`, a ``Sequential`` or one layer) as a :class:`Graph`.

    ``input_shape`` is the per-sample input shape; it is needed only when the first
    layer does not say it (an activation without ``in_features``), and must agree
    with the first layer when both say it."""
    if isinstance(net, Graph):
        if input_shape is not None and tuple(input_shape) != net.input_shape:
            raise ValueError(f"input_shape {tuple(input_shape)} differs from the graph's {net.input_shape}")
        return net
    layers = list(net.layers) if isinstance(net, Sequential) else [net]
    shape = None if input_shape is None else tuple(int(s) for s in input_shape)
    first = _first_shape(layers, shape)
    if first is None:
        raise ValueError("the network's input shape is unknown (its first layer does not say it): pass input_shape")
    if shape is not None and int(np.prod(shape)) != int(np.prod(first)):
        raise ValueError(f"input_shape {shape} has {int(np.prod(shape))} entries but the first layer reads "
                         f"{first} ({int(np.prod(first))})")
    builder = _Builder({"x": shape or first})
    out = builder.chain(layers, "x", "")
    return Graph("x", out, tuple(builder.nodes), builder.shapes)


def _first_shape(layers: list[Any], given: tuple[int, ...] | None) -> tuple[int, ...] | None:
    for layer in layers:
        if isinstance(layer, Sequential):
            return _first_shape(list(layer.layers), given)
        if isinstance(layer, Residual):
            return _first_shape([layer.f], given)
        return layer_input_shape(layer, given)
    return given


class _Builder:
    def __init__(self, shapes: dict[str, tuple[int, ...]]) -> None:
        self.shapes = shapes
        self.nodes: list[Node] = []

    def chain(self, layers: list[Any], x: str, prefix: str) -> str:
        for i, layer in enumerate(layers):
            x = self.layer(layer, x, f"{prefix}{i}")
        return x

    def add(self, name: str, op: str, kind: str, inputs: tuple[str, ...], shape: tuple[int, ...],
            layer: Any = None) -> str:
        out = f"t{name}"
        self.shapes[out] = shape
        self.nodes.append(Node(f"layer{name}", op, kind, inputs, out, layer))
        return out

    def layer(self, layer: Any, x: str, name: str) -> str:
        current = self.shapes[x]
        if isinstance(layer, Sequential):
            return self.chain(list(layer.layers), x, f"{name}.")
        if isinstance(layer, Residual):
            f = self.chain(list(layer.f.layers) if isinstance(layer.f, Sequential) else [layer.f], x, f"{name}.f")
            return self.add(name, "Residual", "add", (x, f), current)
        if isinstance(layer, Flatten):
            return self.add(name, "Flatten", "layer", (x,), (int(np.prod(current)),))
        if isinstance(layer, Dropout):
            if layer.training:
                raise ValueError(f"layer {name} is a train-time Dropout (random); export the test-time layer")
            if layer.convention == "inverted" or layer.p == 1.0:
                return self.add(name, "Dropout", "layer", (x,), current)
            return self.add(name, "Dropout", "layer", (x,), current, ConstantOp("mul", np.float64(layer.p), current))
        need = layer_input_shape(layer, current)
        if need is None or int(np.prod(need)) != int(np.prod(current)):
            raise ValueError(f"layer {name} ({type(layer).__name__}) reads {need}, but the previous layer gives "
                             f"per-sample shape {current}")
        op = layer.activation.name if isinstance(layer, ActivationLayer) else type(layer).__name__
        return self.add(name, op, "layer", (x,), layer_output_shape(layer, need), layer)
