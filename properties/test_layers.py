"""Each layer rule against brute force: Jacobians assembled from the forward pass, and difference quotients.

A rule is *sound* when no brute-force Jacobian norm (nor quotient) exceeds the
layer's certified constant, and *exact* when some point reaches it; each test
checks both where the layer's docstring claims the constant is exact (Conv,
AvgPool, MaxPool, BatchNorm, Flatten, Dropout), and soundness only for
``Residual`` (``1 + L(f)`` is a bound).  ``test_layer_mutations.py`` breaks each
rule once and watches these checks fail.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lipbench.lipschitz import Sequential

from . import checks_layers as CL
from . import strategies as S
from . import tolerances as tol
from .checks import ctx


def _point(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def fan_in(layer) -> int:
    return int(np.prod(getattr(layer, "weight", np.zeros((1, 1))).shape[1:]))


def check_linear_layer(layer, seed: int, upper: float | None = None) -> tuple[float, float]:
    """Affine layer: any point and step give the Jacobian; the constant is exact."""
    x = _point(layer.in_features, seed)
    return CL.check_rule(layer, [x], 1.0, fan_in=fan_in(layer), exact=True, upper=upper)


@given(layer=S.conv_layers(), seed=S.seeds)
def test_conv_forward_is_pytorchs(layer, seed):
    """The forward pass (window tables, padding modes, groups, dilation) equals the textbook loops."""
    x = _point(layer.in_features, seed)
    y, ref = layer(x), CL.reference_conv(layer, x)
    wb = np.concatenate([layer.weight.ravel(), np.zeros(1) if layer.bias is None else layer.bias])
    atol = tol.matvec_atol("float64", (1, fan_in(layer) + 1), float(np.linalg.norm(wb)),
                           float(np.linalg.norm(x)) + 1.0) * np.sqrt(y.size)
    assert y.shape == ref.shape and float(np.max(np.abs(y - ref))) <= atol, ctx(
        layer=repr(layer)[:200], err=float(np.max(np.abs(y - ref))), atol=atol)


@given(layer=S.conv_layers(), seed=S.seeds)
def test_conv_constant_is_operator_sigma(layer, seed, evidence):
    """sigma_max of the convolution operator (assembled-matrix route), sound and attained."""
    s, L = check_linear_layer(layer, seed, upper=layer.matrix_lipschitz_upper())
    evidence.maximum("max_upper_over_sigma", L / s if s else 1.0)


@given(layer=S.conv_layers(max_side=4), seed=S.seeds)
def test_conv_lipschitz_upper_through_conv_operator_norm(layer, seed):
    """The layer's constant from ``conv_operator_norm`` (when present) is sound against brute force."""
    try:
        from lipbench.lipschitz.conv import conv_operator_norm  # noqa: F401
    except ImportError:
        pytest.skip("lipbench.lipschitz.conv.conv_operator_norm is not available yet")
    x = _point(layer.in_features, seed)
    CL.check_rule(layer, [x], 1.0, fan_in=fan_in(layer), exact=False)


@given(layer=S.pools("avg"), seed=S.seeds)
def test_avgpool_constant(layer, seed, evidence):
    """prod_j sigma(B_j) / k_j: 1/sqrt(prod k) without overlap, larger with it; sound and attained."""
    s, L = check_linear_layer(layer, seed)
    assert L <= layer.overlap_bound() * (1 + tol.scalar_rtol(ops=8)), ctx(upper=L, closed_form=layer.overlap_bound())
    evidence.maximum("max_constant_times_sqrt_window", L * float(np.sqrt(np.prod(layer.kernel_size))))


@given(layer=S.pools("max"), seed=S.seeds)
def test_maxpool_constant(layer, seed, evidence):
    """sqrt(most windows covering one input): every brute-force Jacobian is below it, and a
    spike at each input in turn (on distinct background values) reaches it at some input."""
    n = layer.in_features
    base = np.random.default_rng(seed).permutation(n).astype(np.float64)  # distinct, gaps >= 1
    points = [base + (2.0 * n + 2.0) * np.eye(n)[j] for j in range(n)]
    s, L = CL.check_rule(layer, points, 0.25, fan_in=1, exact=True)
    evidence.maximum("max_constant", L)


@given(layer=S.batchnorms(), seed=S.seeds)
def test_batchnorm_constant(layer, seed):
    """max |gamma / sqrt(var + eps)|: the diagonal affine map's sigma_max."""
    check_linear_layer(layer, seed)


@given(layer=S.linear_layers(), seed=S.seeds)
def test_affine_layers_constant(layer, seed):
    """Every affine layer (Conv, AvgPool, BatchNorm, Flatten, test-time Dropout): exact constant."""
    n = layer.in_features or 5
    x = _point(n, seed)
    CL.check_rule(layer, [x], 1.0, fan_in=fan_in(layer), exact=True)


@given(layer=S.residuals(), seed=S.seeds)
def test_residual_bound(layer, seed, evidence):
    """sigma(I + J_f(x)) <= 1 + L(f) at points inside f's linear region (forward differences exact there)."""
    x = _point(layer.in_features, seed)
    f = layer.f
    r = f.linear_region_radius(x) if isinstance(f, Sequential) else np.inf
    if not r > 0:
        return
    h = min(1.0, r / 2)
    parts = lambda z: np.sqrt(z.size) + float(np.linalg.norm(np.abs(f.jacobian(z))))  # noqa: E731  I + J_f
    s, L = CL.check_rule(layer, [x], h, fan_in=layer.in_features + 1, exact=False, parts=parts)
    evidence.maximum("max_sigma_over_bound", s / L)


@given(kind=st.sampled_from(("conv", "avg", "max", "batchnorm", "residual")), data=st.data())
def test_difference_quotients_below_constant(kind, data):
    layer = data.draw({"conv": S.conv_layers(max_side=4), "avg": S.pools("avg"), "max": S.pools("max"),
                       "batchnorm": S.batchnorms(), "residual": S.residuals()}[kind], label="layer")
    n = layer.in_features
    x = data.draw(S.vectors(n, bound=10.0), label="x")
    y = data.draw(S.vectors(n, bound=10.0).filter(lambda v: not np.array_equal(v, x)), label="y")
    CL.check_quotient(layer, x, y, fan_in=max(fan_in(layer), n) + 1)
