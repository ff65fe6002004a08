"""Which code produced each row: commit and dirty flag, and rows of auto measured
under an older rule than today's marked STALE in the tables and the targets."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from lipbench import report
from lipbench.benchmark_meta import AUTO_RULE_HISTORY, AUTO_RULE_VERSION

from .fakes import bench, cpu_run, write_run

REPO = Path(__file__).resolve().parents[2]


def _since(backend: str, version: int) -> pd.Timestamp:
    return pd.Timestamp(next(c.since for c in AUTO_RULE_HISTORY if c.backend == backend and c.version == version))


def _with(path: Path, **changes) -> Path:
    doc = json.loads(path.read_text())
    for key, value in changes.items():
        doc[key].update(value) if isinstance(value, dict) else doc.__setitem__(key, value)
    path.write_text(json.dumps(doc))
    return path


def _auto_runs(root: Path, when: str, **kw) -> Path:
    return write_run(root, "cpu-box", [bench("auto", median=0.01), bench("lanczos", median=0.02),
                                       bench("numpy.linalg.norm", median=0.4, rel_error=1e-15, baseline=True)],
                     when=when, **kw)


def test_every_version_of_the_rule_is_in_its_history():
    for backend, version in AUTO_RULE_VERSION.items():
        versions = sorted(c.version for c in AUTO_RULE_HISTORY if c.backend == backend)
        assert versions == list(range(1, version + 1)), (backend, versions)
        dates = [_since(backend, v) for v in versions]
        assert dates == sorted(dates), f"{backend}: versions must be dated in order: {dates}"


def test_rows_say_commit_and_dirty(tmp_path):
    _with(cpu_run(tmp_path, name="0001_a"), commit_info={"id": "0123456789abcdef0123", "dirty": True})
    _with(cpu_run(tmp_path, machine="other", name="0001_b"), commit_info={"id": "unknown", "dirty": False})
    df = report.load_results(tmp_path)
    codes = df.groupby("machine")["code"].unique().to_dict()
    assert list(codes["cpu-2c-openblas"]) == ["0123456789ab dirty"], codes
    assert list(codes["other"]) == ["unknown"], codes
    assert "code" in pd.read_csv(report.write_report(tmp_path)["csv"]).columns


@pytest.mark.parametrize("backend", sorted(AUTO_RULE_VERSION))
def test_auto_rows_before_the_rules_last_change_are_stale(tmp_path, backend):
    now = AUTO_RULE_VERSION[backend]
    if now < 2:
        pytest.skip(f"{backend}: the rule never changed")
    changed = _since(backend, now)
    before = (changed - pd.Timedelta(minutes=1)).isoformat()
    after = (changed + pd.Timedelta(minutes=1)).isoformat()
    # dated by commit time when the run has one, else by the run's date
    old = _with(_auto_runs(tmp_path / "a", after, name="0001_old"),  # run later, but from older code
                commit_info={"id": "aaaaaaa", "time": before})
    new = _auto_runs(tmp_path / "b", before, name="0001_new")  # run's date before, but it recorded today's rule
    _with(new, machine_info={"lipbench_auto_rule": {backend: now}})
    undated = _auto_runs(tmp_path / "c", after, name="0001_undated")
    for path, stale in ((old, True), (new, False), (undated, False)):
        doc = json.loads(path.read_text())
        for b in doc["benchmarks"]:
            b["extra_info"]["backend"] = backend
        path.write_text(json.dumps(doc))
        df = report.load_results(path.parent)
        auto = df[df["method"] == "auto"]
        assert auto["stale"].tolist() == [stale], (path.name, auto[["auto_rule", "commit_time", "datetime"]])
        assert not df.loc[df["method"] != "auto", "stale"].any(), "only rows that measure auto go stale"


def test_stale_rows_are_marked_in_tables_and_targets(tmp_path):
    changed = _since("numpy", AUTO_RULE_VERSION["numpy"])
    runs = []
    for machine, when in (("old-box", changed - pd.Timedelta(hours=1)), ("new-box", changed + pd.Timedelta(hours=1))):
        benches = [bench("auto", s, median=0.01 * k, rel_error=1e-9, matvecs=40, matvec_seconds=1e-4 * k)
                   for s, k in (((2048, 2048), 1), ((4096, 4096), 4))]
        benches += [bench("numpy.linalg.norm", s, median=3.0 * k, rel_error=1e-15, baseline=True)
                    for s, k in (((2048, 2048), 1), ((4096, 4096), 8))]
        runs.append(write_run(tmp_path, machine, benches, when=when.isoformat()))
    md = Path(report.write_report(tmp_path)["md"]).read_text()
    rows = [line for line in md.splitlines() if line.startswith("|")]
    for machine, stale in (("old-box", True), ("new-box", False)):
        auto_rows = [r for r in rows if f"| {machine} |" in r and "| auto |" in r]
        verdicts = [r for r in rows if f"| {machine} |" in r and "faster than" in r]
        assert auto_rows and verdicts, (machine, rows[:5])
        assert all(("STALE" in r) == stale for r in auto_rows + verdicts), (machine, auto_rows, verdicts)
    assert "STALE" in md.split("## Contents")[0], "the first screen says which answers are stale"


def _conftest():
    return pytest.importorskip("benchmarks.conftest")


def test_benchmarks_name_the_commit_of_their_checkout(monkeypatch):
    conftest = _conftest()
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
        top = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pytest.skip("not a git checkout")
    if Path(top).resolve() != REPO.resolve():
        pytest.skip("not a checkout of its own")
    monkeypatch.chdir("/")  # wherever pytest was started
    info = conftest.commit_info(env={})
    assert info["id"] == head and isinstance(info["dirty"], bool) and info["time"], info


def test_outside_git_the_commit_comes_from_lipbench_commit(monkeypatch):
    conftest = _conftest()

    def no_git(*args):
        raise subprocess.CalledProcessError(128, ["git", *args])

    monkeypatch.setattr(conftest, "_git", no_git)
    assert conftest.commit_info(env={"LIPBENCH_COMMIT": "4d328566a06c-dirty"}) | {"time": None} == {
        "id": "4d328566a06c", "time": None, "dirty": True, "source": "LIPBENCH_COMMIT"}
    unknown = conftest.commit_info(env={})
    assert unknown["id"] == "unknown" and "LIPBENCH_COMMIT" in unknown["error"], unknown
    with pytest.raises(pytest.UsageError, match="LIPBENCH_COMMIT"):
        conftest.commit_info(env={"LIPBENCH_COMMIT": "not a sha"})
