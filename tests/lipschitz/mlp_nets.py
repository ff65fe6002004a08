"""Small random MLPs and their pattern products by loops, shared by the branch-and-bound,
lower-search and pattern-search tests."""

from __future__ import annotations

import numpy as np

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation
from lipbench.lipschitz.chain import Chain


def _mlp(seed: int, widths: tuple[int, ...], act: str = "relu", alpha: float = 0.0, bias: bool = True) -> Sequential:
    rng = np.random.default_rng(seed)
    layers: list = []
    for i in range(len(widths) - 1):
        W = rng.standard_normal((widths[i + 1], widths[i]))
        layers.append(Dense(W, rng.standard_normal(widths[i + 1]) if bias else None))
        if i < len(widths) - 2:
            layers.append(ActivationLayer(activation(act, **({"alpha": alpha} if act == "leaky_relu" else {}))))
    return Sequential(layers)


def _product(chain: Chain, bits: np.ndarray) -> np.ndarray:
    P = chain.weights[0]
    start = 0
    for W, (lo, hi) in zip(chain.weights[1:], chain.slopes):
        n = P.shape[0]
        P = W @ (np.where(bits[start:start + n] == 1, hi, lo)[:, None] * P)
        start += n
    return P
