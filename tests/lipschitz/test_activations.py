"""The activations ONNX models use (SELU, hard sigmoid, hard swish, SiLU, clip, erf, scaled GELU): values and
constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from lipbench.lipschitz import ActivationLayer, activation, numerical_sup_abs_derivative
from properties.tolerances import scalar_rtol

EPS = np.finfo(np.float64).eps
X = np.linspace(-8, 8, 4001)

CASES = {
    # name, params, reference function, the best constant (exact or to float evaluation)
    "selu": ({}, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0))),
             1.0507009873554805 * 1.6732632423543772),
    "hard_sigmoid": ({"alpha": 0.2, "beta": 0.5}, lambda x: np.clip(0.2 * x + 0.5, 0, 1), 0.2),
    "hard_swish": ({}, lambda x: x * np.clip(x / 6 + 0.5, 0, 1), 1.5),
    "silu": ({}, lambda x: x * special.expit(x), 1.0998393201288668),
    "clip": ({"lo": 0.0, "hi": 6.0}, lambda x: np.clip(x, 0, 6), 1.0),
    "erf": ({}, special.erf, 2 / math.sqrt(math.pi)),
    # x Phi(a x), the exporters' erf form with a = sqrt 2 / c: GELU's constant Phi(sqrt 2) + sqrt 2 phi(sqrt 2)
    "gelu": ({"a": 0.7}, lambda x: x * special.ndtr(0.7 * x),
             float(special.ndtr(math.sqrt(2))) + math.sqrt(2) * math.exp(-1) / math.sqrt(2 * math.pi)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_values_and_constants(name):
    params, ref, best = CASES[name]
    act = activation(name, **params)
    np.testing.assert_allclose(act(X), ref(X), rtol=8 * EPS, atol=8 * EPS, err_msg=name)
    seen, where = numerical_sup_abs_derivative(act)
    assert seen <= act.lipschitz * (1 + scalar_rtol()), (name, seen, where, act.lipschitz)
    # the constant and the reference each take at most two operations (SELU's product)
    assert math.isclose(act.lipschitz, best, rel_tol=scalar_rtol(ops=2)), (name, act.lipschitz, best)
    layer_bound = ActivationLayer(act).lipschitz_upper()
    assert layer_bound >= best, (name, layer_bound, best)
    # the secant slopes of the function itself never exceed the layer's certified constant
    # (up to the rounding of the differences: values of size <= 8 over steps of 4e-3)
    slopes = np.abs(np.diff(ref(X)) / np.diff(X))
    slack = 8 * 8 * EPS / np.diff(X).min()
    assert slopes.max() <= layer_bound + slack, (name, slopes.max(), layer_bound)


def test_silu_proven_bound_is_one_plus_one_over_e():
    act = activation("silu")
    assert act.proven_upper is not None
    assert 1 + math.exp(-1) <= act.proven_upper <= (1 + math.exp(-1)) * (1 + 4 * EPS)


def test_hard_swish_constant_holds_for_other_offsets():
    act = activation("hard_swish", alpha=0.25, beta=-0.5)  # max(1, |beta|, |2 - beta|) = 2.5
    assert ActivationLayer(act).lipschitz_upper() == 2.5
    assert numerical_sup_abs_derivative(act)[0] <= 2.5


@pytest.mark.parametrize("bad", [{"lo": 2.0, "hi": 1.0}, {"lo": math.nan}])
def test_clip_refuses_empty_ranges(bad):
    with pytest.raises(ValueError, match="lo <= hi"):
        activation("clip", **bad)
