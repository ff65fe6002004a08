"""A lipbench network out as an ONNX model, with ``onnx.helper`` and ``onnx.numpy_helper``.

:func:`export_onnx` takes a :class:`~lipbench.lipschitz.Sequential`, one layer, or a
:class:`~.graph.Graph` (what :func:`~lipbench.models.import_onnx` and
:func:`~lipbench.models.import_torch` give) and writes one ONNX node (or a short
fixed pattern) per graph node:

=====================  ===========================================================
lipbench               ONNX
=====================  ===========================================================
``Dense``              ``Gemm`` (``transB=1``; the bias as ``C``)
``Conv``               ``Conv`` (``pads``, ``strides``, ``dilations``, ``group``; zero padding only)
``BatchNorm``          ``BatchNormalization`` (inference form, ``epsilon``)
``AvgPool``/``MaxPool``  ``AveragePool``/``MaxPool`` (``kernel_shape``, ``strides``, no pads)
activations            ``Relu``, ``LeakyRelu``, ``Elu``, ``Selu``, ``Sigmoid``, ``Tanh``, ``Softplus``
                       (beta 1), ``HardSigmoid``, ``HardSwish`` (ONNX's alpha 1/6, beta 1/2), ``Gelu``
                       (erf and tanh forms, opset 20), ``Clip``, ``Sin``, ``Cos``; SiLU as ``Mul(x, Sigmoid(x))``
``ConstantOp``         ``Add``/``Sub``/``Mul``/``Div`` with a constant (``c - x``: ``Sub(c, x)``)
``PReLU``              ``PRelu``;  ``Pad``: ``Pad`` (constant mode);  ``Permute``: ``Transpose``
sum, difference        ``Add``, ``Sub``;  concatenation: ``Concat`` (a constant input
                       ``Expand`` ed to the batch)
product, quotient      ``Mul``, ``Div`` (a graph holding them is still not globally Lipschitz)
identity, reshapes     ``Flatten`` / ``Reshape`` where the next node reads another shape
=====================  ===========================================================

Axis 0 of every tensor is the batch (symbolic, ``N``); the per-sample layout is
lipbench's ``(C, *spatial)``, ONNX's ``NCHW`` without ``N``, so the exported model
computes on ``x.reshape(N, *input_shape)`` what the network computes on ``x``.

Precision: weights and constants are written in ``dtype`` (float32 by default,
what runtimes expect: the exported network is then the float32-rounded one;
``"float64"`` keeps every weight exact).  ONNX attributes are float32 whatever the
dtype, so activation parameters and BatchNorm's epsilon are rounded to float32;
where that changes a value the node's ``doc_string`` says so, with both values.

A layer the writer cannot express (a convolution with circular/reflect/replicate
padding, softplus with beta != 1, a hard swish other than ONNX's, a matrix product
of two tensors) raises :class:`UnsupportedExport` naming every such node and why.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from ..lipschitz.batchnorm import BatchNorm
from ..lipschitz.conv_layer import Conv
from ..lipschitz.layers import ActivationLayer, Dense
from ..lipschitz.pooling import AvgPool, MaxPool
from .graph import Graph, Node
from .graph_layers import ConstantOp, Pad, Permute, PReLU
from .sequential_graph import as_graph, layer_input_shape, layer_output_shape

__all__ = ["export_onnx", "UnsupportedExport"]

#: the default domain's opset written (20 where a Gelu node needs it)
OPSET = 17
GELU_OPSET = 20


class UnsupportedExport(ValueError):
    """The network holds nodes ONNX cannot express as lipbench holds them;
    ``problems`` lists ``(node name, layer, why)`` for every one."""

    def __init__(self, problems: list[tuple[str, str, str]]):
        self.problems = tuple(problems)
        lines = "\n".join(f"  node {n!r} ({kind}): {why}" for n, kind, why in self.problems)
        super().__init__(f"{len(self.problems)} node(s) cannot be exported to ONNX:\n{lines}")


class _Refuse(Exception):
    pass


def export_onnx(net: Any, path: str | Path | None = None, *, input_shape: tuple[int, ...] | None = None,
                dtype: str = "float32", input_name: str = "x", output_name: str = "y") -> Any:
    """Write ``net`` (a ``Graph``, a ``Sequential`` or one layer) as an ONNX model to ``path``
    (if given) and return the ``onnx.ModelProto``, checked by ``onnx.checker``.

    ``input_shape`` is the per-sample input shape (``(C, H, W)`` for images); needed only
    when the first layer does not say it.  Raises :class:`UnsupportedExport` naming every
    node that cannot be written."""
    import onnx
    from onnx import helper

    if dtype not in ("float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64'; got {dtype!r}")
    graph = as_graph(net, input_shape)
    w = _Writer(graph, np.dtype(dtype), input_name)
    problems: list[tuple[str, str, str]] = []
    for node in graph.nodes:
        try:
            w.node(node)
        except _Refuse as exc:
            problems.append((node.name, type(node.layer).__name__ if node.layer is not None else node.kind, str(exc)))
            w.names[node.output] = w.fresh("refused")  # later nodes are still checked
            w.shape[w.names[node.output]] = graph.shapes[node.output]
    if problems:
        raise UnsupportedExport(problems)
    final = w.as_shape(graph.output, graph.output_shape)
    w.nodes.append(helper.make_node("Identity", [final], [output_name], name="output"))
    elem = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    g = helper.make_graph(w.nodes, "lipbench", [helper.make_tensor_value_info(input_name, elem,
                                                                             ["N", *graph.input_shape])],
                          [helper.make_tensor_value_info(output_name, elem, ["N", *graph.output_shape])],
                          w.inits)
    opsets = [helper.make_opsetid("", w.opset)]
    model = helper.make_model(g, opset_imports=opsets, producer_name="lipbench")
    model.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(model, full_check=True)
    if path is not None:
        onnx.save(model, str(Path(path)))
    return model


class _Writer:
    """ONNX nodes and initializers for the graph's nodes, tracking each tensor's per-sample shape."""

    def __init__(self, graph: Graph, dtype: np.dtype, input_name: str) -> None:
        self.graph, self.dtype = graph, dtype
        self.names = {graph.input: input_name}         # graph tensor -> ONNX tensor
        self.shape = {input_name: graph.input_shape}   # ONNX tensor -> per-sample shape
        self.nodes: list[Any] = []
        self.inits: list[Any] = []
        self.opset = OPSET
        self.count = 0

    # ---------------------------------------------------------------- helpers
    def fresh(self, base: str) -> str:
        self.count += 1
        return f"{base}_{self.count}"

    def const(self, base: str, value: Any, dtype: Any = None) -> str:
        from onnx import numpy_helper

        name = self.fresh(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=dtype or self.dtype), name))
        return name

    def emit(self, op: str, inputs: list[str], name: str, shape: tuple[int, ...], doc: str = "",
             **attrs: Any) -> str:
        from onnx import helper

        out = self.fresh(name)
        node = helper.make_node(op, inputs, [out], name=self.fresh(name), **attrs)
        if doc:
            node.doc_string = doc
        self.nodes.append(node)
        self.shape[out] = shape
        return out

    def tensor(self, t: str) -> str:
        """The ONNX name of graph tensor ``t``; a graph constant becomes a batch-1 initializer."""
        if t not in self.names:
            self.names[t] = self.const("constant", np.asarray(self.graph.constants[t])[None])
            self.shape[self.names[t]] = self.graph.shapes[t]
        return self.names[t]

    def as_shape(self, t: str, shape: tuple[int, ...]) -> str:
        """Graph tensor ``t`` as an ONNX tensor of per-sample ``shape`` (a Flatten or Reshape if needed)."""
        name = self.tensor(t)
        shape = tuple(int(s) for s in shape)
        if self.shape[name] == shape:
            return name
        if int(np.prod(self.shape[name])) != int(np.prod(shape)):
            raise _Refuse(f"reads per-sample shape {shape} from a tensor of shape {self.shape[name]}")
        if len(shape) == 1:
            return self.emit("Flatten", [name], f"{t}_flat", shape, axis=1)
        target = self.const("shape", [0, *shape], np.int64)  # 0: keep the batch axis
        return self.emit("Reshape", [name, target], f"{t}_reshape", shape)

    # ------------------------------------------------------------------ nodes
    def node(self, n: Node) -> None:
        shapes = self.graph.shapes
        if n.kind == "layer":
            out = self.layer(n)
        elif n.kind in ("add", "sub", "product", "quotient"):
            if n.kind == "product" and n.layer is not None:
                raise _Refuse("a matrix product of two input-dependent tensors is not written back")
            op = {"add": "Add", "sub": "Sub", "product": "Mul", "quotient": "Div"}[n.kind]
            ins = [self.as_shape(t, shapes[n.output]) for t in n.inputs]
            out = self.emit(op, ins, n.name, shapes[n.output])
        else:  # concat
            ins = [self.as_shape(t, shapes[t]) if t not in self.graph.constants else self.expanded(t)
                   for t in n.inputs]
            out = self.emit("Concat", ins, n.name, shapes[n.output], axis=n.axis + 1)
        self.names[n.output] = self.as_written(out, shapes[n.output])

    def as_written(self, name: str, shape: tuple[int, ...]) -> str:
        """The node's ONNX output in the graph's per-sample shape for its output tensor."""
        if self.shape[name] == tuple(shape):
            return name
        if int(np.prod(self.shape[name])) != int(np.prod(shape)):
            raise _Refuse(f"writes per-sample shape {self.shape[name]}; the graph holds {tuple(shape)}")
        if len(shape) == 1:
            return self.emit("Flatten", [name], f"{name}_flat", tuple(shape), axis=1)
        target = self.const("shape", [0, *shape], np.int64)
        return self.emit("Reshape", [name, target], f"{name}_reshape", tuple(shape))

    def expanded(self, t: str) -> str:
        """A graph constant repeated over the batch: ``Expand(c, [N, *shape])``, N from the input's Shape."""
        c = self.tensor(t)
        batch = self.emit("Shape", [self.names[self.graph.input]], f"{t}_batch", (), start=0, end=1)
        rest = self.const("shape", list(self.graph.shapes[t]), np.int64)
        full = self.emit("Concat", [batch, rest], f"{t}_shape", (), axis=0)
        return self.emit("Expand", [c, full], f"{t}_expand", self.graph.shapes[t])

    def layer(self, n: Node) -> str:
        x, layer = n.inputs[0], n.layer
        if layer is None:
            return self.emit("Identity", [self.tensor(x)], n.name, self.shape[self.tensor(x)])
        need = layer_input_shape(layer, self.graph.shapes[x])
        if need is None:
            raise _Refuse(f"{type(layer).__name__} does not say the shape it reads")
        xin = self.as_shape(x, need)
        out_shape = layer_output_shape(layer, need)
        writer = _LAYERS.get(type(layer))
        if writer is None:
            raise _Refuse(f"no ONNX writer for {type(layer).__name__}")
        return writer(self, layer, xin, n.name, out_shape)


# ---------------------------------------------------------------------- layer writers
def _dense(w: _Writer, layer: Dense, x: str, name: str, shape: tuple[int, ...]) -> str:
    ins = [x, w.const(f"{name}_weight", layer.weight)]
    if layer.bias is not None:
        ins.append(w.const(f"{name}_bias", layer.bias))
    return w.emit("Gemm", ins, name, shape, transB=1)


def _conv(w: _Writer, layer: Conv, x: str, name: str, shape: tuple[int, ...]) -> str:
    if layer.padding_mode != "zeros":
        raise _Refuse(f"padding_mode={layer.padding_mode!r}: ONNX Conv pads with zeros only")
    ins = [x, w.const(f"{name}_weight", layer.weight)]
    if layer.bias is not None:
        ins.append(w.const(f"{name}_bias", layer.bias))
    pads = [int(p) for p in layer.padding]
    return w.emit("Conv", ins, name, shape, kernel_shape=list(layer.weight.shape[2:]), pads=pads + pads,
                  strides=list(layer.stride), dilations=list(layer.dilation), group=int(layer.groups))


def _float32_attr(value: float, what: str, notes: list[str]) -> float:
    """``value`` as ONNX stores a float attribute; a note where float32 changes it."""
    v32 = float(np.float32(value))
    if v32 != value and math.isfinite(value):
        notes.append(f"{what} {value!r} is stored as the float32 {v32!r}")
    return v32


def _batchnorm(w: _Writer, layer: BatchNorm, x: str, name: str, shape: tuple[int, ...]) -> str:
    notes: list[str] = []
    eps = _float32_attr(layer.eps, "epsilon", notes)
    ins = [x] + [w.const(f"{name}_{p}", getattr(layer, p)) for p in ("gamma", "beta", "running_mean", "running_var")]
    return w.emit("BatchNormalization", ins, name, shape, doc="; ".join(notes), epsilon=eps)


def _pool(w: _Writer, layer: AvgPool | MaxPool, x: str, name: str, shape: tuple[int, ...]) -> str:
    op = "MaxPool" if isinstance(layer, MaxPool) else "AveragePool"
    return w.emit(op, [x], name, shape, kernel_shape=list(layer.kernel_size), strides=list(layer.stride))


def _constant_op(w: _Writer, layer: ConstantOp, x: str, name: str, shape: tuple[int, ...]) -> str:
    c = w.const(f"{name}_constant", layer.constant)
    op = {"add": "Add", "sub": "Sub", "rsub": "Sub", "mul": "Mul", "div": "Div"}[layer.op]
    return w.emit(op, [c, x] if layer.op == "rsub" else [x, c], name, shape)


def _prelu(w: _Writer, layer: PReLU, x: str, name: str, shape: tuple[int, ...]) -> str:
    return w.emit("PRelu", [x, w.const(f"{name}_slope", layer.slope)], name, shape)


def _pad(w: _Writer, layer: Pad, x: str, name: str, shape: tuple[int, ...]) -> str:
    pads = w.const(f"{name}_pads", [0, 0, *layer.begin, 0, 0, *layer.end], np.int64)
    return w.emit("Pad", [x, pads, w.const(f"{name}_value", layer.value)], name, shape, mode="constant")


def _permute(w: _Writer, layer: Permute, x: str, name: str, shape: tuple[int, ...]) -> str:
    return w.emit("Transpose", [x], name, shape, perm=[0, *(p + 1 for p in layer.perm)])


_PLAIN = {"relu": "Relu", "tanh": "Tanh", "sigmoid": "Sigmoid", "sin": "Sin", "cos": "Cos"}
_HARD_SWISH_ALPHAS = (1.0 / 6.0, float(np.float32(1.0 / 6.0)))


def _activation(w: _Writer, layer: ActivationLayer, x: str, name: str, shape: tuple[int, ...]) -> str:
    act = layer.activation
    base, p = act.name.split("(")[0], act.params
    notes: list[str] = []
    if base in _PLAIN:
        return w.emit(_PLAIN[base], [x], name, shape)
    if base == "silu":
        s = w.emit("Sigmoid", [x], f"{name}_sigmoid", shape)
        return w.emit("Mul", [x, s], name, shape)
    if base in ("gelu", "gelu_tanh"):
        if p.get("a", 1.0) != 1.0:
            raise _Refuse(f"{act.name}: x Phi(a x) with a != 1 has no single ONNX Gelu node (Gelu is a = 1)")
        w.opset = max(w.opset, GELU_OPSET)
        return w.emit("Gelu", [x], name, shape, **({"approximate": "tanh"} if base == "gelu_tanh" else {}))
    if base == "clip":
        lo = "" if math.isinf(p["lo"]) else w.const(f"{name}_min", p["lo"])
        hi = "" if math.isinf(p["hi"]) else w.const(f"{name}_max", p["hi"])
        return w.emit("Clip", [x, lo, hi], name, shape)
    if base == "softplus":
        if p["beta"] != 1.0:
            raise _Refuse(f"softplus with beta={p['beta']:g}: ONNX's Softplus has beta 1")
        return w.emit("Softplus", [x], name, shape)
    if base == "hard_swish":
        if p["alpha"] not in _HARD_SWISH_ALPHAS or p["beta"] != 0.5:
            raise _Refuse(f"hard swish with alpha={p['alpha']:g}, beta={p['beta']:g}: ONNX's HardSwish has "
                          f"alpha 1/6, beta 1/2")
        return w.emit("HardSwish", [x], name, shape)
    ops = {"leaky_relu": ("LeakyRelu", ("alpha",)), "elu": ("Elu", ("alpha",)), "selu": ("Selu", ("alpha", "gamma")),
           "hard_sigmoid": ("HardSigmoid", ("alpha", "beta"))}
    if base not in ops:
        raise _Refuse(f"no ONNX op for the activation {act.name!r}")
    op, keys = ops[base]
    attrs = {k: _float32_attr(p[k], k, notes) for k in keys}
    return w.emit(op, [x], name, shape, doc="; ".join(notes), **attrs)


_LAYERS: dict[type, Any] = {
    Dense: _dense, Conv: _conv, BatchNorm: _batchnorm, AvgPool: _pool, MaxPool: _pool, ConstantOp: _constant_op,
    PReLU: _prelu, Pad: _pad, Permute: _permute, ActivationLayer: _activation,
}
