"""The method registry (lipbench.METHODS): what each method applies to and
documents (what its counts mean: test_units.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import lipbench as lb
from properties.tolerances import reference_rtol


@pytest.mark.parametrize("name", list(lb.METHODS))
def test_applies_to_matches_what_the_method_accepts(name):
    """A method that says it takes an input runs on it; one that refuses gives the reason by name."""
    info = lb.METHODS[name]
    A = np.random.default_rng(0).standard_normal((30, 20))
    for X in (A, sp.csr_matrix(A)):
        ok, why = info.applies_to(X)
        if ok:
            with warnings.catch_warnings():  # a few of them stop at maxiter: the bracket still holds
                warnings.simplefilter("ignore", lb.ConvergenceWarning)
                r = lb.spectral_norm(X, method=name, tol=1e-4, seed=0)
            assert r.lower <= np.linalg.norm(A, 2) * (1 + reference_rtol(A.shape))
        else:
            assert name in why
            with pytest.raises((TypeError, ValueError)):
                lb.spectral_norm(X, method=name)


def test_methods_registry_documents_every_method():
    for name, info in lb.METHODS.items():
        assert info.name == name
        doc = info.doc.lower()
        assert "cost" in doc and ("bound" in doc), f"{name} must document its cost and bounds"


def test_linear_operator_refused_by_dense_methods():
    op = LinearOperator((10, 8), matvec=lambda x: np.ones(10), rmatvec=lambda y: np.ones(8), dtype=float)
    with pytest.raises(ValueError, match=r"method 'svd' does not take LinearOperator input"):
        lb.spectral_norm(op, method="svd")


def test_scipy_methods_refuse_other_backends():
    xps = pytest.importorskip("array_api_strict")
    with pytest.raises(ValueError, match=r"method 'arpack' runs on numpy arrays; got a array_api_strict array"):
        lb.spectral_norm(xps.eye(4), method="arpack")
