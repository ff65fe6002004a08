"""`lipbench norm` and the command line plumbing."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from lipbench import matrices
from lipbench.cli import main


@pytest.fixture
def npy(tmp_path):
    A, s = matrices.gaussian(120, 80, seed=1)
    p = tmp_path / "w.npy"
    np.save(p, A)
    return p, s[0]


def test_norm_npy(npy, capsys):
    p, sigma = npy
    assert main(["norm", str(p), "--method", "lanczos", "--tol", "1e-10"]) == 0
    out = capsys.readouterr().out
    assert "sigma_max" in out and "bracket" in out and "matvecs" in out and "converged" in out
    assert f"{sigma:.9f}"[:10] in out


def test_norm_json(npy, capsys):
    p, sigma = npy
    assert main(["norm", str(p), "--json", "--method", "svd"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lower"] <= sigma <= data["upper"] and data["method"] == "svd" and data["converged"] is True


def test_npz_keys(tmp_path, capsys):
    p = tmp_path / "w.npz"
    np.savez(p, W1=np.eye(3) * 2, W2=np.eye(4))
    assert main(["norm", str(p)]) == 2
    assert "holds 2 arrays (W1, W2); choose one with --key" in capsys.readouterr().err
    assert main(["norm", str(p), "--key", "W1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["value"] == 2.0
    assert main(["norm", str(p), "--key", "W9"]) == 2
    assert "has no array 'W9'; it holds: W1, W2" in capsys.readouterr().err


def test_pickled_and_malformed_refused(tmp_path, capsys):
    obj = tmp_path / "obj.npy"
    np.save(obj, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    assert main(["norm", str(obj)]) == 2
    assert "pickled Python objects" in capsys.readouterr().err
    raw = tmp_path / "raw.npy"
    raw.write_bytes(pickle.dumps([1, 2, 3]))
    assert main(["norm", str(raw)]) == 2
    assert "is a Python pickle" in capsys.readouterr().err
    junk = tmp_path / "junk.npy"
    junk.write_bytes(b"hello world")
    assert main(["norm", str(junk)]) == 2
    assert "not a .npy/.npz file" in capsys.readouterr().err
    trunc = tmp_path / "trunc.npy"
    np.save(trunc, np.ones((50, 50)))
    trunc.write_bytes(trunc.read_bytes()[:300])
    assert main(["norm", str(trunc)]) == 2
    assert "not a valid .npy/.npz file" in capsys.readouterr().err
    assert main(["norm", str(tmp_path / "missing.npy")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_bad_matrix_reported(tmp_path, capsys):
    p = tmp_path / "nan.npy"
    A = np.ones((4, 4))
    A[2, 1] = np.nan
    np.save(p, A)
    assert main(["norm", str(p)]) == 2
    assert "NaN at (2, 1)" in capsys.readouterr().err


def test_strict_exit_code(tmp_path, capsys):
    A, _ = matrices.gap(80, 80, delta=1e-4, seed=0)
    p = tmp_path / "slow.npy"
    np.save(p, A)
    assert main(["norm", str(p), "--method", "power", "--maxiter", "3", "--tol", "1e-10"]) == 0
    assert "NOT converged" in capsys.readouterr().out
    assert main(["norm", str(p), "--method", "power", "--maxiter", "3", "--tol", "1e-10", "--strict"]) == 1


def test_python_dash_m(npy):
    p, _ = npy
    proc = subprocess.run([sys.executable, "-m", "lipbench", "norm", str(p), "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["converged"] is True


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "norm" in capsys.readouterr().out
