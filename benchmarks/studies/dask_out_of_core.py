"""Out-of-core sigma_max on Dask arrays: lipbench against ``da.linalg.svd_compressed``.

Cases (``--case``, repeatable): ``virtual`` -- a side x side float64
Kronecker matrix generated chunk by chunk (never in memory whole);
``zarr`` -- the same matrix written once to an uncompressed Zarr store under
``--store`` and read from disk each pass (skipped, with the reason, when the
disk has less than 1.2 x its size free; the store is deleted afterwards);
``tall`` -- a rows x 4096 float32 Kronecker matrix.  For each: the time of
one bare pass over A (generation or disk read, the bandwidth), lipbench's
passes, seconds per pass, bracket and error against the known sigma_max,
the process's peak memory (VmHWM, reset before each case), and
``svd_compressed(A, 1, n_power_iter=q)`` for q = 0, 2, 4 with lipbench
stopped at the same number of passes.  Prints one JSON line per run and a
Markdown table.  The full sizes (``--side 60000 --rows 1000000``) take
about an hour on two cores; docs/dask.md has the measured table.

    python -m benchmarks.studies.dask_out_of_core --side 20000 --case virtual --case zarr
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import time
import warnings

import numpy as np


def reset_peak() -> None:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_bytes() -> float:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return math.nan


def _touch(block: np.ndarray) -> np.ndarray:
    return np.asarray([[float(block[0, 0])]])


def bare_pass(A) -> float:
    """Seconds to produce every chunk of A once (read or generate) and drop it."""
    t0 = time.perf_counter()
    A.map_blocks(_touch, chunks=(1, 1), dtype=np.float64).sum().compute()
    return time.perf_counter() - t0


def run_case(name: str, A, sigma: float, bracket, tol: float, qs, progress: bool) -> list[dict]:
    import dask.array as da
    from dask.diagnostics import ProgressBar

    import lipbench as lb

    rows = []
    gb = A.nbytes / 1e9
    reset_peak()
    bare = min(bare_pass(A), bare_pass(A))
    base = dict(case=name, shape=list(A.shape), dtype=str(A.dtype), gigabytes=round(gb, 2),
                bare_pass_s=round(bare, 2), bandwidth_GBps=round(gb / bare, 2))
    reset_peak()
    bar = ProgressBar(minimum=10) if progress else None
    if bar:
        bar.register()
    t0 = time.perf_counter()
    r = lb.spectral_norm(A, seed=0, tol=tol)
    wall = time.perf_counter() - t0
    if bar:
        bar.unregister()
    p = r.passes
    rows.append(dict(base, method="lipbench auto", passes=p.passes, seconds=round(wall, 1),
                     s_per_pass=round(p.seconds_per_pass, 2), pass_over_bare=round(p.seconds_per_pass / bare, 2),
                     rel_error=abs(r.value - sigma) / sigma, bracket=[r.lower, r.upper],
                     bracket_holds=bool(r.lower <= bracket[1] and bracket[0] <= r.upper),
                     converged=r.converged, peak_GB=round(peak_bytes() / 1e9, 2),
                     peak_fraction=round(peak_bytes() / A.nbytes, 3)))
    print(json.dumps(rows[-1]), flush=True)
    for q in qs:
        reset_peak()
        t0 = time.perf_counter()
        _, s, _ = da.linalg.svd_compressed(A, 1, n_power_iter=q, seed=0, compute=True)
        s0 = float(s.compute()[0])
        wall = time.perf_counter() - t0
        rows.append(dict(base, method=f"svd_compressed q={q}", passes=2 + 2 * q, seconds=round(wall, 1),
                         s_per_pass=round(wall / (2 + 2 * q), 2), rel_error=abs(s0 - sigma) / sigma,
                         peak_GB=round(peak_bytes() / 1e9, 2)))
        print(json.dumps(rows[-1]), flush=True)
        steps = 2 + 2 * q - 2  # the summary and the certificate take two of the passes
        if steps >= 1:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", lb.ConvergenceWarning)
                t0 = time.perf_counter()
                r = lb.spectral_norm(A, seed=0, tol=tol, maxiter=steps)
                wall = time.perf_counter() - t0
            rows.append(dict(base, method=f"lipbench maxiter={steps}", passes=r.passes.passes,
                             seconds=round(wall, 1), s_per_pass=round(r.passes.seconds_per_pass, 2),
                             rel_error=abs(r.value - sigma) / sigma, bracket=[r.lower, r.upper],
                             bracket_holds=bool(r.lower <= bracket[1] and bracket[0] <= r.upper)))
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    head = ("| case | method | passes | s/pass | pass / bare pass | rel. error | bracket holds | peak / size |\n"
            "|---|---|---|---|---|---|---|---|")
    out = [head]
    for r in rows:
        out.append(f"| {r['case']} {r['shape'][0]}x{r['shape'][1]} {r['dtype']} ({r['gigabytes']} GB, bare pass "
                   f"{r['bare_pass_s']} s = {r['bandwidth_GBps']} GB/s) | {r['method']} | {r['passes']} | "
                   f"{r['s_per_pass']} | {r.get('pass_over_bare', '')} | {r['rel_error']:.2e} | "
                   f"{r.get('bracket_holds', '')} | {r.get('peak_fraction', '')} |")
    return "\n".join(out)


def main(argv=None) -> int:
    from lipbench.matrices_dask import known_kronecker, write_zarr

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", action="append", choices=["virtual", "zarr", "tall"])
    ap.add_argument("--side", type=int, default=60000, help="side of the square cases (a multiple of 250)")
    ap.add_argument("--rows", type=int, default=1000000, help="rows of the tall case (a multiple of 1000)")
    ap.add_argument("--store", default=tempfile.gettempdir(), help="folder for the Zarr store")
    ap.add_argument("--tol", type=float, default=1e-8)
    ap.add_argument("--q", type=int, action="append", help="svd_compressed power iterations (default 0, 2, 4)")
    ap.add_argument("--progress", action="store_true", help="a progress bar for passes longer than 10 s")
    args = ap.parse_args(argv)
    cases = args.case or ["virtual"]
    qs = args.q if args.q is not None else [0, 2, 4]
    p = args.side // 250
    rows: list[dict] = []
    for case in cases:
        if case == "tall":
            V = known_kronecker((args.rows // 1000, 64), (1000, 64), dtype="float32", seed=0)
        else:
            V = known_kronecker((p, p), (250, 250), seed=0)
        if case == "zarr":
            free = shutil.disk_usage(args.store).free
            if free < 1.2 * V.nbytes:
                print(f"# zarr skipped: {free / 1e9:.1f} GB free under {args.store}, the store needs "
                      f"{V.nbytes / 1e9:.1f} GB", flush=True)
                continue
            path = os.path.join(args.store, f"lipbench-kron-{args.side}.zarr")
            t0 = time.perf_counter()
            A = write_zarr(V.array, path)
            print(f"# wrote {path} in {time.perf_counter() - t0:.1f} s", flush=True)
            try:
                rows += run_case("zarr", A, V.sigma_max, V.sigma_bracket, args.tol, qs, args.progress)
            finally:
                shutil.rmtree(path, ignore_errors=True)
        else:
            rows += run_case(case, V.array, V.sigma_max, V.sigma_bracket, args.tol, qs, args.progress)
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
