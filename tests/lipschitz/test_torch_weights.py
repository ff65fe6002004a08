"""lipbench.lipschitz's layers and convolutions built from torch weights:
read detached (no graph, no .grad, no write), the same constants as from
the NumPy weights."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from lipbench import lipschitz as L

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")


def _untouched(*params):
    return [(p, p._version, p.detach().clone()) for p in params]


def _check(saved):
    for p, version, before in saved:
        assert p.grad is None and p._version == version and torch.equal(p.detach(), before)


def test_a_network_from_linear_layers():
    torch.manual_seed(0)
    a, b = torch.nn.Linear(12, 20), torch.nn.Linear(20, 3)
    saved = _untouched(a.weight, a.bias, b.weight, b.bias)
    relu = L.ActivationLayer(L.activation("relu"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net = L.Sequential([L.Dense(a.weight, a.bias), relu, L.Dense(b.weight, b.bias)])
    ref = L.Sequential([L.Dense(a.weight.detach().numpy(), a.bias.detach().numpy()), relu,
                        L.Dense(b.weight.detach().numpy(), b.bias.detach().numpy())])
    assert L.product_bound(net) == L.product_bound(ref)
    _check(saved)


def test_a_convolution_kernel():
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(3, 5, 3, padding=1)
    saved = _untouched(conv.weight)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = L.conv_operator_norm(conv.weight, (3, 8, 8), padding=1)
    ref = L.conv_operator_norm(conv.weight.detach().numpy(), (3, 8, 8), padding=1)
    assert (r.lower, r.upper, r.input_dtype) == (ref.lower, ref.upper, "float32")
    _check(saved)


def test_a_bfloat16_kernel_keeps_its_dtype_name():
    k = torch.randn(2, 1, 3, 3).to(torch.bfloat16)
    r = L.conv_operator_norm(k, (1, 6, 6))
    ref = L.conv_operator_norm(k.float().numpy(), (1, 6, 6))
    assert r.input_dtype == "bfloat16" and (r.lower, r.upper) == (ref.lower, ref.upper)


def test_batch_norm_from_a_module():
    bn = torch.nn.BatchNorm1d(6).eval()
    with torch.no_grad():
        bn.weight.copy_(torch.linspace(-2, 3, 6))
        bn.running_var.copy_(torch.linspace(0.5, 2, 6))
    layer = L.BatchNorm(bn.weight, bn.bias, bn.running_mean, bn.running_var, eps=bn.eps)
    assert np.array_equal(layer.gamma, bn.weight.detach().numpy().astype(np.float64))
