"""Every Hypothesis strategy of the property suite, in one import.

Tests and other strategy modules import strategies from here only.  They are
defined by topic in two private modules: :mod:`properties._matrix_strategies`
(matrices with a spectrum known by construction, adversarial dense, integer and
special matrices, vectors) and :mod:`properties._layer_strategies` (layers,
networks and convolution cases, whose weights come from the matrix strategies).

Matrices with a controlled spectrum are built, not filtered: ``A = U diag(s) V^T``
with ``U``, ``V`` Haar-orthonormal from a seed Hypothesis draws; dense
"adversarial" matrices draw every element independently.  Strategies return
NumPy arrays (float64 or float32); tests move them to a backend with
``xp.asarray``.  ``properties/test_strategies.py`` checks that the strategies
produce the spectra they claim.
"""

from __future__ import annotations

from ._layer_strategies import (
    ConvCase,
    activations,
    batchnorms,
    chain_networks,
    conv_kernel_cases,
    conv_layers,
    dropout_masks,
    keep_probabilities,
    linear_layers,
    networks,
    pools,
    residuals,
)
from ._matrix_strategies import (
    DTYPES,
    MAX_SIDE,
    SPECTRUM_KINDS,
    SpectralMatrix,
    cluster_matrices,
    dense_matrices,
    dtypes,
    family_matrices,
    gram_losing_matrices,
    integer_matrices,
    near_singular_symmetric,
    nonzero_vectors,
    rank_deficient_matrices,
    seeds,
    shapes,
    spectra,
    spectral_matrices,
    vectors,
)

__all__ = [
    "MAX_SIDE",
    "DTYPES",
    "SPECTRUM_KINDS",
    "SpectralMatrix",
    "seeds",
    "dtypes",
    "shapes",
    "spectra",
    "spectral_matrices",
    "rank_deficient_matrices",
    "cluster_matrices",
    "family_matrices",
    "dense_matrices",
    "integer_matrices",
    "vectors",
    "nonzero_vectors",
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
    "gram_losing_matrices",
    "near_singular_symmetric",
    "ConvCase",
    "conv_kernel_cases",
]
