"""``lipbench lipschitz FILE [--input-shape C,H,W] [--json]``: the bound ladder on an imported network.

The file is imported (an ONNX model: :func:`lipbench.models.import_onnx`; a
LipSDP/ECLipsE ``.mat`` file: its ``weights`` as a chain of dense layers with
ReLU between), then the ladder runs
(:func:`lipbench.models.graph_ladder`: every rung of ``lipschitz_ladder`` for a
chain, the graph's product rung otherwise).  A model with unsupported nodes exits
with status 2 naming each; a model that is not globally Lipschitz prints the
refusal with its nodes and reasons and exits with status 1.  ``--json`` prints one
object: ``file``, ``input_shape``, ``output_shape``, ``nodes``, ``onnx_load_seconds``
(loading the onnx package), ``import_seconds`` (the model), ``layers`` (node,
constant), and ``rows`` (``name``, ``kind``, ``value``, ``certified``, ``seconds``,
``note``), or ``refused`` (``node``, ``op``, ``reason``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from typing import Any

from ..cli_input import CLIError, ints

__all__ = ["add_cli_arguments", "run_cli", "lipschitz_record", "mat_chain"]


def add_cli_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="an ONNX model (.onnx) or a LipSDP/ECLipsE weights file (.mat)")
    parser.add_argument("--input-shape", default=None, metavar="SHAPE",
                        help="per-sample input shape without the batch axis (e.g. 3,32,32), needed when the "
                             "model's input dimensions are symbolic")
    parser.add_argument("--seed", type=int, default=0, help="seed of the sampled lower bounds (default 0)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def lipschitz_record(path: str, input_shape: tuple[int, ...] | None = None, seed: int = 0) -> dict[str, Any]:
    """Import ``path`` and run the ladder; everything ``lipbench lipschitz`` prints, as data."""
    from . import NotGloballyLipschitz, graph_ladder, import_onnx

    t0 = time.perf_counter()
    if path.endswith(".mat"):
        t1 = t0
        graph = mat_chain(path)
    else:
        import onnx  # noqa: F401  (loading the package is timed apart from the import of the model)

        t1 = time.perf_counter()
        graph = import_onnx(path, input_shape=input_shape)
    record: dict[str, Any] = {"file": path, "input_shape": list(graph.input_shape),
                              "output_shape": list(graph.output_shape), "nodes": len(graph.nodes),
                              "onnx_load_seconds": t1 - t0, "import_seconds": time.perf_counter() - t1}
    try:
        ladder = graph_ladder(graph, seed=seed)
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
        record = lipschitz_record(args.file, shape, args.seed)
    except ImportError as exc:
        raise CLIError(f"reading ONNX needs the onnx package ({exc}); install with: pip install 'lipbench[models]'") \
            from None
    except (ValueError, OSError) as exc:  # UnsupportedModel is a ValueError and names every node
        raise CLIError(f"{args.file}: {exc}") from None
    table = record.pop("table", None)
    if args.json:
        print(json.dumps(record, indent=2))
    else:
        print(f"file   {record['file']}  input {tuple(record['input_shape'])} -> output "
              f"{tuple(record['output_shape'])}, {record['nodes']} nodes, imported in "
              f"{record['import_seconds']:.3f} s (loading the onnx package: {record['onnx_load_seconds']:.3f} s)")
        if "refused" in record:
            print("no global Lipschitz bound: the network is not globally Lipschitz")
            for r in record["refused"]:
                print(f"  node {r['node']!r} ({r['op']}): {r['reason']}")
        else:
            print(table)
    return 1 if "refused" in record else 0
