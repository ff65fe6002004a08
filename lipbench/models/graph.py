"""A network as a graph of lipschitz layers: chains, residual sums and concatenations.

A :class:`Graph` has one input tensor and one output tensor; every other tensor
is the output of one :class:`Node`, listed in topological order.  Tensors are
flattened per sample, ``(C, *spatial)`` in row-major order as everywhere in
:mod:`lipbench.lipschitz` (ONNX's and PyTorch's ``NCHW`` without the batch axis);
``shapes`` keeps each tensor's per-sample shape.  A node is

* ``layer`` -- one existing layer (``Dense``, ``Conv``, ``BatchNorm``, ``AvgPool``,
  ``MaxPool``, ``ActivationLayer``, ...) or a small one of :mod:`.graph_layers`;
  ``layer is None`` is the identity (Reshape, Flatten, Dropout at inference);
* ``add`` / ``sub`` -- the sum or difference of two tensors of one shape;
* ``concat`` -- the concatenation of tensors along one per-sample ``axis``
  (inputs named in ``constants`` are fixed tensors, not functions of the input);
* ``product`` / ``quotient`` -- the elementwise product or quotient (or a matrix
  product) of two input-dependent tensors: **not globally Lipschitz** (a product
  grows quadratically; a quotient is unbounded near a zero denominator).  The
  forward pass still runs; :meth:`Graph.product_bound` refuses, naming the node.

The product rung on a graph bounds, tensor by tensor, the Lipschitz constant of
the map from the input to that tensor: ``L(f o g) <= L(f) L(g)`` through a layer,
``L(f +- g) <= L(f) + L(g)`` at a sum, ``L([f; g]) <= sqrt(L(f)^2 + L(g)^2)`` at a
concatenation (``||[u; v]||^2 = ||u||^2 + ||v||^2``), each step rounded up in
exact rational arithmetic, each layer's constant the certified one the layer gives.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import prod_up, sqrt_int_up, sum_up, up
from ..lipschitz.layers import check_input
from ..lipschitz.network import Sequential
from ..lipschitz.windows import FlatSizes

__all__ = ["Node", "Graph", "NotGloballyLipschitz", "NODE_KINDS"]

NODE_KINDS = ("layer", "add", "sub", "concat", "product", "quotient")


class NotGloballyLipschitz(ValueError):
    """A global Lipschitz bound was asked of a graph with a construct that has none;
    ``reasons`` lists ``(node name, op type, reason)``."""

    def __init__(self, reasons: Sequence[tuple[str, str, str]]):
        self.reasons = tuple(reasons)
        lines = "; ".join(f"node {n!r} ({op}): {why}" for n, op, why in self.reasons)
        super().__init__(f"the network is not globally Lipschitz, so no global bound exists: {lines}")


@dataclass(frozen=True)
class Node:
    """One operation: ``output = kind(inputs)``; ``op_type`` is the source's name for it (for messages)."""

    name: str
    op_type: str
    kind: str
    inputs: tuple[str, ...]
    output: str
    layer: Any = None
    axis: int = 0
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in NODE_KINDS:
            raise ValueError(f"node {self.name!r}: kind must be one of {NODE_KINDS}; got {self.kind!r}")
        object.__setattr__(self, "inputs", tuple(self.inputs))


@dataclass(frozen=True)
class Graph(FlatSizes):
    """A single-input, single-output network of :class:`Node` s in topological order."""

    input: str
    output: str
    nodes: tuple[Node, ...]
    shapes: dict[str, tuple[int, ...]]
    constants: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        known = {self.input, *self.constants}
        for node in self.nodes:
            missing = [t for t in node.inputs if t not in known]
            if missing:
                raise ValueError(f"node {node.name!r} reads {missing}, which no earlier node computes")
            if node.output in known:
                raise ValueError(f"tensor {node.output!r} is computed twice (node {node.name!r})")
            known.add(node.output)
        if self.output not in known:
            raise ValueError(f"the output {self.output!r} is not computed by any node")
        for t in known:
            if t not in self.shapes:
                raise ValueError(f"tensor {t!r} has no shape")

    # ------------------------------------------------------------ structure
    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.shapes[self.input]

    @property
    def output_shape(self) -> tuple[int, ...]:
        return self.shapes[self.output]

    def not_lipschitz(self) -> list[tuple[str, str, str]]:
        """``(node, op type, reason)`` for every node with no global Lipschitz constant."""
        return [(n.name, n.op_type, n.reason) for n in self.nodes if n.kind in ("product", "quotient")]

    def eps_dominated(self) -> list[str]:
        """Names of the layer nodes whose constant is finite only through an eps (layer
        normalisation: ``max|gamma| / sqrt(eps)``, reached only at zero variance)."""
        return [n.name for n in self.nodes if n.kind == "layer" and getattr(n.layer, "eps_dominated", False)]

    def branch_nodes(self) -> list[str]:
        """Names of the nodes that make the graph more than a chain (sums, concatenations, products)."""
        return [n.name for n in self.nodes if n.kind != "layer"]

    def is_chain(self) -> bool:
        """Whether every node is a layer reading the previous node's output (the first reads the input)."""
        current = self.input
        for n in self.nodes:
            if n.kind != "layer" or n.inputs != (current,):
                return False
            current = n.output
        return current == self.output

    def as_sequential(self) -> Sequential:
        """The chain as a ``Sequential`` of its layers (identities dropped), for the ladder's tighter rungs."""
        if not self.is_chain():
            raise ValueError(f"the graph is not a chain: it branches at {', '.join(self.branch_nodes()) or 'no node'}")
        layers = [n.layer for n in self.nodes if n.layer is not None]
        if not layers:
            raise ValueError("the graph has no layer (it is the identity)")
        return Sequential(layers)

    # --------------------------------------------------------------- forward
    def __call__(self, x: Any) -> np.ndarray:
        """The forward pass on ``x`` of shape ``(in_features,)`` or ``(batch, in_features)``."""
        a = check_input(x, self.in_features)
        one = a.ndim == 1
        batch = 1 if one else a.shape[0]
        values: dict[str, np.ndarray] = {self.input: np.atleast_2d(a)}
        for name, c in self.constants.items():
            values[name] = np.broadcast_to(np.asarray(c, dtype=np.float64).reshape(1, -1), (batch, c.size))
        for n in self.nodes:
            ins = [values[t] for t in n.inputs]
            values[n.output] = self._apply(n, ins, batch)
        y = values[self.output]
        return y.reshape(-1) if one else y

    def _apply(self, n: Node, ins: list[np.ndarray], batch: int) -> np.ndarray:
        if n.kind == "layer":
            return ins[0].copy() if n.layer is None else np.atleast_2d(n.layer(ins[0]))
        if n.kind == "add":
            return ins[0] + ins[1]
        if n.kind == "sub":
            return ins[0] - ins[1]
        if n.kind == "concat":
            parts = [v.reshape(batch, *self.shapes[t]) for v, t in zip(ins, n.inputs)]
            return np.concatenate(parts, axis=n.axis + 1).reshape(batch, -1)
        if n.kind == "product":
            return ins[0] * ins[1] if n.layer is None else n.layer(*ins)
        return ins[0] / ins[1]

    # ---------------------------------------------------------- product rung
    def tensor_bounds(self) -> dict[str, float]:
        """For each tensor, a certified upper bound on the Lipschitz constant of input -> tensor."""
        bad = self.not_lipschitz()
        if bad:
            raise NotGloballyLipschitz(bad)
        L: dict[str, float] = {self.input: 1.0, **{c: 0.0 for c in self.constants}}
        for n in self.nodes:
            ins = [L[t] for t in n.inputs]
            if n.kind == "layer":
                L[n.output] = ins[0] if n.layer is None else prod_up([float(n.layer.lipschitz_upper()), ins[0]])
            elif n.kind in ("add", "sub"):
                L[n.output] = sum_up(ins)
            else:  # concat: sqrt of the exact sum of squares, rounded up
                L[n.output] = _root_sum_squares_up(ins)
        return L

    def product_bound(self) -> float:
        """The product rung on the graph (see the module docstring); raises
        :class:`NotGloballyLipschitz` naming every node without a global constant."""
        return self.tensor_bounds()[self.output]

    def layer_constants(self) -> list[tuple[str, float]]:
        """``(node name, certified constant)`` of every layer node."""
        return [(n.name, float(n.layer.lipschitz_upper())) for n in self.nodes
                if n.kind == "layer" and n.layer is not None]


def _root_sum_squares_up(values: Sequence[float]) -> float:
    """An upper bound on ``sqrt(sum v_i^2)`` (exact rationals, rounded up; exact for one term)."""
    vals = [float(v) for v in values]
    if any(math.isinf(v) for v in vals):
        return math.inf
    nonzero = [v for v in vals if v != 0.0]
    if len(nonzero) <= 1:
        return nonzero[0] if nonzero else 0.0
    s = sum((Fraction(v) ** 2 for v in nonzero), Fraction(0))
    root = up(math.sqrt(up(s)))
    if s.denominator == 1 and s.numerator < 2**53:  # an integer: the helper's exact square check
        root = min(root, sqrt_int_up(s.numerator))
    return root
