"""The bound ladder on MLPs of width 10-1000 and depth 2-8 and on CNNs: how far is the product bound, and where
does each rung stop scaling?

    python benchmarks/studies/lipschitz_ladder.py [--seeds 1] [--quick | --with-8x1000]

Prints markdown tables (the numbers in docs/lipschitz-ladder.md come from this
script): for random ReLU MLPs (Gaussian weights scaled by 1/sqrt(fan-in),
biases N(0, 0.25); input width = width), per rung its value / the best lower
bound, its seconds and, where it was skipped, the limit that stopped it
(read from the sizes before it runs, :mod:`lipbench.lipschitz.ladder_limits`);
then MLPs trained briefly on the digits (needs ``pip install 'lipbench[examples]'``),
the digits CNN and a random CIFAR-size CNN (3x32x32, two strided convolutions, a
dense head) with each rung's time and note.  Where the pattern rung runs and a
linear program realises its maximising pattern, L is known to rounding and the
best lower bound is L.  ``--quick`` runs a one-minute subset; the default grid
(depths 2, 4 to width 1000, depth 8 to width 300) about 6-7 minutes (estimated) on a loaded
2-core machine; ``--with-8x1000`` adds the depth-8 width-1000 MLP (3.7 minutes more).
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from lipbench.lipschitz import ActivationLayer, Conv, Dense, Flatten, Sequential, activation, lipschitz_ladder
from lipbench.lipschitz.train import train_cnn, train_mlp

RUNGS = ("product", "eclipse_fast", "lipsdp_neuron", "patterns", "empirical")
SHORT = {"product": "product", "eclipse_fast": "ECLipsE-Fast", "lipsdp_neuron": "LipSDP-neuron",
         "patterns": "patterns", "empirical": "empirical"}


def random_mlp(depth: int, width: int, seed: int, n_out: int = 10) -> Sequential:
    rng = np.random.default_rng(seed)
    widths = [width] * depth + [n_out]
    layers = []
    for i in range(depth):
        layers.append(Dense(rng.standard_normal((widths[i + 1], widths[i])) / math.sqrt(widths[i]),
                            0.5 * rng.standard_normal(widths[i + 1])))
        if i < depth - 1:
            layers.append(ActivationLayer(activation("relu")))
    return Sequential(layers)


def cifar_cnn(seed: int = 0) -> Sequential:
    """3x32x32 -> Conv(16, 3x3, stride 2, pad 1) -> ReLU -> Conv(32, 3x3, stride 2, pad 1) -> ReLU -> Dense(10)."""
    rng = np.random.default_rng(seed)
    c1 = Conv(rng.standard_normal((16, 3, 3, 3)) / math.sqrt(27), (3, 32, 32), padding=1, stride=2)
    c2 = Conv(rng.standard_normal((32, 16, 3, 3)) / math.sqrt(144), c1.output_shape, padding=1, stride=2)
    flat = Flatten(c2.output_shape)
    head = Dense(rng.standard_normal((10, flat.out_features)) / math.sqrt(flat.out_features), np.zeros(10))
    return Sequential([c1, ActivationLayer(activation("relu")), c2, ActivationLayer(activation("relu")), flat, head])


def stop_reason(note: str) -> str:
    """A skipped rung's note cut to its size and limit (the keyword is in the full note)."""
    text = note.removeprefix("n/a: ")
    return text.split(": raise")[0].split(" (the time budget")[0]


def ratio_cell(ladders: list, name: str) -> str:
    vals = [lad.row(name).value / lad.best_lower for lad in ladders if not math.isnan(lad.row(name).value)]
    return f"{statistics.median(vals):.3g}" if vals else "-"


def seconds_cell(ladders: list, name: str) -> str:
    rows = [lad.row(name) for lad in ladders]
    return "-" if all(math.isnan(r.value) for r in rows) else f"{statistics.median(r.seconds for r in rows):.2f}"


def stops_cell(ladders: list) -> str:
    notes = {f"{SHORT[n]}: {stop_reason(lad.row(n).note)}" for lad in ladders for n in RUNGS[1:4]
             if math.isnan(lad.row(n).value)}
    return "; ".join(sorted(notes))


def header(first: str) -> None:
    ratios = " | ".join(f"{SHORT[n]} / lower" for n in RUNGS[:4])
    secs = " | ".join(f"{SHORT[n]} s" for n in RUNGS)
    print(f"| {first} | best lower | L exact | {ratios} | {secs} | skipped (size; limit) |")
    print("|" + "---|" * (first.count("|") + 13))


def row(label: str, ladders: list) -> None:
    exact = sum(_exact(lad) for lad in ladders)
    lows = statistics.median(lad.best_lower for lad in ladders)
    print(f"| {label} | {lows:.4g} | {exact}/{len(ladders)} | " + " | ".join(ratio_cell(ladders, n) for n in RUNGS[:4])
          + " | " + " | ".join(seconds_cell(ladders, n) for n in RUNGS) + f" | {stops_cell(ladders)} |")


def _exact(ladder) -> bool:
    """The realised pattern meets the pattern bound (1e-9 relative): L is known."""
    try:
        up, low = ladder.row("patterns").value, ladder.row("realised_pattern").value
    except KeyError:
        return False
    return up - low <= 1e-9 * up


def random_table(seeds: int, grid: list[tuple[int, int]]) -> list[float]:
    print("\n**Random ReLU MLPs** (median over seeds; value / best lower bound)\n")
    header("depth | width")
    products = []
    for depth, width in grid:
        ladders = [lipschitz_ladder(random_mlp(depth, width, seed), seed=seed) for seed in range(seeds)]
        products += [lad.product / lad.best_lower for lad in ladders]
        row(f"{depth} | {width}", ladders)
    return products


def trained_table(quick: bool) -> None:
    print("\n**MLPs trained on the digits** (8x8 inputs, 10 classes; lower bound over 200 test points too)\n")
    header("network | test acc.")
    for hidden in ((10,), (100,)) if quick else ((10,), (100,), (1000,), (100, 100, 100)):
        t = train_mlp(hidden, epochs=5 if quick else 10)
        lad = lipschitz_ladder(t.net, seed=0, points=t.X_test[:200], scale=0.3)
        row(f"64-{'-'.join(map(str, hidden))}-10 | {t.test_accuracy:.3f}", [lad])


def cnn_ladders(quick: bool) -> None:
    t = train_cnn(epochs=5 if quick else 20)
    nets = [(f"digits CNN conv3x3(8)-ReLU-avgpool2-dense, 1x8x8 (test accuracy {t.test_accuracy:.3f})",
             t.net, {"points": t.X_test[:200], "scale": 0.3}),
            ("random CNN 3x32x32 conv3x3/2(16)-ReLU-conv3x3/2(32)-ReLU-dense", cifar_cnn(), {})]
    for name, net, kw in nets:
        t0 = time.perf_counter()
        lad = lipschitz_ladder(net, seed=0, **kw)
        print(f"\n**{name}**: ladder in {time.perf_counter() - t0:.1f} s\n")
        print("```")
        print(lad.table())
        print("```")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=1)
    ap.add_argument("--quick", action="store_true", help="depths 2 and 4, widths 10-100, 5 training epochs")
    ap.add_argument("--with-8x1000", action="store_true", help="add the depth-8 width-1000 MLP")
    args = ap.parse_args()
    t0 = time.perf_counter()
    depths, widths = ((2, 4), (10, 30, 100)) if args.quick else ((2, 4, 8), (10, 30, 100, 300, 1000))
    grid = [(d, w) for d in depths for w in widths if (d, w) != (8, 1000) or args.with_8x1000]
    products = random_table(args.seeds, grid)
    print(f"\nproduct / best lower over all random MLPs: median {statistics.median(products):.3g}, "
          f"max {max(products):.3g}")
    trained_table(args.quick)
    cnn_ladders(args.quick)
    print(f"\nwhole study: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
