"""The spectral internals that the mirror tests call directly and
:mod:`lipbench.testing` does not carry, gathered in one place so that no other
test file imports a private module (and so that the day
:mod:`lipbench.testing` re-exports them, only this file changes).  The Dask
modules import dask only when called: this module imports without it."""

from __future__ import annotations

from lipbench.spectral._bracket import Bracket, final_bracket
from lipbench.spectral._certify_vector import QUAD_SAFETY, Outcome, certify_vector
from lipbench.spectral._dask_operator import DaskOperator
from lipbench.spectral._dask_schedule import compute
from lipbench.spectral._floors import (
    SVD_BACKWARD_FACTOR,
    SVD_BACKWARD_SMALL,
    certificate_floor,
    gram_rounding_floor,
    inertia_floor,
    residual_floor,
    svd_backward_p,
    svd_error,
)
from lipbench.spectral._inputs import InputKind, checked_dtypes, classify, compute_dtype
from lipbench.spectral._raw import Raw, Tracker, stage, start_vector
from lipbench.spectral._units import iterations_unit, maxiter_unit

__all__ = [
    "Bracket", "final_bracket", "QUAD_SAFETY", "Outcome", "certify_vector", "SVD_BACKWARD_FACTOR",
    "SVD_BACKWARD_SMALL", "certificate_floor", "gram_rounding_floor", "inertia_floor", "residual_floor",
    "svd_backward_p", "svd_error", "InputKind", "checked_dtypes", "classify", "compute_dtype", "Raw", "Tracker",
    "stage", "start_vector", "iterations_unit", "maxiter_unit", "DaskOperator", "compute",
]
