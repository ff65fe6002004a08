"""spectral_norm over every method: every matrix family and shape kind, backends,
dtypes, sparse and matrix-free input, stacks (the result's fields:
test_result.py; the registry: test_registry.py); the bracket
holds the truth and, when converged, the value is within the requested tol.  A
method's record (``_raw``) and the caller's bracket (``_bracket``) have their
own files: test_raw.py, test_bracket.py."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import lipbench as lb
from lipbench import matrices
from properties.tolerances import reference_atol, reference_rtol
from tests.helpers import FAMILY_KW, MAY_NOT_CONVERGE, NUMPY_METHODS, SHAPES, assert_certified, run_quietly


@pytest.mark.parametrize("shape_kind", list(SHAPES))
@pytest.mark.parametrize("family", list(FAMILY_KW))
@pytest.mark.parametrize("method", NUMPY_METHODS)
def test_every_method_every_family_numpy(method, family, shape_kind):
    ks = matrices.make(family, *SHAPES[shape_kind], seed=7, **FAMILY_KW[family])
    A = ks.matrix
    truth = np.linalg.norm(A, 2) if family != "zero" else 0.0
    tol = 1e-8
    r, warned = run_quietly(A, method, tol=tol, seed=3)
    assert_certified(r, truth, tol, A, f"family={family}")
    assert abs(truth - ks.sigma_max) <= ks.atol + reference_atol(A.shape, ks.sigma_max), \
        "construction spectrum vs stored matrix"
    if method not in MAY_NOT_CONVERGE:
        assert r.converged, f"{method} did not converge on {family} {A.shape}: {r.message}"
    assert bool(warned) == (not r.converged), "a warning must be given exactly when not converged"


@pytest.mark.parametrize("family", ["gaussian", "gap", "nn_like", "low_rank", "badly_scaled"])
@pytest.mark.parametrize("method", ["svd", "power", "lanczos", "randomized", "gram"])
def test_backend_neutral_methods(backend, xp, method, family):
    ks = matrices.make(family, 40, 28, seed=5, backend=backend)
    truth = matrices.reference_norm(ks.matrix)
    r, _ = run_quietly(ks.matrix, method, tol=1e-8, seed=1)
    assert r.backend == backend.value
    assert_certified(r, truth, 1e-8, ks.matrix, f"family={family}")
    assert r.converged, r.message


@pytest.mark.parametrize("dtype,tol", [("float32", 1e-5), ("float16", 1e-3)])
@pytest.mark.parametrize("method", ["svd", "power", "lanczos", "randomized", "gram", "arpack", "lobpcg"])
def test_low_precision(method, dtype, tol):
    ks = matrices.gaussian(60, 45, dtype=dtype, seed=11)
    truth = matrices.reference_norm(ks.matrix)
    r, _ = run_quietly(ks.matrix, method, tol=tol, seed=2)
    assert r.input_dtype == dtype
    assert r.dtype == "float32", "float16 computes in float32"
    if method == "svd":
        # svd's bracket is its float32 backward-error bound
        assert r.lower <= truth <= r.upper
    else:
        assert_certified(r, truth, tol, ks.matrix)
        assert r.converged, r.message


@pytest.mark.parametrize("end", ["huge", "tiny"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("method", ["svd", "power", "lanczos", "randomized", "gram", "arpack", "propack", "lobpcg"])
def test_entries_near_overflow_and_underflow(method, dtype, end):
    ks = matrices.badly_scaled(50, 40, end=end, dtype=dtype, seed=4)
    A = ks.matrix
    peak = float(np.max(np.abs(A)))
    if dtype == "float64":
        assert (peak > 1e300) if end == "huge" else (peak < 1e-295)
    truth = matrices.reference_norm(A)
    tol = 1e-8 if dtype == "float64" else 1e-5
    r, _ = run_quietly(A, method, tol=tol, seed=0)
    assert np.isfinite(r.value) and r.value > 0
    assert r.lower <= truth <= r.upper, (r.lower, truth, r.upper)
    if method != "svd":
        assert r.converged, r.message
        assert abs(r.value - truth) <= (tol + reference_rtol(A.shape)) * truth


@pytest.mark.parametrize("method", ["power", "lanczos", "randomized", "arpack", "propack", "lobpcg", "interpolative"])
@pytest.mark.parametrize("kind", ["csr", "csc_array", "coo", "linear_operator"])
def test_sparse_and_matrix_free_inputs(method, kind, rng):
    dense = sp.random(300, 200, density=0.05, random_state=3, format="csr")
    truth = np.linalg.norm(dense.toarray(), 2)
    A = {"csr": dense, "csc_array": sp.csc_array(dense), "coo": dense.tocoo(),
         "linear_operator": aslinearoperator(dense)}[kind]
    r, _ = run_quietly(A, method, tol=1e-8, seed=1)
    assert_certified(r, truth, 1e-8, dense, kind)
    if method != "interpolative":
        assert r.converged, r.message


@pytest.mark.parametrize("method", ["svd", "gram"])
def test_dense_only_methods_refuse_sparse(method):
    A = sp.random(30, 20, density=0.2, random_state=1, format="csr")
    with pytest.raises(ValueError, match=rf"method '{method}' does not take scipy.sparse input"):
        lb.spectral_norm(A, method=method)


@pytest.mark.parametrize("method", ["svd", "power"])
def test_stacks(method, rng):
    stack = rng.standard_normal((3, 4, 20, 12))
    truth = np.linalg.norm(stack, 2, axis=(-2, -1))
    tol = 1e-9
    r, _ = run_quietly(stack, method, tol=tol, seed=0)
    assert r.value.shape == (3, 4) and r.lower.shape == (3, 4)
    assert np.all(r.lower <= truth) and np.all(truth <= r.upper), (r.lower - truth, r.upper - truth)
    assert r.converged
    assert np.all(np.abs(r.value - truth) <= (tol + reference_rtol(stack.shape)) * truth), (r.value, truth)


@pytest.mark.parametrize("method", ["lanczos", "gram", "randomized", "arpack"])
def test_stacks_refused_by_single_matrix_methods(method, rng):
    with pytest.raises(ValueError, match="not a stack"):
        lb.spectral_norm(rng.standard_normal((2, 5, 5)), method=method)


def test_seed_reproducible_and_recorded():
    A, _ = matrices.gaussian(70, 50, seed=1)
    a = lb.spectral_norm(A, method="lanczos", seed=5)
    b = lb.spectral_norm(A, method="lanczos", seed=5)
    assert (a.value, a.iterations) == (b.value, b.iterations)
    c = lb.spectral_norm(A, method="lanczos")
    assert isinstance(c.seed, int)
    d = lb.spectral_norm(A, method="lanczos", seed=c.seed)
    assert d.value == c.value


def test_warm_start_converges_fast():
    A, s = matrices.gap(120, 100, delta=1e-3, seed=3)
    cold = lb.spectral_norm(A, method="power", tol=1e-6, seed=0, maxiter=20000)
    _, _, vt = np.linalg.svd(A)
    warm = lb.spectral_norm(A, method="power", tol=1e-6, v0=vt[0] + 1e-4 * vt[1])
    assert warm.converged and warm.iterations < cold.iterations / 10
    assert warm.upper_probabilistic is None, "KW's bound needs a random start"


def test_non_convergence_warns_and_strict_raises():
    A, s = matrices.gap(100, 100, delta=1e-4, seed=0)
    with pytest.warns(lb.ConvergenceWarning, match=r"did not reach tol=1e-10.*bracket"):
        r = lb.spectral_norm(A, method="power", tol=1e-10, maxiter=5, seed=0)
    assert not r.converged and r.iterations == 5
    assert r.lower <= s[0] <= r.upper
    with pytest.raises(lb.NotConvergedError) as info:
        lb.spectral_norm(A, method="power", tol=1e-10, maxiter=5, seed=0, strict=True)
    assert info.value.result.converged is False


def test_repeated_top_singular_value():
    A, s = matrices.gap(60, 60, delta=0.0, seed=1)
    for m in ["power", "lanczos", "randomized", "gram", "arpack"]:
        r, _ = run_quietly(A, m, tol=1e-9, seed=0)
        assert_certified(r, np.linalg.norm(A, 2), 1e-9, A)
        assert r.converged, (m, r.message)


def test_zero_matrix_exact():
    for method in lb.METHODS:
        Z = np.zeros((7, 5))
        if not lb.METHODS[method].applies_to(Z)[0]:
            continue
        r = lb.spectral_norm(Z, method=method)
        assert (r.value, r.lower, r.upper, r.converged) == (0.0, 0.0, 0.0, True)
    r = lb.spectral_norm(sp.csr_matrix((1000, 800)), method="arpack")  # scipy issue 21137
    assert r.value == 0.0 and r.converged


def test_one_by_one_and_vectors():
    for method in ["svd", "power", "lanczos", "arpack", "propack", "lobpcg", "gram", "randomized"]:
        r = lb.spectral_norm(np.array([[-3.5]]), method=method)
        assert r.value == 3.5 and r.lower <= 3.5 <= r.upper and r.converged
        row = np.array([[3.0, 4.0]])
        assert lb.spectral_norm(row, method=method).value == 5.0
        assert lb.spectral_norm(row.T, method=method).value == 5.0


def test_integer_bool_and_complex_inputs():
    A_int = np.array([[3, 0], [4, 5]], dtype=np.int32)
    r = lb.spectral_norm(A_int, method="lanczos")
    assert r.dtype == "float64" and r.input_dtype == "int32"
    # two columns: the Krylov space is exhausted, the value is the 2 x 2 SVD's up to rounding
    assert abs(r.value - np.linalg.norm(A_int.astype(float), 2)) <= 2 * reference_rtol(A_int.shape) * r.value
    B = np.eye(3, dtype=bool)
    assert lb.spectral_norm(B).value == 1.0
    rng = np.random.default_rng(0)
    C = rng.standard_normal((30, 20)) + 1j * rng.standard_normal((30, 20))
    truth = np.linalg.norm(C, 2)
    tol = 1e-10
    for m in ["svd", "lanczos", "power", "arpack"]:
        r = lb.spectral_norm(C, method=m, tol=tol, seed=0)
        assert r.lower <= truth <= r.upper and abs(r.value - truth) <= (tol + reference_rtol(C.shape)) * truth, m


@pytest.mark.parametrize("method", NUMPY_METHODS)
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64"])
def test_caller_array_never_modified(method, dtype, rng):
    A = (rng.standard_normal((30, 20)) * 10).astype(dtype)
    before = A.copy()
    flags = A.flags.writeable
    run_quietly(A, method, seed=0)
    np.testing.assert_array_equal(A, before)
    assert A.flags.writeable == flags


def test_probabilistic_bound_reported_for_random_krylov():
    A, s = matrices.gaussian(200, 150, seed=0)
    r = lb.spectral_norm(A, method="lanczos", tol=1e-8, seed=0)
    assert r.failure_probability == pytest.approx(1e-6)
    assert r.value <= r.upper_probabilistic <= r.upper
    assert r.upper_probabilistic >= s[0]


def test_unknown_method_tol_maxiter_seed_option():
    A = np.eye(3)
    with pytest.raises(ValueError, match=r"unknown method 'qr'; choose 'auto' or one of: svd, power"):
        lb.spectral_norm(A, method="qr")
    for bad in (0.0, 1.0, -1e-3, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=r"tol must lie in \(0, 1\)"):
            lb.spectral_norm(A, tol=bad)
    with pytest.raises(TypeError, match="tol must be a number"):
        lb.spectral_norm(A, tol="small")
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="maxiter must be a positive integer"):
            lb.spectral_norm(A, method="power", maxiter=bad)
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        lb.spectral_norm(A, method="power", seed=-1)
    with pytest.raises(TypeError, match=r"takes no option\(s\) \['block_size'\]"):
        lb.spectral_norm(A, method="lanczos", block_size=3)
    with pytest.raises(ValueError, match="block_size must be a positive integer"):
        lb.spectral_norm(np.ones((5, 4)), method="randomized", block_size=0)


