"""Side-by-side timings behind auto's CPU thresholds.

    python -m benchmarks.studies.auto_rule [--repeat 9] [--skip-operator]

One process, one BLAS thread, methods interleaved round by round (so that
drift on a shared machine hits them alike); medians in milliseconds.  What
it found, and the log of each run: docs/studies/auto_rule.md.

1. Small dense matrices (Gaussian spectrum, tol 1e-6): the full SVD against
   ``auto`` and against SciPy's ARPACK and PROPACK through lipbench (their
   answers re-checked; "unverified" when that check failed).  Behind
   ``AUTO_SVD_MAX_ENTRIES`` and the small-size rows of the report.
2. LinearOperators (tol 1e-6 and 1e-3): ``auto`` (the normal-operator
   iteration with thick restarts) against the bidiagonalization and ARPACK,
   over the 100 000^2 sparse benchmark matrix and over a dense 2048^2 one.
3. The one-pass product ``A^T (A x)`` against two products, by matrix size,
   per step of Lanczos on ``A^T A`` (``fused_min_bytes=0`` against a bound
   no matrix reaches): behind the operator's fusing threshold.
4. Lanczos's check schedule: the tridiagonal eigenproblem of the stopping
   test solved at every step (``check_warmup`` beyond any step count)
   against at the scheduled steps, on auto's route (the iterates are the
   same; the steps and the time are compared), 256^2 to 2048^2.
5. The steps the schedule adds: every step against scheduled over 630 runs
   per route (sizes, seven spectra, tolerances, seeds, both dtypes).
6. What a block costs: ``A^T (A X)`` with X of b columns against the two
   products with one vector (why no block Lanczos here).
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.sparse.linalg import aslinearoperator
from threadpoolctl import threadpool_limits

import lipbench as lb
from benchmarks.grid import SPARSE_BLOCK, SPARSE_N
from benchmarks.spectra import GRID_SPECTRA, SPECTRA, sparse_block_operator
from lipbench import matrices

#: ``fused_min_bytes`` above every matrix here: the operator never fuses its two products
NEVER_FUSE = 2**62
#: ``check_warmup`` above every step count here: the stopping test runs at every step
EVERY_STEP = 10**9


def _interleaved(calls: dict, repeat: int) -> dict:
    """Median seconds of each call, run round-robin ``repeat`` times after one warm-up."""
    last = {name: fn() for name, fn in calls.items()}
    times: dict = {name: [] for name in calls}
    for _ in range(repeat):
        for name, fn in calls.items():
            t0 = time.perf_counter()
            last[name] = fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (float(np.median(t)), last[name]) for name, t in times.items()}


def small_dense(repeat: int) -> None:
    print("## 1. Small dense matrices, Gaussian spectrum, tol 1e-6\n")
    methods = ("svd", "auto", "arpack", "propack")
    print("| side | dtype | auto picks | " + " | ".join(f"{m}: ms" for m in methods)
          + " | svd / auto | arpack / auto | propack / auto |")
    print("|---" * (len(methods) + 6) + "|")
    for side in (128, 160, 192, 224, 256, 384, 512):
        for dtype in ("float64", "float32"):
            A = matrices.gaussian(side, side, seed=1, dtype=dtype).matrix
            out = _interleaved({m: (lambda m=m, A=A: lb.spectral_norm(A, method=m, tol=1e-6, seed=1)) for m in methods},
                               repeat)
            ms = {m: 1e3 * out[m][0] for m in methods}
            cell = {m: f"{ms[m]:.2f}" + ("" if out[m][1].converged else " (unverified)") for m in methods}
            print(f"| {side} | {dtype} | {out['auto'][1].method} | " + " | ".join(cell[m] for m in methods)
                  + f" | {ms['svd'] / ms['auto']:.2f} | {ms['arpack'] / ms['auto']:.2f} | "
                  f"{ms['propack'] / ms['auto']:.2f} |", flush=True)


def operators(repeat: int) -> None:
    print("\n## 2. LinearOperators\n")
    print("| operator over | tol | auto: ms | bidiagonalization: ms | arpack: ms | matvecs (auto / bidiag / arpack) |")
    print("|---|---|---|---|---|---|")
    sparse, _ = sparse_block_operator("gaussian", SPARSE_N, SPARSE_BLOCK, "float64", 1)
    dense = matrices.gaussian(2048, 2048, seed=1).matrix
    for label, M in ((f"sparse {SPARSE_N}^2", sparse), ("dense 2048^2", dense)):
        L = aslinearoperator(M)
        for tol in (1e-6, 1e-3):
            out = _interleaved({
                "auto": lambda L=L, tol=tol: lb.spectral_norm(L, tol=tol, seed=1),
                "bidiag": lambda L=L, tol=tol: lb.spectral_norm(L, method="lanczos", tol=tol, seed=1),
                "arpack": lambda L=L, tol=tol: lb.spectral_norm(L, method="arpack", tol=tol, seed=1),
            }, max(1, repeat // 3))
            ms = {k: 1e3 * v[0] for k, v in out.items()}
            mv = " / ".join(str(out[k][1].matvecs) for k in ("auto", "bidiag", "arpack"))
            print(f"| {label} | {tol:g} | {ms['auto']:.0f} | {ms['bidiag']:.0f} | {ms['arpack']:.0f} | {mv} |",
                  flush=True)


def fused_product(repeat: int) -> None:
    print("\n## 3. One-pass A^T (A x) against two products, per step of Lanczos on A^T A "
          "(median of interleaved runs, tol 1e-6)\n")
    print("| side | dtype | MiB | steps (one pass / two) | one pass: us per step | two products: us per step "
          "| two / one pass |")
    print("|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for side in (1024, 2048, 4096):
        for dtype in ("float64", "float32"):
            A = rng.standard_normal((side, side)).astype(dtype)

            def run(fused_min_bytes: int, A: np.ndarray = A):
                return lb.spectral_norm(A, method="lanczos", normal=True, tol=1e-6, seed=1,
                                        fused_min_bytes=fused_min_bytes)

            out = _interleaved({"fused": lambda: run(0), "two": lambda: run(NEVER_FUSE)}, max(5, repeat))
            kf, kt = out["fused"][1].iterations, out["two"][1].iterations
            f, t = 1e6 * out["fused"][0] / kf, 1e6 * out["two"][0] / kt
            print(f"| {side} | {dtype} | {A.nbytes / 2**20:.0f} | {kf} / {kt} | {f:.0f} | {t:.0f} | {t / f:.2f} |",
                  flush=True)


def _auto_route(A, tol: float, seed: int = 1, **options):
    """``lb.spectral_norm`` on the route ``method="auto"`` takes for ``A`` at
    ``tol`` (through ``lb.auto_plan``), with Lanczos's ``options`` added."""
    method, plan = lb.auto_plan(A, tol)
    return lb.spectral_norm(A, method=method, tol=tol, seed=seed, **plan, **options)


def check_schedule(repeat: int) -> None:
    print("\n## 4. Stopping test every step against the check schedule (normal-operator Lanczos, auto's route)\n")
    print("| side | dtype | family | tol | steps (every / scheduled) | every step: ms | scheduled: ms "
          "| every / scheduled |")
    print("|---|---|---|---|---|---|---|---|")
    for side in (256, 512, 1024, 2048):
        for dtype in ("float64", "float32"):
            for family, spectrum in GRID_SPECTRA.items():
                if side == 2048 and family != "gaussian":
                    continue
                A = spectrum.make(side, side, seed=1, dtype=dtype).matrix
                for tol in (1e-6, 1e-3):
                    out = _interleaved({"every": lambda A=A, tol=tol: _auto_route(A, tol, check_warmup=EVERY_STEP),
                                        "sched": lambda A=A, tol=tol: _auto_route(A, tol)},
                                       repeat if side < 2048 else max(3, repeat // 3))
                    e, s_ = 1e3 * out["every"][0], 1e3 * out["sched"][0]
                    print(f"| {side} | {dtype} | {family} | {tol:g} | {out['every'][1].iterations} / "
                          f"{out['sched'][1].iterations} | {e:.2f} | {s_:.2f} | {e / s_:.2f} |", flush=True)


def schedule_steps() -> None:
    print("\n## 5. Steps with the stopping test every step against the check schedule\n")
    print("| route | runs | steps, every step | steps, scheduled | runs that differ | largest difference |")
    print("|---|---|---|---|---|---|")
    spectra = [SPECTRA[label] for label in
               ("gaussian", "gap", "gap1e-4", "nn_like", "geometric", "polynomial", "low_rank")]

    def route(name: str, A, tol: float, seed: int, **options):
        if name == "bidiagonalization":
            return lb.spectral_norm(A, method="lanczos", tol=tol, seed=seed, **options)
        return _auto_route(A, tol, seed, **options)

    for name in ("normal-operator (auto)", "bidiagonalization"):
        runs = every_total = sched_total = differ = worst = 0
        for side in (200, 300, 700):
            for spectrum in spectra:
                for dtype in ("float64", "float32"):
                    for seed in range(3):
                        A = spectrum.make(side, side, seed=seed, dtype=dtype).matrix
                        for tol in (1e-3, 1e-5, 1e-6, 1e-8, 1e-10):
                            e = route(name, A, tol, seed, check_warmup=EVERY_STEP)
                            s_ = route(name, A, tol, seed)
                            runs += 1
                            every_total += e.iterations
                            sched_total += s_.iterations
                            differ += s_.iterations != e.iterations
                            worst = max(worst, s_.iterations - e.iterations)
        print(f"| {name} | {runs} | {every_total} | {sched_total} | {differ} | {worst} steps |", flush=True)


def block_products(repeat: int) -> None:
    print("\n## 6. A^T (A X) with a block X of b columns, against the two products with one vector\n")
    print("| side | dtype | b = 1: ms | b = 2 | b = 4 | b = 8 | b = 16 | b = 32 |")
    print("|---|---|---|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for side, dtype in ((2048, "float32"), (2048, "float64"), (4096, "float32")):
        A = rng.standard_normal((side, side)).astype(dtype)
        x = rng.standard_normal(side).astype(dtype)
        calls = {1: lambda A=A, x=x: A.T @ (A @ x)}
        for b in (2, 4, 8, 16, 32):
            X = rng.standard_normal((side, b)).astype(dtype)
            calls[b] = lambda A=A, X=X: A.T @ (A @ X)
        out = _interleaved(calls, max(5, repeat))
        one = out[1][0]
        cells = " | ".join(f"{out[b][0] / one:.2f}x" for b in (2, 4, 8, 16, 32))
        print(f"| {side} | {dtype} | {1e3 * one:.2f} | {cells} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--skip-operator", action="store_true", help="leave out part 2 (the slowest)")
    args = parser.parse_args()
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)  # unverified answers are marked in the table
        small_dense(args.repeat)
        if not args.skip_operator:
            operators(args.repeat)
        fused_product(args.repeat)
        check_schedule(args.repeat)
        schedule_steps()
        block_products(args.repeat)


if __name__ == "__main__":
    main()
