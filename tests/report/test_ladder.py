"""The report's bound-ladder tables on fake rows (benchmarks' extra_info as saved)."""

from __future__ import annotations

import pandas as pd

from lipbench.report.ladder import (
    SKIPPED,
    ladder_scaling_table,
    ladder_sections,
    ladder_table,
    ladder_target_met,
    ladder_targets_table,
)

from .fakes import bench, latest_rows


def _rung(rung, value, certified, kind="upper", family="mlp-8-8-10", median=0.001, **options):
    return bench(rung, (10, 8), median=median, kind="ladder", family=family, value=value, lower=2.0,
                 upper=2.5, truth=None, options={"rung_kind": kind, "certified": certified, **options})


def _bracket(family, lower, upper, gap, seconds, allowed, truth=None):
    return bench("lipschitz_ladder", (10, 784), median=seconds, kind="ladder_target", family=family, value=upper,
                 lower=lower, upper=upper, truth=truth, tol=gap, rel_error=(upper - lower) / lower,
                 met_target=True,  # the report judges from the numbers, never from this
                 options={"target_gap": gap, "target_seconds": allowed, "ladder_seconds": seconds})


def _lipsdp(form, solver, value, certified, published):
    return bench(f"lipsdp_{form}", (2, 2), median=0.1, kind="ladder_target", family="lipsdp-2-10-30-20-2",
                 value=value, lower=None, upper=value, truth=published, tol=1e-3, rel_error=value / solver - 1,
                 options={"solver_value": solver, "certified": certified, "published": published})



def test_rung_rows_in_the_rungs_order_with_tightness(tmp_path):
    latest = latest_rows(tmp_path, [_rung("empirical", 2.0, False, "lower"), _rung("lipsdp_neuron", 2.5, True),
                                _rung("product", 3.0, True)])
    lad = ladder_table(latest)
    assert list(lad["rung"]) == ["product", "lipsdp_neuron", "empirical"]  # the ladder's order, not the file's
    prod = lad.iloc[0]
    assert prod["value / best lower"] == "1.5x" and prod["value / best certified"] == "1.2x"
    assert prod["certified"] == "yes" and prod["kind"] == "upper" and lad.iloc[2]["certified"] == "no"


def test_ladder_rows_sort_by_depth_and_width_and_old_runs_leave_them_blank(tmp_path):
    def rung(family, depth, width, value):
        return _rung("product", value, True, family=family, depth=depth, width=width)

    latest = latest_rows(tmp_path, [rung("net-deep", 4, 100, 5.0), rung("net-wide", 2, 300, 3.0),
                                rung("net-base", 2, 100, 4.0), _rung("product", 3.0, True)])
    lad = ladder_table(latest)
    assert list(lad["network"]) == ["mlp-8-8-10", "net-base", "net-wide", "net-deep"], lad  # not the names' order
    assert list(lad["depth"]) == ["", "2", "2", "4"] and list(lad["width"]) == ["", "100", "300", "100"], lad
    assert list(lad["value / best lower"]) == ["1.5x", "2x", "1.5x", "2.5x"], lad


def test_scaling_table_marks_the_skipped_rungs_and_gives_the_product_over_the_truth(tmp_path):
    small = [_rung("product", 3.0, True, family="small", depth=2, width=8, hidden_units=8),
             _rung("patterns", 2.5, True, family="small", median=0.2, depth=2, width=8, hidden_units=8),
             _rung("empirical", 2.0, False, "lower", family="small", depth=2, width=8, hidden_units=8)]
    wide = [_rung("product", 8.0, True, family="wide", median=0.01, depth=2, width=1000, hidden_units=1000,
                  trained=True)]
    table = ladder_scaling_table(latest_rows(tmp_path, wide + small)).set_index("network")
    assert list(table.index) == ["small", "wide"]  # by width
    assert table.loc["small", "patterns time"] == "200 ms" and table.loc["wide", "patterns time"] == SKIPPED
    assert table.loc["small", "LipSDP-Neuron time"] == SKIPPED and table.loc["wide", "product time"] == "10 ms"
    assert table.loc["small", "product / best lower"] == "1.5x" and table.loc["wide", "product / best lower"] == "4x"
    assert table.loc["small", "best certified / best lower"] == "1.25x"
    assert table.loc["wide", "trained"] == "yes" and table.loc["small", "hidden units"] == "8"


def test_target_verdicts_are_read_from_the_numbers(tmp_path):
    rows = [_bracket("met", 100.0, 100.1, 2e-3, 60.0, 300.0),
            _bracket("too-wide", 100.0, 100.3, 2e-3, 60.0, 300.0),
            _bracket("too-slow", 100.0, 100.1, 2e-3, 301.0, 300.0),
            _bracket("published", 36.4822, 36.4848, 1e-4, 3.0, 10.0, truth=36.482),
            _bracket("off-published", 36.4822, 36.4900, 1e-4, 3.0, 10.0, truth=36.482),
            _lipsdp("layer", 39.8386, 39.8390, True, 39.839), _lipsdp("neuron", 36.4823, 36.4823, False, 36.482)]
    latest = latest_rows(tmp_path, rows)
    verdicts = {(r["family"], r["method"]): ladder_target_met(r) for _, r in latest.iterrows()}
    assert verdicts == {("met", "lipschitz_ladder"): True, ("too-wide", "lipschitz_ladder"): False,
                        ("too-slow", "lipschitz_ladder"): False, ("published", "lipschitz_ladder"): True,
                        ("off-published", "lipschitz_ladder"): False,
                        ("lipsdp-2-10-30-20-2", "lipsdp_layer"): True,
                        ("lipsdp-2-10-30-20-2", "lipsdp_neuron"): False}  # not verified
    table = ladder_targets_table(latest)
    assert list(table["network"][:5]) == ["met", "off-published", "published",
                                                                          "too-slow", "too-wide"]
    met = table.set_index("network").loc["met"]
    assert met["met"] == "yes" and "0.2% wide" in met["target"] and "[100, 100.1], 0.1% wide" == met["measured"]
    assert "published 36.482" in table.set_index("network").loc["published", "target"]
    sdp = table[table["network"] == "lipsdp-2-10-30-20-2"]
    assert list(sdp["met"]) == ["yes", "NO"] and "NOT verified" in sdp.iloc[1]["measured"]


def test_a_solver_value_off_the_published_digits_is_missed(tmp_path):
    latest = latest_rows(tmp_path, [_lipsdp("layer", 39.8396, 39.8396, True, 39.839)])  # rounds to 39.840
    assert not ladder_target_met(latest.iloc[0])


def test_sections_in_order_and_none_without_rows(tmp_path):
    latest = latest_rows(tmp_path, [_rung("product", 3.0, True), _bracket("met", 100.0, 100.1, 2e-3, 60.0, 300.0)])
    titles = [t for t, _, _ in ladder_sections(latest)]
    assert len(titles) == 3 and "targets" in titles[0] and "stops" in titles[1] and "per rung" in titles[2]
    empty = latest_rows(tmp_path / "none", [bench("lanczos", median=0.1)])
    assert ladder_sections(empty) == [] and ladder_targets_table(empty).empty and ladder_scaling_table(empty).empty
    assert ladder_sections(pd.DataFrame(columns=empty.columns)) == []
