"""The behaviour record (benchmarks/studies/behaviour.py): a few of its cases, and its compare."""

from __future__ import annotations

import io

import pytest

from benchmarks.studies import behaviour

SOME = [
    "dense-f64-1x1|svd|tol=default|certify=False",
    "dense-f64-zero-30x20|lanczos|tol=1e-06|certify=True",
    "csr-f64-300x200|power|tol=0.001|certify=False",
    "stack-f32-4x20x25|svd|tol=default|certify=False",
    "dense-f64-gauss-200x150|lanczos|tol=1e-08|certify=False|maxiter=2",
    "dense-f64-gauss-200x150|arpack|tol=1e-06|certify=False|v0=short",
    "odd-str|auto|tol=default|certify=False",
]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    by_id = {c.id: c for c in behaviour.cases()}
    path = tmp_path_factory.mktemp("behaviour") / "a.csv"
    behaviour.record([by_id[i] for i in SOME], path, commit="test")
    return path


def test_case_ids_are_unique_and_the_grid_is_large():
    ids = [c.id for c in behaviour.cases()]
    assert len(ids) == len(set(ids)) and len(ids) >= 300, len(ids)


def test_rows_record_values_warnings_and_refusals(recorded):
    rows = behaviour.read(recorded)
    assert list(rows) == SOME
    one = rows[SOME[0]]
    assert float(one["lower"]) <= 2.5 <= float(one["upper"]) and one["error"] == "", one
    assert rows[SOME[3]]["value"].startswith("sha256:"), rows[SOME[3]]
    assert rows[SOME[4]]["warned"] == "yes" and rows[SOME[4]]["converged"] == "False", rows[SOME[4]]
    assert rows[SOME[5]]["error"] == "ValueError" and rows[SOME[6]]["error"] == "TypeError"
    assert recorded.read_text().startswith("# behaviour record of lipbench; commit test\n")


def test_compare_is_0_on_identical_records_and_1_naming_a_changed_case(recorded, tmp_path):
    out = io.StringIO()
    assert behaviour.compare(recorded, recorded, out) == 0
    assert f"compared {len(SOME)} cases: 0 differ" in out.getvalue()

    text = recorded.read_text().replace("commit test", "commit other")  # the header is ignored
    row = next(line for line in text.splitlines() if line.startswith(SOME[2]))
    value = row.split(",")[2]
    changed = tmp_path / "b.csv"
    changed.write_text(text.replace(row, row.replace(value, repr(float(value) * (1 + 2**-50)), 1)))
    out = io.StringIO()
    assert behaviour.compare(recorded, changed, out) == 1
    assert f"{SOME[2]}: value" in out.getvalue() and "1 differ" in out.getvalue(), out.getvalue()

    assert behaviour.main(["--compare", str(recorded), str(recorded)]) == 0
