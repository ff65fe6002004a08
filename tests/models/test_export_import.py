"""torch.export programs (``.pt2``) into graphs, and ``lipbench lipschitz`` / ``lipbench scan`` on them,
on a factory, and the refusal of pickled ``.pt`` modules."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from lipbench.cli import main  # noqa: E402
from lipbench.models.export_import import import_exported  # noqa: E402
from lipbench.models.onnx_import import UnsupportedModel  # noqa: E402
from lipbench.models.torch_import import import_torch  # noqa: E402
from tests.models.test_torch_import import TORCH_MATCH  # noqa: E402


class _Residual(nn.Module):
    """Conv, BatchNorm (eps 1e-3), ReLU, a scaled residual sum, a shifted concatenation, pooling, Linear."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4, eps=1e-3)
        self.c2 = nn.Conv2d(4, 4, 3, stride=1, padding="same", dilation=2)
        self.pool = nn.AvgPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        h = self.c1(x)
        h = h + 0.5 * self.c2(torch.relu(self.bn(h)))
        h = self.pool(h)
        h = torch.cat([h, nn.functional.silu(h) - 1.0], dim=1)
        return nn.functional.hardtanh(self.fc(self.gap(h).flatten(1)), -1.0, 2.0)


def _mlp_cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.BatchNorm2d(4), nn.LeakyReLU(0.1),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(16, 10), nn.ELU(0.5),
                         nn.Linear(10, 6), nn.Hardswish(), nn.Tanh(), nn.GELU(), nn.Linear(6, 3), nn.Sigmoid())


MODULES = {"residual": _Residual, "sequential": _mlp_cnn}


def _save(module: nn.Module, path, example_shape=(1, 3, 8, 8), seed=0):
    torch.manual_seed(seed)
    module = module.double().eval()
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_()
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
    torch.export.save(torch.export.export(module, (torch.randn(*example_shape, dtype=torch.float64),)), str(path))
    return module


def _check_forward(g, module, shape, batch=3):
    x = torch.randn(batch, *shape, dtype=torch.float64)
    with torch.no_grad():
        want = module(x).reshape(batch, -1).numpy()
    got = g(x.reshape(batch, -1).numpy())
    err = float(np.max(np.abs(got - want))) / max(1.0, float(np.max(np.abs(want))))
    assert err <= TORCH_MATCH, f"relative difference {err:.3g} (shape {want.shape})"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_program_matches_the_module_and_import_torch(name, tmp_path):
    """The program saved at an example of batch 1 imports (batch 2 in the walk) to a graph that
    computes what the module computes, with import_torch's layer constants (where the fx
    importer reads the module: it has no hardtanh)."""
    module = _save(MODULES[name](), tmp_path / "m.pt2")
    g = import_exported(tmp_path / "m.pt2")
    assert g.input_shape == (3, 8, 8)
    _check_forward(g, module, (3, 8, 8))
    if name == "sequential":
        ours = [c for _, c in g.layer_constants()]
        assert ours == [c for _, c in import_torch(module, (3, 8, 8)).layer_constants()]


def test_input_shape_overrides_the_example(tmp_path):
    module = _save(_Residual(), tmp_path / "m.pt2")
    g = import_exported(tmp_path / "m.pt2", (3, 12, 12))
    assert g.input_shape == (3, 12, 12)
    _check_forward(g, module, (3, 12, 12))


def test_unsupported_aten_calls_are_named_at_once(tmp_path):
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(6, 6)

        def forward(self, x):
            return nn.functional.mish(self.fc(x)[:, :4])

    _save(Odd(), tmp_path / "odd.pt2", (2, 6))
    with pytest.raises(UnsupportedModel) as info:
        import_exported(tmp_path / "odd.pt2")
    assert [(p[0], p[2]) for p in info.value.problems] == [("slice_1", "no importer for aten.slice"),
                                                           ("mish", "no importer for aten.mish")], str(info.value)


def test_a_batch_fixed_in_a_reshape_is_explained(tmp_path):
    class Fixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(12, 2)

        def forward(self, x):
            return self.fc(x.view(1, -1))

    _save(Fixed(), tmp_path / "fixed.pt2", (1, 3, 4))
    with pytest.raises(ValueError, match="batch size is not fixed"):
        import_exported(tmp_path / "fixed.pt2")


# ------------------------------------------------------------------------------ the command line
def test_lipschitz_cli_on_a_program(tmp_path, capsys):
    module = _save(_mlp_cnn(), tmp_path / "m.pt2")
    assert main(["lipschitz", str(tmp_path / "m.pt2"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_shape"] == [3, 8, 8] and data["package"] == "torch" and "torch_load_seconds" in data
    product = data["rows"][0]
    assert product["name"] == "product" and product["certified"]
    assert product["value"] == import_torch(module, (3, 8, 8)).as_sequential().lipschitz_upper()
    assert main(["lipschitz", str(tmp_path / "m.pt2"), "--input-shape", "3,16,16"]) == 2  # its Linear reads 16
    assert "mat1 and mat2 shapes cannot be multiplied" in capsys.readouterr().err
    _save(_Residual(), tmp_path / "r.pt2")  # global average pooling: any input size
    assert main(["lipschitz", str(tmp_path / "r.pt2"), "--input-shape", "3,4,4", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["input_shape"] == [3, 4, 4]


def test_pickled_module_and_state_dict_are_refused_with_what_to_do(tmp_path, capsys):
    module = _mlp_cnn().eval()
    torch.save(module, tmp_path / "whole.pt")
    torch.save(module.state_dict(), tmp_path / "sd.pt")
    assert main(["lipschitz", str(tmp_path / "whole.pt")]) == 2
    err = capsys.readouterr().err
    assert "pickled nn.Module" in err and "weights_only=True" in err and "torch.export" in err, err
    assert main(["lipschitz", str(tmp_path / "sd.pt")]) == 2
    err = capsys.readouterr().err
    assert "state_dict" in err and "lipbench scan" in err and "torch.export" in err, err


def test_factory_spec_runs_the_factory(tmp_path, monkeypatch, capsys):
    (tmp_path / "lipbench_test_nets.py").write_text(
        "import torch.nn as nn\n\n\ndef make():\n"
        "    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["lipschitz", "lipbench_test_nets:make", "--input-shape", "4", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["input_shape"] == [4] and data["rows"][0]["certified"]
    assert main(["lipschitz", "lipbench_test_nets:make"]) == 2
    assert "--input-shape" in capsys.readouterr().err
    assert main(["lipschitz", "lipbench_test_nets:nothing", "--input-shape", "4"]) == 2
    assert "no function 'nothing'" in capsys.readouterr().err


def test_scan_takes_each_conv_at_its_own_input_size(tmp_path, capsys):
    """Without --input-shape each kernel is bounded at the size of the input its layer reads in
    the program (8x8, then 4x4 after a stride-2 conv... here a max pool); with it, at that size."""
    module = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(4, 2, 3),
                           nn.Flatten(), nn.Linear(8, 3))
    _save(module, tmp_path / "m.pt2")
    assert main(["scan", str(tmp_path / "m.pt2"), "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["0.weight"]["input_size"] == [8, 8] and rows["3.weight"]["input_size"] == [4, 4], rows
    assert rows["0.weight"]["bound"] == "conv-at-size" and rows["5.weight"]["bound"] == "sigma"
    assert main(["scan", str(tmp_path / "m.pt2"), "--input-shape", "3,6,6", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["0.weight"]["input_size"] == rows["3.weight"]["input_size"] == [6, 6], rows


def test_the_callers_program_is_left_as_it_was():
    """The import drops the shape guard from a module of its own; the program keeps its guard."""
    module = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).eval()
    program = torch.export.export(module, (torch.randn(1, 4),))
    before = str(program.graph)
    assert import_exported(program).input_shape == (4,)
    assert str(program.graph) == before
    assert "_guards_fn" in [n.target for n in program.module().graph.nodes if n.op == "call_module"]
