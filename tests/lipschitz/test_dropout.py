"""Dropout (``lipbench.lipschitz.dropout``): its conventions, bad input, the masks' distribution."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import (
    Dropout,
    enumerate_masks,
    expected_over_masks,
    mask_probabilities,
    test_time_weight,
)
from properties.tolerances import (
    scalar_rtol,
)

EPS = np.finfo(np.float64).eps


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
