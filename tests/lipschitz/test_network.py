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


@pytest.mark.parametrize("n_in,n_out", [(3, 7), (7, 3)])
def test_jacobian_from_either_end_is_the_layers_product(n_in, n_out):
    """Multiplied from the input (n_in <= n_out) or from the output (n_out < n_in), the Jacobian
    is W3 D2 W2 D1 W1 with each ReLU's 0/1 diagonal read at its own layer's input."""
    rng = np.random.default_rng(7)
    W1, W2, W3 = rng.standard_normal((6, n_in)), rng.standard_normal((5, 6)), rng.standard_normal((n_out, 5))
    b1, b2 = rng.standard_normal(6), rng.standard_normal(5)
    relu = ActivationLayer(activation("relu"))
    net = Sequential([Dense(W1, b1), relu, Dense(W2, b2), relu, Dense(W3)])
    x = rng.standard_normal(n_in)
    z1 = W1 @ x + b1
    D1 = np.diag((z1 > 0).astype(float))
    D2 = np.diag((W2 @ np.maximum(z1, 0) + b2 > 0).astype(float))
    inner = D2 @ W2 @ D1 @ W1  # each entry a sum of products of W2 and W1 entries
    expected = W3 @ inner
    atol = matvec_atol("float64", W3.shape, np.linalg.norm(W3), np.linalg.norm(inner)) \
        + np.linalg.norm(W3, 2) * matvec_atol("float64", W2.shape, np.linalg.norm(W2), np.linalg.norm(W1))
    assert D1.trace() not in (0, 6) and D2.trace() not in (0, 5)  # both patterns mixed: the masks matter
    np.testing.assert_allclose(net.jacobian(x), expected, rtol=0, atol=atol)
