"""float32 work with float64 verification against float64 work, by tolerance.

    python -m benchmarks.studies.mixed_by_tol [--sides 1024 2048] [--gram-shapes 8192x1024 4096x512] [--repeat 3]

Side by side in one process, one BLAS thread, ``lanczos`` in float64 and with
``work_dtype="float32"`` (float32 Krylov work; the float64 check refuses what
float32 cannot verify, and float64 steps finish from its vector), on five
spectra, for the two routes auto takes on dense float64 input:

* ``normal=True`` on square matrices (``--sides``), at tol 1e-8, 1e-10, 1e-12;
* ``gram=True`` on tall matrices (``--gram-shapes``), at tol 1e-6 to 1e-12.

Prints median times, steps, the true relative error and the ratio (float64
time / mixed time: above 1, mixed is faster).  This is the measurement behind
auto's ``AUTO_MIXED_MIN_TOL_NORMAL``; what it found: docs/studies/mixed_by_tol.md.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

import lipbench as lb
from benchmarks.spectra import SPECTRA as _ALL_SPECTRA
from lipbench import matrices

SPECTRA = tuple(_ALL_SPECTRA[label] for label in ("gaussian", "gap", "low_rank", "nn_like", "geometric"))
TOLS = (1e-8, 1e-10, 1e-12)
GRAM_TOLS = (1e-6, 1e-8, 1e-10, 1e-12)


def _median_ms(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times)), out


def _cases(sides, gram_shapes):
    """(route, options, m, n, tols) per measured case."""
    for side in sides:
        yield "normal", {"normal": True}, side, side, TOLS
    for shape in gram_shapes:
        m, n = (int(x) for x in shape.lower().split("x"))
        yield "gram", {"gram": True}, m, n, GRAM_TOLS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="*", default=[1024, 2048])
    parser.add_argument("--gram-shapes", nargs="*", default=["8192x1024", "4096x512"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| route | shape | spectrum | tol | float64: ms | steps | error | mixed: ms | steps | error | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("error", lb.ConvergenceWarning)  # a non-converged row is a failure here
        warm = matrices.gaussian(600, 600, seed=1).matrix  # first calls pay imports and allocations
        for opts in ({"normal": True}, {"normal": True, "work_dtype": "float32"}, {"gram": True},
                     {"gram": True, "work_dtype": "float32"}):
            lb.spectral_norm(warm, method="lanczos", tol=1e-8, seed=0, **opts)
        for route, base, m, n, tols in _cases(args.sides, args.gram_shapes):
            for spectrum in SPECTRA:
                ks = spectrum.make(m, n, seed=0)
                for tol in tols:
                    rows = []
                    for opts in (base, {**base, "work_dtype": "float32"}):
                        def run(ks=ks, tol=tol, opts=opts):
                            return lb.spectral_norm(ks.matrix, method="lanczos", tol=tol, seed=1, **opts)

                        ms, r = _median_ms(run, args.repeat)
                        rows.append((ms, r.iterations, abs(r.value - ks.sigma_max) / ks.sigma_max))
                    (t64, k64, e64), (t32, k32, e32) = rows
                    print(f"| {route} | {m}x{n} | {spectrum.family} | {tol:g} | {t64:.1f} | {k64} | {e64:.1e} | "
                          f"{t32:.1f} | "
                          f"{k32} | {e32:.1e} | {t64 / t32:.2f} |", flush=True)

if __name__ == "__main__":
    main()
