"""The report's tables as text (``lipbench.report.tables``): one row per
benchmark, sorted by size then time, a missed target marked MISS, references
marked baseline; one row per saved run with its stale auto rows counted."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")

from lipbench.report.compare import add_speedups  # noqa: E402
from lipbench.report.load import load_results  # noqa: E402
from lipbench.report.tables import group_table, runs_table  # noqa: E402

from .fakes import bench, cpu_run, write_run  # noqa: E402

MACHINE = "cpu-2c-openblas"


@pytest.fixture(scope="module")
def frame(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    cpu_run(root, when="2100-01-01T00:00:00+00:00")
    write_run(root, MACHINE, [bench("auto", median=0.01), bench("auto", (2048, 2048), median=0.04)],
              name="0002_auto", when="2000-01-01T00:00:00+00:00")
    return add_speedups(load_results(root))


def test_group_table_sorts_by_size_then_time_and_marks_misses(frame):
    g = frame[(frame["run"] == "0001_baseline") & (frame["tol"].isna() | (frame["tol"] == 1e-6))]
    t = group_table(g)
    assert t["shape"].tolist() == ["1024x1024"] * 5 + ["4096x4096"] * 3, t
    first = t[t["shape"] == "1024x1024"]
    assert first["method"].tolist() == ["lanczos", "power", "arpack", "numpy.linalg.norm (baseline)", "svd"]
    assert dict(zip(first["method"], first["target"])) == {
        "lanczos": "met", "power": "MISS", "arpack": "met", "numpy.linalg.norm (baseline)": "met", "svd": "met"}
    assert t.loc[t["method"] == "lanczos", "median time ± IQR"].iloc[0].startswith("20 ms ± ")
    assert t.loc[t["method"] == "lanczos", "vs numpy.linalg.norm"].iloc[0] == "20x"


def test_runs_table_counts_rows_and_stale_auto_rows(frame):
    """The auto rows of a run from 2000 were measured under an older rule than today's."""
    t = runs_table(frame)
    assert t["run"].tolist() == ["0002_auto", "0001_baseline"], t  # by date
    assert t["rows"].tolist() == [2, 10] and t["stale auto rows"].tolist() == [2, 0]
    assert t["code"].tolist() == ["abc123", "abc123"]
