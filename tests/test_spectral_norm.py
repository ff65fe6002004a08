"""Every method on every matrix family and shape kind: the bracket holds the
truth and, when converged, the value is within the requested tolerance."""

from __future__ import annotations

import math

from decimal import Decimal, localcontext

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import lipbench as lb
from lipbench import matrices

from tests.helpers import assert_certified, run_quietly

SHAPES = {"square": (48, 48), "tall": (64, 40), "wide": (40, 64)}
FAMILY_KW = {
    "gaussian": {}, "gap": {"delta": 1e-2}, "geometric": {}, "polynomial": {}, "low_rank": {},
    "zero": {}, "identity": {}, "nn_like": {}, "badly_scaled": {"end": "huge"},
}
# methods whose stopping rule cannot certify small tolerances: they must say so
MAY_NOT_CONVERGE = {"interpolative"}
NUMPY_METHODS = [m for m in lb.METHODS if m != "cupy-eigsh"]


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
    assert abs(truth - ks.sigma_max) <= ks.atol + 1e-12 * ks.sigma_max, "construction spectrum vs stored matrix"
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


@pytest.mark.parametrize("family", ["gaussian", "gap", "low_rank", "badly_scaled"])
def test_backend_neutral_lanczos_normal(backend, xp, family):
    ks = matrices.make(family, 40, 28, seed=5, backend=backend)
    truth = matrices.reference_norm(ks.matrix)
    r, _ = run_quietly(ks.matrix, "lanczos", tol=1e-8, seed=1, normal=True)
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
        assert abs(r.value - truth) <= (tol + 1e-12) * truth


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
    r, _ = run_quietly(stack, method, tol=1e-9, seed=0)
    assert r.value.shape == (3, 4) and r.lower.shape == (3, 4)
    assert np.all(r.lower <= truth) and np.all(truth <= r.upper), (r.lower - truth, r.upper - truth)
    assert r.converged
    np.testing.assert_array_less(np.abs(r.value - truth) / truth, 1e-9 + 1e-13)


@pytest.mark.parametrize("method", ["lanczos", "gram", "randomized", "arpack"])
def test_stacks_refused_by_single_matrix_methods(method, rng):
    with pytest.raises(ValueError, match="not a stack"):
        lb.spectral_norm(rng.standard_normal((2, 5, 5)), method=method)


def test_result_fields_and_history():
    A, s = matrices.gap(80, 60, delta=0.1, seed=2)
    r = lb.spectral_norm(A, method="power", tol=1e-10, seed=9, return_history=True)
    assert (r.method, r.backend, r.dtype, r.seed, r.device) == ("power", "numpy", "float64", 9, "cpu")
    # two products per iteration; the float64 certificate reuses the last A v
    assert r.iterations == len(r.history) and r.matvecs == 2 * r.iterations
    est = [h.estimate for h in r.history]
    assert all(b >= a * (1 - 1e-14) for a, b in zip(est, est[1:])), "power estimates must not decrease"
    assert all(h.lower <= s[0] for h in r.history)
    assert r.history[-1].matvecs <= r.matvecs
    assert lb.spectral_norm(A, method="power", tol=1e-10, seed=9).history is None


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


def test_gram_upper_bound_is_certified_every_step():
    A, s = matrices.nn_like(90, 70, seed=4)
    r = lb.spectral_norm(A, method="gram", tol=1e-12, return_history=True)
    truth = np.linalg.norm(A, 2)
    assert all(h.upper >= truth for h in r.history)
    assert r.upper - r.lower <= 1e-12 * r.upper * 1.0001


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
    I = np.array([[3, 0], [4, 5]], dtype=np.int32)
    r = lb.spectral_norm(I, method="lanczos")
    assert r.dtype == "float64" and r.input_dtype == "int32"
    assert abs(r.value - np.linalg.norm(I.astype(float), 2)) <= 1e-12 * r.value
    B = np.eye(3, dtype=bool)
    assert lb.spectral_norm(B).value == 1.0
    rng = np.random.default_rng(0)
    C = rng.standard_normal((30, 20)) + 1j * rng.standard_normal((30, 20))
    truth = np.linalg.norm(C, 2)
    for m in ["svd", "lanczos", "power", "arpack"]:
        r = lb.spectral_norm(C, method=m, tol=1e-10, seed=0)
        assert r.lower <= truth <= r.upper and abs(r.value - truth) <= 1e-9 * truth, m


@pytest.mark.parametrize("method", NUMPY_METHODS)
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64"])
def test_caller_array_never_modified(method, dtype, rng):
    A = (rng.standard_normal((30, 20)) * 10).astype(dtype)
    before = A.copy()
    flags = A.flags.writeable
    run_quietly(A, method, seed=0)
    np.testing.assert_array_equal(A, before)
    assert A.flags.writeable == flags


def test_auto_rule():
    assert lb.choose_method(np.ones((3, 50, 50))) == "svd"
    assert lb.choose_method(np.ones((160, 160))) == "svd"
    assert lb.choose_method(np.ones((170, 170))) == "lanczos"
    assert lb.choose_method(np.ones((2000, 40))) == "svd"
    assert lb.choose_method(np.ones((300, 300))) == "lanczos"
    assert lb.choose_method(sp.eye(10, format="csr")) == "lanczos"
    A, s = matrices.gaussian(300, 260, seed=0)
    r = lb.spectral_norm(A)
    assert r.method == "lanczos" and r.converged and abs(r.value - s[0]) <= 1e-8 * s[0] + 1e-12
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
    assert lb.auto_plan(_Shape((4096, 4096)), tol=1e-10)[0] == "lanczos"  # below 10x the Gram floor (1.2e-10)
    assert lb.auto_plan(_Shape((4096, 40000)))[0] == "lanczos"  # default 1e-8 below 10x its floor (1.1e-9)
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


@pytest.mark.parametrize("opts", [{"gram": True}, {"work_dtype": "float32"}, {"gram": True, "work_dtype": "float32"},
                                  {"normal": True, "work_dtype": "float32"}])
def test_lanczos_fast_paths_fall_back_when_float32_cannot_certify(opts):
    """At tol=1e-11 float32 work cannot verify; the iteration continues in float64."""
    A, s = matrices.gap(600, 150, delta=0.05, seed=2)
    r, _ = run_quietly(A, "lanczos", tol=1e-11, seed=0, **opts)
    assert r.converged and r.options == opts
    if opts.get("work_dtype") == "float32":
        assert r.stages[0].dtype == "float32" and not r.stages[0].converged, r.stages
        assert r.stages[-1].dtype == "float64" and r.stages[-1].converged, r.stages
    assert_certified(r, np.linalg.norm(A, 2), 1e-11, A)


@pytest.mark.parametrize("opts", [{}, {"normal": True}, {"normal": True, "max_basis": 8}, {"gram": True}])
def test_float32_input_refines_in_float64_below_float32_reach(opts):
    """A float32 matrix asked for 1e-10: the float32 iteration cannot verify
    that (its residual stalls near float32 rounding), so it continues in
    float64 on the copy certification made, and converges without a warning."""
    A = matrices.gap(600, 150, delta=0.05, seed=2).matrix.astype(np.float32)
    r, warned = run_quietly(A, "lanczos", tol=1e-10, seed=0, **opts)
    assert r.converged and not warned, r.message
    assert r.stages[0].dtype == "float32" and not r.stages[0].converged, r.stages
    assert r.stages[-1].dtype == "float64" and r.stages[-1].converged, r.stages
    assert_certified(r, np.linalg.norm(A.astype(np.float64), 2), 1e-10, A)


@pytest.mark.parametrize("shape_kind", list(SHAPES))
@pytest.mark.parametrize("family", list(FAMILY_KW))
@pytest.mark.parametrize("work_dtype", [None, "float32"])
@pytest.mark.parametrize("max_basis", [None, 6])
def test_lanczos_on_normal_operator_every_family(family, shape_kind, work_dtype, max_basis):
    """normal=True (symmetric Lanczos on A^T A), alone and with float32 work;
    max_basis=6 forces thick restarts on these sizes."""
    ks = matrices.make(family, *SHAPES[shape_kind], seed=8, **FAMILY_KW[family])
    A = ks.matrix
    truth = np.linalg.norm(A, 2) if family != "zero" else 0.0
    opts = {"normal": True}
    opts |= {} if max_basis is None else {"max_basis": max_basis}
    opts |= {} if work_dtype is None else {"work_dtype": work_dtype}
    r, warned = run_quietly(A, "lanczos", tol=1e-8, seed=4, **opts)
    assert_certified(r, truth, 1e-8, A, f"family={family}")
    assert r.converged and not warned, r.message
    assert r.options == opts


def test_lanczos_normal_same_steps_as_bidiagonalization():
    """Same Krylov space of right vectors: the same number of steps to tol."""
    A, s = matrices.gaussian(400, 300, seed=3)
    a = lb.spectral_norm(A, method="lanczos", tol=1e-8, seed=5)
    b = lb.spectral_norm(A, method="lanczos", tol=1e-8, seed=5, normal=True)
    assert abs(a.iterations - b.iterations) <= 1 and b.matvecs == 2 * b.iterations + 1
    assert abs(b.value - s[0]) <= 1e-8 * s[0]


def test_lanczos_normal_start_in_null_space_is_not_converged():
    A = np.zeros((30, 20))
    A[:, 0] = 1.0
    v0 = np.zeros(20)
    v0[3] = 1.0
    r, warned = run_quietly(A, "lanczos", tol=1e-8, v0=v0, normal=True)
    assert not r.converged and warned
    assert r.lower <= np.sqrt(30) <= r.upper


def test_lanczos_normal_float32_small_beta_is_not_called_exact():
    """Regression: a breakdown threshold of 8 n u (about 6e-4 relative at
    n = 1200 in float32) stopped the iteration as 'invariant' after the top
    pair, unverified (a warning for a value that was right); beta at the
    rounding level of one product is the only breakdown."""
    rng = np.random.default_rng(0)
    n = 1200
    s = np.concatenate([[1.0, 1 - 1e-3], 0.01 * rng.random(n - 2)])
    U, V = matrices.haar_orthonormal(n, n, rng), matrices.haar_orthonormal(n, n, rng)
    A = ((U * s) @ V.T).astype(np.float32)
    r, warned = run_quietly(A, "lanczos", tol=1e-6, seed=0, normal=True)
    assert r.converged and not warned, r.message
    assert_certified(r, np.linalg.norm(A.astype(np.float64), 2), 1e-6, A)


def test_lanczos_thick_restarts_bound_memory_and_drop_kw():
    A, s = matrices.gap(300, 200, delta=1e-3, seed=2)
    plain = lb.spectral_norm(A, method="lanczos", normal=True, tol=1e-10, seed=1)
    r = lb.spectral_norm(A, method="lanczos", normal=True, max_basis=8, tol=1e-10, seed=1)
    assert r.converged and r.stages[-1].restarts > 0 and abs(r.value - s[0]) <= 1e-10 * s[0]
    assert plain.stages[-1].restarts == 0
    assert r.iterations > plain.iterations > 8, "restarts cost steps; the plain run needs more than 8"
    assert r.upper_probabilistic is None and plain.upper_probabilistic is not None, \
        "Kuczynski-Wozniakowski's bound is for the unrestarted Krylov space only"


def test_lanczos_thick_restarts_stop_at_maxiter_with_a_warning():
    A, _ = matrices.gaussian(200, 150, seed=0)
    r, warned = run_quietly(A, "lanczos", tol=1e-12, seed=0, normal=True, max_basis=4, maxiter=5)
    assert not r.converged and warned and r.iterations == 5 and r.stages[-1].iterations == 5
    assert r.lower <= np.linalg.norm(A, 2) <= r.upper


@pytest.mark.parametrize("bad", [3, 0, 2.5, True])
def test_lanczos_max_basis_validated(bad):
    with pytest.raises(ValueError, match="max_basis"):
        lb.spectral_norm(np.eye(300), method="lanczos", normal=True, max_basis=bad)
    with pytest.raises(ValueError, match="normal=True"):
        lb.spectral_norm(np.eye(300), method="lanczos", max_basis=10)


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


def test_lanczos_gram_and_normal_are_exclusive():
    with pytest.raises(ValueError, match="choose one"):
        lb.spectral_norm(np.eye(300), method="lanczos", gram=True, normal=True)


def test_methods_registry_documents_every_method():
    for name, info in lb.METHODS.items():
        assert info.name == name
        doc = info.doc.lower()
        assert "cost" in doc and ("bound" in doc), f"{name} must document its cost and bounds"


def test_probabilistic_bound_reported_for_random_krylov():
    A, s = matrices.gaussian(200, 150, seed=0)
    r = lb.spectral_norm(A, method="lanczos", tol=1e-8, seed=0)
    assert r.failure_probability == pytest.approx(1e-6)
    assert r.value <= r.upper_probabilistic <= r.upper
    assert r.upper_probabilistic >= s[0]


def test_lanczos_exhausts_wide_krylov_space():
    """Regression (found by the Lanczos-vs-power property): for m < n the
    Krylov space is exhausted after m + 1 steps, not m."""
    rng = np.random.default_rng(1)
    for m, n in [(2, 3), (3, 7), (5, 6)]:
        A = rng.standard_normal((m, n))
        r = lb.spectral_norm(A, method="lanczos", v0=rng.standard_normal(n), tol=1e-12)
        truth = np.linalg.norm(A, 2)
        assert r.converged and abs(r.value - truth) <= 1e-12 * truth, (m, n, r.value, truth, r.iterations)


@pytest.mark.parametrize("method", ["power", "lanczos", "randomized", "gram", "arpack", "propack", "lobpcg"])
def test_result_vector_certifies_lower_and_warm_starts(method):
    A, s = matrices.nn_like(150, 90, seed=6)
    r, _ = run_quietly(A, method, tol=1e-8, seed=0)
    v = r.vector
    assert v.shape == (90,) and abs(np.linalg.norm(v) - 1) < 1e-12
    assert r.lower <= np.linalg.norm(A @ v) * (1 + 1e-12)
    if method in ("power", "lanczos"):
        drifted = A + 1e-3 * np.random.default_rng(0).standard_normal(A.shape) / np.sqrt(150)
        warm = lb.spectral_norm(drifted, method=method, tol=1e-8, v0=v)
        cold = lb.spectral_norm(drifted, method=method, tol=1e-8, seed=0)
        assert warm.matvecs < cold.matvecs, (warm.matvecs, cold.matvecs)
    assert lb.spectral_norm(A, method="svd").vector is None


@pytest.mark.parametrize("opts", [{}, {"normal": True}, {"normal": True, "max_basis": 8}])
@pytest.mark.parametrize("family,kw", [("gaussian", {}), ("gap", {"delta": 1e-4}), ("geometric", {}),
                                       ("low_rank", {})])
@pytest.mark.parametrize("tol", [1e-3, 1e-8])
def test_lanczos_check_schedule_stops_near_every_step_checking(opts, family, kw, tol):
    """Lanczos solves its tridiagonal eigenproblem only at the steps its check
    schedule picks; with a history it checks every step.  The iterates are the
    same either way, so the scheduled run can stop no earlier, and must stop
    within a few steps of the first step whose bound met tol."""
    A, s = matrices.make(family, 200, 160, seed=2, **kw)
    every = lb.spectral_norm(A, method="lanczos", tol=tol, seed=4, return_history=True, **opts)
    sched = lb.spectral_norm(A, method="lanczos", tol=tol, seed=4, **opts)
    assert len(every.history) == every.iterations  # one check per step
    assert every.converged and sched.converged
    assert every.iterations <= sched.iterations <= every.iterations + max(2, every.iterations // 10)
    assert abs(sched.value - s[0]) <= tol * s[0]


def test_check_schedule_on_a_geometric_error_checks_rarely_and_stops_on_time():
    from lipbench.testing import CHECK_WARMUP, CheckSchedule

    tol, rate = 1e-12, 0.8
    schedule = CheckSchedule(tol)
    checked = []
    for k in range(1, 400):
        if schedule.due(k):
            checked.append(k)
            schedule.checked(k, rate**k)
            if rate**k <= tol:
                break
    first = int(np.ceil(np.log(tol) / np.log(rate)))  # the first step whose error meets tol
    assert checked[-1] == first
    assert checked[:CHECK_WARMUP] == list(range(1, CHECK_WARMUP + 1))
    assert len(checked) <= first // 3
    every = CheckSchedule(tol, every_step=True)
    for k in range(1, 50):
        assert every.due(k)
        every.checked(k, rate**k)


@pytest.mark.parametrize("opts", [{}, {"normal": True}])
def test_lanczos_last_step_is_always_checked(opts):
    """A run stopped by maxiter, or by an invariant Krylov space, reports the
    bound and the Ritz value of its last step -- as a run checking every step
    does -- whatever steps its check schedule skipped."""
    A, _ = matrices.gap(300, 200, delta=1e-4, seed=1)
    for maxiter in (35, 36):  # steps the schedule skips (it checks 31 and 37 here)
        every, _ = run_quietly(A, "lanczos", tol=1e-12, maxiter=maxiter, seed=3, return_history=True, **opts)
        sched, warned = run_quietly(A, "lanczos", tol=1e-12, maxiter=maxiter, seed=3, **opts)
        assert warned and not sched.converged and sched.iterations == maxiter
        assert sched.error_estimate == every.error_estimate and sched.value == every.value
    # rank r: the Krylov space of A^T A is invariant after r + 1 steps (r
    # eigenvalues and the null space); only that stop can end a run at tol=1e-300
    for rank in (10, 11, 14, 15, 17):
        B, t = matrices.low_rank(60, 50, rank=rank, seed=1)
        ex = lb.spectral_norm(B, method="lanczos", tol=1e-300, seed=3, **opts)
        assert ex.converged and ex.iterations <= rank + 2 and abs(ex.value - t[0]) <= 1e-13 * t[0], rank


def test_lanczos_steps_theory_matches_its_formulas():
    from lipbench.spectral import lanczos_steps_theory
    from lipbench.spectral.theory import kw_lanczos_epsilon

    n, tol = 500, 1e-6
    s = np.concatenate([[2.0, 1.8], np.linspace(1.5, 0.1, n - 2)])
    th = lanczos_steps_theory(s, tol)
    # KW: the first k whose gap-free eigenvalue error bound is within 2 tol
    assert kw_lanczos_epsilon(n, th["kw"]) <= 2 * tol < kw_lanczos_epsilon(n, th["kw"] - 1)
    assert th["block_krylov"] == math.ceil(math.log(n) / math.sqrt(2 * tol))
    # Chebyshev: T_{k-1}(1 + 2 gamma) reaches the needed factor at the estimate, not one step before
    lam = s**2
    x = 1 + 2 * (lam[0] - lam[1]) / (lam[1] - lam[-1])
    spread = (lam[0] - lam[-1]) / lam[0]
    for key, need in (("value", math.sqrt(n) * math.sqrt(spread / (2 * tol))),
                      ("residual", math.sqrt(n) * spread / (2 * tol))):
        k = th[key]
        assert math.cosh((k - 1) * math.acosh(x)) >= need > math.cosh((k - 2) * math.acosh(x)), key
    # a wider gap needs fewer steps; no gap leaves the gap-free bounds only
    assert lanczos_steps_theory(np.concatenate([[3.0], s[1:]]), tol)["value"] < th["value"]
    assert set(lanczos_steps_theory(np.ones(10), tol)) == {"kw", "block_krylov", "kw_failure_probability"}


@pytest.mark.parametrize("family,kw,seed,tol,refined", [
    ("gaussian", {}, 0, 1e-6, False), ("nn_like", {}, 1, 1e-3, False),
    ("gaussian", {}, 1, 1e-6, True), ("gap", {"delta": 1e-2}, 1, 1e-6, True),  # PROPACK's float32 vector misses
])
def test_lanczos_propack_engine_verifies_or_refines(family, kw, seed, tol, refined):
    """engine='propack': SciPy's PROPACK runs the steps, lipbench's float64
    check decides; where PROPACK's float32 vector misses tol, float64 Lanczos
    finishes from it.  Either way the answer is verified to tol."""
    K = matrices.make(family, 256, 256, seed=seed, dtype="float32", **kw)
    truth = matrices.reference_norm(K.matrix)
    r = lb.spectral_norm(K.matrix, method="lanczos", engine="propack", tol=tol, seed=1)
    assert r.converged and r.error_estimate <= tol and r.options == {"engine": "propack"}
    assert r.lower <= truth <= r.upper and abs(r.value - truth) <= tol * truth
    assert r.stages[0].engine == "propack" and r.stages[0].converged != refined, r.stages
    assert [(s.engine, s.dtype) for s in r.stages[1:]] == ([("lanczos-normal", "float64")] if refined else [])
    assert r.matvecs >= 2 * r.iterations > 0
    assert r.matvecs == sum(s.matvecs for s in r.stages)
    propack_steps = r.stages[0].iterations
    # a refinement starts from PROPACK's nearly converged vector: a few steps, not a fresh run
    assert propack_steps <= r.iterations <= propack_steps + (10 if refined else 0)
    # the same through auto, and on a SciPy sparse copy (no one-pass certificate there)
    assert lb.spectral_norm(K.matrix, tol=tol, seed=1).options == {"engine": "propack"}
    s = lb.spectral_norm(sp.csr_array(K.matrix), method="lanczos", engine="propack", tol=tol, seed=1)
    assert s.converged and s.error_estimate <= tol and s.lower <= truth <= s.upper


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


@pytest.mark.parametrize("rows", [[[2.4433281, -1.8606709], [-1.3341405, 1.9168746]],
                                  [[2.4532716, -1.8682432], [-1.33957, 1.9246757]]])
def test_svd_bracket_holds_for_float32_input(rows):
    """Regression (Hypothesis): LAPACK's float32 sigma_max of these 2 x 2
    matrices is off by about 2.4 float32 units, outside the max(m, n) u bound
    svd used to claim; float32 input is now decomposed in float64."""
    A = np.array(rows, dtype=np.float32)
    truth = float(np.linalg.svd(A.astype(np.float64), compute_uv=False)[0])
    r = lb.spectral_norm(A, method="svd")
    assert r.lower <= truth <= r.upper and abs(r.value - truth) <= 1e-14 * truth
    S = np.stack([A, A.T])  # a stack goes the same way
    rs = lb.spectral_norm(S, method="svd")
    assert np.all(rs.lower <= truth) and np.all(truth <= rs.upper)


def test_svd_bracket_holds_for_a_2x2_matrix_hill_climbed_against_it():
    """A float64 2 x 2 matrix searched for gesdd's worst sigma_max (13.2 u off
    where it was found, against the exact value): the bracket holds it.  The
    exact sigma_max is the closed form for 2 x 2, in 50-digit decimals."""
    A = np.array([[0.00193094, 1.11069486], [0.2454917, 0.95519018]])
    with localcontext() as ctx:
        ctx.prec = 50
        a, b, c, d = (Decimal(float(x)) for x in A.ravel())
        t, det = a * a + b * b + c * c + d * d, a * d - b * c
        exact = ((t + (t * t - 4 * det * det).sqrt()) / 2).sqrt()
    r = lb.spectral_norm(A, method="svd")
    assert Decimal(r.lower) <= exact <= Decimal(r.upper), (r.lower, exact, r.upper)
