"""``lipbench lipschitz FILE [--input-shape C,H,W] [--json]``: the bound ladder on an imported network.

The file is imported (an ONNX model: :func:`lipbench.models.import_onnx`; a
PyTorch program saved with ``torch.export.save``, ``.pt2``:
:func:`lipbench.models.export_import.import_exported`, its input shape from the
program's example input; a LipSDP/ECLipsE ``.mat`` file: its ``weights`` as a
chain of dense layers with ReLU between; ``package.module:factory``: the
``nn.Module`` the factory returns, which runs that code), then the ladder runs
(:func:`lipbench.models.graph_ladder`: every rung of ``lipschitz_ladder`` for a
chain, the graph's product rung otherwise).  A model with unsupported nodes exits
with status 2 naming each; a model that is not globally Lipschitz prints the
refusal with its nodes and reasons and exits with status 1.  ``--json`` prints one
object: ``file``, ``input_shape``, ``output_shape``, ``nodes``, ``package`` (``onnx``,
``torch`` or ``scipy``), ``<package>_load_seconds`` (loading it: ``onnx_load_seconds``
for an ONNX file), ``import_seconds`` (the model), ``layers`` (node,
constant), and ``rows`` (``name``, ``kind``, ``value``, ``certified``, ``seconds``,
``note``), or ``refused`` (``node``, ``op``, ``reason``).  A ``.pt``/``.pth`` file
is refused with what to do: a pickled ``nn.Module`` would need its code run to load
(``torch.load(weights_only=True)`` refuses it), and a state_dict holds no structure.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import re
import time
from pathlib import Path
from typing import Any

from ..cli_input import CLIError, ints

__all__ = ["add_cli_arguments", "run_cli", "lipschitz_record", "load_graph", "mat_chain", "torch_file_refusal",
           "factory_graph"]


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="an ONNX model (.onnx), a torch.export program (.pt2), a LipSDP/ECLipsE "
                                     "weights file (.mat), or package.module:factory (runs that Python code)")
    parser.add_argument("--input-shape", default=None, metavar="SHAPE",
                        help="per-sample input shape without the batch axis (e.g. 3,32,32): needed when an ONNX "
                             "model's dimensions are symbolic and for a factory; overrides a .pt2's example input")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled lower bounds (default 0)")
    parser.add_argument("--exact-seconds", type=float, default=0.0, metavar="S",
                        help="for a ReLU/leaky-ReLU MLP: run the branch and bound over activation patterns for up "
                             "to S seconds (rungs branch_and_bound and attained_pattern, both certified; "
                             "default 0: off)")
    parser.add_argument("--gap", type=float, default=1e-3,
                        help="relative width at which the branch and bound stops (default 1e-3)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


#: ``package.module:function`` (dotted Python names)
FACTORY = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
_TORCH_FILES = (".pt", ".pth", ".bin")


def load_graph(path: str, input_shape: tuple[int, ...] | None = None) -> tuple[Any, str, float, float]:
    """``(graph, package, seconds loading the package, seconds importing the model)`` for ``path``."""
    t0 = time.perf_counter()
    suffix = Path(path).suffix.lower()
    if suffix == ".mat":
        return mat_chain(path), "scipy", 0.0, time.perf_counter() - t0
    if suffix in _TORCH_FILES:
        raise ValueError(torch_file_refusal(path))
    if suffix == ".pt2" or (FACTORY.match(path) and not Path(path).exists()):
        import torch  # noqa: F401  (loading the package is timed apart from the import of the model)

        t1 = time.perf_counter()
        if suffix == ".pt2":
            from .export_import import import_exported

            graph = import_exported(path, input_shape)
        else:
            graph = factory_graph(path, input_shape)
        return graph, "torch", t1 - t0, time.perf_counter() - t1
    import onnx  # noqa: F401

    t1 = time.perf_counter()
    from . import import_onnx

    return import_onnx(path, input_shape=input_shape), "onnx", t1 - t0, time.perf_counter() - t1


def torch_file_refusal(path: str) -> str:
    """Why a ``.pt`` file cannot be a network here, and what to do instead."""
    from .weights import WeightFileError, load_torch_file

    todo = ("save the network with torch.export.save(torch.export.export(model.eval(), (example_input,)), "
            "'model.pt2') and run lipbench lipschitz model.pt2, or export it to ONNX")
    try:
        load_torch_file(path)
    except WeightFileError:
        return ("a pickled nn.Module is refused: loading it would run arbitrary code from the file, so "
                f"lipbench loads PyTorch files with weights_only=True, which reads tensors only; {todo}")
    return (f"holds weights (a state_dict) but not the network's structure; lipbench scan {path} bounds "
            f"each weight; for the whole network, {todo}")


def factory_graph(spec: str, input_shape: tuple[int, ...] | None) -> Any:
    """The ``nn.Module`` that ``package.module:function()`` returns, in eval mode, imported by
    :func:`~lipbench.models.import_torch`.  This imports the module and calls the function: it
    runs that code."""
    from . import import_torch

    if input_shape is None:
        raise ValueError("a factory's network needs --input-shape (per sample, e.g. 3,32,32)")
    module_name, func_name = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import {module_name!r} ({exc}); install it or put its folder on "
                         f"PYTHONPATH") from None
    factory = getattr(module, func_name, None)
    if not callable(factory):
        raise ValueError(f"{module_name!r} has no function {func_name!r}")
    import torch

    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise ValueError(f"{func_name}() returned a {type(model).__name__}, not a torch.nn.Module")
    return import_torch(model.eval(), input_shape)


def lipschitz_record(path: str, input_shape: tuple[int, ...] | None = None, seed: int = 0,
                     exact_seconds: float = 0.0, gap: float = 1e-3) -> dict[str, Any]:
    """Import ``path`` and run the ladder (with the branch and bound for ``exact_seconds`` > 0);
    everything ``lipbench lipschitz`` prints, as data."""
    from . import NotGloballyLipschitz, graph_ladder

    graph, package, load_s, import_s = load_graph(path, input_shape)
    record: dict[str, Any] = {"file": path, "input_shape": list(graph.input_shape),
                              "output_shape": list(graph.output_shape), "nodes": len(graph.nodes),
                              "package": package, f"{package}_load_seconds": load_s, "import_seconds": import_s}
    try:
        options: dict[str, Any] = {"bnb_seconds": exact_seconds, "bnb_gap": gap} if exact_seconds > 0 else {}
        ladder = graph_ladder(graph, seed=seed, **options)
    except NotGloballyLipschitz as exc:
        record["refused"] = [{"node": n, "op": op, "reason": why} for n, op, why in exc.reasons]
        return record
    record["layers"] = [{"node": n, "constant": c} for n, c in graph.layer_constants()]
    record["rows"] = [{"name": r.name, "kind": r.kind, "value": None if math.isnan(r.value) else r.value,
                       "certified": r.certified, "seconds": r.seconds, "note": r.note} for r in ladder.rows]
    record["table"] = ladder.table()
    return record


def mat_chain(path: str) -> Any:
    """A LipSDP/ECLipsE ``.mat`` file's dense layers as a :class:`~.graph.Graph`
    chain with ReLU between them (the layout both tools read)."""
    from ..lipschitz.activations import activation
    from ..lipschitz.layers import ActivationLayer, Dense
    from .graph import Graph, Node
    from .weights import read_weights

    wf = read_weights(path)
    if not wf.chain:
        raise ValueError(f"{path}: holds no chain of dense layers (a 'weights' cell array)")
    nodes: list[Node] = []
    x = "x"
    shapes: dict[str, tuple[int, ...]] = {"x": (int(wf.arrays[wf.chain[0]].shape[1]),)}
    for i, name in enumerate(wf.chain):
        W = wf.arrays[name]
        out = f"z{i}"
        nodes.append(Node(name, "Dense", "layer", (x,), out, Dense(W)))
        shapes[out] = (int(W.shape[0]),)
        x = out
        if i < len(wf.chain) - 1:
            nodes.append(Node(f"relu{i}", "Relu", "layer", (x,), f"r{i}", ActivationLayer(activation("relu"),
                                                                                       int(W.shape[0]))))
            shapes[f"r{i}"], x = shapes[out], f"r{i}"
    return Graph("x", x, tuple(nodes), shapes)


def run_cli(args: argparse.Namespace) -> int:
    shape = ints(args.input_shape, "--input-shape") if args.input_shape else None
    try:
        if not (args.exact_seconds >= 0 and math.isfinite(args.exact_seconds)):
            raise CLIError(f"--exact-seconds must be a finite number >= 0; got {args.exact_seconds}")
        if not 0 < args.gap < 1:
            raise CLIError(f"--gap must lie in (0, 1); got {args.gap}")
        record = lipschitz_record(args.file, shape, args.seed, args.exact_seconds, args.gap)
    except ImportError as exc:
        need = ("torch (pip install torch)" if args.file.lower().endswith(".pt2") or FACTORY.match(args.file)
                else "the onnx package (pip install 'lipbench[models]')")
        raise CLIError(f"reading {args.file} needs {need}: {exc}") from None
    except (ValueError, OSError) as exc:  # UnsupportedModel is a ValueError and names every node
        raise CLIError(f"{args.file}: {exc}") from None
    table = record.pop("table", None)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        package = record["package"]
        print(f"file   {record['file']}  input {tuple(record['input_shape'])} -> output "
              f"{tuple(record['output_shape'])}, {record['nodes']} nodes, imported in "
              f"{record['import_seconds']:.3f} s (loading the {package} package: "
              f"{record[package + '_load_seconds']:.3f} s)")
        if "refused" in record:
            print("no global Lipschitz bound: the network is not globally Lipschitz")
            for r in record["refused"]:
                print(f"  node {r['node']!r} ({r['op']}): {r['reason']}")
        else:
            print(table)
    return 1 if "refused" in record else 0
