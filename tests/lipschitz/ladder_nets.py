"""A small CNN and the names of the chain rungs, shared by the ladder's and its limits' tests."""

from __future__ import annotations

import numpy as np

from lipbench.lipschitz import ActivationLayer, Conv, Dense, Flatten, Sequential, activation


def _small_cnn(seed: int = 0) -> Sequential:
    """Conv(1 -> 4, 3x3, padding 1) on 1x6x6 -> ReLU -> Flatten -> Dense(144 -> 3)."""
    rng = np.random.default_rng(seed)
    conv = Conv(rng.standard_normal((4, 1, 3, 3)) / 3, (1, 6, 6), padding=1)
    flat = Flatten(conv.output_shape)
    return Sequential([conv, ActivationLayer(activation("relu")), flat,
                       Dense(rng.standard_normal((3, flat.out_features)) / 12, np.zeros(3))])


CHAIN_RUNGS = ("eclipse_fast", "lipsdp_layer", "lipsdp_neuron", "patterns")
