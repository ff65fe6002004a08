"""Residual blocks and Flatten (``lipbench.lipschitz.residual``): ``x + f(x)`` and its Jacobian,
the constant ``1 + L(f)`` rounded up, Flatten as the identity, and the branches refused."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, Flatten, Residual, Sequential, activation


@pytest.mark.parametrize("make,match", [
    (lambda: Residual(Dense(np.ones((2, 3)))), "keep the width"),
    (lambda: Residual(object()), "no jacobian"),
    (lambda: Flatten((3,)), r"channels, \*spatial"),
])
def test_bad_residual_arguments_name_the_problem(make, match):
    with pytest.raises((ValueError, TypeError), match=match):
        make()


def test_residual_is_x_plus_the_branch_with_identity_added_to_its_jacobian():
    rng = np.random.default_rng(0)
    branch = Sequential([Dense(rng.standard_normal((4, 4))), ActivationLayer(activation("tanh")),
                         Dense(rng.standard_normal((4, 4)))])
    block = Residual(branch)
    x = rng.standard_normal(4)
    assert np.array_equal(block(x), x + branch(x))
    assert np.array_equal(block.jacobian(x), np.eye(4) + branch.jacobian(x))
    assert block.in_features == block.out_features == 4
    with pytest.raises(ValueError, match="one input"):
        block.jacobian(np.ones((2, 4)))


def test_residual_constant_is_rounded_up():
    """L(f) = 2^-60: 1 + 2^-60 rounds to 1 to nearest; the certified constant must be above 1."""
    tiny = Residual(Dense(np.eye(3) * 2.0**-60))
    assert tiny.lipschitz_upper() > 1.0, tiny.lipschitz_upper()
    assert Residual(ActivationLayer(activation("relu"))).lipschitz_upper() == 2.0  # exact sums stay exact


def test_flatten_is_the_identity_and_copies():
    flat = Flatten((2, 3, 2))
    x = np.arange(12.0)
    y = flat(x)
    y[0] = 7.0
    assert x[0] == 0.0 and flat.in_features == flat.out_features == 12
    assert np.array_equal(flat.jacobian(x), np.eye(12)) and flat.lipschitz_upper() == flat.lipschitz_exact() == 1.0
