"""PyTorch ``nn.Module`` s into a :class:`~lipbench.models.graph.Graph`, through ``torch.fx``.

:func:`import_torch` traces the module (``torch.fx.symbolic_trace``), runs
``ShapeProp`` on a zero input of batch 2 to learn every tensor's shape, and maps
each node to a graph node over the existing lipschitz layers.  A tensor whose
axis 0 is not the batch of 2 mixes samples and is refused; a reshape (``view``,
``reshape``, ``flatten``, ``nn.Flatten``) that keeps axis 0 is the identity on
the flattened per-sample layout.  Weights are read detached, as float64.

Supported: ``nn.Linear``; ``nn.Conv1d/2d/3d`` (every padding mode, ``'same'`` and
``'valid'``); ``nn.ConvTranspose1d/2d/3d``; ``nn.BatchNorm1d/2d/3d`` in eval mode;
``nn.LayerNorm`` / ``F.layer_norm``; ``nn.Softmax``, ``nn.LogSoftmax`` and the functions;
``nn.ReLU``, ``LeakyReLU``, ``ELU``, ``SELU``, ``Tanh``, ``Sigmoid``, ``Softplus``, ``GELU``
(erf and tanh forms), ``SiLU``, ``Hardswish``, ``Hardsigmoid``, ``Hardtanh``, ``ReLU6`` and the same as
``torch.relu`` / ``F.relu`` etc.; ``nn.MaxPool*d`` / ``nn.AvgPool*d`` (padded, dilated,
``ceil_mode`` without partial windows; average pooling counting its padding);
``nn.AdaptiveAvgPool*d`` to size 1; the padding modules and ``F.pad``; ``nn.Flatten``
and reshapes; ``nn.Identity``, ``nn.Dropout`` in eval mode; ``+`` / ``-`` of two tensors
(residual) or with a number; ``*`` / ``/`` by a number; ``torch.cat``.  The ops the
ONNX importer gained are translated by :mod:`._torch_layers` onto its layers.  A product
of two input-dependent tensors is imported as not globally Lipschitz.  Anything else
fails the import with :class:`~lipbench.models.onnx_import.UnsupportedModel` naming
every such node.
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
from ..lipschitz.pooling import AvgPool
from . import _torch_layers as tl
from .graph import Graph, Node
from .graph_layers import ConstantOp
from .onnx_import import UnsupportedModel

__all__ = ["import_torch", "walk_fx", "BATCH"]

BATCH = 2  # the trace's batch size: a tensor whose axis 0 differs mixes samples


_Refuse = tl.Refuse


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
        nn.Hardtanh: lambda: activation("clip", lo=float(m.min_val), hi=float(m.max_val)),
        nn.ReLU6: lambda: activation("clip", lo=0.0, hi=6.0),
    }
    make = table.get(type(m))
    return None if make is None else make()


def _softplus(beta: float, threshold: float) -> Any:
    if not math.isinf(threshold):
        raise _Refuse(f"Softplus(threshold={threshold}) switches to the identity above the threshold; the layer "
                      f"models softplus without it (pass threshold=float('inf'))")
    return activation("softplus", beta=beta)


def _gelu(approximate: str) -> Any:
    """GELU's erf form (approximate='none') or its tanh approximation, each with its proven constant."""
    if approximate not in ("none", "tanh"):
        raise _Refuse(f"GELU(approximate={approximate!r}): PyTorch knows 'none' and 'tanh'")
    return activation("gelu" if approximate == "none" else "gelu_tanh")


def _function_activation(fn: Any) -> Any:
    import torch
    import torch.nn.functional as F

    table = {torch.relu: "relu", F.relu: "relu", torch.tanh: "tanh", torch.sigmoid: "sigmoid",
             F.silu: "silu", F.gelu: "gelu", F.elu: "elu", F.hardswish: "hard_swish"}
    name = table.get(fn)
    return None if name is None else activation(name)


def _function_call_activation(n: Any) -> Any:
    """``F.gelu``, ``F.hardtanh`` and ``F.relu6`` read with their arguments; else the plain table's."""
    import torch.nn.functional as F

    if n.target is F.gelu:
        return _gelu(n.kwargs.get("approximate", n.args[1] if len(n.args) > 1 else "none"))
    if n.target is F.hardtanh:
        lo = n.kwargs.get("min_val", n.args[1] if len(n.args) > 1 else -1.0)
        hi = n.kwargs.get("max_val", n.args[2] if len(n.args) > 2 else 1.0)
        return activation("clip", lo=float(lo), hi=float(hi))
    if n.target is F.relu6:
        return activation("clip", lo=0.0, hi=6.0)
    return _function_activation(n.target)


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


def _pool(m: Any, shape: tuple[int, ...], out: tuple[int, ...]) -> Any:
    import torch.nn as nn

    d = len(shape) - 1
    if isinstance(m, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)):
        raw: Any = m.output_size
        size = (raw,) * d if isinstance(raw, int) else tuple(raw)
        if any(s != 1 for s in size):
            raise _Refuse(f"AdaptiveAvgPool to {size}: only output size 1 (global average) is supported")
        return AvgPool(tuple(shape[1:]), shape)
    if isinstance(m, nn.MaxPool1d | nn.MaxPool2d | nn.MaxPool3d):
        if m.return_indices:
            raise _Refuse("return_indices=True returns the indices too; only the pooled values are supported")
        return tl.pool("max", shape, out, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)
    return tl.pool("avg", shape, out, m.kernel_size, m.stride, m.padding, 1, m.ceil_mode, m.count_include_pad,
                   getattr(m, "divisor_override", None))


def _pad_module(m: Any, shape: tuple[int, ...], out: tuple[int, ...]) -> Any:
    """The padding modules (``ReflectionPad``, ``ReplicationPad``, ``CircularPad``, ``ZeroPad``,
    ``ConstantPad`` 1d/2d/3d) as a :class:`Pad`; None for any other module."""
    import torch.nn as nn

    for prefix, mode in (("Reflection", "reflect"), ("Replication", "replicate"), ("Circular", "circular"),
                         ("Zero", "constant"), ("Constant", "constant")):
        classes = tuple(c for c in (getattr(nn, f"{prefix}Pad{d}d", None) for d in (1, 2, 3)) if c is not None)
        if isinstance(m, classes):
            return tl.pad(shape, out, m.padding, mode, getattr(m, "value", 0.0))
    return None


def _dtype_name(n: Any) -> str:
    """``"float64"`` for a node whose traced value is float64, else ``"float32"`` (the dtype eps is added in)."""
    return "float64" if str(n.meta["tensor_meta"].dtype) == "torch.float64" else "float32"


def _module_layer(m: Any, shape: tuple[int, ...], out: tuple[int, ...], dtype: str) -> Any:
    """The lipschitz layer for a leaf module (a list: several in turn), None for the identity;
    raises _Refuse."""
    import torch.nn as nn

    if isinstance(m, nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d):
        if m.padding_mode != "zeros":
            raise _Refuse(f"padding_mode={m.padding_mode!r}: a transposed convolution pads with zeros")
        return tl.conv_transpose(_np(m.weight), None if m.bias is None else _np(m.bias), shape, out, m.stride,
                                 m.padding, m.output_padding, m.groups, m.dilation)
    if isinstance(m, nn.Softmax | nn.LogSoftmax):
        return tl.softmax(shape, m.dim, isinstance(m, nn.LogSoftmax))
    if isinstance(m, nn.LayerNorm):
        return tl.layer_norm(shape, m.normalized_shape, None if m.weight is None else _np(m.weight),
                             None if m.bias is None else _np(m.bias), m.eps, dtype)

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
        return _pool(m, shape, out)
    padding = _pad_module(m, shape, out)
    if padding is not None:
        return padding
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

    if fx.Tracer().is_leaf_module(module, ""):  # a bare torch.nn layer: traced as the one leaf it is
        module = torch.nn.Sequential(module)
    gm = fx.symbolic_trace(module)
    param = next(iter(module.parameters()), None)
    dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32

    def handle(n: Any, op: str, dyn: list[str], shapes: dict, shape: tuple[int, ...]) -> Node | list[Node]:
        return _node(n, op, dyn, shapes, shape, gm)

    return walk_fx(gm, input_shape, handle, dtype, param.device if param is not None else None)


#: ``handle(fx node, op label, its input-dependent inputs, shapes so far, its per-sample shape)``
NodeHandler = Callable[[Any, str, list[str], dict, tuple[int, ...]], "Node | list[Node]"]


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
            made = handle(n, op, dyn, shapes, shape)
            nodes.extend(made if isinstance(made, list) else [made])
        except (_Refuse, ValueError) as exc:
            problems.append((label, op, str(exc)))
    if problems:
        raise UnsupportedModel(problems)
    if inp is None or out is None or out not in shapes:
        raise ValueError("the traced module has no input-dependent output")
    return Graph(inp, out, tuple(nodes), shapes)


def _node(n: Any, op: str, dyn: list[str], shapes: dict, shape: tuple[int, ...], gm: Any) -> Node | list[Node]:
    import torch

    x = dyn[0]
    if n.op == "call_module":
        if len(n.args) > 1 or n.kwargs:
            raise _Refuse("the module is called with more than its input (e.g. output_size)")
        layer = _module_layer(gm.get_submodule(n.target), shapes[x], shape, _dtype_name(n))
        return tl.chain(n.name, op, x, layer, shapes) if isinstance(layer, list) else \
            Node(n.name, op, "layer", (x,), n.name, layer)
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
    layer = _function_layer(n, gm, shapes[x], shape)
    if layer is not None:
        return Node(n.name, op, "layer", (x,), n.name, layer)
    act = _function_call_activation(n) if n.op == "call_function" else None
    if act is None and n.op == "call_method" and n.target in ("relu", "tanh", "sigmoid"):
        act = activation(n.target)
    if act is not None:
        return Node(n.name, op, "layer", (x,), n.name, ActivationLayer(act, int(np.prod(shape))))
    raise _Refuse("no importer for this function or method")


def _function_layer(n: Any, gm: Any, x_shape: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """``softmax`` / ``log_softmax`` (function or method), ``F.pad``, ``F.layer_norm``; None otherwise."""
    import torch
    import torch.nn.functional as F

    def arg(i: int, key: str, default: Any) -> Any:
        return n.args[i] if len(n.args) > i else n.kwargs.get(key, default)

    fn = n.target if n.op == "call_function" else None
    method = n.target if n.op == "call_method" else None
    if fn in (F.softmax, F.log_softmax, torch.softmax, torch.log_softmax) or method in ("softmax", "log_softmax"):
        log = fn in (F.log_softmax, torch.log_softmax) or method == "log_softmax"
        return tl.softmax(x_shape, arg(1, "dim", None), log)
    if fn is F.pad:
        return tl.pad(x_shape, shape, arg(1, "pad", ()), arg(2, "mode", "constant"), arg(3, "value", None))
    if fn is F.layer_norm:
        weight, bias = (held_value(gm, arg(i, key, None)) for i, key in ((2, "weight"), (3, "bias")))
        return tl.layer_norm(x_shape, arg(1, "normalized_shape", ()), weight, bias, float(arg(4, "eps", 1e-5)),
                             _dtype_name(n))
    return None


def held_value(gm: Any, a: Any) -> np.ndarray | None:
    """A ``get_attr`` argument (a parameter or buffer of the module or exported program) as
    float64; None for None."""
    if a is None:
        return None
    if getattr(a, "op", None) != "get_attr":
        raise _Refuse(f"needs a weight held by the module; got {a!r}")
    obj = gm
    for part in str(a.target).split("."):
        obj = getattr(obj, part)
    return _np(obj)


def two_tensor_node(n: Any, op: str, name: str, shapes: dict) -> Node:
    """``add``/``sub`` of two input-dependent tensors of one shape, or ``mul``/``div`` of two,
    imported as a node with no global constant (named, with its reason)."""
    a, b = n.args[0], n.args[1]
    if name in ("add", "sub"):
        if shapes[a.name] != shapes[b.name]:
            raise _Refuse(f"broadcasts tensors of shapes {shapes[a.name]} and {shapes[b.name]}")
        return Node(n.name, op, name, (a.name, b.name), n.name)
    kind = "product" if name == "mul" else "quotient"
    why = ("the product of two input-dependent tensors grows quadratically" if kind == "product" else
           "division by an input-dependent tensor is unbounded near its zeros")
    return Node(n.name, op, kind, (a.name, b.name), n.name, reason=why + ": no global Lipschitz constant")


def _arith(n: Any, op: str, shapes: dict, shape: tuple[int, ...]) -> Node:
    import torch

    a, b = n.args[0], n.args[1]
    name = getattr(n.target, "__name__", str(n.target))
    if n.kwargs:
        raise _Refuse(f"keyword arguments {sorted(n.kwargs)} are not supported")
    da, db = getattr(a, "name", None) in shapes, getattr(b, "name", None) in shapes
    if da and db:
        return two_tensor_node(n, op, name, shapes)
    x, c = (a, b) if da else (b, a)
    if not isinstance(c, (int, float)) and not isinstance(c, torch.Tensor):
        raise _Refuse(f"an operand of type {type(c).__name__} is neither a number nor a tensor")
    c_np = _np(c) if isinstance(c, torch.Tensor) else np.float64(c)
    if name == "truediv" and not da:
        raise _Refuse("a number divided by an input-dependent tensor is not globally Lipschitz")
    kind = {"add": "add", "sub": "sub" if da else "rsub", "mul": "mul", "truediv": "div"}[name]
    return Node(n.name, op, "layer", (x.name,), n.name, ConstantOp(kind, c_np, shape))
