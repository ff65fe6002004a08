"""PyTorch ``nn.Module`` s into a :class:`~lipbench.models.graph.Graph`, through ``torch.fx``.

:func:`import_torch` traces the module (``torch.fx.symbolic_trace``), runs
``ShapeProp`` on a zero input of batch 2 to learn every tensor's shape, and maps
each node to a graph node over the existing lipschitz layers.  A tensor whose
axis 0 is not the batch of 2 mixes samples and is refused; a reshape (``view``,
``reshape``, ``flatten``, ``nn.Flatten``) that keeps axis 0 is the identity on
the flattened per-sample layout.  Weights are read detached, as float64.

Supported: ``nn.Linear``; ``nn.Conv1d/2d/3d`` (every padding mode, ``'same'`` and
``'valid'``); ``nn.BatchNorm1d/2d/3d`` in eval mode; ``nn.ReLU``, ``LeakyReLU``,
``ELU``, ``SELU``, ``Tanh``, ``Sigmoid``, ``Softplus``, ``GELU`` (erf), ``SiLU``,
``Hardswish``, ``Hardsigmoid`` and the same as ``torch.relu`` / ``F.relu`` etc.;
``nn.MaxPool*d`` / ``nn.AvgPool*d`` without padding; ``nn.AdaptiveAvgPool*d`` to
size 1; ``nn.Flatten`` and reshapes; ``nn.Identity``, ``nn.Dropout`` in eval mode;
``+`` / ``-`` of two tensors (residual) or with a number; ``*`` / ``/`` by a
number; ``torch.cat``.  A product of two input-dependent tensors is imported as
not globally Lipschitz.  Anything else fails the import with
:class:`~lipbench.models.onnx_import.UnsupportedModel` naming every such node.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any

import numpy as np

from ..lipschitz.activations import activation
from ..lipschitz.batchnorm import BatchNorm
from ..lipschitz.conv_layer import Conv
from ..lipschitz.layers import ActivationLayer, Dense
from ..lipschitz.pooling import AvgPool, MaxPool
from .graph import Graph, Node
from .graph_layers import ConstantOp
from .onnx_import import UnsupportedModel

__all__ = ["import_torch", "walk_fx", "BATCH"]

BATCH = 2  # the trace's batch size: a tensor whose axis 0 differs mixes samples


class _Refuse(Exception):
    pass


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _module_activation(m: Any) -> Any:
    import torch.nn as nn

    table: dict[type, Any] = {
        nn.ReLU: lambda: activation("relu"), nn.Tanh: lambda: activation("tanh"),
        nn.Sigmoid: lambda: activation("sigmoid"), nn.SiLU: lambda: activation("silu"),
        nn.LeakyReLU: lambda: activation("leaky_relu", alpha=m.negative_slope),
        nn.ELU: lambda: activation("elu", alpha=m.alpha), nn.SELU: lambda: activation("selu"),
        nn.Softplus: lambda: _softplus(m.beta, m.threshold),
        nn.Hardswish: lambda: activation("hard_swish"),
        nn.Hardsigmoid: lambda: activation("hard_sigmoid", alpha=1 / 6, beta=0.5),
        nn.GELU: lambda: _gelu(m.approximate),
    }
    make = table.get(type(m))
    return None if make is None else make()


def _softplus(beta: float, threshold: float) -> Any:
    if not math.isinf(threshold):
        raise _Refuse(f"Softplus(threshold={threshold}) switches to the identity above the threshold; the layer "
                      f"models softplus without it (pass threshold=float('inf'))")
    return activation("softplus", beta=beta)


def _gelu(approximate: str) -> Any:
    if approximate != "none":
        raise _Refuse("GELU(approximate='tanh') needs the tanh approximation's constant")
    return activation("gelu")


def _function_activation(fn: Any) -> Any:
    import torch
    import torch.nn.functional as F

    table = {torch.relu: "relu", F.relu: "relu", torch.tanh: "tanh", torch.sigmoid: "sigmoid",
             F.silu: "silu", F.gelu: "gelu", F.elu: "elu", F.hardswish: "hard_swish"}
    name = table.get(fn)
    return None if name is None else activation(name)


def _conv(m: Any, shape: tuple[int, ...]) -> Conv:
    d = len(shape) - 1
    padding = m.padding
    if isinstance(padding, str):
        if padding == "valid":
            padding = 0
        else:  # 'same': stride 1; symmetric when every dilation * (k - 1) is even
            total = [dl * (k - 1) for dl, k in zip(m.dilation, m.kernel_size)]
            if any(t % 2 for t in total):
                raise _Refuse("padding='same' with an odd total padding is asymmetric; needs a Pad layer first")
            padding = tuple(t // 2 for t in total)
    return Conv(_np(m.weight), shape, None if m.bias is None else _np(m.bias), stride=tuple(m.stride)[:d],
                padding=padding, dilation=tuple(m.dilation), groups=m.groups, padding_mode=m.padding_mode)


def _pool(m: Any, shape: tuple[int, ...]) -> Any:
    import torch.nn as nn

    d = len(shape) - 1
    if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        raw: Any = m.output_size
        size = (raw,) * d if isinstance(raw, int) else tuple(raw)
        if any(s != 1 for s in size):
            raise _Refuse(f"AdaptiveAvgPool to {size}: only output size 1 (global average) is supported")
        return AvgPool(tuple(shape[1:]), shape)
    pad = m.padding if isinstance(m.padding, tuple) else (m.padding,) * d
    dil = getattr(m, "dilation", 1)
    dil = dil if isinstance(dil, tuple) else (dil,) * d
    if any(pad) or any(v != 1 for v in dil) or m.ceil_mode:
        raise _Refuse(f"padding={m.padding}, dilation={dil}, ceil_mode={m.ceil_mode}: only unpadded, undilated "
                      f"pooling with floor output sizes is supported")
    if isinstance(m, nn.AvgPool1d | nn.AvgPool2d | nn.AvgPool3d) and getattr(m, "divisor_override", None):
        raise _Refuse("divisor_override changes the average's divisor")
    cls = MaxPool if isinstance(m, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d) else AvgPool
    return cls(m.kernel_size, shape, m.stride)


def _module_layer(m: Any, shape: tuple[int, ...]) -> Any:
    """The lipschitz layer for a leaf module, None for the identity; raises _Refuse."""
    import torch.nn as nn

    if isinstance(m, nn.Linear):
        return Dense(_np(m.weight), None if m.bias is None else _np(m.bias))
    if isinstance(m, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        return _conv(m, shape)
    if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d):
        if m.training or m.running_mean is None:
            raise _Refuse("BatchNorm in training mode (or without running statistics) normalises by batch "
                          "statistics; call model.eval()")
        c = m.num_features
        gamma = _np(m.weight) if m.affine else np.ones(c)
        beta = _np(m.bias) if m.affine else np.zeros(c)
        return BatchNorm(gamma, beta, _np(m.running_mean), _np(m.running_var), eps=m.eps, input_shape=shape)
    if isinstance(m, nn.Dropout | nn.Dropout1d | nn.Dropout2d | nn.Dropout3d):
        if m.training and m.p > 0:
            raise _Refuse("Dropout in training mode is random; call model.eval()")
        return None
    if isinstance(m, nn.Identity | nn.Flatten):
        return None
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d,
                      nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        return _pool(m, shape)
    act = _module_activation(m)
    if act is not None:
        return ActivationLayer(act, int(np.prod(shape)))
    raise _Refuse(f"no importer for {type(m).__name__}")


_RESHAPES = ("view", "reshape", "flatten", "contiguous")


def import_torch(module: Any, input_shape: tuple[int, ...]) -> Graph:
    """``module`` (an ``nn.Module`` in eval mode) as a :class:`Graph`; ``input_shape`` is the
    per-sample input shape, without the batch axis.  Raises ``UnsupportedModel`` naming
    every node it cannot import."""
    import torch
    import torch.fx as fx

    gm = fx.symbolic_trace(module)
    param = next(iter(module.parameters()), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
    subs = dict(gm.named_modules())

    def handle(n: Any, op: str, dyn: list[str], shapes: dict, shape: tuple[int, ...]) -> Node:
        return _node(n, op, dyn, shapes, shape, subs)

    return walk_fx(gm, input_shape, handle, dtype, param.device if param is not None else None)


#: ``handle(fx node, op label, its input-dependent inputs, shapes so far, its per-sample shape)``
NodeHandler = Callable[[Any, str, list[str], dict, tuple[int, ...]], Node]


def walk_fx(gm: Any, input_shape: tuple[int, ...], handle: NodeHandler, dtype: Any = None,
            device: Any = None) -> Graph:
    """The fx graph of ``gm`` as a :class:`Graph`: ``ShapeProp`` on a zero input of batch
    :data:`BATCH`, then ``handle`` on every input-dependent node (the shared walk of
    :func:`import_torch` and :func:`lipbench.models.export_import.import_exported`)."""
    import torch
    import torch.fx as fx
    from torch.fx.passes.shape_prop import ShapeProp

    with torch.no_grad():
        try:
            ShapeProp(gm).propagate(torch.zeros((BATCH, *input_shape), dtype=dtype or torch.float32, device=device))
        except Exception as exc:  # the module's own error at this shape (ShapeProp's cause), named
            root = exc.__cause__ or exc
            first = str(root).splitlines()[0] if str(root) else ""
            raise ValueError(f"running the network on a zero input of shape {(BATCH, *input_shape)} failed "
                             f"({type(root).__name__}: {first}); check the input shape, and that the batch size "
                             f"is not fixed in the network") from None
    shapes: dict[str, tuple[int, ...]] = {}
    nodes: list[Node] = []
    problems: list[tuple[str, str, str]] = []
    subs = dict(gm.named_modules())
    inp = out = None
    for n in gm.graph.nodes:
        meta = n.meta.get("tensor_meta")
        tensor_shape = tuple(int(s) for s in meta.shape) if meta is not None and hasattr(meta, "shape") else None
        if n.op == "placeholder":
            if inp is not None:
                problems.append((n.name, "placeholder", "a second input; lipbench imports networks with one"))
            inp = n.name
            shapes[n.name] = tuple(int(s) for s in input_shape)
            continue
        if n.op == "output":
            res = n.args[0]
            if isinstance(res, (tuple, list)) and len(res) == 1:
                res = res[0]
            if not isinstance(res, fx.Node):
                problems.append((n.name, "output", "the module returns several values; one tensor is supported"))
            else:
                out = res.name
            continue
        dyn = [a.name for a in n.all_input_nodes if a.name in shapes]
        if not dyn or n.op == "call_method" and n.target in ("size", "dim"):
            continue  # constants and shape facts: not input-dependent values
        op = n.target if n.op != "call_module" else type(subs[n.target]).__name__
        op = op if isinstance(op, str) else getattr(op, "__name__", str(op))
        label = str(n.target) if n.op == "call_module" else n.name  # the module's path, else fx's node name
        try:
            if tensor_shape is None:
                raise _Refuse("its value is not a tensor (an input-dependent size or tuple)")
            if tensor_shape[0] != BATCH:
                raise _Refuse(f"mixes the batch axis with the others (output shape {tensor_shape} for batch {BATCH})")
            shape = tensor_shape[1:]
            shapes[n.name] = shape  # known from the trace even when the node is refused: later nodes are checked
            nodes.append(handle(n, op, dyn, shapes, shape))
        except (_Refuse, ValueError) as exc:
            problems.append((label, op, str(exc)))
    if problems:
        raise UnsupportedModel(problems)
    if inp is None or out is None or out not in shapes:
        raise ValueError("the traced module has no input-dependent output")
    return Graph(inp, out, tuple(nodes), shapes)


def _node(n: Any, op: str, dyn: list[str], shapes: dict, shape: tuple[int, ...], subs: dict) -> Node:
    import torch

    x = dyn[0]
    if n.op == "call_module":
        return Node(n.name, op, "layer", (x,), n.name, _module_layer(subs[n.target], shapes[x]))
    if n.op == "call_method" and n.target in _RESHAPES or n.op == "call_function" and n.target in (
            torch.flatten, torch.reshape):
        return Node(n.name, op, "layer", (x,), n.name, None)
    if n.op == "call_function" and n.target is torch.cat:
        dim = n.kwargs.get("dim", n.args[1] if len(n.args) > 1 else 0)
        parts = [a.name for a in n.args[0]]
        if any(p not in shapes for p in parts):
            raise _Refuse("concatenates a constant tensor")
        dim = dim % (len(shape) + 1)
        if dim == 0:
            raise _Refuse("concatenates along the batch axis")
        return Node(n.name, "cat", "concat", tuple(parts), n.name, axis=dim - 1)
    if n.op == "call_function" and n.target in (operator.add, operator.sub, operator.mul, operator.truediv,
                                                 torch.add, torch.sub, torch.mul):
        return _arith(n, op, shapes, shape)
    act = _function_activation(n.target) if n.op == "call_function" else None
    if act is None and n.op == "call_method" and n.target in ("relu", "tanh", "sigmoid"):
        act = activation(n.target)
    if act is not None:
        return Node(n.name, op, "layer", (x,), n.name, ActivationLayer(act, int(np.prod(shape))))
    raise _Refuse("no importer for this function or method")


def _arith(n: Any, op: str, shapes: dict, shape: tuple[int, ...]) -> Node:
    import torch

    a, b = n.args[0], n.args[1]
    name = getattr(n.target, "__name__", str(n.target))
    if n.kwargs:
        raise _Refuse(f"keyword arguments {sorted(n.kwargs)} are not supported")
    da, db = getattr(a, "name", None) in shapes, getattr(b, "name", None) in shapes
    if da and db:
        if name in ("add", "sub"):
            if shapes[a.name] != shapes[b.name]:
                raise _Refuse(f"broadcasts tensors of shapes {shapes[a.name]} and {shapes[b.name]}")
            return Node(n.name, op, name, (a.name, b.name), n.name)
        kind = "product" if name == "mul" else "quotient"
        why = ("the product of two input-dependent tensors grows quadratically" if kind == "product" else
               "division by an input-dependent tensor is unbounded near its zeros")
        return Node(n.name, op, kind, (a.name, b.name), n.name, reason=why + ": no global Lipschitz constant")
    x, c = (a, b) if da else (b, a)
    if not isinstance(c, (int, float)) and not isinstance(c, torch.Tensor):
        raise _Refuse(f"an operand of type {type(c).__name__} is neither a number nor a tensor")
    c_np = _np(c) if isinstance(c, torch.Tensor) else np.float64(c)
    if name == "truediv" and not da:
        raise _Refuse("a number divided by an input-dependent tensor is not globally Lipschitz")
    kind = {"add": "add", "sub": "sub" if da else "rsub", "mul": "mul", "truediv": "div"}[name]
    return Node(n.name, op, "layer", (x.name,), n.name, ConstantOp(kind, c_np, shape))
