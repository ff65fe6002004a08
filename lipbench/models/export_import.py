"""PyTorch networks saved with ``torch.export`` (``.pt2`` files) into a :class:`~.graph.Graph`.

``torch.export.save`` writes an ``ExportedProgram``: the network's ATen graph, its
weights and the example inputs it was exported with.  ``torch.export.load`` reads it
back without unpickling arbitrary Python objects, unlike ``torch.load`` of a whole
pickled ``nn.Module``, which lipbench refuses (``weights_only=True``).

:func:`import_exported` takes the program's module (``ExportedProgram.module()``, an fx
``GraphModule`` of ATen calls), drops its input-shape guard so that the shared walk
(:func:`lipbench.models.torch_import.walk_fx`) can run it at batch 2, and maps each ATen
call to a lipschitz layer: ``linear``, ``conv1d/2d/3d`` and ``convolution``,
``conv_transpose1d/2d/3d`` (and transposed ``convolution``), ``batch_norm`` in inference,
``layer_norm``, ``softmax`` / ``log_softmax``, the activations (``relu``, ``leaky_relu``,
``elu``, ``selu``, ``tanh``, ``sigmoid``, ``gelu`` (erf and tanh forms), ``silu``, ``hardswish``,
``hardsigmoid``, ``hardtanh`` / ``relu6`` as a clip, ``softplus`` without its threshold),
``max_pool*d``/``avg_pool*d`` (padded and dilated as :mod:`._torch_layers` allows),
``adaptive_avg_pool*d`` to size 1, ``pad`` and the ``*_pad*d`` calls, reshapes that keep
the batch axis, inference ``dropout``, ``add``/``sub`` (residual) and ``+ - * /`` by a
number, ``cat``.  Anything else is named in
:class:`~lipbench.models.onnx_import.UnsupportedModel`.

The per-sample input shape is the example input's (without its batch axis) unless
``input_shape`` is given.  A program exported with its batch size written into a
reshape (``x.view(1, -1)``) cannot run at batch 2; the error says to export with
``flatten`` or a dynamic batch.
"""

from __future__ import annotations

from pathlib import Path
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
from .torch_import import _gelu, _Refuse, _softplus, held_value, two_tensor_node, walk_fx

__all__ = ["import_exported", "load_exported", "example_input_shape", "conv_input_sizes"]

_RESHAPES = ("view", "reshape", "_unsafe_view", "flatten", "contiguous", "clone", "alias", "detach")
_SIMPLE = {"relu": "relu", "relu_": "relu", "tanh": "tanh", "sigmoid": "sigmoid", "silu": "silu",
           "hardswish": "hard_swish", "selu": "selu"}


def load_exported(path: str | Path) -> Any:
    """``torch.export.load(path)``, its error named with the file."""
    import torch

    try:
        return torch.export.load(str(path))
    except Exception as exc:
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(f"not a torch.export program ({type(exc).__name__}: {first}); save one with "
                         f"torch.export.save(torch.export.export(model.eval(), (x,)), 'model.pt2')") from None


def example_input_shape(program: Any) -> tuple[int, ...] | None:
    """The per-sample shape of the program's one example input, or None when it holds none."""
    example = getattr(program, "example_inputs", None)
    if not example or not example[0] or len(example[0]) != 1 or example[1]:
        return None
    shape = tuple(int(s) for s in example[0][0].shape)
    return shape[1:] if len(shape) >= 2 else None


def conv_input_sizes(program: Any) -> dict[str, tuple[int, ...]]:
    """Each convolution weight's name -> the spatial size of the input that convolution reads,
    from the shapes ``torch.export`` recorded at the program's example input."""
    params = dict(program.graph_signature.inputs_to_parameters)
    sizes: dict[str, tuple[int, ...]] = {}
    for n in program.graph.nodes:
        name = getattr(getattr(n.target, "_overloadpacket", None), "__name__", "")
        if n.op != "call_function" or name not in ("conv1d", "conv2d", "conv3d", "convolution") or len(n.args) < 2:
            continue
        x, w = n.args[0], n.args[1]
        val = getattr(x, "meta", {}).get("val")
        key = params.get(getattr(w, "name", ""))
        if key is not None and val is not None and len(val.shape) >= 3:
            sizes[key] = tuple(int(s) for s in val.shape[2:])
    return sizes


def import_exported(program: Any, input_shape: tuple[int, ...] | None = None) -> Graph:
    """An ``ExportedProgram`` (or the path of a ``.pt2`` file) as a :class:`Graph`; ``input_shape``
    (per sample) overrides the example input's.  Raises ``UnsupportedModel`` naming every node
    it cannot import."""
    if isinstance(program, (str, Path)):
        program = load_exported(program)
    shape = input_shape if input_shape is not None else example_input_shape(program)
    if shape is None:
        raise ValueError("the program holds no single example input with a batch axis: pass input_shape")
    gm = program.module()
    for n in list(gm.graph.nodes):
        if n.op == "call_module" and str(n.target).startswith("_guards"):  # the example shape's guard
            gm.graph.erase_node(n)
    _untuple(gm)
    gm.recompile()
    floats = [p for p in gm.parameters() if p.is_floating_point()]

    def handle(n: Any, op: str, dyn: list[str], shapes: dict, per_sample: tuple[int, ...]) -> Node | list[Node]:
        return _node(gm, n, op, dyn, shapes, per_sample)

    return walk_fx(gm, tuple(int(s) for s in shape), handle, floats[0].dtype if floats else None)


#: core ATen's tuple-valued calls -> the call giving their first value, with the arguments it reads
_FIRST_OF = {"native_layer_norm": ("layer_norm", 5), "max_pool1d_with_indices": ("max_pool1d", 6),
             "max_pool2d_with_indices": ("max_pool2d", 6), "max_pool3d_with_indices": ("max_pool3d", 6)}


def _untuple(gm: Any) -> None:
    """A program decomposed to core ATen writes layer normalisation and max pooling as calls
    returning tuples (with the mean and inverse deviation, or the indices); where only the
    first value is read (``getitem`` 0), the call giving just that value replaces them."""
    import operator

    import torch

    for n in list(gm.graph.nodes):
        name = getattr(getattr(n.target, "_overloadpacket", None), "__name__", "")
        users = list(n.users)
        if n.op != "call_function" or name not in _FIRST_OF or n.kwargs or not users or any(
                u.op != "call_function" or u.target is not operator.getitem or u.args[1] != 0 for u in users):
            continue
        single, count = _FIRST_OF[name]
        with gm.graph.inserting_before(n):
            new = gm.graph.call_function(getattr(torch.ops.aten, single).default, tuple(n.args[:count]))
        new.meta = dict(n.meta, val=n.meta["val"][0]) if "val" in n.meta else {}
        for u in users:
            u.replace_all_uses_with(new)
            gm.graph.erase_node(u)
        gm.graph.erase_node(n)


def _required(gm: Any, a: Any, what: str) -> np.ndarray:
    v = held_value(gm, a)
    if v is None:
        raise _Refuse(f"needs its {what}")
    return v


def _arg(n: Any, i: int, key: str, default: Any) -> Any:
    return n.args[i] if len(n.args) > i else n.kwargs.get(key, default)


def _node(gm: Any, n: Any, op: str, dyn: list[str], shapes: dict, shape: tuple[int, ...]) -> Node | list[Node]:
    if n.op != "call_function":
        raise _Refuse(f"an fx {n.op} node; an exported program holds ATen calls")
    name = getattr(getattr(n.target, "_overloadpacket", None), "__name__", op)
    x = dyn[0]
    if name in _RESHAPES:
        return Node(n.name, op, "layer", (x,), n.name, None)
    if name == "dropout":
        if _arg(n, 2, "train", False):
            raise _Refuse("dropout in training mode is random; call model.eval() before torch.export")
        return Node(n.name, op, "layer", (x,), n.name, None)
    if name in ("add", "sub", "mul", "div"):
        return _arith(n, op, name, shapes, shape)
    if name == "cat":
        parts = [a.name for a in _arg(n, 0, "tensors", [])]
        dim = int(_arg(n, 1, "dim", 0)) % (len(shape) + 1)
        if any(p not in shapes for p in parts) or dim == 0:
            raise _Refuse("concatenates a constant tensor or along the batch axis")
        return Node(n.name, op, "concat", tuple(parts), n.name, axis=dim - 1)
    layer = _layer(gm, n, name, shapes[x], shape)
    return tl.chain(n.name, op, x, layer, shapes) if isinstance(layer, list) else \
        Node(n.name, op, "layer", (x,), n.name, layer)


def _layer(gm: Any, n: Any, name: str, x_shape: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    act = _activation(n, name)
    if act is not None:
        return ActivationLayer(act, int(np.prod(shape)))
    if name == "linear":
        return Dense(_required(gm, n.args[1], "weight"), held_value(gm, _arg(n, 2, "bias", None)))
    if name.startswith("conv_transpose") or name == "convolution" and _arg(n, 6, "transposed", False):
        return _conv_transpose(gm, n, name, x_shape, shape)
    if name in ("conv1d", "conv2d", "conv3d", "convolution"):
        return _conv(gm, n, name, x_shape)
    if name == "batch_norm":
        if _arg(n, 5, "training", False):
            raise _Refuse("batch norm in training mode normalises by batch statistics; call model.eval()")
        c = x_shape[0]
        gamma, beta = held_value(gm, n.args[1]), held_value(gm, n.args[2])
        mean, var = _required(gm, n.args[3], "running mean"), _required(gm, n.args[4], "running variance")
        return BatchNorm(np.ones(c) if gamma is None else gamma, np.zeros(c) if beta is None else beta, mean, var,
                         eps=float(_arg(n, 7, "eps", 1e-5)),
                         input_shape=x_shape)
    if name.startswith(("max_pool", "avg_pool", "adaptive_avg_pool")):
        return _pool(n, name, x_shape, shape)
    return _axis_or_pad(gm, n, name, x_shape, shape)


def _conv_transpose(gm: Any, n: Any, name: str, x_shape: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """``conv_transpose{d}d`` and ``convolution(transposed=True)``, whose arguments differ in order."""
    weight, bias = _required(gm, n.args[1], "weight"), held_value(gm, _arg(n, 2, "bias", None))
    if name == "convolution":
        return tl.conv_transpose(weight, bias, x_shape, shape, n.args[3], n.args[4], _arg(n, 7, "output_padding", 0),
                                 _arg(n, 8, "groups", 1), n.args[5])
    return tl.conv_transpose(weight, bias, x_shape, shape, _arg(n, 3, "stride", 1), _arg(n, 4, "padding", 0),
                             _arg(n, 5, "output_padding", 0), _arg(n, 6, "groups", 1), _arg(n, 7, "dilation", 1))


_PADS = {"reflection_pad1d": "reflect", "reflection_pad2d": "reflect", "reflection_pad3d": "reflect",
         "replication_pad1d": "replicate", "replication_pad2d": "replicate", "replication_pad3d": "replicate",
         "_pad_circular": "circular"}


def _axis_or_pad(gm: Any, n: Any, name: str, x_shape: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    """Softmax and log-softmax, layer normalisation, and the padding calls."""
    if name in ("softmax", "_softmax", "log_softmax", "_log_softmax"):
        return tl.softmax(x_shape, _arg(n, 1, "dim", None), "log" in name)
    if name == "layer_norm":
        dtype = "float64" if str(n.meta["val"].dtype) == "torch.float64" else "float32"
        return tl.layer_norm(x_shape, _arg(n, 1, "normalized_shape", ()), held_value(gm, _arg(n, 2, "weight", None)),
                             held_value(gm, _arg(n, 3, "bias", None)), float(_arg(n, 4, "eps", 1e-5)), dtype)
    if name == "pad":
        return tl.pad(x_shape, shape, _arg(n, 1, "pad", ()), _arg(n, 2, "mode", "constant"), _arg(n, 3, "value", None))
    if name == "constant_pad_nd":
        return tl.pad(x_shape, shape, _arg(n, 1, "pad", ()), "constant", _arg(n, 2, "value", 0.0))
    if name in _PADS:
        return tl.pad(x_shape, shape, _arg(n, 1, "padding", ()), _PADS[name], None)
    raise _Refuse(f"no importer for aten.{name}")


def _activation(n: Any, name: str) -> Any:
    if name in _SIMPLE:
        return activation(_SIMPLE[name])
    if name == "leaky_relu":
        return activation("leaky_relu", alpha=float(_arg(n, 1, "negative_slope", 0.01)))
    if name == "elu":
        if float(_arg(n, 2, "scale", 1)) != 1 or float(_arg(n, 3, "input_scale", 1)) != 1:
            raise _Refuse("elu with scale or input_scale other than 1")
        return activation("elu", alpha=float(_arg(n, 1, "alpha", 1.0)))
    if name == "gelu":
        return _gelu(str(_arg(n, 1, "approximate", "none")))
    if name == "hardsigmoid":
        return activation("hard_sigmoid", alpha=1 / 6, beta=0.5)
    if name == "relu6":
        return activation("clip", lo=0.0, hi=6.0)
    if name == "hardtanh":
        return activation("clip", lo=float(_arg(n, 1, "min_val", -1.0)), hi=float(_arg(n, 2, "max_val", 1.0)))
    if name == "softplus":
        return _softplus(float(_arg(n, 1, "beta", 1.0)), float(_arg(n, 2, "threshold", 20.0)))
    return None


def _conv(gm: Any, n: Any, name: str, x_shape: tuple[int, ...]) -> Conv:
    d = len(x_shape) - 1
    weight, bias = _required(gm, n.args[1], "weight"), held_value(gm, _arg(n, 2, "bias", None))
    if name == "convolution":
        stride, padding, dilation, groups = n.args[3], n.args[4], n.args[5], _arg(n, 8, "groups", 1)
    else:
        stride, padding = _arg(n, 3, "stride", 1), _arg(n, 4, "padding", 0)
        dilation, groups = _arg(n, 5, "dilation", 1), _arg(n, 6, "groups", 1)
    dil = tuple(dilation) if isinstance(dilation, (list, tuple)) else (int(dilation),) * d
    if padding == "valid":
        padding = 0
    elif padding == "same":
        total = [dl * (k - 1) for dl, k in zip(dil, weight.shape[2:])]
        if any(t % 2 for t in total):
            raise _Refuse("padding='same' with an odd total padding is asymmetric; needs a Pad layer first")
        padding = tuple(t // 2 for t in total)
    return Conv(weight, x_shape, bias, stride=tuple(stride) if isinstance(stride, (list, tuple)) else stride,
                padding=tuple(padding) if isinstance(padding, (list, tuple)) else padding, dilation=dil,
                groups=int(groups))


def _pool(n: Any, name: str, x_shape: tuple[int, ...], shape: tuple[int, ...]) -> Any:
    d = len(x_shape) - 1
    if name.startswith("adaptive"):
        size = _arg(n, 1, "output_size", None)
        if any(int(s) != 1 for s in size):
            raise _Refuse(f"adaptive average pooling to {list(size)}: only output size 1 (global average)")
        return AvgPool(tuple(x_shape[1:]), x_shape)
    kernel, stride, padding = _arg(n, 1, "kernel_size", ()), _arg(n, 2, "stride", ()), _arg(n, 3, "padding", 0)
    if name.startswith("max"):
        return tl.pool("max", x_shape, shape, kernel, stride, padding, _arg(n, 4, "dilation", 1),
                       bool(_arg(n, 5, "ceil_mode", False)))
    return tl.pool("avg", x_shape, shape, kernel, stride, padding, (1,) * d, bool(_arg(n, 4, "ceil_mode", False)),
                   bool(_arg(n, 5, "count_include_pad", True)), _arg(n, 6, "divisor_override", None))


def _arith(n: Any, op: str, name: str, shapes: dict, shape: tuple[int, ...]) -> Node:
    a, b = n.args[0], n.args[1]
    alpha = n.kwargs.get("alpha", 1)
    if alpha != 1 or set(n.kwargs) - {"alpha"}:
        raise _Refuse(f"keyword arguments {dict(n.kwargs)} are not supported")
    da, db = getattr(a, "name", None) in shapes, getattr(b, "name", None) in shapes
    if da and db:
        return two_tensor_node(n, op, name, shapes)
    x, c = (a, b) if da else (b, a)
    if not isinstance(c, (int, float)):
        raise _Refuse(f"an operand {c!r} is neither a number nor an input-dependent tensor")
    if name == "div" and not da:
        raise _Refuse("a number divided by an input-dependent tensor is not globally Lipschitz")
    kind = {"add": "add", "sub": "sub" if da else "rsub", "mul": "mul", "div": "div"}[name]
    return Node(n.name, op, "layer", (x.name,), n.name, ConstantOp(kind, np.float64(c), shape))
