"""Strategies for layers and networks: dropout, activations, convolutions, batch norm, pooling,
residual blocks, affine layers, Dense chains, and stride-1 convolution cases.

Weights with a known spectrum come from :mod:`properties._matrix_strategies`; every
other array is drawn from a Hypothesis seed or element by element.  Tests import
these from :mod:`properties.strategies`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lipbench.lipschitz import (
    ACTIVATIONS,
    ActivationLayer,
    AvgPool,
    BatchNorm,
    Conv,
    Dense,
    Dropout,
    Flatten,
    MaxPool,
    Residual,
    Sequential,
    activation,
)

from ._matrix_strategies import seeds, spectral_matrices, vectors

__all__ = [
    "keep_probabilities",
    "dropout_masks",
    "activations",
    "networks",
    "conv_layers",
    "batchnorms",
    "pools",
    "residuals",
    "linear_layers",
    "chain_networks",
    "ConvCase",
    "conv_kernel_cases",
]


def keep_probabilities() -> st.SearchStrategy[float]:
    """Dropout keep probabilities p in (0, 1]: the common values and anything in [0.05, 1]."""
    return st.one_of(st.sampled_from((0.5, 0.8, 0.9, 1.0)), st.floats(0.05, 1.0))


def dropout_masks(n: int) -> st.SearchStrategy[np.ndarray]:
    """0/1 float masks of width n, each entry drawn independently."""
    return hnp.arrays(np.bool_, (n,), elements=st.booleans(), fill=st.nothing()).map(lambda m: m.astype(np.float64))


_ACT_PARAMS: dict[str, Any] = {
    "leaky_relu": st.fixed_dictionaries({"alpha": st.floats(-3.0, 3.0)}),
    "softplus": st.fixed_dictionaries({"beta": st.floats(0.1, 10.0)}),
    "elu": st.fixed_dictionaries({"alpha": st.floats(0.0, 3.0)}),
}


@st.composite
def activations(draw: Any, *, names: tuple[str, ...] | None = None) -> Any:
    """An activation from ``lipbench.lipschitz.ACTIVATIONS`` with drawn parameters."""
    name = draw(st.sampled_from(tuple(ACTIVATIONS) if names is None else names), label="activation")
    params = draw(_ACT_PARAMS.get(name, st.just({})), label="activation params")
    return activation(name, **params)


@st.composite
def networks(draw: Any, *, max_depth: int = 3, max_width: int = 8, piecewise_linear: bool = False,
             min_depth: int = 1) -> Sequential:
    """Dense -> activation -> ... -> Dense, widths in [1, max_width], weights with a
    drawn spectrum (sigma_max in [2**-6, 2**6]) and optional bias."""
    depth = draw(st.integers(min_depth, max_depth), label="depth")
    widths = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1), label="widths")
    names = ("relu", "leaky_relu") if piecewise_linear else None
    layers: list[Any] = []
    for i in range(depth):
        n_in, n_out = widths[i], widths[i + 1]
        W = draw(spectral_matrices(shape=(n_out, n_in), dtype="float64"), label=f"W{i}").matrix
        b = draw(st.none() | vectors(n_out, bound=2.0), label=f"b{i}")
        layers.append(Dense(W, b))
        if i < depth - 1:
            layers.append(ActivationLayer(draw(activations(names=names), label=f"act{i}")))
    return Sequential(layers)


PADDING_MODES = ("zeros", "circular", "reflect", "replicate")


def _gaussian(draw: Any, shape: tuple[int, ...], label: str) -> np.ndarray:
    """A Gaussian array from a drawn seed, scaled by a drawn power of two in [2**-4, 2**4]."""
    seed = draw(seeds, label=f"{label} seed")
    scale = 2.0 ** draw(st.integers(-4, 4), label=f"{label} log2 scale")
    return scale * np.random.default_rng(seed).standard_normal(shape)


@st.composite
def conv_layers(draw: Any, *, max_side: int = 6, dims: tuple[int, ...] = (1, 2)) -> Conv:
    """A Conv with every option drawn: 1-D or 2-D, groups, stride, padding (any mode), dilation;
    the spatial size is raised to what the window and the padding mode need."""
    d = draw(st.sampled_from(dims), label="spatial dims")
    groups = draw(st.integers(1, 2), label="groups")
    c_in = groups * draw(st.integers(1, 2), label="in channels per group")
    c_out = groups * draw(st.integers(1, 2), label="out channels per group")
    mode = draw(st.sampled_from(PADDING_MODES), label="padding mode")
    kernel, stride, padding, dilation, spatial = [], [], [], [], []
    for j in range(d):
        k = draw(st.integers(1, 3), label=f"kernel {j}")
        dl = draw(st.integers(1, 2), label=f"dilation {j}")
        p = draw(st.integers(0, 2), label=f"padding {j}")
        n = draw(st.integers(1, max_side), label=f"size {j}")
        n = max(n, dl * (k - 1) + 1 - 2 * p, p + 1 if mode == "reflect" else 1, p if mode == "circular" else 1)
        kernel.append(k)
        dilation.append(dl)
        padding.append(p)
        stride.append(draw(st.integers(1, 2), label=f"stride {j}"))
        spatial.append(n)
    w = _gaussian(draw, (c_out, c_in // groups, *kernel), "weight")
    bias = draw(st.none() | st.just(True), label="bias")
    b = _gaussian(draw, (c_out,), "bias") if bias else None
    return Conv(w, (c_in, *spatial), b, stride=tuple(stride), padding=tuple(padding), dilation=tuple(dilation),
                groups=groups, padding_mode=mode)


@st.composite
def batchnorms(draw: Any) -> BatchNorm:
    """Eval-mode batch norm: 1-4 channels, optional spatial extent, variances down to 0 (eps keeps it positive)."""
    c = draw(st.integers(1, 4), label="channels")
    spatial = draw(st.lists(st.integers(1, 3), max_size=2), label="spatial")
    vec = hnp.arrays(np.float64, (c,), elements=st.floats(-4.0, 4.0), fill=st.nothing())
    var = hnp.arrays(np.float64, (c,), elements=st.floats(0.0, 10.0), fill=st.nothing())
    eps = draw(st.sampled_from((1e-5, 1e-3, 0.1)), label="eps")
    return BatchNorm(draw(vec, label="gamma"), draw(vec, label="beta"), draw(vec, label="mean"),
                     draw(var, label="var"), eps, (c, *spatial) if spatial else None)


@st.composite
def pools(draw: Any, kind: str, *, max_side: int = 7) -> Any:
    """AvgPool or MaxPool, 1-D or 2-D, windows 1-3 wide, strides 1-3 (overlapping or not)."""
    d = draw(st.integers(1, 2), label="spatial dims")
    k = tuple(draw(st.integers(1, 3), label=f"kernel {j}") for j in range(d))
    s = tuple(draw(st.integers(1, 3), label=f"stride {j}") for j in range(d))
    n = tuple(draw(st.integers(kj, max_side), label=f"size {j}") for j, kj in enumerate(k))
    c = draw(st.integers(1, 2), label="channels")
    return (AvgPool if kind == "avg" else MaxPool)(k, (c, *n), s)


@st.composite
def residuals(draw: Any, *, max_width: int = 6) -> Residual:
    """x + f(x) with f a Dense layer or Dense -> ReLU -> Dense of the same width."""
    n = draw(st.integers(1, max_width), label="width")
    W1 = draw(spectral_matrices(shape=(n, n), dtype="float64"), label="W1").matrix
    if draw(st.booleans(), label="linear branch"):
        return Residual(Dense(W1, draw(st.none() | vectors(n, bound=2.0), label="b1")))
    h = draw(st.integers(1, max_width), label="hidden")
    W1 = draw(spectral_matrices(shape=(h, n), dtype="float64"), label="W1h").matrix
    W2 = draw(spectral_matrices(shape=(n, h), dtype="float64"), label="W2").matrix
    return Residual(Sequential([Dense(W1, draw(vectors(h, bound=2.0), label="b1")),
                                ActivationLayer(activation("relu")), Dense(W2)]))


@st.composite
def linear_layers(draw: Any) -> Any:
    """Any layer that is affine: Conv, AvgPool, BatchNorm, Flatten, test-time Dropout."""
    kind = draw(st.sampled_from(("conv", "avg", "batchnorm", "flatten", "dropout")), label="layer kind")
    if kind == "conv":
        return draw(conv_layers(max_side=4), label="conv")
    if kind == "avg":
        return draw(pools("avg", max_side=5), label="pool")
    if kind == "batchnorm":
        return draw(batchnorms(), label="batchnorm")
    if kind == "flatten":
        return Flatten(draw(st.tuples(st.integers(1, 3), st.integers(1, 4)), label="shape"))
    return Dropout(draw(keep_probabilities(), label="p"), draw(st.sampled_from(("classical", "inverted"))))


MONOTONE = ("relu", "leaky_relu", "tanh", "sigmoid", "softplus", "elu")


@st.composite
def chain_networks(draw: Any, *, max_depth: int = 3, max_width: int = 5, piecewise_linear: bool = False,
                   min_depth: int = 1, max_alpha: float = 3.0) -> Sequential:
    """Dense -> monotone activation -> ... -> Dense (at most ~12 hidden units), the activations the
    chain bounds take (leaky ReLU and ELU slopes in [0, max_alpha])."""
    depth = draw(st.integers(min_depth, max_depth), label="depth")
    widths = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1), label="widths")
    names = ("relu", "leaky_relu") if piecewise_linear else MONOTONE
    layers: list[Any] = []
    for i in range(depth):
        W = draw(spectral_matrices(shape=(widths[i + 1], widths[i]), dtype="float64"), label=f"W{i}").matrix
        layers.append(Dense(W, draw(st.none() | vectors(widths[i + 1], bound=2.0), label=f"b{i}")))
        if i < depth - 1:
            name = draw(st.sampled_from(names), label=f"act{i}")
            params = {"alpha": draw(st.floats(0.0, max_alpha), label="alpha")} if name in ("leaky_relu", "elu") else {}
            layers.append(ActivationLayer(activation(name, **params)))
    return Sequential(layers)
@dataclass(frozen=True)
class ConvCase:
    """A stride-1 convolution for the reshape trap: the kernel ``(out, in, *k)`` and its geometry.
    ``same`` is True for circular padding with output size = input size (odd k, padding (k-1)/2)."""

    kernel: np.ndarray
    input_shape: tuple[int, ...]
    padding: tuple[int, ...]
    padding_mode: str

    @property
    def args(self) -> dict[str, Any]:
        return {"padding": self.padding, "padding_mode": self.padding_mode}

    @property
    def same(self) -> bool:
        return self.padding_mode == "circular" and all(2 * p + 1 == k for p, k in zip(self.padding,
                                                                                    self.kernel.shape[2:]))

    def describe(self) -> dict[str, Any]:
        return {"kernel": self.kernel.tolist(), "kernel_shape": list(self.kernel.shape),
                "input_shape": list(self.input_shape), "padding": list(self.padding),
                "padding_mode": self.padding_mode}


@st.composite
def conv_kernel_cases(draw: Any, *, max_side: int = 5, max_channels: int = 2,
                      modes: tuple[str, ...] = ("zeros", "circular")) -> ConvCase:
    """1-D or 2-D stride-1 convolutions with every kernel entry drawn independently (shrinks to
    small integers and zeros): zeros padding 0..k-1, or circular "same" padding (odd k); the
    input is at least one padded window long."""
    d = draw(st.integers(1, 2), label="spatial dims")
    c_out = draw(st.integers(1, max_channels), label="out channels")
    c_in = draw(st.integers(1, max_channels), label="in channels")
    mode = draw(st.sampled_from(modes), label="padding mode")
    ks, pads, sizes = [], [], []
    for j in range(d):
        if mode == "circular":
            k = draw(st.sampled_from((1, 3)), label=f"kernel {j}")
            p = (k - 1) // 2
        else:
            k = draw(st.integers(1, 3), label=f"kernel {j}")
            p = draw(st.integers(0, k - 1), label=f"padding {j}")
        n = draw(st.integers(max(1, k - 2 * p, p), max_side), label=f"size {j}")
        ks.append(k)
        pads.append(p)
        sizes.append(n)
    kernel = draw(hnp.arrays(np.float64, (c_out, c_in, *ks), fill=st.nothing(),
                             elements=st.floats(-4.0, 4.0, allow_subnormal=False)), label="kernel")
    return ConvCase(kernel, tuple(sizes), tuple(pads), mode)
