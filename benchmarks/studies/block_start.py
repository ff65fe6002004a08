"""Fewer passes over A: blocks of b vectors against single-vector Lanczos.

    python -m benchmarks.studies.block_start [--side 2048] [--blocks 2 4 8 16]

On the grid's float64 Gaussian-spectrum matrix at tol 1e-6, at one BLAS
thread and at every CPU, timed in turns in one loop: ``auto`` (single-vector
Lanczos on A^T A in float32, its products one pass each) against the block
Krylov method (``method="randomized"``, block size b: one block product per
step, BLAS-3) for each b, with the float32 ``A^T (A X)`` of a block of b
vectors (what a block step costs) beside a single one.  Prints the median
times, steps, products and the true relative error.  What it found:
docs/studies/block_start.md.
"""

from __future__ import annotations

import argparse

import numpy as np

import lipbench as lb
from benchmarks.spectra import SPECTRA
from lipbench.timing import cpu_count, limit_threads, time_interleaved

TOL = 1e-6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=2048)
    parser.add_argument("--blocks", type=int, nargs="+", default=[2, 4, 8, 16])
    parser.add_argument("--budget", type=float, default=6.0, help="seconds of turns per thread setting")
    args = parser.parse_args()
    ks = SPECTRA["gaussian"].make(args.side, args.side, dtype="float64", seed=0)
    A, truth = ks.matrix, ks.sigma_max
    A32 = A.astype(np.float32)
    calls, products = {"auto": lambda: lb.spectral_norm(A, tol=TOL, seed=1)}, {}
    for b in args.blocks:
        calls[f"randomized b={b}"] = lambda b=b: lb.spectral_norm(A, method="randomized", block_size=b,
                                                                  tol=TOL, seed=1)
    x = np.ones(args.side, np.float32)
    products["A^T(A x), one vector, float32"] = lambda: A32.T @ (A32 @ x)
    for b in args.blocks:
        X = np.ones((args.side, b), np.float32)
        products[f"A^T(A X), b={b}, float32"] = lambda X=X: A32.T @ (A32 @ X)
    print(f"{args.side}^2 float64 Gaussian spectrum, tol {TOL:g}")
    print("| threads | contender | median | steps | products | rel. error |")
    print("|---|---|---|---|---|---|")
    for threads in sorted({1, cpu_count()}):
        with limit_threads(threads):
            timed = time_interleaved({**calls, **products}, budget=args.budget, max_rounds=20)
        for name, t in timed.items():
            r = t.outcome
            if isinstance(r, np.ndarray):
                print(f"| {threads} | {name} | {t.median * 1e3:.2f} ms | | | |")
                continue
            err = abs(r.value - truth) / truth
            print(f"| {threads} | {name} | {t.median * 1e3:.1f} ms | {r.iterations} | {r.matvecs} | {err:.1e} |")


if __name__ == "__main__":
    main()
