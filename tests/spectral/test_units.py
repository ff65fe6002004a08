"""What each method's ``iterations`` counts and what its ``maxiter`` caps
(``lipbench.spectral._units``), as the registry and a result's summary say it."""

from __future__ import annotations

import warnings

import lipbench as lb
from lipbench import matrices
from lipbench.testing import iterations_unit, maxiter_unit


def test_every_method_names_what_its_iterations_count():
    """Each registered method has its own entry in the counts table (not the
    fallback "iterations"), and a docstring."""
    for name, info in lb.METHODS.items():
        assert info.counts != "iterations" and info.maxiter_meaning, name
        assert info.doc.strip(), f"method {name!r} has no docstring"


# ------------------------------------------------------------ the module's own contract
def test_the_registry_reads_its_units_from_here():
    for name, info in lb.METHODS.items():
        assert info.counts == iterations_unit(name) and info.maxiter_meaning == maxiter_unit(name), name


def test_an_unknown_method_falls_back_to_plain_iterations():
    assert iterations_unit("no-such-method") == maxiter_unit("no-such-method") == "iterations"


def test_maxiter_names_its_own_unit_only_where_it_differs():
    assert maxiter_unit("power") == iterations_unit("power") == "power steps"
    assert maxiter_unit("lanczos") == iterations_unit("lanczos") == "Lanczos steps"
    for name in ("arpack", "lobpcg", "cupy-eigsh"):
        assert maxiter_unit(name) != iterations_unit(name), name
    assert "restart cycles" in maxiter_unit("arpack")


def test_an_unconverged_result_says_maxiter_in_its_unit():
    A, _ = matrices.gap(60, 40, delta=1e-4, seed=3)
    for method, unit in (("power", "power steps"), ("arpack", "maxiter counts ARPACK restart cycles")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lb.ConvergenceWarning)
            r = lb.spectral_norm(A, method=method, maxiter=1, tol=1e-12, seed=0)
        assert not r.converged and unit in r.summary(), (method, r.summary())
