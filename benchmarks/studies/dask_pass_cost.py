"""Where the time of one pass over a generated Dask matrix goes.

For the virtual Kronecker matrix (``lipbench.matrices_dask.known_kronecker``)
of the given side, timed side by side, medians of ``--repeats``, one BLAS
thread per task: generating every chunk, and generating it then forming
``t = a x`` and ``z = a^T t`` (the normal-operator pass's products), each
sequentially on one thread, in a plain pool of two threads, and through
Dask's threaded scheduler (a bare ``map_blocks`` pass against lipbench's
pass).  The ratios say what the products cost next to producing the chunk,
what two threads sharing the memory bus add, and what Dask adds.  docs/dask.md
shows a run::

    python -m benchmarks.studies.dask_pass_cost --side 20000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    from benchmarks.dask_cases import bare_pass
    from lipbench import matrices
    from lipbench.matrices_dask import CHUNK_BYTES, kronecker
    from lipbench.spectral import dask_support

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--side", type=int, default=20000, help="a multiple of 250")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="threads of the plain pool")
    args = ap.parse_args(argv)
    p = args.side // 250
    B = matrices.make("gaussian", p, p, seed=0).matrix
    C = matrices.make("geometric", 250, 250, seed=1).matrix
    V = kronecker(B, C)
    A = V.array
    rows = max(A.chunks[0])
    starts = list(range(0, args.side, rows))
    x = np.random.default_rng(0).standard_normal(args.side)
    generate = A.to_delayed().ravel()  # one delayed chunk each, computed on its own below

    def gen(i: int) -> float:
        return float(generate[i].compute(scheduler="sync")[0, 0])

    def gen_products(i: int) -> float:
        a = generate[i].compute(scheduler="sync")
        t = a @ x
        return float((a.T @ t)[0])

    def seq(f) -> float:
        t0 = time.perf_counter()
        for i in range(len(starts)):
            f(i)
        return time.perf_counter() - t0

    def pool(f) -> float:
        with ThreadPoolExecutor(args.threads) as ex:
            t0 = time.perf_counter()
            list(ex.map(f, range(len(starts))))
            return time.perf_counter() - t0

    import lipbench as lb

    def dask_pass() -> float:  # the second step's pass: the first also turns A's graph into slabs once
        r = lb.spectral_norm(A, "power", maxiter=2, tol=1e-300, seed=0)
        return r.passes.seconds[-1]

    runs = {"1 thread: generate": lambda: seq(gen), "1 thread: generate + products": lambda: seq(gen_products),
            "pool: generate": lambda: pool(gen), "pool: generate + products": lambda: pool(gen_products),
            "dask: bare pass": lambda: bare_pass(A), "dask: lipbench pass": dask_pass}
    got: dict = {k: [] for k in runs}
    import warnings

    with threadpool_limits(1, "blas"), warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)
        for _ in range(args.repeats):  # interleaved, so that load on the machine hits every variant
            for k, f in runs.items():
                got[k].append(f())
    med = {k: statistics.median(v) for k, v in got.items()}
    print(f"side {args.side}: {len(starts)} chunks of {rows * args.side * 8 / 2**20:.0f} MiB "
          f"(CHUNK_BYTES {CHUNK_BYTES >> 20} MiB); medians of {args.repeats}, seconds; "
          f"BLAS threads per task in lipbench's pass: {dask_support.blas_threads_per_task()}")
    for k, v in med.items():
        print(f"  {k}: {v:.3f}")
    print(f"pass / generation: 1 thread {med['1 thread: generate + products'] / med['1 thread: generate']:.2f}, "
          f"pool of {args.threads} {med['pool: generate + products'] / med['pool: generate']:.2f}, "
          f"dask {med['dask: lipbench pass'] / med['dask: bare pass']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
