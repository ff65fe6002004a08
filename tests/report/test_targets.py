"""report.targets: the targets of method="auto" as data, judged as ratios of medians from one run."""

from __future__ import annotations

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")


def test_targets_table_ratios_and_verdicts():
    """Speed targets are ratios of medians from one run; a missed target says so."""
    from lipbench.report import targets_table

    base = dict(kind="spectral", machine="box", backend="numpy", dtype="float64", family="gaussian",
                shape="2048x2048", rel_error=1e-12, matvec_seconds=1e-3, run="0001_base",
                datetime=pd.Timestamp("2026-01-01", tz="UTC"), file="a.json")
    rows = [
        dict(base, method="auto", tol=1e-6, time_median=0.1, matvecs=80),
        dict(base, method="numpy.linalg.norm", tol=None, time_median=2.0, matvecs=0),
        dict(base, method="propack", tol=1e-6, time_median=0.5, matvecs=200),
        dict(base, method="scipy.sparse.linalg.svds", tol=1e-6, time_median=0.3, matvecs=None),
        dict(base, method="lanczos", tol=1e-6, time_median=0.2, matvecs=80),
    ]
    t = targets_table(pd.DataFrame(rows))
    by = {r.target.split(": ")[1]: r for r in t.itertuples()}
    norm = by["auto >= 50x faster than numpy.linalg.norm(A, 2)"]
    assert norm.measured == "20.00x" and norm.verdict == "NOT met"
    # 50x needs 40 ms: half the 80 ms that auto's 80 products take one by one
    assert "needs auto at <= 0.50x the float64 matvec floor of this run (80 matvecs x" in norm.detail
    assert "auto: 1.25x)" in norm.detail
    assert "needs auto at <= 0.83x" in by["auto >= 3x faster than plain float64 lanczos (mixed precision gain)"].detail
    assert "matvec floor" not in by["auto >= 1x faster than svds default (arpack)"].detail, "met: no requirement"
    assert by["auto >= 3x faster than svds(solver='propack'), kmax raised, same accuracy"].verdict == "met"
    assert by["auto >= 1x faster than svds default (arpack)"].measured == "3.00x"
    assert by["auto >= 3x faster than plain float64 lanczos (mixed precision gain)"].verdict == "NOT met"
    floor = by["auto time <= 1.2x the matvec floor"]
    assert floor.measured == "1.25x" and floor.verdict == "NOT met"
    assert not any("float32 matvec floor" in k for k in by), "auto did not work in float32 here"

    # auto worked in float32: also held to the floor of float32 products (the float32 input's row)
    f32 = [dict(r, options={"normal": True, "work_dtype": "float32"}) if r["method"] == "auto" else r for r in rows]
    f32.append(dict(base, dtype="float32", method="auto", tol=1e-6, time_median=0.09, matvecs=80,
                    matvec_seconds=5e-4, options={"normal": True}))
    by32 = {r.target.split(": ")[1]: r for r in targets_table(pd.DataFrame(f32)).itertuples()}
    floor32 = by32["auto time <= 1.2x the float32 matvec floor (its work dtype)"]
    assert floor32.measured == "2.50x" and floor32.verdict == "NOT met"
    # 50x needs 40 ms, what 80 float32 products take: within the floor, so no requirement is named
    assert "matvec floor" not in by32["auto >= 50x faster than numpy.linalg.norm(A, 2)"].detail
    assert "matvec floor" not in by32["auto >= 3x faster than plain float64 lanczos (mixed precision gain)"].detail

    # A newer run with auto and only one reference: ratios come from that run alone.
    newer = dict(base, run="0002_auto", datetime=pd.Timestamp("2026-02-01", tz="UTC"), file="b.json")
    rows += [dict(newer, method="auto", tol=1e-6, time_median=0.04, matvecs=80),
             dict(newer, method="numpy.linalg.norm", tol=None, time_median=2.4, matvecs=0)]
    t = targets_table(pd.DataFrame(rows))
    by = {r.target.split(": ")[1]: r for r in t.itertuples()}
    assert by["auto >= 50x faster than numpy.linalg.norm(A, 2)"].measured == "60.00x"
    assert by["auto >= 50x faster than numpy.linalg.norm(A, 2)"].detail.endswith("earlier runs: 20.00x (0001_base)")
    assert not any("propack" in k for k in by), "no propack row in the newer run: no mixed-run ratio"


def test_targets_table_compares_auto_steps_with_theory():
    """The steps row: auto's Lanczos steps against the Chebyshev (gap-dependent)
    and gap-free estimates the benchmark recorded for that input's spectrum
    (no row for a run that recorded none)."""
    from lipbench import matrices
    from lipbench.report import targets_table
    from lipbench.spectral import lanczos_steps_theory

    th = lanczos_steps_theory(matrices.marchenko_pastur_singular_values(2048, 2048), 1e-6)
    assert th["value"] < th["residual"] < th["block_krylov"] < th["kw"]
    base = dict(kind="spectral", machine="box", backend="numpy", dtype="float64", family="gaussian",
                shape="2048x2048", rel_error=1e-12, matvec_seconds=1e-3, run="0001_base", method="auto",
                tol=1e-6, time_median=0.1, datetime=pd.Timestamp("2026-01-01", tz="UTC"), file="a.json")
    table = targets_table(pd.DataFrame([dict(base, iterations=64, matvecs=130)]))
    assert not any("against theory" in r for r in table.target)
    for steps, verdict in ((64, "met"), (th["residual"], "met"), (th["residual"] + 1, "NOT met")):
        t = targets_table(pd.DataFrame([dict(base, iterations=steps, matvecs=2 * steps + 2, theory_steps=th)]))
        row = next(r for r in t.itertuples() if "against theory" in r.target)
        assert row.verdict == verdict
        assert row.measured.startswith(f"{steps} steps ({2 * steps + 2} matvecs): "
                                       f"{steps / th['residual']:.2f}x the residual-rule estimate")
        assert f"Kuczynski-Wozniakowski {th['kw']} steps" in row.detail


def _speed_rows():
    base = dict(kind="spectral", machine="box", backend="numpy", dtype="float64", family="gaussian",
                shape="2048x2048", rel_error=1e-12, matvec_seconds=1e-3, run="0001_base",
                datetime=pd.Timestamp("2026-01-01", tz="UTC"), file="a.json")
    return pd.DataFrame([dict(base, method="auto", tol=1e-6, time_median=0.1, matvecs=80),
                         dict(base, method="numpy.linalg.norm", tol=None, time_median=2.0, matvecs=0)])


def test_targets_are_data_a_changed_threshold_changes_the_verdict():
    """The verdicts come from the TARGETS table: the same runs judged against a
    lowered threshold meet it, and the row names the new threshold."""
    from dataclasses import replace

    from lipbench.report import TARGETS, targets_table

    def norm_row(targets):
        t = targets_table(_speed_rows(), targets)
        return t[t["target"].str.contains("faster than numpy.linalg.norm")].iloc[0]

    assert norm_row(TARGETS)["verdict"] == "NOT met"  # 20x against 50x
    lowered = tuple(replace(t, threshold=10.0) if t.target == "faster than" and t.reference == "numpy.linalg.norm"
                    else t for t in TARGETS)
    row = norm_row(lowered)
    assert row["target"] == "2048x2048 float64 Gaussian: auto >= 10x faster than numpy.linalg.norm(A, 2)", row
    assert row["measured"] == "20.00x" and row["verdict"] == "met", row


def test_targets_table_refuses_a_target_it_cannot_judge():
    from lipbench.report import Target, targets_table

    with pytest.raises(ValueError, match="no judge for target"):
        targets_table(_speed_rows(), (Target("faster in spirit", 2.0, "svd", "2048x2048 float64 gaussian tol=1e-6"),))
    with pytest.raises(ValueError, match="is not '<shape> <dtype> <family> tol=<tol>'"):
        targets_table(_speed_rows(), (Target("faster than", 2.0, "svd", "2048x2048 float64"),))
