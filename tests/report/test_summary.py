"""The report's first screen (``lipbench.report.summary``): which method to use
per size and accuracy, auto's speed-up over numpy.linalg.norm in the same run,
and how many of auto's targets were met."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")

from lipbench.report.compare import add_speedups  # noqa: E402
from lipbench.report.formatting import STALE  # noqa: E402
from lipbench.report.load import latest_per_case, load_results  # noqa: E402
from lipbench.report.summary import auto_speedups, choice_table, targets_summary  # noqa: E402

from .fakes import bench, cpu_run, write_run  # noqa: E402

MACHINE = "cpu-2c-openblas"
LATER = "2100-01-02T00:00:00+00:00"  # after every change of auto's rule: no row is stale


@pytest.fixture(scope="module")
def latest(tmp_path_factory):
    """The small CPU run, and a later run timing auto (10 ms) beside numpy.linalg.norm (400 ms)."""
    root = tmp_path_factory.mktemp("results")
    cpu_run(root, when=LATER)
    write_run(root, MACHINE, [bench("auto", median=0.01),
                              bench("numpy.linalg.norm", median=0.4, rel_error=1e-15, baseline=True)],
              name="0002_auto", when=LATER)
    return latest_per_case(add_speedups(load_results(root)))


def test_choice_is_the_fastest_method_that_met_the_target(latest):
    """1024^2 at 1e-6: auto (10 ms) beats lanczos (20 ms), arpack, and power (faster
    than arpack but missed); at 1e-3 lanczos (10 ms) beats arpack; 4096^2 has
    lanczos (0.3 s) against arpack (1.5 s) at 1e-6 only.  Each is 40x faster
    than numpy.linalg.norm in its own run (0.4 s, 12 s)."""
    t = choice_table(latest, MACHINE, "numpy")
    assert list(t.columns) == ["shape", "tol 0.001", "tol 1e-06"], t.columns
    assert t.values.tolist() == [["1024x1024", "lanczos, 40x", "auto, 40x"],
                                 ["4096x4096", "", "lanczos, 40x"]], t
    assert choice_table(latest, MACHINE, "cupy").empty


def test_auto_speedup_is_against_numpy_norm_in_the_same_run(latest):
    assert auto_speedups(latest, MACHINE, "numpy") == "1024x1024: 40x"
    assert auto_speedups(latest, "elsewhere", "numpy") == ""


def test_targets_summary_counts_met_and_stale_verdicts():
    t = pd.DataFrame({"machine": ["a", "a", "a", "b"], "backend": ["numpy"] * 4,
                      "verdict": ["met", "NOT met", f"met ({STALE})", "NOT met"]})
    out = targets_summary(t, "a", "numpy")
    assert out.startswith("met 2 of 3 (1 judged on STALE rows"), out
    assert targets_summary(t, "b", "numpy") == "met 0 of 1"
    assert targets_summary(t, "c", "numpy") == "no targets judged"
