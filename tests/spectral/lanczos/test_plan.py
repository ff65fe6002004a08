"""The options of ``method="lanczos"`` validated once into a plan (``lipbench.spectral.lanczos.plan``)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.linalg import aslinearoperator

import lipbench as lb
from lipbench import matrices


@pytest.mark.parametrize("bad", [3, 0, 2.5, True])
def test_lanczos_max_basis_validated(bad):
    with pytest.raises(ValueError, match="max_basis"):
        lb.spectral_norm(np.eye(300), method="lanczos", normal=True, max_basis=bad)
    with pytest.raises(ValueError, match="normal=True"):
        lb.spectral_norm(np.eye(300), method="lanczos", max_basis=10)


def test_lanczos_gram_and_normal_are_exclusive():
    with pytest.raises(ValueError, match="choose one"):
        lb.spectral_norm(np.eye(300), method="lanczos", gram=True, normal=True)


def test_lanczos_propack_engine_refuses_what_it_cannot_do():
    A = matrices.gaussian(64, 48, seed=1).matrix
    with pytest.raises(ValueError, match="engine must be None or 'propack'"):
        lb.spectral_norm(A, method="lanczos", engine="arpack")
    with pytest.raises(ValueError, match="takes none of gram, normal"):
        lb.spectral_norm(A, method="lanczos", engine="propack", normal=True)
    with pytest.raises(ValueError, match="v0 is not supported"):
        lb.spectral_norm(A, method="lanczos", engine="propack", v0=np.ones(48))
    with pytest.raises(ValueError, match="NumPy dense or SciPy sparse"):
        lb.spectral_norm(aslinearoperator(A), method="lanczos", engine="propack")
