"""Study: the spectral-normalization audit (C13) and the reshape trap, with the numbers in docs/sn-audit.md.

Runs :func:`lipbench.lipschitz.sn_audit.sn_audit` on a dense layer and two
convolutions over drifting weights, prints the overshoot quantiles per
estimator as Markdown and writes every (step, estimator) row to
``results/logs/sn_audit.csv``; then compares sigma(kernel.reshape(out, -1))
with the certified operator norm on He-initialised kernels
(:func:`lipbench.lipschitz.reshape_trap.reshape_trap`).

    python benchmarks/studies/sn_audit.py [--steps 50] [--csv results/logs/sn_audit.csv]
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from lipbench import matrices as lm
from lipbench.lipschitz.reshape_trap import reshape_trap
from lipbench.lipschitz.sn_audit import overshoot_summary, sn_audit


def he_kernel(shape: tuple[int, ...], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape) * np.sqrt(2.0 / np.prod(shape[1:]))


def audit(steps: int, out: Path) -> None:
    layers = [
        ("dense 64x64 nn_like", lm.nn_like(64, 64, seed=0).matrix, {}),
        ("dense 256x128 nn_like", lm.nn_like(256, 128, seed=1).matrix, {}),
        ("conv 16x16x3x3 circular 16x16", he_kernel((16, 16, 3, 3), 2),
         dict(input_shape=(16, 16), padding=1, padding_mode="circular")),
        ("conv 8x8x3x3 zeros 6x6", he_kernel((8, 8, 3, 3), 3), dict(input_shape=(6, 6), padding=1)),
    ]
    rows = []
    for name, W, conv in layers:
        t = time.perf_counter()
        rows += sn_audit(W, steps=steps, seed=0, layer=name, **conv)
        print(f"<!-- {name}: {time.perf_counter() - t:.1f} s -->")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0].as_dict()))
        w.writeheader()
        w.writerows(r.as_dict() for r in rows)
    print(f"\n{len(rows)} rows written to {out}\n")
    print("| layer | estimator | median | 90% | 99% | max | steps provably > 1 |")
    print("|---|---|---|---|---|---|---|")
    for d in overshoot_summary(rows):
        print(f"| {d['layer']} | {d['estimator']} | {d['q50']:.3g} | {d['q90']:.3g} | {d['q99']:.3g} | "
              f"{d['max']:.3g} | {100 * d['provably_above_1']:.0f}% |")


def trap() -> None:
    print("\n| kernel | input | padding | operator norm (bracket) | sigma(reshaped) | operator / reshaped | verdict |")
    print("|---|---|---|---|---|---|---|")
    for shape, seed in (((64, 64, 3, 3), 4), ((16, 16, 5, 5), 5)):
        K = he_kernel(shape, seed)
        for size, mode in ((32, "circular"), (16, "zeros"), (4, "zeros"), (2, "zeros"), (1, "zeros")):
            if size * size * shape[0] * shape[1] > 2 ** 22 and mode == "zeros":
                continue  # Lanczos' upper end is loose there; the DFT and dense routes give tight brackets
            p = (shape[2] - 1) // 2
            r = reshape_trap(K, (size, size), padding=p, padding_mode=mode)
            print(f"| {shape} | {size}x{size} | {p} {mode} | [{r.operator_lower:.4g}, {r.operator_upper:.4g}] | "
                  f"{r.reshape_upper:.4g} | {r.operator_lower / r.reshape_upper:.3g} | {r.verdict} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--csv", type=Path, default=Path("results/logs/sn_audit.csv"))
    args = ap.parse_args()
    audit(args.steps, args.csv)
    trap()


if __name__ == "__main__":
    main()
