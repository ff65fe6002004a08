"""``lipbench scan``: the table, ``--json`` and ``--csv`` columns, the chain
line for a LipSDP file, the progress rule and the errors."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from lipbench import cli_scan
from lipbench.cli import main

LIPSDP = Path(__file__).parent / "models" / "data" / "lipsdp" / "random_weights.mat"
REQUIRED = {"name", "kind", "shape", "lower", "upper", "certified"}


@pytest.fixture
def npz(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {"fc1.weight": rng.standard_normal((30, 12)), "fc1.bias": rng.standard_normal(30),
              "fc2.weight": 3 * rng.standard_normal((5, 30)), "conv.weight": rng.standard_normal((4, 2, 3, 3))}
    p = tmp_path / "w.npz"
    np.savez(p, **arrays)
    return p, arrays


def test_text_lists_rows_largest_first_and_counts_the_biases(npz, capsys):
    p, _ = npz
    assert main(["scan", str(p)]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[1].split()[:3] == ["name", "kind", "shape"]
    assert [ln.split()[0] for ln in lines[2:5]] == ["fc2.weight", "conv.weight", "fc1.weight"], out.out
    assert "conv, size-free upper bound" in out.out
    assert "not bounded  1 bias array: a translation" in out.out
    assert out.err == ""  # a short scan off a terminal: no progress


def test_json_rows(npz, capsys):
    p, arrays = npz
    assert main(["scan", str(p), "--json", "--input-shape", "2,6,6"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_shape"] == [2, 6, 6] and data["chain"] is None
    rows = {r["name"]: r for r in data["rows"]}
    assert all(REQUIRED <= set(r) for r in data["rows"])
    for name in ("fc1.weight", "fc2.weight"):
        exact = np.linalg.norm(arrays[name], 2)
        assert rows[name]["certified"] and rows[name]["lower"] <= exact <= rows[name]["upper"], rows[name]
        assert rows[name]["shape"] == list(arrays[name].shape)
    assert rows["conv.weight"]["bound"] == "conv-at-size" and rows["conv.weight"]["input_size"] == [6, 6]
    assert rows["fc1.bias"]["upper"] is None and rows["fc1.bias"]["reason"] == "bias"


def test_csv_columns(npz, capsys):
    p, _ = npz
    assert main(["scan", str(p), "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert REQUIRED <= set(rows[0]) and len(rows) == 4
    assert rows[0]["name"] == "fc2.weight" and rows[0]["shape"] == "5x30" and rows[0]["certified"] == "True"
    uppers = [float(r["upper"]) for r in rows if r["upper"]]
    assert uppers == sorted(uppers, reverse=True)


def test_the_lipsdp_file_gives_the_chain_product(capsys):
    assert main(["scan", str(LIPSDP)]) == 0
    out = capsys.readouterr().out
    assert "chain  weights[0] -> weights[1] -> weights[2] -> weights[3] with ReLU between" in out
    assert main(["scan", str(LIPSDP), "--json"]) == 0
    chain = json.loads(capsys.readouterr().out)["chain"]
    assert chain["layers"][0] == "weights[0]" and chain["upper"] >= 36.482


@pytest.mark.parametrize("argv, message", [
    (["--input-shape", "32"], "--input-shape is C,L or C,H,W"),
    (["--input-shape", "3,x"], "--input-shape takes comma-separated integers"),
    (["--tol", "0"], "--tol must be positive"),
])
def test_bad_flags(npz, capsys, argv, message):
    p, _ = npz
    assert main(["scan", str(p), *argv]) == 2
    assert message in capsys.readouterr().err


def test_json_and_csv_exclude_each_other(npz, capsys):
    p, _ = npz
    with pytest.raises(SystemExit):
        main(["scan", str(p), "--json", "--csv"])
    assert "not allowed with argument" in capsys.readouterr().err


def test_file_errors_exit_2(tmp_path, capsys):
    (tmp_path / "x.txt").write_text("hi")
    assert main(["scan", str(tmp_path / "x.txt")]) == 2
    assert "unknown weight format '.txt'" in capsys.readouterr().err


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def test_progress_on_a_terminal_and_off_it(monkeypatch):
    tty = _Stream(True)
    bar = cli_scan._Progress(tty)
    bar(1, 3, "a.weight")
    bar.done()
    assert "scan 1/3 a.weight" in tty.getvalue() and tty.getvalue().endswith("\r")
    pipe = _Stream(False)
    bar = cli_scan._Progress(pipe)
    bar(1, 3, "a.weight")
    assert pipe.getvalue() == ""  # quiet while the scan is short
    bar.last -= cli_scan.QUIET_SECONDS
    bar(2, 3, "b.weight")
    assert pipe.getvalue().startswith("lipbench scan: 2/3 b.weight")
