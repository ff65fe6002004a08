"""Lipschitz constants of layers and small networks (NumPy).

Dense (affine) layers, activations with derived constants, dropout in both
conventions, spectral normalization (exact, certified, power iteration), a
``Sequential`` network, the product upper bound (C12) and an empirical lower
bound (sampled difference quotients and Jacobian norms with gradient ascent).
Convolutions and tighter network bounds come later.
"""

from __future__ import annotations

from .activations import ACTIVATIONS, Activation, activation, numerical_sup_abs_derivative
from .conv import conv_geometry, conv_operator, conv_operator_norm
from .conv_bound import conv_upper_bound
from .bounds import LowerBound, difference_quotient, empirical_lower_bound, product_bound
from .dropout import CONVENTIONS, Dropout, enumerate_masks, expected_over_masks, mask_probabilities, test_time_weight
from .gram import gram_eigenvalues, gram_matrix
from .layers import ActivationLayer, Dense
from .network import Sequential
from .spectral_normalization import SpectralNormalizer, power_iteration_sigma, spectral_normalize

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "activation",
    "numerical_sup_abs_derivative",
    "Dense",
    "ActivationLayer",
    "Dropout",
    "CONVENTIONS",
    "enumerate_masks",
    "mask_probabilities",
    "expected_over_masks",
    "test_time_weight",
    "SpectralNormalizer",
    "power_iteration_sigma",
    "spectral_normalize",
    "Sequential",
    "product_bound",
    "LowerBound",
    "empirical_lower_bound",
    "difference_quotient",
    "gram_matrix",
    "gram_eigenvalues",
    "conv_operator_norm",
    "conv_operator",
    "conv_upper_bound",
    "conv_geometry",
]
