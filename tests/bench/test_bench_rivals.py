"""SciPy's (and PyTorch's) solvers at their best (benchmarks/rivals.py,
benchmarks/test_rivals.py): the rule-derived setting, the search for the
luckiest one, and a real tiny session whose rows the report judges."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import rivals
from lipbench.report.load import load_results
from lipbench.report.rivals import rivals_table
from lipbench.report.targets import targets_table

REPO = Path(__file__).resolve().parents[2]
TARGET = 1e-6  # the relative error each search is asked to reach (benchmarks/test_rivals.py's)


def _matrix(n=200, gap=0.999, seed=0):
    """A matrix with sigma_2 / sigma_1 = ``gap``: slow enough that PROPACK's
    default basis does not reach a tight tolerance."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((n, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.linspace(1.0, 0.1, n)
    s[1] = gap
    return (u * s) @ v.T, 1.0


def test_rule_is_sqrt_of_the_target_and_doubles_maxiter_until_the_solver_converges():
    A, _ = _matrix()
    setting, tried = rivals.rule_setting(A, "arpack", TARGET, seed=1)
    assert setting == {"tol": 1e-3} and tried == []
    setting, tried = rivals.rule_setting(A, "propack", TARGET, seed=1)
    assert setting["tol"] == 1e-3
    assert len(tried) > 1 and all("did not converge" in t for t in tried[:-1])
    assert tried[-1].endswith(": converged")
    assert setting["maxiter"] == 20 * 2 ** (len(tried) - 1)
    _, failed = rivals.svds_call(A, "propack", setting, 1, strict=True)()
    assert failed == ""


def test_luckiest_is_the_fastest_setting_that_met_the_target():
    A, truth = _matrix(gap=0.9)
    best, tried = rivals.luckiest(A, "arpack", TARGET, truth, seed=1, repeats=1)
    met = [t for t in tried if t["met_target"]]
    assert best is not None and met
    for t in tried:
        assert t["met_target"] == (t["rel_error"] is not None and t["rel_error"] <= TARGET and not t["failed"])
    assert best == min(met, key=lambda t: t["seconds"])["setting"]
    value, _ = rivals.svds_call(A, "arpack", best, 1)()
    assert abs(value - truth) <= TARGET * truth


def test_a_tiny_session_stores_a_row_the_report_judges(tmp_path):
    env = dict(os.environ, LIPBENCH_MACHINE="rivals-test-box", LIPBENCH_BACKENDS="numpy")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/test_rivals.py", "-q", "-p", "no:cacheprovider",
         "--lipbench-size=tiny", f"--lipbench-results={tmp_path}", "--lipbench-no-report",
         "--benchmark-save=rivals", "-k", "256x256", "-rs"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    runs = list(tmp_path.rglob("*.json"))
    assert len(runs) == 1
    rows = {b["extra_info"]["dtype"]: b["extra_info"] for b in json.loads(runs[0].read_text())["benchmarks"]}
    row = rows["float64"]
    c = row["contenders"]
    threads = row["thread_settings"]
    hi = threads[-1]
    target = row["target_tol"]
    for name in ("auto", "arpack (rule)", "propack (rule)", "lobpcg (rule)", "A^T(Ax)"):
        assert f"{name}@{hi}" in c, (name, sorted(c))
    for t in threads:
        assert c[f"auto@{t}"]["met_target"] and c[f"auto@{t}"]["rel_error"] <= target
        assert f"numpy.linalg.norm@{t}" in c or f"numpy.linalg.norm@{t}" in row["left_out"], (t, sorted(c))
    for entry in c.values():  # each verdict agrees with its own error; fixed-step rows never meet
        if entry["role"] in ("product", "sn"):
            assert not entry["met_target"]
        elif entry["median"] is not None:
            assert entry["met_target"] == (entry["rel_error"] is not None and entry["rel_error"] <= target)
            assert entry["median"] > 0 and math.isfinite(entry["median"])
        assert {"library", "backend", "device", "dtype", "seed", "threads", "converged"} <= set(entry), entry
    assert {f"{r}@{hi}" for r in rivals.RIVALS} <= set(row["search"])
    if importlib.util.find_spec("torch") is None:
        assert "torch" in row["left_out"] and set(rows) == {"float64"}
        assert "the float32 rows compare NumPy/SciPy with PyTorch" in proc.stdout, proc.stdout[-2000:]
    else:
        assert set(rows) == {"float64", "float32"}
        for name in ("torch.linalg.matrix_norm", "torch.svd_lowrank (rule)", "torch.lobpcg (rule)",
                     "torch SN power (1 step)", "torch SN power (15 steps)", "auto (torch)"):
            assert f"{name}@{hi}" in c, (name, sorted(c))
            assert c[f"{name}@{hi}"]["backend"] == "torch", c[f"{name}@{hi}"]
        assert f"torch.linalg.matrix_norm@{threads[0]}" in c
    df = load_results(tmp_path)
    table = rivals_table(df)
    assert set(table["contender"]) >= {"auto", "arpack (rule)", "numpy.linalg.norm"}
    assert isinstance(targets_table(df), pd.DataFrame)  # the 256^2 rows are no target's input: nothing judged
