"""Dense layers (``lipbench.lipschitz.layers``): weights checked, shapes and bias."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import (
    Dense,
)


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
