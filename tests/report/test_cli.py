"""report.cli: ``lipbench report`` (and ``python -m lipbench.report``): where it writes, a corrupt file,
a missing folder."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from lipbench import report  # noqa: E402

from .fakes import cpu_run  # noqa: E402


def test_cli_reports_despite_a_corrupt_file(tmp_path, capsys):
    cpu_run(tmp_path)
    (tmp_path / "broken.json").write_text("not json at all")
    parser = argparse.ArgumentParser()
    report.add_cli_arguments(parser)
    args = parser.parse_args([str(tmp_path), "--out", str(tmp_path / "out")])
    assert report.run_cli(args) == 0
    err = capsys.readouterr().err
    assert "broken.json" in err and "not valid JSON" in err, err
    assert (tmp_path / "out" / "REPORT.md").is_file()


def test_cli_missing_folder_is_an_error(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    report.add_cli_arguments(parser)
    assert report.run_cli(parser.parse_args([str(tmp_path / "nope")])) == 2
    assert "does not exist" in capsys.readouterr().err


def _parse(argv):
    parser = argparse.ArgumentParser()
    report.add_cli_arguments(parser)
    return parser.parse_args(argv)


def test_cli_writes_beside_the_runs_not_over_the_committed_report(tmp_path, capsys):
    """By default the report goes to RESULTS/local/; --update-committed writes
    REPORT.md and plots/ into RESULTS itself."""
    cpu_run(tmp_path)
    committed = tmp_path / "REPORT.md"
    committed.write_text("the committed report")
    assert report.run_cli(_parse([str(tmp_path)])) == 0
    assert committed.read_text() == "the committed report"
    assert (tmp_path / "local" / "REPORT.md").is_file() and list((tmp_path / "local" / "plots").glob("*.png"))
    assert str(tmp_path / "local" / "REPORT.md") in capsys.readouterr().out
    assert report.run_cli(_parse([str(tmp_path), "--update-committed"])) == 0
    assert committed.read_text().startswith("# lipbench benchmark report")
    assert list((tmp_path / "plots").glob("*.png"))


def test_cli_update_committed_takes_no_out(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        _parse([str(tmp_path), "--update-committed", "-o", str(tmp_path / "x")])
    assert exc.value.code == 2 and "not allowed with" in capsys.readouterr().err


def test_python_m_lipbench_report_runs(tmp_path):
    cpu_run(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "lipbench.report", str(tmp_path), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "o" / "REPORT.md").is_file()


def test_lipbench_report_subcommand(tmp_path, capsys):
    from lipbench import cli

    cpu_run(tmp_path)
    assert cli.main(["report", str(tmp_path), "-o", str(tmp_path / "o")]) == 0
    assert (tmp_path / "o" / "REPORT.md").is_file()
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err
