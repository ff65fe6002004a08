"""What importing an ONNX model adds to the bound ladder: a 784-50-10 ReLU MLP.

    python -m benchmarks.studies.onnx_import_cost [--repeat 5]

One process.  The MLP is written with ``onnx.helper`` (Gemm, Relu, Gemm; float32
weights from a fixed seed) to a temporary file; per round, in alternating order,

(a) ``lipschitz_ladder(Sequential([...]))`` on the same weights built by hand;
(b) ``graph_ladder(import_onnx(path))``: read the file, import it, run the ladder;
(c) ``import_onnx(path)`` alone.

Medians in seconds, and (b) - (a): the import's cost seen through the ladder's own
spread on a shared machine, which (c) measures directly.  The two ladders' rows agree
(same rungs, same product bound), which the script checks.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, lipschitz_ladder
from lipbench.models import graph_ladder, import_onnx


def mlp_model(seed: int = 0) -> tuple[onnx.ModelProto, Sequential]:
    rng = np.random.default_rng(seed)
    sizes = (784, 50, 10)
    nodes, inits, layers, t = [], [], [], "x"
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        W = (rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)).astype(np.float32)
        b = (0.1 * rng.standard_normal(n_out)).astype(np.float32)
        inits += [numpy_helper.from_array(W, f"W{i}"), numpy_helper.from_array(b, f"b{i}")]
        last = i == len(sizes) - 2
        nodes.append(helper.make_node("Gemm", [t, f"W{i}", f"b{i}"], ["y" if last else f"a{i}"], transB=1))
        layers.append(Dense(W.astype(np.float64), b.astype(np.float64)))
        if not last:
            nodes.append(helper.make_node("Relu", [f"a{i}"], [f"h{i}"]))
            layers.append(ActivationLayer(activation("relu"), n_out))
            t = f"h{i}"
    g = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 784])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 10])], inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), Sequential(layers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model, net = mlp_model()
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mlp.onnx"
        onnx.save(model, str(path))
        alone, imported, only = [], [], []
        for r in range(args.repeat):
            for which in ((0, 1) if r % 2 == 0 else (1, 0)):
                t0 = time.perf_counter()
                ladder = lipschitz_ladder(net, seed=0) if which == 0 else graph_ladder(import_onnx(path), seed=0)
                (alone if which == 0 else imported).append(time.perf_counter() - t0)
                if which == 0:
                    ref = ladder
                else:
                    got = ladder
            t0 = time.perf_counter()
            import_onnx(path)
            only.append(time.perf_counter() - t0)
        assert [r.name for r in got.rows] == [r.name for r in ref.rows] and got.product == ref.product
    a, b = statistics.median(alone), statistics.median(imported)
    print(f"784-50-10 ReLU MLP, {args.repeat} rounds, medians:")
    print(f"  (a) lipschitz_ladder alone        {a:.3f} s")
    print(f"  (b) import_onnx + graph_ladder    {b:.3f} s")
    print(f"  (b) - (a)                         {b - a:+.3f} s")
    print(f"  (c) import_onnx alone             {statistics.median(only):.4f} s "
          f"(min {min(alone):.3f} / max {max(alone):.3f} s of (a))")


if __name__ == "__main__":
    main()
