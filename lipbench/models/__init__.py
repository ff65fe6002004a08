"""Models in: ONNX graphs and PyTorch modules into one graph representation
that :mod:`lipbench.lipschitz` bounds, and weight files for the per-weight scan.

* :class:`Graph` -- lipschitz layers joined by chains, residual sums and concatenations,
  with a NumPy forward pass and the product rung (:mod:`.graph`);
* :func:`graph_ladder` -- the bound ladder on a graph (a chain gets every rung of
  :func:`lipbench.lipschitz.lipschitz_ladder`);
* :func:`import_onnx` -- an ONNX file into a :class:`Graph` with the ``onnx`` package
  alone (``pip install 'lipbench[models]'``); imported lazily, so ``lipbench.models``
  loads without onnx;
* :func:`import_torch` -- a PyTorch ``nn.Module`` (eval mode) into a :class:`Graph`
  through ``torch.fx``, given the input shape;
* :func:`import_exported` -- a ``torch.export`` program (a ``.pt2`` file) into a :class:`Graph`,
  its input shape from the example input (:mod:`.export_import`; needs torch);
* :func:`export_onnx` -- a ``Sequential``, a layer or a :class:`Graph` out as an ONNX model
  (:mod:`.onnx_export`; needs ``onnx``);
* :mod:`.weights` and :mod:`.scan` -- every array of a weight file (safetensors,
  ``.pt``, ``.npz``, ONNX, LipSDP ``.mat``) and its certified bound (``lipbench scan``).
"""

from __future__ import annotations

from typing import Any

from .graph import Graph, Node, NotGloballyLipschitz
from .graph_ladder import graph_ladder
from .graph_layers import ConstantOp, Pad

__all__ = ["Graph", "Node", "NotGloballyLipschitz", "graph_ladder", "ConstantOp", "Pad", "import_onnx", "import_torch",
           "import_exported", "export_onnx"]


def import_onnx(model: Any, *, input_shape: tuple[int, ...] | None = None) -> Graph:
    """See :func:`lipbench.models.onnx_import.import_onnx` (needs the ``onnx`` package)."""
    from .onnx_import import import_onnx as _import

    return _import(model, input_shape=input_shape)


def import_torch(module: Any, input_shape: tuple[int, ...]) -> Graph:
    """See :func:`lipbench.models.torch_import.import_torch` (needs torch)."""
    from .torch_import import import_torch as _import

    return _import(module, input_shape)


def import_exported(program: Any, input_shape: tuple[int, ...] | None = None) -> Graph:
    """See :func:`lipbench.models.export_import.import_exported` (needs torch)."""
    from .export_import import import_exported as _import

    return _import(program, input_shape)


def export_onnx(net: Any, path: Any = None, *, input_shape: tuple[int, ...] | None = None,
                dtype: str = "float32") -> Any:
    """See :func:`lipbench.models.onnx_export.export_onnx` (needs the ``onnx`` package)."""
    from .onnx_export import export_onnx as _export

    return _export(net, path, input_shape=input_shape, dtype=dtype)
