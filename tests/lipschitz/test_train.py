"""The small networks trained in NumPy (``lipbench.lipschitz.train``): reproducible from a seed,
learning a separable problem, and the digits data set's own checks.  The training tests swap the
digits (which need scikit-learn) for a synthetic problem of the same shape."""

from __future__ import annotations

import numpy as np
import pytest

import lipbench.lipschitz.train as train
from lipbench.lipschitz import Conv, Dense, lipschitz_ladder


def test_trained_networks_and_their_ladder():
    pytest.importorskip("sklearn")
    from lipbench.lipschitz.train import train_cnn, train_mlp
    mlp = train_mlp((8,), epochs=8)
    cnn = train_cnn(4, epochs=8)
    for t in (mlp, cnn):
        assert t.test_accuracy > 0.5, t  # chance is 0.1: the training loop learns
    lad = lipschitz_ladder(mlp.net, seed=0, points=mlp.X_test[:20], n_samples=4, ascent_steps=2)
    assert lad.row("patterns").certified and lad.best_lower <= lad.best_certified_upper


def _synthetic_digits(seed: int = 0, test_fraction: float = 0.25, side: int = 8):
    """A 10-class problem shaped like the digits: 400 images in [0, 1], the class set by a fixed linear map."""
    rng = np.random.default_rng(100 + seed)
    X = rng.uniform(0.0, 1.0, (400, side * side))
    y = np.argmax((X - 0.5) @ np.random.default_rng(7).standard_normal((side * side, 10)), axis=1)
    cut = int(round(len(y) * (1 - test_fraction)))
    return X[:cut], y[:cut], X[cut:], y[cut:]


@pytest.fixture
def synthetic(monkeypatch):
    monkeypatch.setattr(train, "digits", _synthetic_digits)


def _weights(net) -> list[np.ndarray]:
    return [layer.weight for layer in net.layers if isinstance(layer, (Dense, Conv))]


@pytest.mark.parametrize("make", [lambda seed: train.train_mlp((8,), epochs=3, seed=seed),
                                  lambda seed: train.train_cnn(2, epochs=2, seed=seed)], ids=["mlp", "cnn"])
def test_training_is_reproducible_from_its_seed(synthetic, make):
    a, b, c = make(0), make(0), make(1)
    assert all(np.array_equal(u, v) for u, v in zip(_weights(a.net), _weights(b.net))), "seed 0 twice differs"
    assert a.test_accuracy == b.test_accuracy and np.array_equal(a.X_test, b.X_test)
    assert not all(np.array_equal(u, v) for u, v in zip(_weights(a.net), _weights(c.net))), "seeds 0 and 1 agree"


def test_the_mlp_learns_a_separable_problem(synthetic):
    """Chance is about 1/10 on ten classes: a few epochs of Adam must do much better on the training set."""
    t = train.train_mlp((32,), epochs=30, seed=0)
    majority = np.bincount(_synthetic_digits()[1]).max() / len(_synthetic_digits()[1])
    assert t.train_accuracy > 2 * majority, (t.train_accuracy, majority)
    assert [W.shape for W in _weights(t.net)] == [(32, 64), (10, 32)]


def test_digits_checks_its_arguments_and_names_what_it_needs():
    with pytest.raises(ValueError, match="at least the images' own 8 pixels"):
        train.digits(side=4)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install"):
            train.digits()
        return
    Xtr, ytr, Xte, yte = train.digits(seed=3)
    assert Xtr.shape[1] == 64 and len(Xtr) + len(Xte) == 1797 and 0.0 <= Xtr.min() <= Xtr.max() <= 1.0
