"""ONNX models into a :class:`~lipbench.models.graph.Graph` of lipschitz layers, with ``onnx`` alone.

:func:`import_onnx` walks the ONNX graph once, in its (topological) node order:

* a node whose inputs are all constants (initializers, ``Constant``, the shape
  arithmetic exporters emit: ``Shape`` of a tensor whose shape is known, ``Gather``,
  ``Unsqueeze``, ``Concat``, ``Cast``, ...) is **folded** to a constant by
  ``onnx.reference`` on that node alone, so a ``Reshape`` gets a plain target shape;
* every other node becomes a graph node through the handler for its op type
  (:data:`SUPPORTED_OPS`).  The batch axis is axis 0 of every dynamic tensor and is
  never mixed with the others: a node that would mix it is refused.

Nothing is skipped silently.  Ops without a handler, and handled ops with
attributes the layers cannot express, are collected and the import fails with
:class:`UnsupportedModel`, naming every such node, its op type and what it would
need.  A product of two input-dependent tensors (``Mul``, ``MatMul``) or a division
by one (``Div``) is imported (the forward pass runs) as a node that is **not globally
Lipschitz**, with its reason; :meth:`Graph.product_bound` then refuses, naming it.
The exporters' elementwise patterns (SiLU, hard swish, GELU's erf form) and the
written-out layer normalisation are fused into one layer each, and ``Add`` of a
constant after a ``MatMul`` becomes the Dense layer's bias.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ._onnx_ops import SUPPORTED_OPS, Context, Refuse, attributes, needed, shape_of
from .graph import Graph, Node

__all__ = ["import_onnx", "UnsupportedModel", "SUPPORTED_OPS"]


class UnsupportedModel(ValueError):
    """The model holds nodes the importer cannot represent; ``problems`` lists
    ``(node name, op type, what would be needed)`` for every one."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  node {n!r} ({op}): {why}" for n, op, why in self.problems)
        super().__init__(f"{len(self.problems)} node(s) cannot be imported:\n{lines}")


# ------------------------------------------------------------------- driver
def _fold(node: Any, ctx: Context, opsets: dict[str, int]) -> None:
    """Evaluate a node whose inputs are all constants (onnx.reference, this node alone)."""
    from onnx.reference import ReferenceEvaluator

    feeds = {t: ctx.consts[t] for t in node.input if t}
    outs = ReferenceEvaluator(node, opsets=opsets).run(None, feeds)
    for t, v in zip(node.output, outs):
        if t:
            ctx.consts[t] = np.asarray(v)


def import_onnx(model: Any, *, input_shape: tuple[int, ...] | None = None) -> Graph:
    """The ONNX model (a path or a ``ModelProto``) as a :class:`Graph`.

    ``input_shape`` is the per-sample shape (without the batch axis), needed when the
    model's input has symbolic dimensions other than the batch.  Raises
    :class:`UnsupportedModel` naming every node it cannot import."""
    import onnx
    from onnx import numpy_helper

    proto = model if isinstance(model, onnx.ModelProto) else onnx.load(str(Path(model)))
    g = proto.graph
    opsets = {o.domain or "": int(o.version) for o in proto.opset_import}
    consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    inputs = [v for v in g.input if v.name not in consts]
    if len(inputs) != 1 or len(g.output) != 1:
        raise ValueError(f"the model has {len(inputs)} input(s) and {len(g.output)} output(s); "
                         f"lipbench imports networks with one of each")
    x = inputs[0]
    dims = [d.dim_value if d.HasField("dim_value") else None for d in x.type.tensor_type.shape.dim]
    if input_shape is None:
        per_sample = [d for d in dims[1:] if d is not None and d >= 1]
        if len(dims) < 2 or len(per_sample) != len(dims) - 1:
            raise ValueError(f"input {x.name!r} has shape {dims} (None: symbolic); pass input_shape "
                             f"(per sample, without the batch axis)")
        input_shape = tuple(per_sample)
    consumers: dict[str, int] = {}
    for n in g.node:
        for t in n.input:
            consumers[t] = consumers.get(t, 0) + 1
    for o in g.output:
        consumers[o.name] = consumers.get(o.name, 0) + 1
    ctx = Context({x.name: tuple(int(s) for s in input_shape)}, consts, {}, {}, consumers, {}, opsets.get("", 0))
    nodes: list[Node] = []
    problems: list[tuple[str, str, str]] = []
    for i, node in enumerate(g.node):
        name = node.name or f"{node.op_type}_{i}"
        for t in node.output:
            ctx.onnx_producer[t] = node
        if node.domain not in ("", "ai.onnx"):
            problems.append((name, f"{node.domain}.{node.op_type}", "an op outside the standard ONNX domain"))
            continue
        present = [t for t in node.input if t]
        if any(t not in ctx.consts and t not in ctx.shapes for t in present):
            if node.op_type not in SUPPORTED_OPS:  # downstream of a refused node: still name an unknown op
                problems.append((name, node.op_type, "no importer for this op"))
            continue
        if node.op_type == "Shape" and present and ctx.dynamic(present[0]):
            ctx.consts[node.output[0]] = shape_of(node, attributes(node), ctx)
            continue
        if all(t in ctx.consts for t in present):
            try:
                _fold(node, ctx, opsets)
            except Exception as exc:  # the reference evaluator's own error, named
                problems.append((name, node.op_type, f"constant folding failed: {type(exc).__name__}: {exc}"))
            continue
        handler = SUPPORTED_OPS.get(node.op_type)
        if handler is None:
            problems.append((name, node.op_type, needed(node.op_type)))
            continue
        try:
            new = handler(node, name, attributes(node), ctx)
        except (Refuse, ValueError) as exc:
            problems.append((name, node.op_type, str(exc)))
            continue
        for n in new:
            ctx.producer[n.output] = n
        nodes.extend(new)
    if problems:
        raise UnsupportedModel(problems)
    out = g.output[0].name
    if out not in ctx.shapes:
        raise ValueError(f"the output {out!r} does not depend on the input (a constant)")
    return Graph(x.name, out, tuple(_live(nodes, out)), dict(ctx.shapes), dict(ctx.graph_constants))


def _live(nodes: list[Node], output: str) -> list[Node]:
    """The nodes the output depends on (fusions leave the nodes they replaced unread)."""
    need, keep = {output}, []
    for n in reversed(nodes):
        if n.output in need:
            keep.append(n)
            need.update(n.inputs)
    return keep[::-1]


