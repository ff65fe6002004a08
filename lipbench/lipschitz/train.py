"""Small networks trained in NumPy on scikit-learn's digits (8x8 images, 10 classes), in seconds.

For the bound ladder on trained weights: :func:`train_mlp` (Dense/ReLU) and
:func:`train_cnn` (Conv 3x3 -> ReLU -> AvgPool 2 -> Flatten -> Dense), both by
Adam on the cross-entropy, full NumPy (the convolution on windows gathered
by the layer's own index table).  Needs scikit-learn (``pip install
lipbench[examples]``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .activations import relu
from .conv_layer import Conv
from .layers import ActivationLayer, Dense
from .network import Sequential
from .pooling import AvgPool
from .residual import Flatten

__all__ = ["Trained", "digits", "train_mlp", "train_cnn"]


@dataclass(frozen=True)
class Trained:
    net: Sequential
    train_accuracy: float
    test_accuracy: float
    seconds: float
    X_test: np.ndarray


def digits(seed: int = 0, test_fraction: float = 0.25, side: int = 8
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, y_train, X_test, y_test): pixels scaled to [0, 1], a seeded random split;
    ``side`` > 8 resizes each image to side x side (bilinear, ``scipy.ndimage.zoom``), e.g.
    28 for MNIST-shaped inputs (784 pixels)."""
    if side < 8:
        raise ValueError(f"side must be at least the images' own 8 pixels; got {side}")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the digits data set needs scikit-learn: pip install 'lipbench[examples]'") from None
    d = load_digits()
    X, y = d.data.astype(np.float64) / 16.0, d.target.astype(np.int64)
    if side != 8:
        from scipy import ndimage

        X = np.clip(ndimage.zoom(X.reshape(-1, 8, 8), (1, side / 8, side / 8), order=1), 0.0, 1.0)
        X = X.reshape(len(y), side * side)
    idx = np.random.default_rng(seed).permutation(len(y))
    cut = int(round(len(y) * (1 - test_fraction)))
    return X[idx[:cut]], y[idx[:cut]], X[idx[cut:]], y[idx[cut:]]


class _Linear:
    """A trainable linear map with bias: dense, or a single-group convolution applied to
    gathered windows (``cols[b, p, (c, k)]``), whose kernel gradient is a product with them."""

    def __init__(self, rng: np.random.Generator, n_in: int, n_out: int, conv: Conv | None = None):
        self.conv = conv
        if conv is None:
            self.params = [rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in), np.zeros(n_out)]
        else:
            k = conv.weight
            self.params = [rng.standard_normal(k.shape) * np.sqrt(2.0 / int(np.prod(k.shape[1:]))),
                           np.zeros(k.shape[0])]
            self.table = conv._table

    def _cols(self, a: np.ndarray) -> np.ndarray:
        assert self.conv is not None  # only a convolution's layer has columns
        c = self.conv.input_shape[0]
        x = np.concatenate([a.reshape(len(a), c, -1), np.zeros((len(a), c, 1))], axis=2)
        cols = x[:, :, self.table]  # (batch, C_in, P, K)
        return cols.transpose(0, 2, 1, 3).reshape(len(a), self.table.shape[0], -1)  # (batch, P, C_in K)

    def forward(self, a: np.ndarray) -> np.ndarray:
        W, b = self.params
        if self.conv is None:
            return a @ W.T + b
        y = self._cols(a) @ W.reshape(W.shape[0], -1).T + b  # (batch, P, C_out)
        return y.transpose(0, 2, 1).reshape(len(a), -1)

    def backward(self, a: np.ndarray, g: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        """(parameter gradients, input gradient; None for a convolution, which comes first)."""
        W = self.params[0]
        if self.conv is None:
            return [g.T @ a, g.sum(axis=0)], g @ W
        g3 = g.reshape(len(g), W.shape[0], -1).transpose(0, 2, 1).reshape(-1, W.shape[0])  # (batch P, C_out)
        cols = self._cols(a)
        gK = (g3.T @ cols.reshape(-1, cols.shape[-1])).reshape(W.shape)
        return [gK, g3.sum(axis=0)], None


def _fit(spec: list[Any], X: np.ndarray, y: np.ndarray, *, epochs: int, lr: float, batch: int,
         rng: np.random.Generator) -> None:
    """Adam on softmax cross-entropy; spec items are _Linear, "relu" or a fixed matrix (pooling)."""
    trainable = [s for s in spec if isinstance(s, _Linear)]
    m = [[np.zeros_like(p) for p in s.params] for s in trainable]
    v = [[np.zeros_like(p) for p in s.params] for s in trainable]
    with threadpool_limits(1):  # small products: BLAS threads only contend
        _epochs(spec, trainable, m, v, X, y, epochs=epochs, lr=lr, batch=batch, rng=rng)


def _epochs(spec: list[Any], trainable: list[_Linear], m: list, v: list, X: np.ndarray, y: np.ndarray, *,
            epochs: int, lr: float, batch: int, rng: np.random.Generator) -> None:
    step = 0
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch):
            idx = order[start:start + batch]
            acts, a = [], X[idx]
            for s in spec:  # forward, keeping each layer's input
                acts.append(a)
                if isinstance(s, _Linear):
                    a = s.forward(a)
                elif isinstance(s, str):
                    a = np.maximum(a, 0.0)
                else:
                    a = a @ s.T
            p = np.exp(a - a.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            p[np.arange(len(idx)), y[idx]] -= 1.0
            g = p / len(idx)
            grads = []
            for s, a_in in zip(reversed(spec), reversed(acts)):  # backward
                if isinstance(s, _Linear):
                    gp, g = s.backward(a_in, g)
                    grads.append(gp)
                    if g is None:
                        break
                elif isinstance(s, str):
                    g = g * (a_in > 0)
                else:
                    g = g @ s
            step += 1
            for s, gs, ms, vs in zip(trainable, reversed(grads), m, v):
                for p_, g_, m_, v_ in zip(s.params, gs, ms, vs):
                    m_ *= 0.9
                    m_ += 0.1 * g_
                    v_ *= 0.999
                    v_ += 0.001 * g_ * g_
                    p_ -= lr * (m_ / (1 - 0.9**step)) / (np.sqrt(v_ / (1 - 0.999**step)) + 1e-8)


def _accuracy(net: Sequential, X: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(net(X), axis=1) == y))


def train_mlp(hidden: tuple[int, ...] = (32, 32), *, epochs: int = 30, lr: float = 3e-3, batch: int = 64,
              seed: int = 0, side: int = 8) -> Trained:
    """A ReLU MLP side**2 -> hidden... -> 10 on the digits (``side`` as in :func:`digits`)."""
    t0 = time.perf_counter()
    Xtr, ytr, Xte, yte = digits(seed, side=side)
    rng = np.random.default_rng(seed)
    widths = (side * side, *hidden, 10)
    spec: list[Any] = []
    for i in range(len(widths) - 1):
        spec.append(_Linear(rng, widths[i], widths[i + 1]))
        if i < len(widths) - 2:
            spec.append("relu")
    _fit(spec, Xtr, ytr, epochs=epochs, lr=lr, batch=batch, rng=rng)
    layers: list[Any] = []
    for s in spec:
        layers.append(Dense(s.params[0], s.params[1]) if isinstance(s, _Linear) else ActivationLayer(relu()))
    net = Sequential(layers)
    return Trained(net, _accuracy(net, Xtr, ytr), _accuracy(net, Xte, yte), time.perf_counter() - t0, Xte)


def train_cnn(channels: int = 8, *, epochs: int = 20, lr: float = 3e-3, batch: int = 64, seed: int = 0) -> Trained:
    """Conv(1 -> channels, 3x3, padding 1) -> ReLU -> AvgPool(2) -> Flatten -> Dense(channels*16 -> 10)."""
    t0 = time.perf_counter()
    Xtr, ytr, Xte, yte = digits(seed)
    rng = np.random.default_rng(seed)
    shape = (1, 8, 8)
    conv0 = Conv(np.zeros((channels, 1, 3, 3)), shape, padding=1)
    pool = AvgPool(2, conv0.output_shape)
    conv_lin = _Linear(rng, conv0.in_features, conv0.out_features, conv=conv0)
    dense = _Linear(rng, pool.out_features, 10)
    _fit([conv_lin, "relu", pool.operator_matrix(), dense], Xtr, ytr, epochs=epochs, lr=lr, batch=batch, rng=rng)
    net = Sequential([Conv(conv_lin.params[0], shape, conv_lin.params[1], padding=1), ActivationLayer(relu()),
                      pool, Flatten(pool.output_shape), Dense(dense.params[0], dense.params[1])])
    return Trained(net, _accuracy(net, Xtr, ytr), _accuracy(net, Xte, yte), time.perf_counter() - t0, Xte)
