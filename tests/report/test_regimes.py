"""Does ``method="auto"`` pick the winner? (``lipbench.report.regimes``): per regime, judged
within one measurement, head-to-head rows preferred."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")


def test_auto_regimes_target_counts_wins_within_a_run():
    """'auto picks the winner': per regime, the newest run that measured auto
    *and* a competitor; a faster method that met the target, or a miss by
    auto, is a loss; within 1.1x counts as a tie."""
    from lipbench.report import targets_table

    def row(run, day, method, shape, t, met=True, tol=1e-6):
        return dict(kind="spectral", machine="box", backend="numpy", dtype="float64", family="gaussian",
                    shape=shape, tol=tol, method=method, time_median=t, met_target=met, rel_error=1e-9,
                    run=run, datetime=pd.Timestamp(f"2026-01-{day:02d}", tz="UTC"), file=f"{run}.json")

    rows = [
        row("0001", 1, "auto", "256x256", 1.0), row("0001", 1, "propack", "256x256", 2.0),  # auto wins
        row("0001", 1, "auto", "512x512", 3.0), dict(row("0001", 1, "propack", "512x512", 2.0), converged=False),
        row("0001", 1, "power", "512x512", 0.1, met=False),  # faster but missed: not a rival
        row("0001", 1, "auto", "768x768", 1.05), row("0001", 1, "arpack", "768x768", 1.0),  # within 1.1x
        row("0001", 1, "auto", "1024x1024", 1.0, met=False), row("0001", 1, "arpack", "1024x1024", 9.0),
        row("0002", 2, "auto", "256x256", 9.0),  # newer run without a competitor: not used
    ]
    t = targets_table(pd.DataFrame(rows))
    r = t[t["target"].str.startswith("auto picks the winner")].iloc[0]
    assert r["measured"] == "fastest in 1/4, within 1.1x in 2/4" and r["verdict"] == "NOT met"
    assert ("512x512 float64 gaussian tol 1e-06 (0001): propack 1.50x faster (unverified: its residual check "
            "failed)") in r["detail"]
    assert "1024x1024 float64 gaussian tol 1e-06 (0001): auto missed its target" in r["detail"]
    assert "256x256" not in r["detail"] and "power" not in r["detail"]


def test_auto_regimes_prefers_the_head_to_head_row():
    """Where a regime has a head-to-head row (every method timed in turns), the
    target judges auto from it, not from the grid rows of that regime; other
    regimes still come from the grid."""
    from lipbench.report import targets_table

    base = dict(machine="box", backend="numpy", dtype="float32", family="gaussian", tol=1e-6, rel_error=1e-9,
                run="0001", datetime=pd.Timestamp("2026-01-01", tz="UTC"), file="0001.json")
    grid = [dict(base, kind="spectral", shape=s, method=m, time_median=t, met_target=True)
            for s, m, t in (("256x256", "auto", 2.0), ("256x256", "propack", 1.0),
                            ("1024x1024", "auto", 5.0), ("1024x1024", "arpack", 9.0))]

    def h2h(auto, propack, propack_met=True, converged=True):
        return dict(base, kind="head_to_head", method="head-to-head", shape="256x256", contenders={
            "auto": {"median": auto, "met_target": True, "converged": True},
            "propack": {"median": propack, "met_target": propack_met, "converged": converged},
            "power": {"median": 0.1, "met_target": False, "converged": False}})

    def verdict(rows):
        t = targets_table(pd.DataFrame(rows))
        return t[t["target"].str.startswith("auto picks the winner")].iloc[0]

    r = verdict(grid)  # the grid alone: propack 2x faster at 256^2
    assert r["measured"] == "fastest in 1/2, within 1.1x in 1/2" and "0 of 2 regimes timed head to head" in r["detail"]
    r = verdict(grid + [h2h(1.2, 1.3)])  # interleaved, auto is the faster
    assert r["measured"] == "fastest in 2/2, within 1.1x in 2/2" and r["verdict"] == "met"
    assert "1 of 2 regimes timed head to head" in r["detail"]
    r = verdict(grid + [h2h(1.5, 1.0, converged=False)])
    assert r["measured"] == "fastest in 1/2, within 1.1x in 1/2"
    assert "against verified rivals only (their own residual check passed): fastest in 2/2, within 1.1x in 2/2" \
        in r["detail"]
    assert ("256x256 float32 gaussian tol 1e-06 (0001, interleaved): propack 1.50x faster (unverified: its "
            "residual check failed)") in r["detail"]
    r = verdict(grid + [h2h(1.5, 1.0, propack_met=False)])  # a faster rival that missed the target is no rival
    assert r["measured"] == "fastest in 2/2, within 1.1x in 2/2"
