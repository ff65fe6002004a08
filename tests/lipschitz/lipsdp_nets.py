"""The networks the LipSDP tests share: LipSDP's own reference weights (with their exact
constant) and small random chains whose first layer is wide (the input reduction applies)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation
from lipbench.lipschitz.chain import Chain
from properties.test_ladder import jacobian_lower

REFERENCE = Path(__file__).parents[1] / "models" / "data" / "lipsdp" / "random_weights.mat"
RELU = (0.0, 1.0)


def reference_chain() -> Chain:
    weights = tuple(np.asarray(W, dtype=np.float64) for W in scipy.io.loadmat(REFERENCE)["weights"].ravel())
    return Chain(weights, (0.0,) * len(weights), (RELU,) * (len(weights) - 1))


def reference_net() -> Sequential:
    layers: list = []
    for W in reference_chain().weights:
        layers += [Dense(W), ActivationLayer(activation("relu"))]
    return Sequential(layers[:-1])


def exact_constant() -> tuple[float, float]:
    """(sigma(J(x)), its rounding slack) at x = 1: the weights are non-negative, so every
    unit is active there and J(x) = W4 W3 W2 W1, the exact constant."""
    net = reference_net()
    return jacobian_lower(net, np.ones(net.in_features))


def _first_layer_wide_chain(seed: int) -> Chain:
    rng = np.random.default_rng(seed)
    weights = (rng.standard_normal((4, 12)), rng.standard_normal((5, 4)), rng.standard_normal((3, 5)))
    return Chain(weights, (0.0, 0.0, 0.0), (RELU, (0.25, 1.0)))


def _net_of(chain: Chain) -> Sequential:
    """The network of a chain from :func:`_first_layer_wide_chain` (ReLU, then leaky ReLU 0.25)."""
    W1, W2, W3 = chain.weights
    return Sequential([Dense(W1), ActivationLayer(activation("relu")), Dense(W2),
                       ActivationLayer(activation("leaky_relu", alpha=0.25)), Dense(W3)])
