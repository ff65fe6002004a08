"""Gram eigenvalues of a weight (``lipbench.lipschitz.gram``): both sides, and scaled."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import (
    gram_eigenvalues,
)
from properties.tolerances import (
    gram_atol,
)


def test_gram_eigenvalues_sides_and_scaling():
    A = np.array([[3.0, 0.0], [0.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(gram_eigenvalues(A), [9.0, 16.0])
    np.testing.assert_allclose(gram_eigenvalues(A, "left"), [0.0, 9.0, 16.0], atol=gram_atol("float64", A.shape, 5.0))
    np.testing.assert_allclose(gram_eigenvalues(A * 2.0**400, scaled=True), np.array([9.0, 16.0]) * 2.0**800)
    with pytest.raises(ValueError, match="side must be"):
        gram_eigenvalues(A, "middle")
