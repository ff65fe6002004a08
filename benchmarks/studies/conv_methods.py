"""Time and accuracy of conv_operator_norm's routes, measured side by side.

Run:  python benchmarks/studies/conv_methods.py [--reps 3] [--sizes 32,64]

For each size (64 channels in and out, 3x3 kernel, padding 1) and padding mode
the routes run interleaved, ``reps`` rounds, and the table gives median
seconds and accuracy: with circular padding the FFT value is exact up to
calibrated rounding constants (its bracket width is printed), so the other
routes are compared with it; with zeros padding the reference is Lanczos's
lower end.  The last lines
are the example of the convolutions doc: a seeded (8, 3, 3, 3) kernel on 32x32
with zeros padding 1.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np

import lipbench as lb
from lipbench.lipschitz import conv_operator_norm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--sizes", default="32,64", help="input side lengths, comma-separated")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    W = rng.standard_normal((64, 64, 3, 3)) / np.sqrt(64 * 9)
    print("| input | padding | route | median s | value | bracket (rel. width) | vs reference |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(v) for v in args.sizes.split(",")):
        for mode in ("circular", "zeros"):
            routes = ("fft", "lanczos", "bound") if mode == "circular" else ("lanczos", "bound")
            times = {r: [] for r in routes}
            results = {}
            for _ in range(args.reps):
                for route in routes:  # interleaved
                    t = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", lb.ConvergenceWarning)
                        res = conv_operator_norm(W, (n, n), padding=1, padding_mode=mode, method=route, seed=0)
                    times[route].append(time.perf_counter() - t)
                    results[route] = res
            ref = results["fft"].value if mode == "circular" else results["lanczos"].lower
            for route in routes:
                r = results[route]
                work = f" ({r.matvecs} matvecs)" if r.matvecs else ""
                print(f"| 64x{n}x{n} | {mode} 1 | {route}{work} | {statistics.median(times[route]):.3f} | "
                      f"{r.value:.10g} | "
                      f"[{r.lower:.10g}, {r.upper:.10g}] ({r.relative_width:.2g}) | {(r.value - ref) / ref:+.2e} |")
    K = np.random.default_rng(0).standard_normal((8, 3, 3, 3))
    slices = float(np.max(np.linalg.norm(K, 2, axis=(-2, -1))))
    reshaped = float(np.linalg.norm(K.reshape(8, -1), 2))
    r = conv_operator_norm(K, (32, 32), padding=1, seed=0)
    print("\nseeded (8, 3, 3, 3) kernel (default_rng(0).standard_normal), 32x32, zeros padding 1:")
    print(f"  max norm of the 24 3x3 slices     {slices:.6f}")
    print(f"  sigma of the kernel as 8 x 27     {reshaped:.6f}  (x3 = {3 * reshaped:.6f}, "
          "the size-free bound's first form)")
    print(f"  operator norm                     {r.value:.6f}  bracket [{r.lower:.6f}, {r.upper:.6f}] ({r.method})")


if __name__ == "__main__":
    main()
