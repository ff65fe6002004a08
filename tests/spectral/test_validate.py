"""The one entry from the caller's array to an operator
(``lipbench.spectral._validate``): :func:`prepare` sends each kind to the
function that validates it, and an object of no kind is named.  What each
kind's validation refuses: test_inputs.py and test_dask_prepare.py."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

import lipbench as lb
from lipbench.testing import operator_of as prepare


def test_not_an_array():
    with pytest.raises(TypeError, match=r"cannot take an object of type dict"):
        lb.spectral_norm({"a": 1})




def test_each_kind_gets_its_operator(rng):
    A = rng.standard_normal((6, 4))
    lin = LinearOperator((6, 4), matvec=lambda x: A @ x, rmatvec=lambda y: A.T @ y, dtype=float)
    kinds = {"DenseOperator": A, "SparseOperator": sp.csr_matrix(A), "MatrixFreeOperator": lin}
    for cls, obj in kinds.items():
        op = prepare(obj)
        assert type(op).__name__ == cls and op.shape == (6, 4), (cls, type(op))
    with pytest.raises(ValueError, match="this method takes a single 2-D matrix, not a stack"):
        prepare(np.ones((2, 3, 3)), batched_ok=False)
    with pytest.raises(TypeError, match=r"A must be a 2-D array .*got builtins.dict"):
        prepare({"a": 1})
