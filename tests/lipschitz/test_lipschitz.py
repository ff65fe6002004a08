"""Unit tests of lipbench.lipschitz: constants, dropout conventions, SN, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special

from lipbench.lipschitz import (
    ActivationLayer,
    Dense,
    Dropout,
    Sequential,
    SpectralNormalizer,
    activation,
    empirical_lower_bound,
    enumerate_masks,
    expected_over_masks,
    gram_eigenvalues,
    mask_probabilities,
    numerical_sup_abs_derivative,
    power_iteration_sigma,
    product_bound,
    spectral_normalize,
    test_time_weight,
)
from properties.tolerances import (
    central_difference_atol,
    gram_atol,
    located_max_rtol,
    matvec_atol,
    monotone_slack,
    power_rtol,
    reference_rtol,
    scalar_rtol,
    svd_atol,
)

EPS = np.finfo(np.float64).eps
#: every activation below has |g'''| <= 2 on R (tanh's, at 0, is the largest): the curvature of |g'| at its maximum
ACTIVATION_CURVATURE = 2.0


@pytest.mark.parametrize("name,params", [("relu", {}), ("leaky_relu", {"alpha": 0.1}), ("leaky_relu", {"alpha": -2.0}),
                                         ("sin", {}), ("cos", {}), ("tanh", {}), ("sigmoid", {}),
                                         ("softplus", {"beta": 2.0}), ("elu", {"alpha": 1.5}), ("gelu", {})])
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


@pytest.mark.parametrize("bad,exc,match", [
    (np.array([1.0, 2.0]), ValueError, "2-D"),
    (np.zeros((0, 3)), ValueError, "empty"),
    (np.array([[1.0, np.nan]]), ValueError, "nan at \\(0, 1\\)"),
    (np.array([["a"]], dtype=object), TypeError, "numeric"),
    (np.array([[1 + 1j]]), TypeError, "real"),
])
def test_dense_rejects_bad_weights(bad, exc, match):
    with pytest.raises(exc, match=match):
        Dense(bad)


def test_dense_shapes_and_bias():
    W = np.arange(6.0).reshape(2, 3)
    layer = Dense(W, np.array([1.0, -1.0]))
    np.testing.assert_array_equal(layer(np.ones(3)), W @ np.ones(3) + [1.0, -1.0])
    with pytest.raises(ValueError, match="3 inputs|expects 3"):
        layer(np.ones(4))
    with pytest.raises(ValueError, match="bias must have shape"):
        Dense(W, np.ones(3))
    assert layer.lipschitz_upper() >= np.linalg.norm(W, 2)


def test_sequential_checks_widths_and_jacobian():
    with pytest.raises(ValueError, match="expects 3 inputs"):
        Sequential([Dense(np.ones((2, 3))), Dense(np.ones((1, 3)))])
    with pytest.raises(ValueError, match="at least one layer"):
        Sequential([])
    rng = np.random.default_rng(0)
    W1, W2 = rng.standard_normal((4, 3)), rng.standard_normal((2, 4))
    net = Sequential([Dense(W1), ActivationLayer(activation("tanh")), Dense(W2)])
    x = rng.standard_normal(3)
    J = net.jacobian(x)
    h = 1e-6
    fd = np.column_stack([(net(x + h * e) - net(x - h * e)) / (2 * h) for e in np.eye(3)])
    # along a unit e the third derivative is W2 (tanh'''(z) (W1 e)^3), |tanh'''| <= 2; a computed value errs
    # by the two products' and the tanh's rounding (||tanh(z)|| <= sqrt(width)); J by its own products'
    n1, n2, width = np.linalg.norm(W1, 2), np.linalg.norm(W2, 2), W1.shape[0]
    t = math.sqrt(width)
    value_atol = (matvec_atol("float64", W2.shape, np.linalg.norm(W2), t)
                  + n2 * (matvec_atol("float64", W1.shape, np.linalg.norm(W1), np.linalg.norm(x) + h)
                          + scalar_rtol() * t))
    atol = (central_difference_atol(h, value_atol, 2 * n2 * n1**3)
            + matvec_atol("float64", W2.shape, np.linalg.norm(W2), np.linalg.norm(W1)))
    np.testing.assert_allclose(J, fd, rtol=0, atol=atol)


def test_dropout_conventions():
    x = np.array([1.0, 2.0, 3.0])
    assert np.allclose(Dropout(0.5)(x), 0.5 * x)
    assert np.allclose(Dropout(0.5, "inverted")(x), x)
    m = np.array([1.0, 0.0, 1.0])
    assert np.allclose(Dropout(0.5, training=True, mask=m)(x), m * x)
    assert np.allclose(Dropout(0.5, "inverted", training=True, mask=m)(x), m * x / 0.5)
    assert Dropout(0.25).lipschitz_upper() == 0.25
    assert Dropout(0.25, "inverted", training=True, mask=m).lipschitz_upper() == 4.0
    W = np.ones((2, 2))
    np.testing.assert_array_equal(test_time_weight(W, 0.5), 0.5 * W)


@pytest.mark.parametrize("kw,match", [({"p": 0.0}, "keep probability"), ({"p": 1.5}, "keep probability"),
                                      ({"p": 0.5, "convention": "weird"}, "convention"),
                                      ({"p": 0.5, "training": True}, "needs a mask"),
                                      ({"p": 0.5, "training": True, "mask": np.array([0.5])}, "0s and 1s"),
                                      ({"p": 0.5, "mask": np.array([1.0])}, "takes no mask")])
def test_dropout_bad_input(kw, match):
    with pytest.raises(ValueError, match=match):
        Dropout(**kw)


def test_mask_enumeration_is_a_distribution():
    masks = enumerate_masks(4)
    assert masks.shape == (16, 4) and len({tuple(m) for m in masks}) == 16
    assert mask_probabilities(masks, 0.3).sum() == pytest.approx(1.0, abs=4 * EPS)
    np.testing.assert_allclose(expected_over_masks(lambda m: m, 4, 0.3), np.full(4, 0.3), rtol=scalar_rtol())
    with pytest.raises(ValueError, match="mask width"):
        enumerate_masks(40)


def test_power_iteration_estimate_is_from_below():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((5, 4))
    U, sv, _ = np.linalg.svd(W)
    s = sv[0]
    u0 = np.ones(5)
    cos0 = abs(U[:, 0] @ u0) / np.linalg.norm(u0)
    tan0 = math.sqrt(1 - cos0 * cos0) / cos0
    prev = 0.0
    for k in (1, 2, 5, 50):
        est, u, v = power_iteration_sigma(W, u0, k)
        assert prev - monotone_slack("float64", W.shape, prev) <= est <= s * (1 + 4 * EPS)
        # and no further below than power iteration's convergence allows (at k = 50: rounding)
        allowed = power_rtol("float64", W.shape, sv[1] / s, k, tan0) + reference_rtol(W.shape)
        assert s - est <= allowed * s, (k, est, s, allowed)
        prev = est


def test_spectral_normalize_modes():
    rng = np.random.default_rng(2)
    W = rng.standard_normal((6, 6))
    for mode in ("exact", "certified"):
        Wn, s = spectral_normalize(W, mode)
        assert np.linalg.norm(Wn, 2) <= 1 + scalar_rtol(ops=8)
    Wp, _ = spectral_normalize(W, "power", n_iterations=1, seed=0)
    assert np.linalg.norm(Wp, 2) >= 1 - scalar_rtol(ops=8)
    with pytest.raises(ValueError, match="zero matrix|norm 0"):
        spectral_normalize(np.zeros((2, 2)), "exact")
    with pytest.raises(ValueError, match="sigma must be one of"):
        spectral_normalize(W, "guess")
    with pytest.raises(ValueError, match="n_iterations"):
        SpectralNormalizer(n_iterations=0)


def test_spectral_normalizer_warm_start_converges():
    W = np.diag([3.0, 2.0, 1.0])
    u0 = np.random.default_rng(0).standard_normal(3)  # the start SpectralNormalizer(seed=0) draws
    sn = SpectralNormalizer(n_iterations=1, seed=0)
    for _ in range(60):
        Wn = sn(W)
    # 60 warm calls are 60 steps of one power iteration from u0 (the top left singular vector is e_1)
    rtol = power_rtol("float64", W.shape, 2 / 3, 60, float(np.linalg.norm(u0[1:]) / abs(u0[0])))
    assert abs(sn.last_sigma - 3.0) <= rtol * 3.0, sn.last_sigma
    # W / sigma_hat: one division per entry, then a float64 SVD
    assert abs(np.linalg.norm(Wn, 2) - 1.0) <= rtol + scalar_rtol() + reference_rtol(W.shape), Wn


def test_bounds_bracket_a_linear_network():
    W = np.diag([2.0, 0.5])
    net = Sequential([Dense(W), ActivationLayer(activation("relu")), Dense(np.eye(2))])
    lower = empirical_lower_bound(net, seed=0)
    assert lower.value <= product_bound(net) * (1 + scalar_rtol())
    # relu passes the positive quadrant, where the Jacobian is W: the bound is reached, up to W's SVD
    assert lower.value >= 2.0 - svd_atol("float64", W.shape, 2.0)
    with pytest.raises(TypeError, match="Sequential"):
        product_bound([Dense(W)])


def test_gram_eigenvalues_sides_and_scaling():
    A = np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(gram_eigenvalues(A), [9.0, 16.0])
    np.testing.assert_allclose(gram_eigenvalues(A, "left"), [0.0, 9.0, 16.0], atol=gram_atol("float64", A.shape, 5.0))
    np.testing.assert_allclose(gram_eigenvalues(A * 2.0**400, scaled=True), np.array([9.0, 16.0]) * 2.0**800)
    with pytest.raises(ValueError, match="side must be"):
        gram_eigenvalues(A, "middle")


def test_difference_quotient_does_not_underflow():
    """Regression (found by test_c4_sup_jacobian_norm_is_L): points 1e-255 apart."""
    from lipbench.lipschitz.bounds import difference_quotient

    x, y = np.array([3.41036925e-255]), np.array([2.2735795e-255])
    assert difference_quotient(lambda v: -2.0 * v, x, y) == 2.0
