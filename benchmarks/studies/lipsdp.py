"""LipSDP's rungs: the published reference net and a 784-50-10 MLP, values and times.

    python -m benchmarks.studies.lipsdp [--repeat 3] [--skip-mnist]

Prints markdown tables (the numbers in docs/lipschitz-ladder.md, "LipSDP"):
for LipSDP's ``random_weights.mat`` (a 2-10-30-20-2 ReLU chain with published
values), each formulation's solver value, verified value, the relative raise of
rho verification needed, and the median wall time of a whole call (solve and
verification) over ``--repeat`` runs, beside the exact constant ``||W4 W3 W2 W1||``
(its weights are non-negative, so every unit is active at x = 1); then a
784-50-10 ReLU MLP with Gaussian weights scaled by 1/sqrt(fan-in), whose input
block the reduction takes from 784 to 50 (LMI order 100 instead of 834), beside
the product bound and ECLipsE-Fast.  The import of cvxpy is timed apart.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np
import scipy.io

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, eclipse_fast, lipsdp_bound, network_chain
from lipbench.lipschitz.bounds import product_bound

REFERENCE = Path(__file__).parents[2] / "tests" / "models" / "data" / "lipsdp" / "random_weights.mat"
PUBLISHED = {("layer", None): 39.839, ("neuron", None): 36.482, ("neuron", 2): 37.668}


def relu_chain(weights: list[np.ndarray]) -> Sequential:
    layers: list = []
    for W in weights:
        layers += [Dense(W), ActivationLayer(activation("relu"))]
    return Sequential(layers[:-1])


def timed_runs(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, statistics.median(times)


def reference_table(repeat: int) -> None:
    weights = [np.asarray(W, dtype=np.float64) for W in scipy.io.loadmat(REFERENCE)["weights"].ravel()]
    exact = float(np.linalg.norm(weights[3] @ weights[2] @ weights[1] @ weights[0], 2))
    chain = network_chain(relu_chain(weights))
    print(f"LipSDP reference net 2-10-30-20-2, exact constant {exact:.6f}\n")
    print("| formulation | published | solver | verified | verified / exact - 1 | tau | solver | median s |")
    print("|---|---|---|---|---|---|---|---|")
    for (form, split), published in PUBLISHED.items():
        r, t = timed_runs(lambda f=form, s=split: lipsdp_bound(chain, f, split=s), repeat)
        name = f"{form}" + (f", split {split}" if split else "")
        mark = "" if r.certified else " (not certified)"
        print(f"| {name} | {published} | {r.solver_value:.6f} | {r.value:.6f}{mark}"
              f" | {r.value / exact - 1:.2e} | {r.tau:.3g} | {r.solver} | {t:.2f} |")


def mnist_sized_table(repeat: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((50, 784)) / math.sqrt(784), rng.standard_normal((10, 50)) / math.sqrt(50)]
    net = relu_chain(weights)
    chain = network_chain(net)
    print(f"\n784-50-10 ReLU MLP (Gaussian / sqrt(fan-in), seed {seed}); product bound {product_bound(net):.6f}, "
          f"ECLipsE-Fast {eclipse_fast(chain).value:.6f}\n")
    print("| formulation | reduced | solver | verified | tau | solver | median s |")
    print("|---|---|---|---|---|---|---|")
    for form in ("layer", "neuron"):
        r, t = timed_runs(lambda f=form: lipsdp_bound(chain, f), repeat)
        mark = "" if r.certified else " (not certified)"
        print(f"| {form} | {r.reduced} | {r.solver_value:.6f} | {r.value:.6f}{mark}"
              f" | {r.tau:.3g} | {r.solver} | {t:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-mnist", action="store_true", help="only the reference net")
    args = parser.parse_args()
    t = time.perf_counter()
    import cvxpy  # noqa: F401

    print(f"import cvxpy: {time.perf_counter() - t:.2f} s\n")
    reference_table(args.repeat)
    if not args.skip_mnist:
        mnist_sized_table(args.repeat)


if __name__ == "__main__":
    main()
