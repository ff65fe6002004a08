"""report.compare: speed-ups as ratios of medians within one run, machines side by side, the method picker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from lipbench import report  # noqa: E402

from .fakes import bench, cpu_run, write_run  # noqa: E402


def test_speedups_are_ratios_of_medians_within_a_run(tmp_path):
    cpu_run(tmp_path)
    df = report.add_speedups(report.load_results(tmp_path))
    row = df[(df["method"] == "lanczos") & (df["shape"] == "1024x1024") & (df["tol"] == 1e-6)].iloc[0]
    assert row["speedup_vs_numpy_norm"] == pytest.approx(0.4 / 0.02), row.to_dict()
    assert row["speedup_vs_arpack"] == pytest.approx(0.1 / 0.02), row.to_dict()
    assert row["speedup_vs_svd"] == pytest.approx(0.5 / 0.02), row.to_dict()
    # arpack is matched at the same tolerance, numpy.linalg.norm at any.
    loose = df[(df["method"] == "lanczos") & (df["tol"] == 1e-3)].iloc[0]
    assert loose["speedup_vs_arpack"] == pytest.approx(0.05 / 0.01)
    assert loose["speedup_vs_numpy_norm"] == pytest.approx(0.4 / 0.01)
    big = df[(df["method"] == "lanczos") & (df["shape"] == "4096x4096")].iloc[0]
    assert big["speedup_vs_numpy_norm"] == pytest.approx(12.0 / 0.3)
    assert big["speedup_vs_svd"] != big["speedup_vs_svd"]  # no svd row at 4096: NaN, not invented


def test_multi_machine_cross_hardware_table(tmp_path):
    cpu_run(tmp_path, "cpu-2c-openblas")
    gpu = [bench(b["extra_info"]["method"], (b["extra_info"]["m"], b["extra_info"]["n"]),
                  median=b["stats"]["median"] / 10, tol=b["extra_info"]["tol"] or 1e-6,
                  backend="cupy", rel_error=b["extra_info"]["rel_error"])
           for b in json.loads(cpu_run(tmp_path / "tmp").read_text())["benchmarks"]]
    write_run(tmp_path, "gpu-nvidia-h100", gpu, gpu="NVIDIA H100")
    df = report.load_results(tmp_path / "cpu-2c-openblas")
    assert set(df["machine"]) == {"cpu-2c-openblas"}
    df = report.load_results(tmp_path)
    assert set(df["machine"]) == {"cpu-2c-openblas", "gpu-nvidia-h100"}
    cross = report.cross_hardware(df)
    col = "speedup gpu-nvidia-h100:cupy vs cpu-2c-openblas:numpy"
    assert col in cross.columns, list(cross.columns)
    assert cross[col].dropna().to_numpy() == pytest.approx(10.0)
    paths = report.write_report(tmp_path, tmp_path / "out")
    md = Path(paths["md"]).read_text()
    assert "Across hardware (ratios of medians)" in md
    assert "gpu-nvidia-h100" in md and "cpu-2c-openblas" in md


def test_latest_run_per_machine_wins_but_ratios_stay_within_a_run(tmp_path):
    cpu_run(tmp_path, name="0001_old", when="2025-01-01T00:00:00+00:00", scale=2.0)
    cpu_run(tmp_path, name="0002_new", when="2025-02-01T00:00:00+00:00", scale=1.0)
    df = report.add_speedups(report.load_results(tmp_path))
    assert len(df) == 20
    latest = report.latest_per_case(df)
    assert len(latest) == 10 and set(latest["run"]) == {"0002_new"}
    old = df[(df["run"] == "0001_old") & (df["method"] == "lanczos") & (df["shape"] == "1024x1024")
             & (df["tol"] == 1e-6)].iloc[0]
    assert old["speedup_vs_numpy_norm"] == pytest.approx(0.4 / 0.02)  # not mixed with the new run


def test_method_picker_ignores_misses(tmp_path):
    cpu_run(tmp_path)
    df = report.add_speedups(report.load_results(tmp_path))
    pick = report.method_picker(df)
    row = pick[(pick["shape"] == "1024x1024") & (pick["tol"] == 1e-6)].iloc[0]
    assert row["fastest (met target)"] == "lanczos", pick  # power was faster than arpack but missed
