"""The activations ONNX models use (SELU, hard sigmoid, hard swish, SiLU, clip, erf, scaled GELU, GELU's tanh
form): values and constants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from lipbench.lipschitz import ActivationLayer, activation, numerical_sup_abs_derivative
from lipbench.testing import GELU_TANH_REL_TOL, gelu_tanh_sup_upper
from properties.tolerances import central_difference_atol, located_max_rtol, scalar_rtol
from tests.lipschitz.test_proven_sup import gelu_tanh_sup_reference

EPS = np.finfo(np.float64).eps
#: every activation below has |g'''| <= 2 on R (tanh's, at 0, is the largest): the curvature of |g'| at its maximum
ACTIVATION_CURVATURE = 2.0
X = np.linspace(-8, 8, 4001)
GELU_TANH_C, GELU_TANH_K = math.sqrt(2 / math.pi), 0.044715


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(GELU_TANH_C * (x + GELU_TANH_K * x**3)))


GELU_TANH_SUP = gelu_tanh_sup_reference()

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
    "gelu_tanh": ({}, _gelu_tanh, float(GELU_TANH_SUP)),
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


@pytest.mark.parametrize("name,params", [("relu", {}), ("leaky_relu", {"alpha": 0.1}), ("leaky_relu", {"alpha": -2.0}),
                                         ("sin", {}), ("cos", {}), ("tanh", {}), ("sigmoid", {}),
                                         ("softplus", {"beta": 2.0}), ("elu", {"alpha": 1.5}), ("gelu", {}),
                                         ("gelu_tanh", {})])
def test_constant_matches_numerical_sup(name, params):
    act = activation(name, **params)
    num, _ = numerical_sup_abs_derivative(act, lo=-40, hi=40)
    assert num <= act.lipschitz * (1 + scalar_rtol())
    shortfall = located_max_rtol(40.0, ACTIVATION_CURVATURE, act.lipschitz)
    assert num >= act.lipschitz * (1 - shortfall), (name, num, act.lipschitz, shortfall)


def test_gelu_constant_from_critical_point():
    g = activation("gelu")
    x = math.sqrt(2.0)
    expected = special.ndtr(x) + x * math.exp(-1.0) / math.sqrt(2 * math.pi)
    # brentq stops within 1e-15 + 4 eps |x| of the computed g'' = phi (2 - x^2)'s root, itself within ~u of sqrt 2
    assert g.attained_at == pytest.approx(x, rel=scalar_rtol(ops=2))
    # g' is flat at its maximum: the two evaluations of ndtr + x phi (five operations) differ by rounding only
    assert g.lipschitz == pytest.approx(expected, rel=scalar_rtol(ops=5))


def _gelu_constant_from_below():
    """A rational lower bound on GELU's constant 1/2 + (erf(1) sqrt(pi)/2 + 1/e)/sqrt(pi),
    within 1e-40 of it: both alternating series stop on a negative term, and
    sqrt(pi) is bounded above through pi < 3.14159265358979323847."""
    from fractions import Fraction

    series = sum(Fraction((-1) ** n, math.factorial(n)) * (1 + Fraction(1, 2 * n + 1)) for n in range(0, 40))
    scale = 10**40
    sqrt_pi_hi = Fraction(math.isqrt(int(Fraction(314159265358979323847, 10**20) * scale * scale)) + 1, scale)
    return Fraction(1, 2) + series / sqrt_pi_hi


def test_gelu_layer_takes_the_proven_constant():
    """GELU's derived constant is a floating-point evaluation: its layer uses the
    rational upper bound, which lies above an independent rational lower bound and
    at most one float above it."""
    from fractions import Fraction

    g = activation("gelu")
    L = ActivationLayer(g).lipschitz_upper()
    below = _gelu_constant_from_below()
    assert Fraction(L) >= below
    assert L <= math.nextafter(float(below), math.inf), (L, float(below))
    assert all(activation(n).proven_upper is None for n in ("relu", "tanh", "sigmoid", "softplus", "sin", "cos"))


def test_gelu_tanh_proven_bound_is_above_the_sup_and_tight():
    """The layer's constant is the proven one: at least the dense-grid + refined numerical sup, and
    within rel_tol of it (plus Brent's shortfall); the 50-digit check is in test_proven_sup.py."""
    act = activation("gelu_tanh")
    L = ActivationLayer(act).lipschitz_upper()
    assert L == act.proven_upper == gelu_tanh_sup_upper()
    num, where = numerical_sup_abs_derivative(act)
    assert num <= L, (num, where, L)
    shortfall = located_max_rtol(20.0, ACTIVATION_CURVATURE, num)
    assert num >= L * (1 - float(GELU_TANH_REL_TOL) - shortfall), (num, where, L)


def test_gelu_tanh_derivatives_match_central_differences():
    """g' and g'' as written agree with central differences of g and g' (errors from
    properties.tolerances.central_difference_atol)."""
    act = activation("gelu_tanh")
    x = np.linspace(-4, 4, 81)
    h = 2.0**-12
    for f, df in ((act.fn, act.derivative), (act.derivative, act.second_derivative)):
        assert df is not None
        diff = (f(x + h) - f(x - h)) / (2 * h)
        # values of size <= 4 from about 20 operations; the third and fourth derivatives of g are
        # at most 1.7 in size on [-4, 4] (4.0: a margin)
        atol = central_difference_atol(h, scalar_rtol(ops=20) * 8, 4.0)
        assert np.max(np.abs(diff - df(x))) <= atol, (np.max(np.abs(diff - df(x))), atol)


def test_named_constants():
    assert activation("sigmoid").lipschitz == 0.25
    assert activation("leaky_relu", alpha=3.0).lipschitz == 3.0
    assert activation("elu", alpha=0.5).lipschitz == 1.0
    assert activation("softplus").attained_at is None


def test_unknown_activation_and_bad_params():
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        activation("swish")
    with pytest.raises(ValueError, match="beta"):
        activation("softplus", beta=0.0)
    with pytest.raises(ValueError, match="alpha"):
        activation("elu", alpha=-1.0)
