"""A network as a chain ``W_l o phi_{l-1} o W_{l-1} o ... o phi_1 o W_1`` for the tighter bounds.

The ECLipsE-Fast and activation-pattern bounds need the network as linear maps
between elementwise activations whose slopes lie in an interval ``[lo, hi]``.
:func:`network_chain` merges each run of linear layers (Dense, Conv, AvgPool,
BatchNorm, Flatten, test-time Dropout) into one computed matrix and keeps, for
each, a bound on how far it is from the exact linear map (the rounding of
assembling and multiplying, :func:`lipbench._rounding_maps.product_rounding`, term
``chain_merge``), so bounds built on the chain stay certified.  Biases do not
matter for Lipschitz constants and are dropped.

:func:`psd_margin` is the one certification step both bounds use: a lower bound
on ``lambda_min`` of an exact symmetric matrix from its computed version,
through the certified upper end of sigma_max (:func:`._sigma.sigma_upper`).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from .._rounding import ETA, U64, dn, fro_bounds, sqrt_int_up, sum_up, term, up
from .._rounding_maps import product_rounding
from . import _sigma
from .batchnorm import BatchNorm
from .conv_layer import Conv
from .dropout import Dropout
from .layers import ActivationLayer, Dense
from .network import Sequential
from .pooling import AvgPool
from .residual import Flatten

__all__ = ["Chain", "network_chain", "slope_interval", "psd_margin", "entry_rounding", "perturbation"]


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
        return layer.operator_matrix(), layer.operator_error()  # entries fl(1/K), error exact
    if isinstance(layer, BatchNorm):
        return layer.jacobian(np.zeros(layer.in_features)), layer.scale_error()  # diagonal: max entry error
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
        elif isinstance(layer, Flatten):
            continue  # the identity on the flat layout: no matrix, no product, no rounding
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


def perturbation(norms: list[float], errors: list[float]) -> float:
    """Upper bound on ``||prod_i (A_i + E_i) - prod_i A_i||_2`` from ``||A_i||_2 <= a_i`` and
    ``||E_i||_2 <= e_i``: ``prod (a_i + e_i) - prod a_i`` (expand the product), in exact
    rational arithmetic rounded up."""
    if not any(errors):
        return 0.0
    if not all(np.isfinite(norms)) or not all(np.isfinite(errors)):
        return float("inf")
    a = [Fraction(x) for x in norms]
    e = [Fraction(x) for x in errors]
    with_errors, without = Fraction(1), Fraction(1)
    for ai, ei in zip(a, e):
        with_errors *= ai + ei
        without *= ai
    return up(with_errors - without)


def _merge(group: list[tuple[np.ndarray | float, float]], width: int | None) -> tuple[np.ndarray, float]:
    """fl(A_k ... A_1) and a bound on its distance to the exact product of the exact maps:
    the rounding of the products (:func:`lipbench._rounding_maps.product_rounding`, term ``chain_merge``)
    plus the layers' own errors carried through (:func:`perturbation`)."""
    mats = [(np.asarray(A, dtype=np.float64), float(e)) for A, e in group]
    if width is None:
        width = next((A.shape[1] for A, _ in mats if A.ndim == 2), None)
        if width is None:
            raise ValueError("the network's input width is unknown (no layer with a fixed width)")
    if not mats:
        return np.eye(width), 0.0
    norms, steps = [], []
    W = None
    for A, _ in mats:
        scalar = A.ndim == 0
        a = abs(float(A)) if scalar else fro_bounds(A)[1]  # >= ||A||_2, and the Frobenius norm for Higham's bound
        norms.append(a)
        if W is None:  # the first factor is stored as it is: no rounding
            W = float(A) * np.eye(width) if scalar else A.copy()
            first = up(a * sqrt_int_up(width)) if scalar else a
            continue
        W = float(A) * W if scalar else A @ W
        steps.append((a, 1 if scalar else A.shape[1], W.size))
    rounding = product_rounding(first, steps, "chain_merge")
    assert W is not None  # mats is not empty
    return W, sum_up([rounding, perturbation(norms, [e for _, e in mats])])


def entry_rounding(M: np.ndarray) -> float:
    """Bound on ``||M_exact - M||_2`` when each entry of M is its exact value
    correctly rounded: ``|M_exact_ij - M_ij| <= u / (1 - u) |M_ij| + eta / 2``,
    so ``u / (1 - u) ||M||_F + n eta / 2`` for n x n (term ``psd_entries``)."""
    n = M.shape[0]
    f = Fraction(term("psd_entries"))
    rel = up(Fraction(U64) / (1 - Fraction(U64)) * f)
    return up(up(rel * fro_bounds(M)[1]) + up(Fraction(n) * Fraction(ETA) / 2 * f))


def psd_margin(M: np.ndarray, exact_error: float = 0.0) -> float:
    """A lower bound on ``lambda_min`` of the exact symmetric matrix ``M_exact`` whose
    entries the computed ``M`` holds each correctly rounded (:func:`entry_rounding`),
    and which differs from it by at most ``exact_error`` more in 2-norm.

    ``lambda_min(M) = c - lambda_max(c I - M) >= c - sigma_max(c I - M)`` for any c;
    c is the computed top eigenvalue, sigma_max the certified upper end of the
    computed ``N = fl(c I - M)`` plus the exact distance of its diagonal from
    ``c - M_ii`` (rationals); the sum is formed exactly and rounded down once."""
    M = np.asarray(M, dtype=np.float64)
    if not np.all(np.isfinite(M)) or not np.isfinite(exact_error):
        return float("-inf")
    c = float(np.linalg.eigvalsh(M)[-1])
    N = c * np.eye(M.shape[0]) - M
    shift = max((abs(Fraction(float(N[i, i])) - (Fraction(c) - Fraction(float(M[i, i]))))
                 for i in range(M.shape[0])), default=Fraction(0))
    upper = _sigma.sigma_upper(N)
    if not np.isfinite(upper):
        return float("-inf")
    total = Fraction(upper) + shift + Fraction(entry_rounding(M)) + Fraction(float(exact_error))
    return dn(Fraction(c) - total)
