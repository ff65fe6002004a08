"""Internals that lipbench's own tests, property suite and studies reach into.

Everything else outside ``lipbench/`` uses the public API; this module is the
one documented door to the internals, so that no test imports a private
module.  Names here carry no stability promise.

* :func:`operator_of` -- the validated, scaled :class:`Operator` that every
  method runs on (products, certified lower bound, cheap bounds);
* :func:`dense_summary`, :func:`summarize` -- the one-pass summary behind
  validation (A's own sums; the record under its power-of-two scale);
* :func:`top_eigenpair`, :class:`CheckSchedule`, :class:`Basis`,
  :func:`bidiagonal_ritz`, :func:`stop_test` -- pieces of the Lanczos loops;
* the rounding model (:mod:`lipbench._rounding`): ``unit_roundoff``,
  ``gamma``, ``svd_backward_p``, ``gram_rounding_floor``, ``residual_floor``;
* :func:`certified_width` -- the relative width ``certify=True`` proves;
* :func:`scaled_error_bound` -- a context manager that multiplies the Krylov
  methods' stopping bound by a factor, to show that the tests catch an
  optimistic bound;
* :data:`TERMS` and :func:`weakened` -- every rounding term of every certified
  bound, and a context manager that multiplies one of them by a factor inside
  the library (``0.5``: halved, ``0``: dropped), for the margin tests and the
  mutation table (``python -m tests.margins``);
* ``rounding`` (the rounding model, :mod:`lipbench._rounding`),
  :func:`scale_array`, and the inertia test on a Gram matrix computed
  elsewhere (:func:`inertia_test_on_gram`, :func:`shifted_diagonal`): the
  margin tests feed them adversarial but legitimate computations (a
  summation order a BLAS may take); likewise ``chain_merge`` and
  ``pattern_rounding``, the rounding bounds of a chain's merged layers and of
  the activation-pattern products;
* the spectral data path's steps their mirror tests call directly: the input's
  classification (:func:`classify`, :func:`checked_dtypes`), the start vector and
  work tracking (:mod:`lipbench.spectral._raw`), the final bracket, the certified
  vector, the tol floors, the iteration units, the Dask operator and its scheduler
  (:func:`dask_compute`);
* :func:`gelu_tanh_sup_upper`, :func:`gelu_tanh_tail_upper` -- GELU's tanh
  form: the proven bound on sup |g'| with its knobs, its tail's bound alone, and
  the enclosure of g' on one box.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from . import _rounding as rounding
from . import _rounding_maps as rounding_maps
from ._rounding import TERMS, gamma, unit_roundoff
from .lipschitz._proven_sup import (
    GELU_TANH_REL_TOL,
    gelu_tanh_derivative_enclosure,
    gelu_tanh_sup_upper,
    gelu_tanh_tail_upper,
)
from .lipschitz._sigma import check_matrix, sigma_bracket
from .lipschitz.chain import _merge as chain_merge
from .lipschitz.patterns import _rounding as pattern_rounding
from .spectral import inertia as _inertia
from .spectral import theory as _theory
from .spectral._bracket import Bracket, final_bracket
from .spectral._certification import certified_width
from .spectral._certify_vector import QUAD_SAFETY, Outcome, certify_vector
from .spectral._dask_operator import DaskOperator
from .spectral._dask_schedule import compute as dask_compute
from .spectral._dense_operator import row_block_normal
from .spectral._floors import (
    SVD_BACKWARD_FACTOR,
    SVD_BACKWARD_SMALL,
    certificate_floor,
    gram_rounding_floor,
    inertia_floor,
    residual_floor,
    svd_backward_p,
    svd_error,
)
from .spectral._inputs import InputKind, checked_dtypes, classify, compute_dtype
from .spectral._operator import Operator
from .spectral._raw import Raw, Tracker, stage, start_vector
from .spectral._scaling import pow2_exponent, scale_array, scale_data
from .spectral._summary import dense_summary, summarize
from .spectral._units import iterations_unit, maxiter_unit
from .spectral._validate import prepare
from .spectral.lanczos._tools import Basis, CheckSchedule, bidiagonal_ritz, stop_test, top_eigenpair
from .spectral.lanczos.plan import CHECK_WARMUP

__all__ = [
    # the spectral data path's steps, called directly by their mirror tests (tests/spectral/)
    "Bracket", "final_bracket", "QUAD_SAFETY", "Outcome", "certify_vector", "SVD_BACKWARD_FACTOR",
    "SVD_BACKWARD_SMALL", "certificate_floor", "inertia_floor", "svd_error", "InputKind", "checked_dtypes",
    "compute_dtype", "Raw", "Tracker", "stage", "start_vector", "iterations_unit", "maxiter_unit", "DaskOperator",
    "dask_compute",
    "GELU_TANH_REL_TOL",
    "gelu_tanh_sup_upper",
    "gelu_tanh_derivative_enclosure",
    "gelu_tanh_tail_upper",
    "operator_of",
    "Operator",
    "dense_summary",
    "summarize",
    "row_block_normal",
    "top_eigenpair",
    "CheckSchedule",
    "Basis",
    "bidiagonal_ritz",
    "stop_test",
    "CHECK_WARMUP",
    "unit_roundoff",
    "gamma",
    "svd_backward_p",
    "gram_rounding_floor",
    "residual_floor",
    "scaled_error_bound",
    "certified_width",
    "TERMS",
    "weakened",
    "rounding",
    "rounding_maps",
    "scale_array",
    "pow2_exponent",
    "scale_data",
    "sigma_bracket",
    "check_matrix",
    "gram_record",
    "inertia_test_on_gram",
    "shifted_diagonal",
    "chain_merge",
    "pattern_rounding",
]


def operator_of(A: Any, *, batched_ok: bool = True) -> Operator:
    """The :class:`Operator` ``spectral_norm`` would build for ``A``."""
    return prepare(A, classify(A).kind, batched_ok=batched_ok)


@contextlib.contextmanager
def scaled_error_bound(factor: float) -> Iterator[None]:
    """Within the block, every residual-based stopping bound is multiplied by
    ``factor`` (``0.25``: four times too optimistic)."""
    real = _theory.residual_error

    def scaled(theta: float, resid: float) -> float:
        return factor * real(theta, resid)

    _theory.residual_error = scaled
    try:
        yield
    finally:
        _theory.residual_error = real


def gram_record(G: Any, m: int, n: int) -> Any:
    """The certificate's record of a computed Gram matrix ``G`` (float64, N x N
    on the smaller side) of an m x n matrix that needs no scaling."""
    G = np.asarray(G, dtype=np.float64)
    return _inertia.gram_record(G, np.diagonal(G).copy(), m, n, np)


def inertia_test_on_gram(G: Any, m: int, n: int, t: float) -> bool:
    """:func:`lipbench.spectral.inertia.inertia_test` on a Gram matrix ``G``
    computed elsewhere (True proves sigma_max < t if ``G`` is a float64
    computation of the Gram matrix, in any order)."""
    return _inertia._test(gram_record(G, m, n), float(t), keep=False) is not None


def shifted_diagonal(G: Any, m: int, n: int, t: float) -> tuple[Any, float]:
    """``(d, s)``: the diagonal ``d = t^2 - G_ii - s`` the inertia test factors
    (NaN entries when not positive) and its shift s."""
    G = np.asarray(G, dtype=np.float64)
    d, s = _inertia.shifted_diagonals(np.diagonal(G)[None, :].copy(), np.array([float(t)]), m, n)
    return d[0], float(s[0])


@contextlib.contextmanager
def weakened(term: str, factor: float) -> Iterator[None]:
    """Within the block, rounding term ``term`` (a key of :data:`TERMS`) is
    multiplied by ``factor`` wherever the library computes it."""
    if term not in TERMS:
        raise KeyError(f"unknown rounding term {term!r}; terms: {', '.join(TERMS)}")
    old = rounding._FACTORS.get(term)
    rounding._FACTORS[term] = float(factor)
    try:
        yield
    finally:
        if old is None:
            del rounding._FACTORS[term]
        else:
            rounding._FACTORS[term] = old
