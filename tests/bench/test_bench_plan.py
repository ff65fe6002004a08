"""The benchmark session's plan: what will run, the time estimate, and the
progress lines (benchmarks/plan.py, wired in benchmarks/conftest.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import plan, profiles

REPO = Path(__file__).resolve().parents[2]


def _bench(name, median, total, build=None, **extra):
    info = {"backend": "numpy", "shape": "8x8", "dtype": "float64", "family": "gaussian", **extra}
    if build is not None:
        info["input_build_seconds"] = build
    return {"name": name, "fullname": f"benchmarks/test_spectral_norm.py::{name}",
            "stats": {"median": median, "total": total}, "extra_info": info}


def test_case_seconds_adds_untimed_calls_and_the_first_build():
    doc = {"benchmarks": [
        _bench("test_rivals[x]", 0.5, 1.5, build=2.0, wall_seconds=30.0),  # the whole test, its build included
        _bench("test_spectral_norm[a]", 0.01, 0.6, build=2.0),  # cheap; built by the rivals (one shared cache)
        _bench("test_spectral_norm[b]", 3.0, 3.0, build=2.0, shape="9x9"),  # the first of its input: the build
        _bench("test_spectral_norm[c]", 3.0, 3.0, timing="1 round, no warm-up call: ...", shape="9x9"),
    ]}
    got = plan.case_seconds(doc)
    assert got == pytest.approx({"test_rivals[x]": 30.0,
                                 "test_spectral_norm[a]": 0.6 + 2 * 0.01,
                                 "test_spectral_norm[b]": 3.0 + 3.0 + 2.0,
                                 "test_spectral_norm[c]": 3.0})
    assert plan.calibration(doc, wall_seconds=2 * sum(got.values())) == pytest.approx(2.0)
    doc["machine_info"] = {"lipbench_wall_seconds": 3 * sum(got.values())}  # a run's own wall time
    assert plan.calibration(doc) == pytest.approx(3.0)
    assert plan.calibration({"benchmarks": doc["benchmarks"]}) == pytest.approx(
        plan.REFERENCE_WALL_SECONDS / sum(got.values()))


def test_estimate_uses_the_reference_and_a_budget_for_unseen_cases():
    est = plan.estimate([("x", "grid"), ("y", "grid")], {"x": 3.0}, factor=1.5, unseen=1.2)
    assert [(p.name, p.seconds, p.seen) for p in est] == [("x", 4.5, True), ("y", 1.2, False)]
    line = plan.summary(est, "quick", "somewhere")
    assert "2 cases, about 6 s" in line and "grid 2 (6 s)" in line and "somewhere" in line, line
    assert "1 cases it did not run are guessed" in line, line
    assert "guessed" not in plan.summary(est[:1], "quick", "somewhere")


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_reference_is_a_run_of_these_cases_not_the_newest_slice(tmp_path):
    """A newer run of a slice (-k) or of another suite does not stand for the
    session: the newest run holding at least half of its cases does."""
    import json
    import time

    folder = tmp_path / "box" / "Linux-CPython"
    folder.mkdir(parents=True)

    def save(name, cases):
        doc = {"benchmarks": [{"name": c, "stats": {"total": 1.0, "median": 1.0}, "extra_info": {}}
                              for c in cases]}
        (folder / name).write_text(json.dumps(doc))
        time.sleep(0.01)

    wanted = [f"test_spectral_norm[{i}]" for i in range(10)]
    save("0001_all.json", wanted)
    save("0002_slice.json", wanted[:2])
    doc, source = plan.reference_doc(tmp_path, "box", wanted)
    assert "0001_all.json" in source and len(doc["benchmarks"]) == 10
    doc, source = plan.reference_doc(tmp_path, "box")  # no cases named: the newest run
    assert "0002_slice.json" in source


def test_progress_per_group_with_time_left():
    clock = FakeClock()
    cases = [plan.Planned(f"g{i}", "grid", 10.0) for i in range(3)] + [plan.Planned("h0", "curves", 10.0)]
    progress = plan.Progress(cases, clock=clock, every=30.0)
    lines = []
    for name in ("g0", "g1", "g2", "h0"):
        clock.now += 20.0  # every case takes twice its estimate
        lines.append(progress.finished(name))
    assert lines[0] == ("[grid: 1/3 cases; 20 s elapsed, about 40 s left in this group, 1 min 00 s in all]"), lines
    assert lines[1] is None, "within a group, at most one line per 30 s"
    assert lines[2] == "[grid: 3/3 cases; 1 min 00 s elapsed, about 0 s left in this group, 20 s in all]", lines
    assert lines[3] == "[curves: 1/1 cases; 1 min 20 s elapsed, about 0 s left in this group, 0 s in all]", lines
    assert progress.finished("not planned") is None and progress.finished("g0") is None


def test_fmt_duration():
    assert [plan.fmt_duration(s) for s in (0, 59.4, 61, 3599, 3720)] == ["0 s", "59 s", "1 min 01 s",
                                                                        "59 min 59 s", "1 h 02 min"]


def _collect(*args: str, machine: str = "never-ran-here") -> str:
    env = dict(os.environ, LIPBENCH_MACHINE=machine, LIPBENCH_BACKENDS="numpy")
    proc = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "--co", "-q", "-p", "no:cacheprovider",
                           f"--lipbench-results={REPO / 'results'}", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return next(line for line in proc.stdout.splitlines() if line.startswith("lipbench benchmarks, "))


def _minutes(line: str) -> float:
    m = re.search(r"about (?:(\d+) h )?(?:(\d+) min)? ?(?:(\d+) s)?", line)
    assert m and any(m.groups()), line
    h, mins, s = (int(g or 0) for g in m.groups())
    return 60 * h + mins + s / 60


def test_quick_profile_fits_in_ten_minutes_of_the_readme_box():
    """The README's command (quick profile), estimated from the committed run
    of the 2-core box that its timing is for: at most 10 minutes of pytest.
    A reference whose rivals rows predate their recorded wall time
    (``wall_seconds``) hides their searches in its calibration: it cannot
    judge a change of them, and the test says so instead."""
    import json

    ref = REPO / "results" / plan.REFERENCE_RUN
    if not ref.is_file():
        pytest.skip("the reference run is not in this checkout")
    rivals = [b for b in json.loads(ref.read_text())["benchmarks"] if b["name"].startswith("test_rivals")]
    if any("wall_seconds" not in b["extra_info"] for b in rivals):
        pytest.skip(f"{plan.REFERENCE_RUN} predates the rivals rows' wall_seconds; commit a newer run of the "
                    "README's command (results/README.md)")
    line = _collect()
    assert "README's run on a 2-core box" in line and "guessed" not in line, line
    assert _minutes(line) <= 10.0, line
    full = _collect("--lipbench-size=full")
    assert _minutes(full) > _minutes(line), (line, full)
    groups = dict(re.findall(r"(grid|head to head|error curves|stacks|training|auto on every family|rivals) "
                             r"(\d+) \(", line))
    assert set(groups) == set(plan.GROUPS.values()), line


def test_quick_runs_what_the_report_headlines():
    """The headline sizes and every input of auto's targets stay in the quick profile."""
    from benchmarks import grid
    from lipbench.report import TARGETS

    for t in TARGETS:
        parts = t.regime.split()
        if len(parts) != 4:
            continue
        shape, dtype, family, tol = parts[0], parts[1], parts[2], float(parts[3][4:])
        for method in ("auto",) + ((t.reference,) if t.reference in grid.all_methods() else ()):
            m, n = (int(x) for x in shape.split("x"))
            case = grid.Case(method, "numpy", shape, m, n, dtype, family,
                             min(grid.TOLS) if method in grid.TOL_INDEPENDENT else tol)
            assert profiles.skip_reason(case, "quick") is None, (t, method)


@pytest.mark.slow
def test_a_real_session_prints_the_plan_and_progress(tmp_path):
    env = dict(os.environ, LIPBENCH_MACHINE="plan-test-box", LIPBENCH_BACKENDS="numpy")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/test_spectral_norm.py", "-q", "-p", "no:cacheprovider",
         "--lipbench-size=tiny", f"--lipbench-results={tmp_path}", "--lipbench-no-report",
         "-k", "256x256 and float64 and gaussian and 1e-06 and (auto or lanczos) and not certify"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert re.search(r"lipbench benchmarks, tiny profile: 2 cases, about .*: grid 2 \(", out), out[-3000:]
    assert re.search(r"\[grid: 2/2 cases; .* elapsed, about 0 s left in this group, 0 s in all\]", out), out[-3000:]
