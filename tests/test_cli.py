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


def _run_cli(*args):
    return subprocess.run([sys.executable, "-m", "lipbench", "norm", *map(str, args)], capture_output=True, text=True)


@pytest.fixture
def kernel_file(tmp_path):
    W = np.random.default_rng(0).standard_normal((4, 3, 3, 3))
    p = tmp_path / "k.npy"
    np.save(p, W)
    return p, W


def test_more_than_two_axes_needs_a_flag(kernel_file):
    p, _ = kernel_file
    out = _run_cli(p)
    assert out.returncode != 0 and out.stdout == ""
    assert "--stack" in out.stderr and "--conv H,W" in out.stderr and "stack of 12 matrices" in out.stderr, out.stderr


def test_stack_flag_keeps_per_matrix_norms(kernel_file):
    p, W = kernel_file
    out = _run_cli(p, "--stack", "--method", "svd", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    truth = np.linalg.norm(W, 2, axis=(-2, -1))
    assert np.all(np.asarray(data["lower"]) <= truth) and np.all(truth <= np.asarray(data["upper"]))


def test_conv_flag_gives_the_operator_norm(kernel_file):
    from lipbench.lipschitz import conv_operator_norm

    p, W = kernel_file
    out = _run_cli(p, "--conv", "6,5", "--padding", "1", "--stride", "2", "--padding-mode", "reflect", "--json",
                   "--seed", "3")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    r = conv_operator_norm(W, (6, 5), padding=1, stride=2, padding_mode="reflect", seed=3)
    assert data["value"] == r.value and data["upper"] == r.upper and data["shape"] == list(r.shape)
    assert "conv2d" in data["message"]


def test_conv_flag_errors_are_named(kernel_file):
    p, _ = kernel_file
    out = _run_cli(p, "--conv", "6")
    assert out.returncode == 2 and "spatial axes" in out.stderr
    out = _run_cli(p, "--conv", "6,x")
    assert out.returncode == 2 and "comma-separated integers" in out.stderr
    out = _run_cli(p, "--stack", "--conv", "6,6")
    assert out.returncode == 2 and "exclude each other" in out.stderr
    A = p.parent / "m.npy"
    np.save(A, np.eye(3))
    out = _run_cli(A, "--stride", "2")
    assert out.returncode == 2 and "add --conv" in out.stderr


def test_norm_certifies_a_layer_by_default_and_says_when_not(npy):
    """The printed bracket of a dense layer is a certificate unless asked
    otherwise; an uncertified call says so on stderr and how to ask."""
    p, sigma = npy
    proc = _run_cli(p, "--tol", "1e-6", "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["certified"] is True and data["certificate"] == "inertia"
    assert data["lower"] <= sigma <= data["upper"] <= data["lower"] * (1 + 1e-6)
    proc = _run_cli(p, "--tol", "1e-6", "--no-certify")
    assert proc.returncode == 0 and "not certified to tol" in proc.stdout
    assert "pass --certify" in proc.stderr
