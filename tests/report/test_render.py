"""report.render: REPORT.md, REPORT.html, the CSVs and plots/ from saved runs; one test runs a tiny real
``pytest benchmarks`` in a subprocess."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

from lipbench import report  # noqa: E402

from .fakes import cpu_run  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_write_report_produces_md_csv_png_html(tmp_path):
    cpu_run(tmp_path / "results")
    paths = report.write_report(tmp_path / "results")
    for key in ("md", "html", "csv", "curves_csv"):
        assert Path(paths[key]).is_file(), f"{key} not written: {paths}"
    assert paths["png"], "no plots written"
    assert all(Path(p).stat().st_size > 1000 for p in paths["png"])
    md = Path(paths["md"]).read_text()
    assert "MISS" in md and "power" in md
    assert "Headline" in md and "4096x4096" in md
    assert "time / time(numpy.linalg.norm)" in md
    html = Path(paths["html"]).read_text()
    assert "data:image/png;base64," in html, "plots must be embedded in the HTML page"
    assert re.search(r'class="[^"]*\bmiss\b[^"]*">MISS<', html), "misses are marked in the HTML tables"
    csv = pd.read_csv(paths["csv"])
    assert len(csv) == 10 and "rel_error" in csv.columns
    curves = pd.read_csv(paths["curves_csv"])
    assert list(curves["matvecs"]) == [2, 4, 6]


def test_empty_results_folder_still_writes_a_report(tmp_path):
    paths = report.write_report(tmp_path)
    assert "No lipbench benchmark rows" in Path(paths["md"]).read_text()


def test_report_package_does_not_import_estimators():
    """Data flows one way (results -> report): every lipbench import in
    lipbench/report/ stays inside lipbench.report or the pure-data
    lipbench.benchmark_meta (no estimator, no CLI)."""
    package = REPO / "lipbench" / "report"
    bad = []
    for f in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = (".".join(["lipbench", "report"][: 3 - node.level] + ([node.module] if node.module else []))
                        if node.level else node.module or "")
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            bad += [f"{f.name}: {n}" for n in names
                    if (n == "lipbench" or n.startswith("lipbench."))
                    and not n.startswith(("lipbench.report", "lipbench.benchmark_meta"))]
    assert not bad, f"lipbench/report imports outside itself: {bad}"


@pytest.mark.slow
def test_real_tiny_benchmark_run_is_reported(tmp_path):
    """A real ``pytest benchmarks`` run (tiny profile) saves JSON the report reads."""
    if not (REPO / "benchmarks" / "conftest.py").is_file():
        pytest.skip("benchmarks/ not present")
    try:
        import lipbench

        lipbench.spectral_norm  # noqa: B018
    except (ImportError, AttributeError) as exc:
        pytest.skip(f"lipbench.spectral_norm not available yet ({exc})")
    env = dict(os.environ, LIPBENCH_MACHINE="tiny-test-box", LIPBENCH_BACKENDS="numpy")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "benchmarks/test_spectral_norm.py", "-q", "-p", "no:cacheprovider",
         "--lipbench-size=tiny", f"--lipbench-results={tmp_path}", "--benchmark-save=tiny",
         "--lipbench-no-report", "-x"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    files = list((tmp_path / "tiny-test-box").rglob("*_tiny.json"))
    assert len(files) == 1, (files, proc.stdout[-2000:])
    blas = json.loads(files[0].read_text())["machine_info"]["blas"]
    assert blas and all("/" not in (b["filepath"] or "") for b in blas), "BLAS named by file, not by install path"
    df = report.load_results(tmp_path)
    assert len(df) > 0 and set(df["machine"]) == {"tiny-test-box"}
    assert df["rel_error"].notna().all(), df[["method", "rel_error"]]
    assert df["met_target"].map(lambda v: v in (True, False)).all()
    paths = report.write_report(tmp_path)
    assert Path(paths["md"]).is_file() and Path(paths["html"]).is_file()


def test_report_deletes_only_the_plots_it_wrote(tmp_path):
    """Pointed at a shared folder, the report leaves every file it did not write."""
    results, out = tmp_path / "results", tmp_path / "shared"
    cpu_run(results)
    foreign = out / "plots" / "someone_elses_plot.png"
    foreign.parent.mkdir(parents=True)
    foreign.write_bytes(b"\x89PNG\r\n\x1a\n not written by lipbench")
    first = report.write_report(results, out)  # no list of earlier plots yet
    second = report.write_report(results, out)  # the first report's list in place
    assert foreign.read_bytes() == b"\x89PNG\r\n\x1a\n not written by lipbench", "a foreign plot was changed"
    assert first["png"] and all(Path(p).is_file() for p in second["png"])


def test_report_removes_its_own_stale_plots_but_not_edited_ones(tmp_path):
    """A plot the previous report wrote and nobody changed since is removed when
    the new report has no such plot; one changed since, or named outside
    plots/, is left alone."""
    results, out = tmp_path / "results", tmp_path / "out"
    cpu_run(results, "cpu-a")
    cpu_run(results, "cpu-b")
    first = [Path(p) for p in report.write_report(results, out)["png"]]
    gone = [p for p in first if "cpu-b" in p.name]
    assert len(gone) == 2, first
    gone[1].write_bytes(gone[1].read_bytes() + b"edited")
    victim = out / "victim.png"
    victim.write_bytes(b"not a plot of the report")
    manifest = out / "plots" / report.PLOTS_MANIFEST
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    manifest.write_text(manifest.read_text() + f"{digest}  ../victim.png\n")
    for run in (results / "cpu-b").rglob("*.json"):
        run.unlink()
    second = [Path(p) for p in report.write_report(results, out)["png"]]
    assert not gone[0].exists(), f"stale plot {gone[0].name} kept"
    assert gone[1].exists(), "a plot edited after the report wrote it was removed"
    assert victim.exists(), "a file outside plots/ named in the list was removed"
    assert second and all(p.is_file() and "cpu-b" not in p.name for p in second), second
