"""The out-of-core Dask benchmark (benchmarks/test_dask_out_of_core.py): opt-in,
and a row holds what docs/dask.md's tables read from it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("dask.array")

from benchmarks import dask_cases as dc  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_equal_passes_and_equal_error_read_the_history():
    history = [(3, 0.5), (4, 0.1), (5, 0.2), (6, 1e-3)]  # an estimate may get worse before better
    assert dc.equal_passes(history, 2) is None  # below the first pass count: nothing to compare
    assert dc.equal_passes(history, 5) == 0.1  # the best estimate within 5 passes
    assert dc.equal_passes(history, 10) == 1e-3
    assert dc.passes_to_reach(history, 0.15) == 4
    assert dc.passes_to_reach(history, 1e-3) == 6
    assert dc.passes_to_reach(history, 1e-4) is None


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="multiple of 250"):
        dc.virtual_matrix("virtual", 1000 + 1, 100000)
    with pytest.raises(ValueError, match="multiple of 1000"):
        dc.virtual_matrix("tall", 1000, 64500)


def _session(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, LIPBENCH_MACHINE="dask-test-box", LIPBENCH_BACKENDS="numpy")
    env.pop("LIPBENCH_DASK_OUT_OF_CORE", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/test_dask_out_of_core.py", "-q", "-rs", "-p", "no:cacheprovider",
         f"--lipbench-results={tmp_path}", "--lipbench-no-report", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_skipped_without_the_flag(tmp_path):
    proc = _session(tmp_path, "-k", "virtual-auto")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 skipped" in proc.stdout and "opt-in: --dask-out-of-core" in proc.stdout, proc.stdout[-3000:]


def test_a_small_session_stores_its_rows(tmp_path):
    proc = _session(tmp_path, "--dask-out-of-core", "--dask-side", "500", "--benchmark-save=dask",
                    "-k", "virtual-auto or virtual-svd_compressed-q2")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (saved,) = tmp_path.rglob("*_dask.json")
    rows = {b["extra_info"]["method"]: b["extra_info"] for b in json.loads(saved.read_text())["benchmarks"]}
    assert set(rows) == {"auto", "svd_compressed-q2"}, rows.keys()
    auto, svd = rows["auto"], rows["svd_compressed-q2"]
    for r in rows.values():
        assert r["kind"] == "dask_out_of_core" and r["shape"] == "500x500" and r["bare_pass_seconds"] > 0, r
        assert r["passes"] >= 2 and r["seconds_per_pass"] > 0 and r["peak_bytes"] > 0, r
    assert auto["bracket_ok"] and auto["converged"] and auto["passes"] == auto["error_by_passes"][-1][0], auto
    assert auto["pass_kinds"][0] == "summary" and len(auto["pass_seconds"]) == auto["passes"], auto
    assert svd["passes"] == 6 and svd["lower"] is None, svd
    # the svd_compressed row ran after lipbench's: it names the passes lipbench needed for its error
    assert set(svd["lipbench_passes_to_same_error"]) == {"auto"}, svd
