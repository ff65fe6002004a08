"""The claims ledger: data, junit parsing, verdicts (a failing test never reads as holding), CLI."""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest

from lipbench import claims

ROOT = Path(__file__).resolve().parents[1]


def test_fifteen_claims_with_valid_verdicts():
    assert [c.id for c in claims.CLAIMS] == [f"C{i}" for i in range(1, 16)]
    for c in claims.CLAIMS:
        assert c.expected in claims.VERDICTS and c.tests
        assert any(t.split("::")[1].startswith(f"test_c{c.id[1:]}_") for t in c.tests), c.id


def test_every_named_test_exists():
    for c in claims.CLAIMS:
        for t in c.tests:
            path, name = t.split("::")
            tree = ast.parse((ROOT / path).read_text())
            assert name in {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}, t


def _junit(tmp_path, cases):
    body = []
    for classname, name, outcome, props in cases:
        inner = ""
        if props:
            inner += "<properties>" + "".join(
                f'<property name="evidence:{k}" value={quoteattr(json.dumps(v))} />' for k, v in props.items()
            ) + "</properties>"
        if outcome == "failed":
            inner += '<failure message="AssertionError: boom">trace</failure>'
        elif outcome == "skipped":
            inner += '<skipped message="no gpu" />'
        body.append(f'<testcase classname="{classname}" name="{name}" time="0.1">{inner}</testcase>')
    xml = '<?xml version="1.0"?><testsuites><testsuite name="pytest">' + "".join(body) + "</testsuite></testsuites>"
    p = tmp_path / "j.xml"
    p.write_text(xml)
    return p


def _all_passing():
    cases = []
    for c in claims.CLAIMS:
        for t in c.tests:
            path, name = t.split("::")
            cases.append((path[:-3].replace("/", "."), name, "passed", {}))
    return cases


def test_verdicts_follow_outcomes(tmp_path):
    cases = _all_passing()
    rows = claims.ledger(claims.parse_junit(_junit(tmp_path, cases)))
    assert [r.verdict for r in rows] == [c.expected for c in claims.CLAIMS]
    # one failing test of C9 (a "holds" claim) must make it failing, never holding
    cases = [(cl, n, "failed" if n.startswith("test_c9_") else o, p) for cl, n, o, p in cases]
    rows = {r.claim.id: r for r in claims.ledger(claims.parse_junit(_junit(tmp_path, cases)))}
    assert rows["C9"].verdict == "failing"
    assert rows["C8"].verdict == "holds"
    md = claims.render_markdown(list(rows.values()))
    assert "| C9 |" in md and "**failing**" in md and "boom" in md


def test_skipped_or_missing_is_not_run(tmp_path):
    cases = [(cl, n, "skipped" if n.startswith("test_c1_") else o, p) for cl, n, o, p in _all_passing()]
    cases = [c for c in cases if not c[1].startswith("test_c2_named")]
    rows = {r.claim.id: r for r in claims.ledger(claims.parse_junit(_junit(tmp_path, cases)))}
    assert rows["C1"].verdict == "not run" and rows["C2"].verdict == "not run"


def test_evidence_comes_from_the_report(tmp_path):
    cases = _all_passing()
    cases = [(cl, n, o, {"counterexample": {"A": [[7, 7], [7, 7]]}} if n == "test_c6_all_positive_is_refuted" else p)
             for cl, n, o, p in cases]
    rows = {r.claim.id: r for r in claims.ledger(claims.parse_junit(_junit(tmp_path, cases)))}
    assert rows["C6"].evidence == (("Hypothesis' counterexample", {"A": [[7, 7], [7, 7]]}),)
    assert "[7 7; 7 7]" in claims.render_markdown(list(rows.values()))


def test_cli_reads_saved_junit(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    claims.add_cli_arguments(parser)
    out = tmp_path / "claims.md"
    args = parser.parse_args(["--junit", str(_junit(tmp_path, _all_passing())), "--output", str(out)])
    assert claims.run_cli(args) == 0
    text = out.read_text()
    assert all(f"| C{i} |" in text for i in range(1, 16))
    args = parser.parse_args(["--junit", str(tmp_path / "missing.xml"), "--output", str(out)])
    assert claims.run_cli(args) == 2
    assert "no such junit xml" in capsys.readouterr().err


def test_bad_junit_is_an_error(tmp_path):
    p = tmp_path / "bad.xml"
    p.write_text("not xml")
    with pytest.raises(ValueError, match="cannot read junit xml"):
        claims.parse_junit(p)
