"""What certifying the upper bound costs, next to numpy.linalg.norm(A, 2).

    python benchmarks/studies/certify_cost.py [--repeat 5] [--out results/logs/cpu-2c-openblas_certify_cost.md]

One process; per shape and BLAS thread limit (1, then the default), the four
calls run interleaved round by round (the order rotates) so that drift on a
shared machine hits them alike; medians in seconds.

(a) ``numpy.linalg.norm(A, 2)`` (a full SVD);
(b) ``lipbench.spectral_norm(A, tol=1e-6, seed=0)``: the estimate (auto);
(c) ``certify_upper(A, lower, 1e-6)`` with (b)'s lower bound: the inertia
    certificate (one Gram product and one Cholesky);
(d) ``spectral_norm(A, method="gram", tol=1e-6)``: Gram iteration (only up
    to ``--gram-max-entries`` entries: about 8 N^3 flops per iteration, it
    already costs more than the norm at 2048^2).

Reported: (b+c)/a, c/b, (d)/a, and the certified width ``(upper - lower) / lower``
of (b)'s lower with (c)'s upper.  A second table times the Gram product alone:
BLAS ``dsyrk`` (what the certificate uses on NumPy) against ``A.T @ A``.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from pathlib import Path

import numpy as np
from scipy.linalg import blas
from threadpoolctl import threadpool_info, threadpool_limits

import lipbench as lb
from lipbench.spectral.certify import certify_upper

TOL = 1e-6
CASES = [((2048, 2048), "float64"), ((4096, 4096), "float64"), ((8192, 1024), "float64"),
         ((1024, 8192), "float64"), ((2048, 2048), "float32")]


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def one_case(A: np.ndarray, repeat: int, with_gram: bool) -> dict:
    calls = {
        "norm": lambda: np.linalg.norm(A, 2),
        "estimate": lambda: lb.spectral_norm(A, tol=TOL, seed=0),
    }
    if with_gram:
        calls["gram"] = lambda: lb.spectral_norm(A, method="gram", tol=TOL)
    est = lb.spectral_norm(A, tol=TOL, seed=0)
    calls["certificate"] = lambda: certify_upper(A, est.lower, TOL)
    times: dict[str, list[float]] = {k: [] for k in calls}
    names = list(calls)
    outs = {}
    for r in range(repeat):
        for k in names[r % len(names):] + names[:r % len(names)]:
            dt, outs[k] = timed(calls[k])
            times[k].append(dt)
    med = {k: statistics.median(v) for k, v in times.items()}
    med.setdefault("gram", math.nan)
    cert = outs["certificate"]
    sigma = float(outs["norm"])
    return {
        **med,
        "width": (cert.upper - est.lower) / est.lower,
        "holds": cert.holds,
        "valid": cert.upper >= sigma * (1 - 1e-12) and est.lower <= sigma * (1 + 1e-12),
        "gram_width": outs["gram"].relative_width if with_gram else math.nan,
        "method": est.method,
    }


def gram_products(A: np.ndarray, repeat: int) -> tuple[float, float]:
    a = np.asarray(A, dtype=np.float64)
    m, n = a.shape

    def syrk():
        return blas.dsyrk(-1.0, a.T, trans=0 if m >= n else 1)

    def mm():
        return a.T @ a if m >= n else a @ a.T

    ts, tm = [], []
    for _ in range(repeat):
        ts.append(timed(syrk)[0])
        tm.append(timed(mm)[0])
    return statistics.median(ts), statistics.median(tm)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--gram-max-entries", type=int, default=2048 * 2048)
    p.add_argument("--out", type=Path, default=None, help="also write the tables to this file")
    args = p.parse_args()
    blas_info = "; ".join(f"{d['internal_api']} {d['version']} ({d['num_threads']} threads)"
                          for d in threadpool_info())
    lines = [f"# certify_cost (repeat {args.repeat}; BLAS: {blas_info})", "",
             "| shape | dtype | threads | norm s | estimate s | certificate s | gram s | (est+cert)/norm "
             "| cert/est | gram/norm | certified width | holds | gram width |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    gram_lines = ["", "| shape | dtype | threads | dsyrk s | A.T @ A s |", "|---|---|---|---|---|"]
    rng = np.random.default_rng(0)
    for shape, dtype in CASES:
        A = rng.standard_normal(shape).astype(dtype)
        for threads in (1, None):
            with threadpool_limits(limits=threads):
                r = one_case(A, args.repeat, A.size <= args.gram_max_entries)
                gs, gm = gram_products(A, args.repeat)
            tlabel = "1" if threads == 1 else "default"
            if not r["valid"]:
                raise SystemExit(f"{shape} {dtype}: the bracket does not hold the norm")
            lines.append(
                f"| {shape[0]}x{shape[1]} | {dtype} | {tlabel} | {r['norm']:.3f} | {r['estimate']:.3f} "
                f"| {r['certificate']:.3f} | {r['gram']:.3f} | {(r['estimate'] + r['certificate']) / r['norm']:.3f} "
                f"| {r['certificate'] / r['estimate']:.2f} | {r['gram'] / r['norm']:.3f} | {r['width']:.2e} "
                f"| {r['holds']} | {r['gram_width']:.1e} |")
            gram_lines.append(f"| {shape[0]}x{shape[1]} | {dtype} | {tlabel} | {gs:.3f} | {gm:.3f} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines + gram_lines) + "\n"
    print("\n".join(gram_lines))
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
