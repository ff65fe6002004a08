"""Which route a CPU torch tensor should take: its NumPy view, or torch's own
operations (the route of a CUDA tensor).

    python -m benchmarks.studies.torch_route [--repeat 5] [--out results/logs/MACHINE_torch_route.md]

One process; per case and thread setting (one thread, then the default; torch's
own pool is limited with ``torch.set_num_threads`` beside the BLAS's), three
calls run interleaved round by round, the order rotating, so that drift on a
shared machine hits them alike:

(a) ``spectral_norm(A)`` on the NumPy array (the method and options auto
    plans for it, tol 1e-6);
(b) the same on ``torch.from_numpy(A)``, the default route (the NumPy view);
(c) the same method and options with ``LIPBENCH_TORCH_CPU=native`` (torch's
    operations; auto itself would plan a native tensor as a GPU array).

Reported: the medians' ratios b/a and c/a, and whether the three answers agree
within their brackets.  The route b is the default where c/a > 1.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

import lipbench as lb
from lipbench import backends

TOL = 1e-6
CASES = [((2048, 2048), "float64"), ((2048, 2048), "float32"), ((4096, 4096), "float32"), ((512, 256), "float32")]


@contextmanager
def _route(name: str):
    old = os.environ.get(backends.TORCH_CPU_ENV)
    os.environ[backends.TORCH_CPU_ENV] = name
    try:
        yield
    finally:
        if old is None:
            del os.environ[backends.TORCH_CPU_ENV]
        else:
            os.environ[backends.TORCH_CPU_ENV] = old


def _call(x, route: str, method: str, options: dict):
    with _route(route), warnings.catch_warnings():
        warnings.simplefilter("ignore", lb.ConvergenceWarning)
        t0 = time.perf_counter()
        r = lb.spectral_norm(x, method=method, tol=TOL, seed=0, **options)
        return time.perf_counter() - t0, r


def one_case(a: np.ndarray, repeat: int) -> dict:
    import torch

    t = torch.from_numpy(a)
    method, options = lb.auto_plan(a, TOL)
    if options.get("engine") == "propack":  # SciPy's iteration: no native counterpart
        method, options = "lanczos", {"normal": True}
    calls = {"numpy": (a, "numpy", method, options), "torch view": (t, "numpy", method, options),
             "torch native": (t, "native", method, options)}
    times: dict[str, list[float]] = {k: [] for k in calls}
    results = {}
    names = list(calls)
    for k in names:  # warm-up
        _call(*calls[k])
    for r in range(repeat):
        for k in names[r % len(names):] + names[:r % len(names)]:
            dt, res = _call(*calls[k])
            times[k].append(dt)
            results[k] = res
    med = {k: statistics.median(v) for k, v in times.items()}
    lo = max(float(r.lower) for r in results.values())
    hi = min(float(r.upper) for r in results.values())
    return {"median": med, "agree": lo <= hi,
            "methods": {k: f"{r.method} {r.options}" if r.options else r.method for k, r in results.items()}}


def main(argv: list[str] | None = None) -> None:
    import torch

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    lines = [f"torch {torch.__version__}, NumPy {np.__version__}, lipbench {lb.__version__}; "
             f"{os.cpu_count()} CPUs; tol {TOL}; medians of {args.repeat} interleaved rounds", "",
             "| shape | dtype | threads | numpy (s) | torch view / numpy | torch native / numpy | agree | method |",
             "|---|---|---|---|---|---|---|---|"]
    default_threads = torch.get_num_threads()
    for shape, dtype in CASES:
        a = rng.standard_normal(shape).astype(dtype)
        for threads in (1, None):
            torch.set_num_threads(threads or default_threads)
            with threadpool_limits(threads):
                out = one_case(a, args.repeat)
            m = out["median"]
            lines.append(f"| {shape[0]}x{shape[1]} | {dtype} | {threads or 'default'} | {m['numpy']:.4f} | "
                         f"{m['torch view'] / m['numpy']:.2f} | {m['torch native'] / m['numpy']:.2f} | "
                         f"{'yes' if out['agree'] else 'NO'} | {out['methods']['torch native']} |")
            print(lines[-1], flush=True)
    torch.set_num_threads(default_threads)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
