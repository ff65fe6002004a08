"""What validation costs by scale: the time to turn a dense matrix into its
operator (``lipbench.testing.operator_of``: the summary, and for a badly
scaled matrix the scaled copy), against one plain read of it.

    python -m benchmarks.studies.summary_pass [--shape 4000 2000] [--repeat 7]

Cases: a Gaussian matrix as it is, times 1e-12 (scaled, no rung of the
summary's ladder), times 1e-300 and 1e300 (the ladder's lowest and highest
rungs), C-ordered (the blocked pass) and F-ordered (whole-array reductions).
Reported: per case the median CPU time of ``operator_of`` in milliseconds (CPU
time: steadier than wall time on a shared machine) and
its ratio to the median time of ``float(np.max(np.abs(A)))`` (one read and a
temporary), the calls of a round interleaved, one BLAS thread.  Issue 24: a
badly scaled matrix was summarized twice (its own sums out of range, then its
scaled copy's), now once; run it on two commits to compare them.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from lipbench import matrices
from lipbench.testing import operator_of

FACTORS = (1.0, 1e-12, 1e-300, 1e300)


def _median_ms(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for k, fn in fns.items():
            t = time.process_time()
            fn()
            times[k].append(time.process_time() - t)
    return {k: 1e3 * statistics.median(v) for k, v in times.items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shape", type=int, nargs=2, default=(4000, 2000))
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    base = matrices.gaussian(*args.shape, seed=0).matrix
    print("| order | factor | operator_of ms | read ms | ratio |\n|---|---|---|---|---|")
    with threadpool_limits(1):
        for order in ("C", "F"):
            for factor in FACTORS:
                A = np.asarray(base * factor, order=order)
                ms = _median_ms({"op": lambda A=A: operator_of(A), "read": lambda A=A: float(np.max(np.abs(A)))},
                                args.repeat)
                print(f"| {order} | {factor:g} | {ms['op']:.1f} | {ms['read']:.1f} | {ms['op'] / ms['read']:.2f} |")


if __name__ == "__main__":
    main()
