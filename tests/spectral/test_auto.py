"""The rule behind method="auto" (lipbench.spectral.auto) and what it delivers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import lipbench as lb
from lipbench import matrices
from tests.helpers import FAMILY_KW, assert_certified, run_quietly


def test_auto_rule():
    assert lb.choose_method(np.ones((3, 50, 50))) == "svd"
    assert lb.choose_method(np.ones((160, 160))) == "svd"
    assert lb.choose_method(np.ones((170, 170))) == "lanczos"
    assert lb.choose_method(np.ones((2000, 40))) == "svd"
    assert lb.choose_method(np.ones((300, 300))) == "lanczos"
    assert lb.choose_method(sp.eye(10, format="csr")) == "lanczos"
    ks = matrices.gaussian(300, 260, seed=0)
    A, s = ks
    r = lb.spectral_norm(A)  # the default tol; s is the construction's spectrum, within ks.atol of A's
    assert r.method == "lanczos" and r.converged and abs(r.value - s[0]) <= r.tol * s[0] + ks.atol
    assert lb.auto_plan(np.ones((1024, 100))) == ("lanczos", {"gram": True})  # below 512^2 entries
    assert lb.auto_plan(np.ones((300, 300))) == ("lanczos", {"normal": True})  # below 512^2: float64 work
    assert lb.auto_plan(np.ones((1024, 1024))) == ("lanczos", {"normal": True, "work_dtype": "float32"})
    assert lb.auto_plan(np.ones((1024, 1024), dtype=np.float32)) == ("lanczos", {"normal": True})
    assert lb.auto_plan(np.ones((2048, 2048)), tol=1e-8) == ("lanczos", {"normal": True, "work_dtype": "float32"})
    assert lb.auto_plan(np.ones((2048, 2048)), tol=1e-10) == ("lanczos", {"normal": True})
    assert lb.auto_plan(np.ones((8192, 1024)), tol=1e-8) == ("lanczos", {"gram": True, "work_dtype": "float32"})
    assert lb.auto_plan(np.ones((8192, 1024)), tol=1e-9) == ("lanczos", {"gram": True})  # Gram route: 1e-8
    assert lb.auto_plan(np.ones((4096, 1024), dtype=np.float32)) == ("lanczos", {"gram": True})
    assert lb.auto_plan(np.ones((8192, 1024))) == ("lanczos", {"gram": True, "work_dtype": "float32"})
    # leaving tol out plans as for the tol spectral_norm then uses
    for A in (np.ones((8192, 1024)), np.ones((1024, 1024)), np.ones((300, 300)), np.ones((2048, 2048)),
              sp.random(2000, 2000, density=0.001, format="csr", random_state=0)):
        assert lb.auto_plan(A) == lb.auto_plan(A, tol=lb.default_tol("float64")), A.shape
    assert lb.auto_plan(aslinearoperator(np.eye(5))) == ("lanczos", {"normal": True, "max_basis": 24})


def test_auto_on_a_linear_operator_restarts_and_converges():
    ks = matrices.make("gap", 300, 260, seed=7, delta=1e-3)
    r, warned = run_quietly(aslinearoperator(ks.matrix), "auto", tol=1e-9, seed=0)
    assert r.options == {"normal": True, "max_basis": 24} and r.stages[-1].restarts > 0
    assert_certified(r, ks.singular_values[0], 1e-9, ks.matrix, "gap")
    assert r.converged and not warned, r.message


class _Shape:
    """Stands in for a dense CuPy matrix in the rule (only shape and dtype are read)."""

    def __init__(self, shape, dtype=np.float64):
        self.shape, self.dtype, self.ndim = shape, np.dtype(dtype), len(shape)


def test_auto_rule_on_cupy_takes_the_gram_iteration_up_to_4096(monkeypatch):
    """The CuPy branch of the rule, checked on any machine: the Gram iteration
    for dense CuPy matrices with smaller side <= 4096 (when tol is above its
    rounding floor), Lanczos beyond; a warm start keeps Lanczos."""
    from lipbench.spectral import auto

    monkeypatch.setattr(auto, "classify", lambda A: ("dense", "cupy", A.ndim))
    assert lb.auto_plan(_Shape((100, 100))) == ("svd", {})
    for shape in [(256, 256), (1024, 1024), (4096, 4096), (8192, 1024), (1024, 8192), (2048, 20000)]:
        assert lb.auto_plan(_Shape(shape)) == ("gram", {}), shape
        assert lb.auto_plan(_Shape(shape, np.float32), tol=1e-6) == ("gram", {}), shape
        assert lb.auto_plan(_Shape(shape), warm_start=True)[0] == "lanczos", shape
    assert lb.auto_plan(_Shape((4096, 4096)), tol=1e-10)[0] == "lanczos"  # below 2x the Gram floor (1.9e-9)
    assert lb.auto_plan(_Shape((4096, 40000)))[0] == "lanczos"  # default 1e-8 below 2x its floor (1.8e-8)
    assert lb.auto_plan(_Shape((4096, 40000)), tol=1e-6)[0] == "gram"
    assert lb.auto_plan(_Shape((4097, 4097))) == ("lanczos", {})  # the default 1e-8: float64 work on CuPy
    assert lb.auto_plan(_Shape((4097, 4097)), tol=1e-6) == ("lanczos", {"work_dtype": "float32"})
    assert lb.auto_plan(_Shape((8192, 8192)), tol=1e-6) == ("lanczos", {"work_dtype": "float32"})
    for shape in [(4097, 4097), (8192, 8192), (40000, 5000), (4096, 40000)]:
        assert lb.auto_plan(_Shape(shape)) == lb.auto_plan(_Shape(shape), tol=lb.default_tol("float64")), shape
    assert lb.auto_plan(_Shape((100, 100)), warm_start=True) == ("lanczos", {})


def test_auto_with_a_warm_start_on_a_small_matrix_iterates():
    """auto with v0 on a matrix small enough for the full SVD takes Lanczos
    instead (the SVD has no use for a start vector, and refusing v0 would
    break a training loop that warm-starts every layer)."""
    A, s = matrices.gaussian(100, 90, seed=5)
    assert lb.auto_plan(A, warm_start=True) == ("lanczos", {"normal": True})
    assert lb.choose_method(A) == "svd"
    first = lb.spectral_norm(A, "lanczos", tol=1e-10, seed=0)  # e.g. the previous training step's vector
    r = lb.spectral_norm(A, v0=first.vector, tol=1e-10)
    assert r.method == "lanczos" and r.converged and r.iterations <= 3
    assert_certified(r, s[0], 1e-10, A)


@pytest.mark.parametrize("family", list(FAMILY_KW))
@pytest.mark.parametrize("shape", [(1024, 1024), (2048, 256), (256, 2048)])
@pytest.mark.parametrize("work_dtype", ["float32", None])
def test_auto_meets_1e_6_on_every_family(family, shape, work_dtype):
    """auto's fast paths (mixed precision, Gram route) stay certified at tol=1e-6."""
    ks = matrices.make(family, *shape, seed=1, **FAMILY_KW[family])
    truth = matrices.reference_norm(ks.matrix)
    opts = {} if work_dtype is None else {"work_dtype": work_dtype}  # force the mixed path at this size too
    r, _ = run_quietly(ks.matrix, "auto", tol=1e-6, seed=0, **opts)
    assert_certified(r, truth, 1e-6, ks.matrix, family)
    assert r.converged, r.message


@pytest.mark.parametrize("shape, route", [((520, 510), "normal"), ((1040, 255), "gram")])
@pytest.mark.parametrize("family", list(FAMILY_KW))
def test_auto_at_the_default_tol_finishes_float32_work_in_float64(family, shape, route):
    """At the default tol (1e-8) auto works in float32 on a float64 matrix of
    at least 512^2 entries (normal operator, or Gram route when tall), and the
    float64 check makes it finish in float64."""
    ks = matrices.make(family, *shape, seed=3, **FAMILY_KW[family])
    truth = np.linalg.norm(ks.matrix, 2) if family != "zero" else 0.0
    r, warned = run_quietly(ks.matrix, "auto", seed=0)
    assert r.tol == 1e-8 and r.options == {route: True, "work_dtype": "float32"}
    assert_certified(r, truth, 1e-8, ks.matrix, family)
    assert r.converged and not warned, r.message


def test_auto_on_scipy_sparse_restarts_in_float32():
    A = sp.random(3000, 2000, density=0.002, random_state=3, format="csr")
    assert lb.auto_plan(A) == ("lanczos", {"normal": True, "max_basis": 24, "work_dtype": "float32"})
    assert lb.auto_plan(A, tol=1e-8) == ("lanczos", {"normal": True, "max_basis": 24, "work_dtype": "float32"})
    assert lb.auto_plan(A, tol=1e-9) == ("lanczos", {"normal": True, "max_basis": 24})
    assert lb.auto_plan(aslinearoperator(A)) == ("lanczos", {"normal": True, "max_basis": 24})  # own dtype
    truth = np.linalg.norm(A.toarray(), 2)
    r, warned = run_quietly(A, "auto", tol=1e-6, seed=0)
    assert_certified(r, truth, 1e-6, A.toarray())
    assert r.converged and not warned, r.message


def test_auto_takes_propack_for_small_float32_only():
    f32 = np.ones((256, 256), dtype=np.float32)
    assert lb.auto_plan(f32, 1e-6) == ("lanczos", {"engine": "propack"})
    assert lb.auto_plan(np.ones((200, 300), dtype=np.float32), 1e-6) == ("lanczos", {"engine": "propack"})
    assert lb.auto_plan(f32, 1e-6, warm_start=True) == ("lanczos", {"normal": True})
    assert lb.auto_plan(f32.astype(np.float64), 1e-6) == ("lanczos", {"normal": True})
    assert lb.auto_plan(np.ones((257, 256), dtype=np.float32), 1e-6)[1] == {"normal": True}
    assert lb.auto_plan(np.ones((128, 128), dtype=np.float32), 1e-6)[0] == "svd"
    # a warm start on a small float32 matrix still works (no ValueError from the engine)
    A = matrices.gaussian(256, 256, seed=2, dtype="float32").matrix
    cold = lb.spectral_norm(A, tol=1e-6, seed=1)
    warm = lb.spectral_norm(A, tol=1e-6, seed=1, v0=cold.vector)
    assert warm.converged and warm.options == {"normal": True} and warm.iterations < cold.iterations
