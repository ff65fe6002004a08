"""The report's Lipschitz tables on fake rows (benchmarks' extra_info as saved)."""

from __future__ import annotations

import pandas as pd

from lipbench.report.lipschitz import conv_methods_table, lipschitz_sections, sn_audit_table

from .fakes import bench, latest_rows


def _conv(method, value, ok, median=0.01):
    return bench(method, (1024, 1024), median=median, kind="conv_method", family="16ch-3x3-zeros-8x8",
                 value=value, truth=2.0, rel_error=abs(value - 2.0) / 2.0, bracket_ok=ok)


def _rung(rung, value, certified, kind="upper"):
    return bench(rung, (10, 8), median=0.001, kind="ladder", family="mlp-8-8-10", value=value, lower=2.0,
                 upper=2.5, truth=None, options={"rung_kind": kind, "certified": certified})


def _sn(est, q50, mx, above):
    return bench(est, (64, 64), median=0.02, kind="sn_audit", family="dense-64x64", value=mx, steps=30,
                 options={"q50": q50, "q90": mx, "q99": mx, "max": mx, "provably_above_1": above, "margin": mx})



def test_tables_from_rows(tmp_path):
    latest = latest_rows(tmp_path, [_conv("reshape", 1.5, False), _conv("lanczos", 2.0, True),
                                    _conv("bound", 4.0, True), _rung("empirical", 2.0, False, "lower"),
                                    _rung("product", 3.0, True), _sn("power-warm-k1", 1e-5, 2e-4, 1.0),
                                    _sn("certified", 0.0, 0.0, 0.0),
                                    bench("lanczos", median=0.1)])
    conv = conv_methods_table(latest)
    assert list(conv["method"]) == ["lanczos", "bound", "reshape"]  # the route order, not the file's
    reshape = conv[conv["method"] == "reshape"].iloc[0]
    assert reshape["bracket holds truth"] == "NO" and reshape["value / truth"] == "0.75x"
    assert conv[conv["method"] == "bound"].iloc[0]["value / truth"] == "2x"
    sn = sn_audit_table(latest).set_index("estimator")
    assert sn.loc["power-warm-k1", "overshoot max"] == "0.0002"
    assert sn.loc["power-warm-k1", "steps provably > 1"] == "100%"
    assert sn.loc["certified", "steps provably > 1"] == "0%" and sn.loc["certified", "steps"] == "30"
    titles = [t for t, _, _ in lipschitz_sections(latest)]
    assert len(titles) == 4 and "reshape" in titles[0], titles  # the ladder's scaling and per-rung tables
    assert "stops scaling" in titles[1] and "per rung" in titles[2] and "normalization" in titles[3], titles


def test_no_rows_no_sections(tmp_path):
    latest = latest_rows(tmp_path, [bench("lanczos", median=0.1)])
    assert conv_methods_table(latest).empty and sn_audit_table(latest).empty
    assert lipschitz_sections(latest) == []
    assert lipschitz_sections(pd.DataFrame(columns=latest.columns)) == []
