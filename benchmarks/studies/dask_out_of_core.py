"""Tables of a saved out-of-core Dask benchmark run, as docs/dask.md shows them.

The runs themselves are the opt-in benchmark (``benchmarks/test_dask_out_of_core.py``)::

    pytest benchmarks/test_dask_out_of_core.py --dask-out-of-core --benchmark-save=dask
    python -m benchmarks.studies.dask_out_of_core results/<machine>/<id>/NNNN_dask.json [more runs]

This prints, per case: every run (passes, seconds per pass against the bare
pass, error, bracket, peak memory); lipbench's error at the passes each
``svd_compressed(A, 1, n_power_iter=q)`` takes (equal passes); and the passes
each lipbench run needed to reach ``svd_compressed``'s error (equal error).
"""

from __future__ import annotations

import argparse
import json
import sys


def _e(x) -> str:
    return "" if x is None else f"{x:.1e}"


def tables(docs: list[dict]) -> str:
    """The Markdown tables of the saved runs ``docs`` (a case's rows may come from several)."""
    from benchmarks.dask_cases import passes_to_reach

    rows = [b["extra_info"] for doc in docs for b in doc["benchmarks"]
            if (b.get("extra_info") or {}).get("kind") == "dask_out_of_core"]
    out = []
    for case in dict.fromkeys((r["case"], r["shape"]) for r in rows):
        rs = [r for r in rows if (r["case"], r["shape"]) == case]
        r0, bares = rs[0], [b for r in rs for b in r["bare_pass_all"]]
        out.append(f"\n{case[0]} {r0['shape']} {r0['dtype']} ({r0['gigabytes']:.1f} GB, "
                   f"{r0['chunks'][0]}x{r0['chunks'][1]} "
                   f"chunks; bare pass {min(bares):.2f}-{max(bares):.2f} s, median "
                   f"{r0['gigabytes'] / r0['bandwidth_GBps']:.2f} s = {r0['bandwidth_GBps']:.2f} GB/s)\n")
        out.append("| run | passes | s/pass | pass / bare | rel. error | bracket holds | peak / size |")
        out.append("|---|---|---|---|---|---|---|")
        for r in rs:
            ok = "" if r["bracket_ok"] is None else ("yes" if r["bracket_ok"] else "NO")
            conv = "" if r["converged"] in (None, True) else " (stopped)"
            pf = "" if r["peak_fraction"] is None else f"{r['peak_fraction']:.2f}"
            out.append(f"| {r['method']}{conv} | {r['passes']} | {r['seconds_per_pass']:.3g} | "
                       f"{r['pass_over_bare']:.2f} | "
                       f"{_e(r['rel_error'])} | {ok} | {pf} |")
        svd = [r for r in rs if r["method"].startswith("svd_compressed")]
        lip = [r for r in rs if not r["method"].startswith("svd_compressed")]
        if svd and lip:
            out.append("\nEqual passes: relative error after the passes svd_compressed takes (lipbench: its "
                       "estimate after that many passes, summary and certificate included)\n")
            out.append("| passes | svd_compressed | " + " | ".join(r["method"] for r in lip) + " |")
            out.append("|---|---|" + "---|" * len(lip))
            for s in svd:
                p = str(s["passes"])
                out.append(f"| {p} | {_e(s['rel_error'])} | "
                           + " | ".join(_e(r["error_at_svd_compressed_passes"].get(p)) or "-" for r in lip) + " |")
            out.append("\nEqual error: passes lipbench needs to reach svd_compressed's error\n")
            out.append("| svd_compressed (its error) | its passes | " + " | ".join(r["method"] for r in lip) + " |")
            out.append("|---|---|" + "---|" * len(lip))
            for s in svd:
                need = [passes_to_reach([tuple(h) for h in r["error_by_passes"]], s["rel_error"]) for r in lip]
                out.append(f"| {s['method']} ({_e(s['rel_error'])}) | {s['passes']} | "
                           + " | ".join(str(n or "-") for n in need) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="saved pytest-benchmark JSON files of benchmarks/test_dask_out_of_core.py")
    args = ap.parse_args(argv)
    docs = []
    for path in args.runs:
        with open(path) as f:
            docs.append(json.load(f))
    print(tables(docs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
