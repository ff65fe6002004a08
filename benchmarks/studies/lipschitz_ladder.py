"""The bound ladder on random MLPs and on networks trained on the digits: how far is the product bound?

    python benchmarks/studies/lipschitz_ladder.py [--seeds 3] [--quick]

Prints markdown tables (the numbers in docs/lipschitz-ladder.md come from this
script): for random ReLU MLPs of depths 2-4 and widths 8-64 (Gaussian weights
scaled by 1/sqrt(fan-in), biases N(0, 0.25)), the median over seeds of each
rung and of the ratios product / best certified upper and product / best lower;
then the ladder of an MLP and a small CNN trained in NumPy (needs
``pip install 'lipbench[examples]'``).  Where the pattern rung runs and a
linear program realises its maximising pattern, L is known to rounding and the
table says so.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import numpy as np

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, lipschitz_ladder
from lipbench.lipschitz.train import train_cnn, train_mlp


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


def cell(values: list[float]) -> str:
    vals = [v for v in values if not math.isnan(v)]
    return f"{statistics.median(vals):.3g}" if vals else "n/a"


def exact_L(ladder) -> float:
    """L when the realised pattern meets the pattern bound (to 1e-9 relative), else nan."""
    try:
        up, low = ladder.row("patterns").value, ladder.row("realised_pattern").value
    except KeyError:
        return math.nan
    return low if up - low <= 1e-9 * up else math.nan


def random_table(seeds: int, depths: tuple[int, ...], widths: tuple[int, ...]) -> list[float]:
    print("| depth | width | product | ECLipsE-Fast | patterns | best lower | product / best certified | "
          "product / best lower | L exact in | seconds |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    ratios = []
    for depth in depths:
        for width in widths:
            rows = []
            t0 = time.perf_counter()
            for seed in range(seeds):
                lad = lipschitz_ladder(random_mlp(depth, width, seed), seed=seed)
                rows.append(lad)
            sec = (time.perf_counter() - t0) / seeds
            get = lambda name, rows=rows: [lad.row(name).value for lad in rows]  # noqa: E731
            exact = [exact_L(lad) for lad in rows]
            ratios += [lad.product / lad.best_certified_upper for lad in rows]
            print(f"| {depth} | {width} | {cell(get('product'))} | {cell(get('eclipse_fast'))} | "
                  f"{cell([lad.row('patterns').value for lad in rows])} | {cell([lad.best_lower for lad in rows])} | "
                  f"{cell([lad.product / lad.best_certified_upper for lad in rows])} | "
                  f"{cell([lad.product / lad.best_lower for lad in rows])} | "
                  f"{sum(not math.isnan(e) for e in exact)}/{seeds} | {sec:.2f} |")
    return ratios


def trained(quick: bool) -> None:
    epochs = 5 if quick else None
    kw = {} if epochs is None else {"epochs": epochs}
    for name, t in (("MLP 64-32-32-10", train_mlp((32, 32), **kw)), ("MLP 64-16-10", train_mlp((16,), **kw)),
                    ("CNN conv3x3(8)-ReLU-avgpool2-dense", train_cnn(**kw))):
        lad = lipschitz_ladder(t.net, seed=0, points=t.X_test[:200], scale=0.3)
        print(f"\n**{name}** (test accuracy {t.test_accuracy:.3f}, trained in {t.seconds:.1f} s)\n")
        print("```")
        print(lad.table())
        print("```")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="depth 2-3, widths 8 and 16, 5 training epochs")
    args = ap.parse_args()
    depths, widths = ((2, 3), (8, 16)) if args.quick else ((2, 3, 4), (8, 16, 32, 64))
    ratios = random_table(args.seeds, depths, widths)
    print(f"\nproduct / best certified upper over all random MLPs: median {statistics.median(ratios):.3g}, "
          f"max {max(ratios):.3g}")
    trained(args.quick)


if __name__ == "__main__":
    main()
