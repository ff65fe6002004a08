"""`lipbench norm` and the command line plumbing."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import lipbench as lb
from lipbench import matrices
from lipbench.cli import BROKEN_PIPE_STATUS, main
from lipbench.testing import certified_width, residual_floor


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
    tol = 1e-6
    proc = _run_cli(p, "--tol", str(tol), "--json")
    data = json.loads(proc.stdout)
    assert proc.returncode == 0 and data["certified"] is True and data["certificate"] == "inertia"
    assert data["lower"] <= sigma <= data["upper"] <= data["lower"] * (1 + tol)
    proc = _run_cli(p, "--tol", "1e-6", "--no-certify", "--method", "lanczos")
    assert proc.returncode == 0 and "not certified to tol" in proc.stdout
    assert "pass --certify" in proc.stderr


# --------------------------------------------------------------------------- the real entry point


def _entry_point() -> list[str]:
    """The installed ``lipbench`` console script (``python -m lipbench`` where
    the package is used without being installed)."""
    script = Path(sys.executable).with_name("lipbench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lipbench"]


def lipbench(*args, **kw):
    return subprocess.run([*_entry_point(), *map(str, args)], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def layer32(tmp_path_factory):
    """A float32 384 x 384 weight (the shape of query.npy in the report)."""
    A = np.random.default_rng(7).standard_normal((384, 384)).astype(np.float32)
    p = tmp_path_factory.mktemp("cli") / "query.npy"
    np.save(p, A)
    return p, A


@pytest.mark.parametrize("certify", [True, False])
def test_tol_below_the_floor_same_rule_as_the_api(layer32, certify):
    p, A = layer32
    flag = "--certify" if certify else "--no-certify"
    proc = lipbench("norm", p, "--tol", "1e-20", "--seed", 3, "--json", flag)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    r = lb.spectral_norm(A, tol=1e-20, seed=3, certify=certify)
    floor = certified_width(0.0, "float64", *A.shape) if certify else residual_floor(*A.shape)
    assert data["tol"] == r.tol == floor, (data["tol"], r.tol, floor)
    assert data["requested"]["tol"] == 1e-20 and data["error_estimate"] >= residual_floor(*A.shape)
    raised = [n["floor"] for n in data["result_notes"] if n["code"] == "tol-raised"]
    assert data["converged"] is True and raised == [floor], data["result_notes"]
    text = lipbench("norm", p, "--tol", "1e-20", "--seed", 3, flag)
    assert f"vs tol {floor:.3g}: converged" in text.stdout and "raised to it" in text.stdout, text.stdout


def test_maxiter_counts_steps_and_non_convergence_is_on_stderr(layer32):
    p, _ = layer32
    proc = lipbench("norm", p, "--maxiter", "2", "--no-certify")
    assert proc.returncode == 0, proc.stderr
    assert "work       2 Lanczos steps" in proc.stdout, proc.stdout
    assert "maxiter=2 Lanczos steps" in proc.stdout and "maxiter=1" not in proc.stdout
    assert "NOT converged" in proc.stderr and "Raise --maxiter or --tol, or use --method svd" in proc.stderr
    assert "method='svd'" not in proc.stderr and "Raise maxiter" not in proc.stderr, proc.stderr
    strict = lipbench("norm", p, "--maxiter", "2", "--strict")
    assert strict.returncode == 1 and "--maxiter" in strict.stderr and "Traceback" not in strict.stderr


def test_gram_route_maxiter_is_the_total(tmp_path):
    A = np.random.default_rng(1).standard_normal((1536, 384)).astype(np.float32)
    p = tmp_path / "wide.npy"
    np.save(p, A)
    data = json.loads(lipbench("norm", p, "--maxiter", "2", "--json", "--seed", 0).stdout)
    assert data["options"] == {"gram": True} and data["iterations"] == 2, data
    assert sum(s["iterations"] for s in data["stages"]) == 2 and data["iterations_count"] == "Lanczos steps"


def test_json_carries_everything_the_text_says(layer32):
    p, A = layer32
    args = ("norm", p, "--seed", 11, "--threads", 1, "--tol", "1e-7")
    text = lipbench(*args)
    data = json.loads(lipbench(*args, "--json").stdout)
    assert text.returncode == 0, text.stderr
    r = lb.spectral_norm(A, tol=1e-7, seed=11, certify=True)
    fields = dict(line.split(None, 1) for line in text.stdout.splitlines())
    assert fields["file"].startswith(str(p)) and data["file"] == str(p) and data["key"] is None
    assert f"shape {tuple(data['shape'])} {data['input_dtype']}" in fields["file"]
    assert fields["sigma_max"] == f"{data['value']:.12g}" and data["value"] == r.value
    assert fields["bracket"] == f"[{data['lower']:.12g}, {data['upper']:.12g}]"
    assert data["method"] in fields["method"] and str(data["options"]) in fields["method"]
    assert data["options"] == r.options and data["requested"]["method"] == "auto"
    assert fields["work"] == (f"{data['iterations']} {data['iterations_count']}, {data['matvecs']} matvecs, "
                              f"seed {data['seed']}")
    assert data["seed"] == 11 and data["threads"] == 1 and fields["time"].endswith("1 BLAS thread(s)")
    assert data["seconds"] > 0 and data["stages"] and data["stages"][0]["engine"]
    assert f"vs tol {data['tol']:.3g}" in fields["accuracy"]
    assert fields["upper"] == f"certified ({data['certificate']})" and data["certified"] is True


def test_closed_pipe_exits_quietly(layer32):
    p, _ = layer32
    proc = subprocess.Popen([*_entry_point(), "norm", str(p), "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # the reader is gone before lipbench writes
    err = proc.stderr.read()
    proc.wait(timeout=120)
    proc.stderr.close()
    assert "Traceback" not in err and "BrokenPipeError" not in err, err
    assert proc.returncode == BROKEN_PIPE_STATUS, (proc.returncode, err)


def test_complex_input_reports_the_callers_shape(tmp_path):
    rng = np.random.default_rng(0)
    A = (rng.standard_normal((20, 10)) + 1j * rng.standard_normal((20, 10))).astype(np.complex64)
    p = tmp_path / "c.npy"
    np.save(p, A)
    proc = lipbench("norm", p)
    assert "shape (20, 10) complex64" in proc.stdout and "(40, 20)" not in proc.stdout.splitlines()[0]
    assert "real embedding" in proc.stdout
    assert json.loads(lipbench("norm", p, "--json").stdout)["shape"] == [20, 10]


def test_seed_rule_is_the_apis(layer32):
    """No --seed: a fresh seed each run, printed; the printed seed reproduces
    the run, in the CLI and in the API."""
    p, A = layer32
    runs = [json.loads(lipbench("norm", p, "--json", "--threads", 1, "--no-certify").stdout) for _ in range(2)]
    assert runs[0]["seed"] != runs[1]["seed"]
    again = json.loads(lipbench("norm", p, "--json", "--threads", 1, "--no-certify", "--seed", runs[0]["seed"]).stdout)
    with threadpool_limits(limits=1, user_api="blas"):
        r = lb.spectral_norm(A, seed=runs[0]["seed"])
    assert again["value"] == runs[0]["value"] == r.value


def test_threads_flag(npy):
    p, _ = npy
    for n in (1, 2):
        data = json.loads(lipbench("norm", p, "--json", "--method", "svd", "--threads", n).stdout)
        assert data["threads"] == n
    bad = lipbench("norm", p, "--threads", 0)
    assert bad.returncode == 2 and "threads must be a positive integer" in bad.stderr
