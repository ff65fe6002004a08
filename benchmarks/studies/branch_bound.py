"""Branch and bound over activation patterns: certified brackets of L(f) on trained MLPs and LipSDP's net.

    python -m benchmarks.studies.branch_bound [--case mlp50 mlp2 lipsdp ladder] [--seconds 300]

``mlp50``: a ReLU MLP 784-50-10 trained on the digits resized to 28x28
(``train_mlp((50,), side=28)``), bracketed to a relative gap of 0.2%;
``mlp2``: 784-H-H-10 (``--hidden``, default 30) to 0.5%;
``lipsdp``: LipSDP's example network (tests/models/data/lipsdp/random_weights.mat,
2-10-30-20-2; its constant 36.482 is published) to 1e-4;
``ladder``: the ladder's fast rungs on the 784-50-10 net, their seconds.
``--lipsdp-nodes`` adds the verified LipSDP-Neuron of each node's sub-box
(:mod:`lipbench.lipschitz.lipsdp_node`) as the search's ``node_bound``;
``--prune`` drops the nodes :mod:`lipbench.lipschitz.regions` proves have no input.
Prints one line per case: the certified bracket, its relative width, the nodes
explored, why the search stopped and the seconds (the numbers in
docs/lipschitz-ladder.md come from this script).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, lipschitz_ladder
from lipbench.lipschitz.lipsdp_node import lipsdp_node_bound
from lipbench.lipschitz.pattern_search import lipschitz_bracket
from lipbench.lipschitz.train import train_mlp

LIPSDP = Path(__file__).resolve().parents[2] / "tests" / "models" / "data" / "lipsdp" / "random_weights.mat"


def lipsdp_net() -> Sequential:
    from lipbench.models.weights import read_weights

    wf = read_weights(LIPSDP)
    layers: list = []
    for i, k in enumerate(wf.chain):
        layers.append(Dense(np.asarray(wf.arrays[k], dtype=np.float64)))
        if i < len(wf.chain) - 1:
            layers.append(ActivationLayer(activation("relu")))
    return Sequential(layers)


def bracket_line(name: str, net: Sequential, gap: float, seconds: float, points: np.ndarray | None,
                 sdp: bool = False, eps: float | None = None, prune: bool = False) -> str:
    t = time.perf_counter()
    options = None if eps is None else {"eps_abs": eps, "eps_rel": eps, "max_iters": 20_000}
    br = lipschitz_bracket(net, gap=gap, max_seconds=seconds, points=points,
                           node_bound=lipsdp_node_bound(options=options) if sdp else None, prune=prune)
    total = time.perf_counter() - t
    s = br.search
    return (f"{name}: [{br.lower:.7g}, {br.upper:.7g}] width {br.relative_width:.3g} (asked {gap:g}); "
            f"{s.nodes} nodes, {s.pruned} pruned ({br.pruning}), stop {s.stop}; branch and bound {s.seconds:.1f} s, "
            f"all {total:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", default=["lipsdp", "mlp50", "ladder"],
                        choices=["mlp50", "mlp2", "lipsdp", "ladder"])
    parser.add_argument("--seconds", type=float, default=300.0, help="branch-and-bound budget per case")
    parser.add_argument("--hidden", type=int, default=30, help="units per hidden layer of mlp2")
    parser.add_argument("--lipsdp-nodes", action="store_true", help="LipSDP-Neuron on each node's sub-box")
    parser.add_argument("--sdp-eps", type=float, default=None, help="SCS tolerance of the node bound")
    parser.add_argument("--prune", action="store_true", help="drop the nodes proven to have no input")
    args = parser.parse_args()
    for case in args.case:
        if case == "lipsdp":
            print(bracket_line("lipsdp 2-10-30-20-2", lipsdp_net(), 1e-4, args.seconds, None, args.lipsdp_nodes),
                  flush=True)
        elif case in ("mlp50", "ladder"):
            tr = train_mlp((50,), side=28, epochs=30)
            if case == "mlp50":
                print(bracket_line(f"784-50-10 (test accuracy {tr.test_accuracy:.3f})", tr.net, 2e-3, args.seconds,
                                   tr.X_test[:64], args.lipsdp_nodes), flush=True)
            else:
                ladder = lipschitz_ladder(tr.net, points=tr.X_test[:64])
                print("ladder's fast rungs on 784-50-10: " + ", ".join(f"{r.name} {r.seconds:.3f} s"
                                                                       for r in ladder.rows), flush=True)
        else:
            tr = train_mlp((args.hidden, args.hidden), side=28, epochs=30)
            print(bracket_line(f"784-{args.hidden}-{args.hidden}-10 (test accuracy {tr.test_accuracy:.3f})", tr.net,
                               5e-3, args.seconds, tr.X_test[:64], args.lipsdp_nodes, args.sdp_eps,
                               args.prune), flush=True)


if __name__ == "__main__":
    main()
