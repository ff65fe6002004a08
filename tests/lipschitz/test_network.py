"""A network of layers (``lipbench.lipschitz.network``): widths checked, its Jacobian."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lipbench.lipschitz import (
    ActivationLayer,
    Dense,
    Sequential,
    activation,
)
from properties.tolerances import (
    central_difference_atol,
    matvec_atol,
    scalar_rtol,
)


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
