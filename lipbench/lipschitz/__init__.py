"""Lipschitz constants of layers and small networks (NumPy).

Dense (affine) layers, activations with derived constants, dropout in both
conventions, spectral normalization (exact, certified, power iteration), a
``Sequential`` network, the product upper bound (C12) and an empirical lower
bound (sampled difference quotients and Jacobian norms with gradient ascent).
Convolution (``Conv``), eval-mode batch norm, average and max pooling,
residual blocks and ``Flatten`` work on flattened ``(C, *spatial)`` inputs; the
bound ladder (:func:`lipschitz_ladder`) puts the product bound beside tighter
certified bounds (ECLipsE-Fast, exact maximization over activation patterns)
and lower bounds.
"""

from __future__ import annotations

from .activations import ACTIVATIONS, Activation, activation, numerical_sup_abs_derivative
from .batchnorm import BatchNorm
from .bounds import LowerBound, difference_quotient, empirical_lower_bound, product_bound
from .branch_bound import BranchBoundResult, branch_and_bound
from .chain import Chain, network_chain
from .conv import conv_certified_bracket, conv_geometry, conv_operator, conv_operator_norm
from .conv_bound import conv_upper_bound
from .conv_layer import Conv
from .dropout import CONVENTIONS, Dropout, enumerate_masks, expected_over_masks, mask_probabilities, test_time_weight
from .eclipse import EclipseResult, eclipse_fast
from .gram import gram_eigenvalues, gram_matrix
from .ladder import Ladder, Rung, lipschitz_ladder
from .layers import ActivationLayer, Dense
from .lipsdp import LipSDPResult, lipsdp_bound
from .network import Sequential
from .pattern_search import Bracket, lipschitz_bracket
from .patterns import PatternBound, pattern_bound, realise_pattern
from .pooling import AvgPool, MaxPool
from .residual import Flatten, Residual
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
    "Conv",
    "BatchNorm",
    "AvgPool",
    "MaxPool",
    "Residual",
    "Flatten",
    "Chain",
    "network_chain",
    "EclipseResult",
    "eclipse_fast",
    "LipSDPResult",
    "lipsdp_bound",
    "PatternBound",
    "pattern_bound",
    "realise_pattern",
    "BranchBoundResult",
    "branch_and_bound",
    "Bracket",
    "lipschitz_bracket",
    "Ladder",
    "Rung",
    "lipschitz_ladder",
    "conv_operator_norm",
    "conv_certified_bracket",
    "conv_operator",
    "conv_upper_bound",
    "conv_geometry",
]
