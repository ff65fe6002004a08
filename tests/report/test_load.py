"""report.load: saved pytest-benchmark runs -> one tidy frame; corrupt and foreign files named and skipped."""

from __future__ import annotations

import json

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from lipbench import report  # noqa: E402

from .fakes import cpu_run, write_run  # noqa: E402


def test_load_results_is_tidy_and_carries_accuracy(tmp_path):
    cpu_run(tmp_path)
    df = report.load_results(tmp_path)
    assert len(df) == 10, df
    for col in ("machine", "method", "backend", "dtype", "shape", "tol", "rel_error", "met_target",
                "matvecs", "time_median", "time_iqr", "status"):
        assert col in df.columns, f"column {col!r} missing from {list(df.columns)}"
    assert set(df["machine"]) == {"cpu-2c-openblas"}
    power = df[df["method"] == "power"].iloc[0]
    assert power["status"] == "MISS", f"a method that missed its target must be a MISS: {power.to_dict()}"
    assert (df[df["method"] != "power"]["status"] == "ok").all()


def test_corrupt_and_foreign_files_are_named_and_skipped(tmp_path):
    cpu_run(tmp_path)
    bad = tmp_path / "cpu-2c-openblas" / "Linux-CPython-3.12-64bit" / "0002_truncated.json"
    bad.write_text('{"machine_info": {"node": "x"}, "benchmarks": [')
    foreign = tmp_path / "elsewhere" / "0001_other.json"
    foreign.parent.mkdir()
    foreign.write_text(json.dumps({"hello": "world"}))
    other_project = write_run(tmp_path, "cpu-other", [{"name": "t", "stats": {"median": 1.0},
                                                          "extra_info": {}}], name="0001_x")
    with pytest.warns(report.ReportWarning) as record:
        df = report.load_results(tmp_path)
    messages = "\n".join(str(w.message) for w in record)
    assert "0002_truncated.json" in messages and "not valid JSON" in messages, messages
    assert "0001_other.json" in messages and "not a pytest-benchmark results file" in messages, messages
    assert str(other_project) in messages and "no lipbench extra_info" in messages, messages
    assert len(df) == 10, "the good run must still be reported"


def test_load_curves_keeps_each_runs_own_curve():
    """Each curve row comes from its own run and length; a column of another length becomes NaN."""
    base = dict(machine="m", run="r", backend="numpy", dtype="float64", family="gaussian", shape="8x8", tol=1e-6)
    df = pd.DataFrame([
        dict(base, method="lanczos", curve_iteration=[1, 2, 3], curve_matvecs=[2, 4, 6],
             curve_time=[0.1, 0.2, 0.3], curve_rel_error=[1e-1, 1e-3, 1e-7]),
        dict(base, method="power", curve_iteration=[1, 2], curve_matvecs=[1, 2],
             curve_time=[0.5], curve_rel_error=[1e-2, 1e-4]),
    ])
    curves = report.load_curves(df)
    lanczos, power = curves[curves.method == "lanczos"], curves[curves.method == "power"]
    assert list(lanczos.matvecs) == [2, 4, 6] and list(lanczos.time) == [0.1, 0.2, 0.3], curves
    assert list(power.matvecs) == [1, 2] and list(power.rel_error) == [1e-2, 1e-4], curves
    assert power.time.isna().all(), f"a curve_time of the wrong length must read as NaN: {curves}"
