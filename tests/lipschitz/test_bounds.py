"""Network bounds (``lipbench.lipschitz.bounds``): the product bound and an empirical lower bound
bracket a network; difference quotients that do not underflow."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import (
    ActivationLayer,
    Dense,
    Sequential,
    activation,
    empirical_lower_bound,
    product_bound,
)
from properties.tolerances import (
    scalar_rtol,
    svd_atol,
)


def test_bounds_bracket_a_linear_network():
    W = np.diag([2.0, 0.5])
    net = Sequential([Dense(W), ActivationLayer(activation("relu")), Dense(np.eye(2))])
    lower = empirical_lower_bound(net, seed=0)
    assert lower.value <= product_bound(net) * (1 + scalar_rtol())
    # relu passes the positive quadrant, where the Jacobian is W: the bound is reached, up to W's SVD
    assert lower.value >= 2.0 - svd_atol("float64", W.shape, 2.0)
    with pytest.raises(TypeError, match="Sequential"):
        product_bound([Dense(W)])


def test_difference_quotient_does_not_underflow():
    """Regression (found by test_c4_sup_jacobian_norm_is_L): points 1e-255 apart."""
    from lipbench.lipschitz.bounds import difference_quotient

    x, y = np.array([3.41036925e-255]), np.array([2.2735795e-255])
    assert difference_quotient(lambda v: -2.0 * v, x, y) == 2.0
