"""A network as a chain ``W_l o phi_{l-1} o W_{l-1} o ... o phi_1 o W_1`` for the tighter bounds.

The ECLipsE-Fast and activation-pattern bounds need the network as linear maps
between elementwise activations whose slopes lie in an interval ``[lo, hi]``.
:func:`network_chain` merges each run of linear layers (Dense, Conv, AvgPool,
BatchNorm, Flatten, test-time Dropout) into one computed matrix and keeps, for
each, a bound on how far it is from the exact linear map (the rounding of
assembling and multiplying), so bounds built on the chain stay certified.
Biases do not matter for Lipschitz constants and are dropped.

:func:`psd_margin` is the one certification step both bounds use: a lower bound
on ``lambda_min`` of an exact symmetric matrix from its computed version,
through ``lipbench.spectral_norm``'s certified upper bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _sigma
from .batchnorm import BatchNorm
from .conv_layer import Conv
from .dropout import Dropout
from .layers import ActivationLayer, Dense
from .network import Sequential
from .pooling import AvgPool
from .residual import Flatten

__all__ = ["Chain", "network_chain", "slope_interval", "psd_margin"]

U = _sigma.UNIT_ROUNDOFF
TINY = math.ldexp(1.0, -1074)  # what one underflowing operation can lose, at most


def gamma(n: int) -> float:
    """Higham's gamma_n = n u / (1 - n u): relative error of an n-term inner product."""
    return n * U / (1.0 - n * U)


@dataclass(frozen=True)
class Chain:
    """Matrices ``W_1..W_l`` (computed), bounds ``errors[i] >= ||W_i - exact W_i||_2``, and the
    slope interval ``(lo, hi)`` of each of the ``l - 1`` activations between them."""

    weights: tuple[np.ndarray, ...]
    errors: tuple[float, ...]
    slopes: tuple[tuple[float, float], ...]

    @property
    def hidden_units(self) -> int:
        return sum(W.shape[0] for W in self.weights[:-1])


def slope_interval(layer: ActivationLayer) -> tuple[float, float] | None:
    """``[lo, hi]`` containing every slope (g(a) - g(b)) / (a - b) of a monotone activation, else None.

    ReLU [0, 1]; leaky ReLU with alpha >= 0: [min(alpha, 1), max(alpha, 1)];
    tanh, sigmoid, softplus, ELU (alpha >= 0): [0, K] with K the derived constant.
    sin, cos, GELU and leaky ReLU with alpha < 0 are not monotone: None."""
    name = layer.activation.name.split("(")[0]
    K = float(layer.activation.lipschitz)
    if name == "relu":
        return 0.0, 1.0
    if name == "leaky_relu":
        a = float(layer.activation.params["alpha"])
        return (min(a, 1.0), max(a, 1.0)) if a >= 0 else None
    if name in ("tanh", "sigmoid", "softplus") or (name == "elu" and layer.activation.params["alpha"] >= 0):
        return 0.0, K
    return None


def _linear(layer: Any) -> tuple[np.ndarray, float] | None:
    """(computed matrix, bound on its distance to the exact map) of a linear layer, else None."""
    if isinstance(layer, Dense):
        return layer.weight, 0.0
    if isinstance(layer, Conv):
        return layer.operator_matrix(), layer.operator_error_bound()
    if isinstance(layer, AvgPool):
        A = layer.operator_matrix()  # entries fl(1/K)
        return A, U / (1 - U) * float(np.linalg.norm(A))
    if isinstance(layer, BatchNorm):
        A = layer.jacobian(np.zeros(layer.in_features))
        return A, 4 * U * float(np.max(np.abs(A)))
    if isinstance(layer, Flatten):
        return np.eye(layer.in_features), 0.0
    if isinstance(layer, Dropout) and not layer.training:
        return None  # width unknown: handled as a scalar in network_chain
    return None


def network_chain(net: Sequential) -> Chain:
    """The chain of ``net``, or ValueError naming the first layer that does not fit."""
    if not isinstance(net, Sequential):
        raise TypeError(f"network_chain takes a Sequential network; got {type(net).__name__}")
    groups: list[list[tuple[np.ndarray | float, float]]] = [[]]
    slopes: list[tuple[float, float]] = []
    for i, layer in enumerate(net.layers):
        if isinstance(layer, ActivationLayer):
            s = slope_interval(layer)
            if s is None:
                raise ValueError(f"layer {i} ({layer.activation.name}) is not a monotone activation; the chain "
                                 f"bounds need slopes in an interval [lo, hi] with lo >= 0")
            slopes.append(s)
            groups.append([])
        elif isinstance(layer, Dropout) and not layer.training:
            groups[-1].append((float(layer.scale()), 0.0))
        else:
            lin = _linear(layer)
            if lin is None:
                raise ValueError(f"layer {i} ({type(layer).__name__}) is neither linear nor an elementwise "
                                 f"activation; the chain bounds do not apply")
            groups[-1].append(lin)
    width = net.in_features
    weights, errors = [], []
    for group in groups:
        W, e = _merge(group, width)
        weights.append(W)
        errors.append(e)
        width = W.shape[0]
    return Chain(tuple(weights), tuple(errors), tuple(slopes))


def _merge(group: list[tuple[np.ndarray | float, float]], width: int | None) -> tuple[np.ndarray, float]:
    """fl(A_k ... A_1) and a bound on its distance to the exact product of the exact maps."""
    mats = [(np.asarray(A, dtype=np.float64), e) for A, e in group]
    if width is None:
        width = next((A.shape[1] for A, _ in mats if A.ndim == 2), None)
        if width is None:
            raise ValueError("the network's input width is unknown (no layer with a fixed width)")
    W, absW = np.eye(width), np.eye(width)
    terms = 0
    norms, errs = [], []
    for A, e in mats:
        if A.ndim == 0:  # a scalar (test-time dropout)
            W, absW = float(A) * W, abs(float(A)) * absW
            terms += 1
            norms.append(abs(float(A)))
        else:
            W, absW = A @ W, np.abs(A) @ absW
            terms += A.shape[1]
            norms.append(float(np.linalg.norm(A)))  # ||A||_F >= ||A||_2
        errs.append(e)
    rounding = gamma(terms) * (1 + gamma(terms)) * float(np.linalg.norm(absW)) if len(mats) > 1 else 0.0
    # ||prod (A_i + E_i) - prod A_i|| <= prod (a_i + e_i) - prod a_i = sum_k prod_{j<k}(a_j + e_j) e_k prod_{j>k} a_j
    perturbation = sum(math.prod(a + e for a, e in zip(norms[:k], errs[:k])) * errs[k] * math.prod(norms[k + 1:])
                       for k in range(len(mats)))
    n_ops = 2 * len(mats) + 2
    return W, _sigma.round_up(rounding + perturbation + W.size * TINY, ops=n_ops) if mats else 0.0


def psd_margin(M: np.ndarray, exact_error: float = 0.0) -> float:
    """A lower bound on ``lambda_min`` of the exact symmetric matrix ``M_exact`` whose
    entries the computed ``M`` holds each correctly rounded, and which differs
    from it by at most ``exact_error`` more in 2-norm.

    ``lambda_min(M) = c - lambda_max(c I - M) >= c - sigma_max(c I - M)`` for any c;
    c is the computed top eigenvalue and sigma_max is ``lipbench.spectral_norm``'s
    certified upper end (plus the rounding of forming c I - M)."""
    import lipbench  # late: lipbench/__init__ imports this package

    M = np.asarray(M, dtype=np.float64)
    c = float(np.linalg.eigvalsh(M)[-1])
    N = c * np.eye(M.shape[0]) - M
    shift_err = U / (1 - U) * float(np.max(np.abs(np.diag(N))))
    upper = float(lipbench.spectral_norm(N, method="svd").upper)
    entry_err = U / (1 - U) * float(np.linalg.norm(M)) + M.shape[0] * TINY
    return float(np.nextafter(c - _sigma.round_up(upper + shift_err + entry_err + exact_error, ops=4), -np.inf))
