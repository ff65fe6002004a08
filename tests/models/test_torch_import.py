"""The torch.fx importer: imported graphs against the module's own forward pass, refusals named."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

from lipbench.models import NotGloballyLipschitz, graph_ladder  # noqa: E402
from lipbench.models.graph_ladder import sampled_lower_bound  # noqa: E402
from lipbench.models.onnx_import import UnsupportedModel  # noqa: E402
from lipbench.models.torch_import import import_torch  # noqa: E402

#: float64 module against the float64 graph: sums of at most a few hundred terms
TORCH_MATCH = 1e-12


def _check(module, shape, batch=3, seed=0):
    torch.manual_seed(seed)
    module = module.double().eval()
    g = import_torch(module, shape)
    x = torch.randn(batch, *shape, dtype=torch.float64)
    with torch.no_grad():
        want = module(x).reshape(batch, -1).numpy()
    got = g(x.reshape(batch, -1).numpy())
    err = float(np.max(np.abs(got - want))) / max(1.0, float(np.max(np.abs(want))))
    assert err <= TORCH_MATCH, f"{type(module).__name__}: relative difference {err:.3g} (shape {want.shape})"
    return g


class ResidualCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding="same", bias=False)
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Linear(4 * 4 * 4, 5)

    def forward(self, x):
        h = self.conv1(x)
        h = h + self.conv2(torch.relu(self.bn(h)))
        h = self.pool(h)
        return self.head(h.view(h.size(0), -1))


class Branches(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Conv1d(2, 3, 3, padding=1), nn.Conv1d(2, 1, 1)

    def forward(self, x):
        return torch.cat([nn.functional.silu(self.a(x)), 2.0 * self.b(x) - 1.0], dim=1) / 4.0


def _randomise_bn(module):
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
    return module


def test_mlp_is_a_chain_with_every_rung():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Dropout(0.5), nn.Linear(8, 3))
    g = _check(net, (6,))
    assert g.is_chain()
    names = [r.name for r in graph_ladder(g, n_samples=4, ascent_steps=2).rows]
    assert "eclipse_fast" in names and "patterns" in names


def test_residual_cnn_matches_its_forward():
    torch.manual_seed(1)
    g = _check(_randomise_bn(ResidualCNN()), (3, 8, 8))
    assert g.branch_nodes() == ["add"]
    assert sampled_lower_bound(g, n_samples=8) <= g.product_bound()


def test_concat_and_arithmetic_with_numbers():
    torch.manual_seed(2)
    g = _check(Branches(), (2, 7))
    assert g.branch_nodes() == ["cat"]
    assert sampled_lower_bound(g, n_samples=8) <= g.product_bound()


@pytest.mark.parametrize("act", [nn.LeakyReLU(0.2), nn.ELU(0.5), nn.SELU(), nn.Tanh(), nn.Sigmoid(),
                                 nn.GELU(), nn.SiLU(), nn.Hardswish(), nn.Hardsigmoid(),
                                 nn.Softplus(threshold=float("inf"))], ids=lambda m: type(m).__name__)
def test_activation_modules(act):
    _check(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"), act,
                         nn.AdaptiveAvgPool2d(1), nn.Flatten()), (2, 5, 5))


def test_refusals_are_named():
    net = nn.Sequential(nn.Linear(4, 4), nn.Mish(), nn.BatchNorm1d(4))
    with pytest.raises(UnsupportedModel) as exc:
        import_torch(net.train(), (4,))
    named = {(n, op) for n, op, _ in exc.value.problems}
    assert named == {("1", "Mish"), ("2", "BatchNorm1d")}, exc.value.problems  # both, though 2 follows 1
    assert "call model.eval()" in str(exc.value)
    with pytest.raises(UnsupportedModel, match="threshold"):
        import_torch(nn.Sequential(nn.Softplus()), (3,))


class Gate(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x) * torch.tanh(x)


def test_gating_is_not_globally_lipschitz():
    g = _check(Gate(), (4,))
    with pytest.raises(NotGloballyLipschitz, match="node 'mul(_1)?' .*grows quadratically"):
        g.product_bound()
