"""``lipbench norm`` on PyTorch ``.pt`` files: a tensor, a state_dict's
tensor by ``--key``, and what ``torch.load(weights_only=True)`` refuses."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lipbench.cli import main

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")


@pytest.fixture
def model_file(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(24, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    p = tmp_path / "net.pt"
    torch.save(net.state_dict(), p)
    return p, {k: v.detach().numpy().astype(np.float64) for k, v in net.state_dict().items()}


def test_a_state_dict_tensor_by_key(model_file, capsys):
    p, weights = model_file
    assert main(["norm", str(p), "--key", "2.weight", "--json", "--certify"]) == 0
    out = json.loads(capsys.readouterr().out)
    truth = np.linalg.norm(weights["2.weight"], 2)
    assert out["certified"] and out["lower"] <= truth <= out["upper"] and out["input_dtype"] == "float32"


def test_the_keys_are_listed_when_one_must_be_chosen(model_file, capsys):
    p, _ = model_file
    assert main(["norm", str(p)]) == 2
    assert "holds 4 tensors (0.weight, 0.bias, 2.weight, 2.bias); choose one with --key" in capsys.readouterr().err
    assert main(["norm", str(p), "--key", "1.weight"]) == 2
    assert "has no tensor '1.weight'" in capsys.readouterr().err


def test_a_single_tensor(tmp_path, capsys):
    p = tmp_path / "w.pt"
    w = torch.arange(12, dtype=torch.float64).reshape(3, 4)
    torch.save(w, p)
    assert main(["norm", str(p), "--json", "--method", "svd"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lower"] <= np.linalg.norm(w.numpy(), 2) <= out["upper"]
    assert main(["norm", str(p), "--key", "x"]) == 2
    assert "--key applies to a saved state_dict" in capsys.readouterr().err


class _Payload:
    """Not a tensor: the weights-only loader refuses to build it."""


def test_arbitrary_pickles_are_refused(tmp_path, capsys):
    p = tmp_path / "obj.pt"
    torch.save({"w": _Payload()}, p)
    assert main(["norm", str(p)]) == 2
    assert "not a weights-only PyTorch file" in capsys.readouterr().err
