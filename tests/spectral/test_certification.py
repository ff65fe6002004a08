"""``spectral_norm(..., certify=True)``: the bracket becomes a certificate as
tight as the estimate, and a certificate that fails is a finding
(``_certification``; a Krylov method's final vector: test_certify_vector.py)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import aslinearoperator

import lipbench as lb
from lipbench import matrices
from lipbench.testing import certified_width
from properties.tolerances import reference_rtol
from tests.helpers import FAMILY_KW, run_quietly, said


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", [(200, 150), (150, 200)])
@pytest.mark.parametrize("family", list(FAMILY_KW) + ["badly_scaled_tiny"])
def test_certified_bracket_on_every_family(family, shape, dtype):
    kw = {"end": "tiny"} if family == "badly_scaled_tiny" else FAMILY_KW[family]
    ks = matrices.make(family.removesuffix("_tiny"), *shape, seed=2, dtype=dtype, **kw)
    A = ks.matrix
    truth = matrices.reference_norm(A)
    slack = reference_rtol(A.shape) * truth
    tol = 1e-6
    r, warned = run_quietly(A, "auto", tol=tol, seed=0, certify=True)
    assert r.converged and not warned and r.certified, (family, r.message)
    assert r.lower - slack <= truth <= r.upper + slack, (family, r.lower, truth, r.upper)
    width = certified_width(tol, "float64", *shape)
    assert r.upper - r.lower <= width * r.lower or r.upper == r.lower == 0.0
    if truth > 0:
        assert r.certificate in ("inertia", "norms") and r.stages[-1].engine == "inertia"


@pytest.mark.parametrize("method", ["lanczos", "power", "randomized"])
def test_a_start_orthogonal_to_the_top_vector_is_caught(method):
    """v0 = the second right singular vector: the iteration converges to sigma_2
    and says so; certify=True finds the miss and answers sigma_1."""
    n = 120
    s = np.linspace(1.0, 0.1, n)
    s[0] = 2.0
    rng = np.random.default_rng(1)
    U, V = matrices.haar_orthonormal(n, n, rng), matrices.haar_orthonormal(n, n, rng)
    A = (U * s) @ V.T
    tol = 1e-6
    plain, _ = run_quietly(A, method, tol=tol, seed=0, v0=V[:, 1])
    assert plain.value < 1.01  # converged to sigma_2: the residual bound cannot tell
    r, warned = run_quietly(A, method, tol=tol, seed=0, v0=V[:, 1], certify=True)
    assert r.converged and r.certified and not warned, r.message
    sigma = s[0]
    assert abs(r.value - sigma) <= tol * sigma and r.lower <= sigma <= r.upper
    engines = [st.engine for st in r.stages]
    assert engines[-3:] == ["inertia", "svd", "inertia"] and not r.stages[-3].converged, r.stages
    assert [n["holds"] for n in said(r, "certify-missed")] == [True], r.notes


def test_linear_operator_is_not_certified_and_says_why():
    A = matrices.gaussian(80, 60, seed=0).matrix
    r, _ = run_quietly(aslinearoperator(A), "auto", tol=1e-6, seed=0, certify=True)
    assert not r.certified and said(r, "linear-operator") and said(r, "certify-skipped"), r.notes


def test_small_sparse_input_is_certified():
    A = sp.random(300, 200, density=0.05, random_state=0, format="csr")
    truth = np.linalg.norm(A.toarray(), 2)
    r, _ = run_quietly(A, "auto", tol=1e-6, seed=0, certify=True)
    assert r.certified and r.lower <= truth <= r.upper


def test_stacks_are_refused():
    with pytest.raises(ValueError, match="certify=True takes one matrix"):
        lb.spectral_norm(np.ones((2, 3, 3)), method="svd", certify=True)


def test_tol_below_the_floor_is_raised_to_what_the_certificate_proves():
    """A tol the certificate cannot prove is raised to what it proves (with a
    note), and the bracket is certified to that, not to the tol asked for."""
    A = matrices.gaussian(300, 300, seed=0).matrix
    r, warned = run_quietly(A, "svd", tol=1e-16, seed=0, certify=True)
    assert r.tol == certified_width(1e-16, "float64", *A.shape) > 1e-16
    assert r.converged and r.certified and not warned and r.upper - r.lower <= r.tol * r.lower
    assert [n["floor"] for n in said(r, "tol-raised")] == [r.tol], r.notes
    assert r.lower <= np.linalg.norm(A, 2) * (1 + reference_rtol(A.shape)) and r.upper >= r.lower


def test_uncertified_calls_name_their_upper_bound():
    A = matrices.gaussian(300, 200, seed=0).matrix
    assert lb.spectral_norm(A, method="lanczos", tol=1e-6, seed=0).certificate == "norms"
    svd = lb.spectral_norm(A, method="svd")
    assert svd.certificate == "inertia" and svd.certified  # the SVD's bracket is always proven
    g = lb.spectral_norm(A, method="gram", tol=1e-6)
    assert g.certificate == "gram-iteration" and g.certified


def _exactly_below(A: np.ndarray, t: float) -> bool:
    """sigma_max(A) < t exactly; integer matrices stay integers (no rounding past 2^53)."""
    from fractions import Fraction

    from properties.exact import exactly_below, exactly_positive_definite

    if A.dtype.kind not in "iu":
        return exactly_below(A, t)
    a = [[int(x) for x in row] for row in (A if A.shape[0] >= A.shape[1] else A.T)]
    k = len(a[0])
    num, den = Fraction(float(t)).as_integer_ratio()  # t = num / den: den^2 (t^2 I - G) in integers
    return exactly_positive_definite([[(num * num if i == j else 0) - den * den * sum(r[i] * r[j] for r in a)
                                       for j in range(k)] for i in range(k)])


def _corner_cases() -> dict:
    eta = 5e-324
    rng = np.random.default_rng(0)
    big32 = (rng.standard_normal((6, 4)) * 1e38).astype(np.float32)
    big32[0, 0] = np.float32(2.5e38)
    long = np.zeros((128, 2))
    long[:8, 0] = 1.0
    long[8:, 0] = np.sqrt(2.0**-53) * (1 + 2.0**-40)
    return {
        "float32 near 2^128": big32,
        "subnormal 2x2": np.array([[eta, eta], [eta, 0.0]]),
        "subnormal 10x8": np.where(rng.random((10, 8)) < 0.5, eta, 2 * eta),
        "subnormal row": np.array([[eta, eta, eta]]),
        "long sum 128x2": long,
        "entries >= 2^1023": np.array([[2.0**1023 * 1.5, 1.0], [3.0, np.finfo(np.float64).max]]),
        "int64 past 2^53": np.array([[2**62 + 1, 3], [5, 2**60 + 1]], dtype=np.int64),
    }


@pytest.mark.parametrize("certify", [False, True])
@pytest.mark.parametrize("method", ["auto", "svd", "lanczos", "power", "gram"])
@pytest.mark.parametrize("case", list(_corner_cases()))
def test_corner_brackets_hold_in_exact_arithmetic(case, method, certify):
    """The cases of issue 23: each gave a wrong bracket marked certified, or a
    crash.  Truth is exact: sigma < t decided in integers (A's entries are dyadic)."""
    A = _corner_cases()[case]
    r, _ = run_quietly(A, method, seed=0, certify=certify)
    assert not _exactly_below(A, r.lower), (case, method, r.lower, r.message)
    if np.isfinite(r.upper):
        assert _exactly_below(A, np.nextafter(r.upper, np.inf)), (case, method, r.upper, r.message)
    else:
        assert not r.certified and said(r, "beyond-float64"), r.notes
    if r.certified:
        assert r.upper - r.lower <= r.tol * r.lower, (case, method, r.lower, r.upper, r.tol)


def _sparse_cases() -> dict:
    ints = np.array([2**53] + [1] * 63, dtype=np.int64)
    return {
        "float64, default route (float32 work)": sp.csr_matrix(np.full((3, 3), 0.7)),
        "float32 row (|A| summed in float32)": sp.csr_matrix(np.full((1, 3), 0.5178723, dtype=np.float32)),
        "duplicates (2, 2)": sp.csr_matrix(([1.0, 1.0], [0, 0], [0, 2, 2]), shape=(2, 2)),
        "duplicates (1, 2)": sp.csr_matrix(([3.0, -3.0, 1.0], [0, 0, 1], [0, 3]), shape=(1, 2)),
        "duplicates, CSC": sp.csc_matrix(([2.0, 0.5, 0.25], [1, 1, 0], [0, 2, 3]), shape=(2, 2)),
        # 2^53 and 63 ones at one position: summed in float64 after conversion, every 1 is lost
        "int64 duplicates, CSR": sp.csr_matrix((ints, [0] * 64, [0, 64, 64]), shape=(2, 2)),
        "int64 duplicates, COO": sp.coo_matrix((ints, ([1] * 64, [0] * 64)), shape=(2, 2)),
    }


@pytest.mark.parametrize("certify", [False, True])
@pytest.mark.parametrize("method", ["auto", "lanczos", "svd"])
@pytest.mark.parametrize("case", list(_sparse_cases()))
def test_sparse_brackets_hold_in_exact_arithmetic(case, method, certify):
    """Sparse input: the cheap bounds come from the float64 matrix (not a float32
    working copy), and duplicate stored entries are summed on a copy, their
    rounding carried into the bracket; the caller's matrix is left as it was."""
    S = _sparse_cases()[case]
    data = S.data.copy()
    try:
        r, _ = run_quietly(S, method, seed=0, certify=certify)
    except ValueError as exc:  # svd takes dense input only
        assert method == "svd" and "dense" in str(exc)
        return
    A = S.toarray()  # the sum of the stored values: exact in int64, and for the float cases here
    A = A if A.dtype.kind in "iu" else A.astype(np.float64)
    assert not _exactly_below(A, r.lower), (case, method, r.lower, r.upper)
    assert _exactly_below(A, np.nextafter(r.upper, np.inf)), (case, method, r.lower, r.upper)
    assert np.array_equal(S.data, data)


@pytest.mark.parametrize("method", ["auto", "lanczos"])
def test_float_duplicates_a_coo_matrix_sums_are_carried(method):
    """1 and 63 values 2^-53 at one position of a COO matrix: summed in float64
    they give 1.0; the truth 1 + 63 2^-53 is decided in integers (times 2^53)."""
    S = sp.coo_matrix(([1.0] + [2.0**-53] * 63, ([0] * 64, [1] * 64)), shape=(2, 2))
    r = lb.spectral_norm(S, method=method, certify=True, tol=1e-15)
    exact = np.array([[0, 2**53 + 63], [0, 0]], dtype=np.int64)
    assert _exactly_below(exact, np.nextafter(r.upper, np.inf) * 2.0**53), (r.lower, r.upper)
    assert not _exactly_below(exact, r.lower * 2.0**53), (r.lower, r.upper)


def _diagonal_sparse_cases() -> dict:
    """Diagonal sparse matrices stored with duplicates: (matrix, exact sigma_max)."""
    big = np.float32(3e38)
    k = 2**24 + 2  # (k - 1) u >= 1 in float32: a float32 sum's bound has nothing left
    rows = np.zeros(k + 1, np.int32)
    rows[-1] = 1
    return {
        "float32 sum past float32's range": (
            sp.coo_matrix((np.array([big, big, 1.0], np.float32), ([0, 0, 1], [0, 0, 1])), shape=(2, 2)),
            2 * Fraction(float(big))),
        "float64 sum past float64's range": (
            sp.coo_matrix((np.array([1e308, 1e308, 1.0]), ([0, 0, 1], [0, 0, 1])), shape=(2, 2)), 2 * Fraction(1e308)),
        "2^24 + 2 float32 ones at one place": (sp.coo_matrix((np.ones(k + 1, np.float32), (rows, rows)), shape=(2, 2)),
                                               Fraction(k)),
        "bool: a repeated True is True": (sp.coo_matrix((np.ones(3, bool), ([0, 0, 0], [0, 0, 0])), shape=(2, 2)),
                                          Fraction(1)),
    }


@pytest.mark.parametrize("method", ["auto", "power"])
@pytest.mark.parametrize("case", list(_diagonal_sparse_cases()))
def test_duplicates_are_summed_in_float64_after_scaling(case, method):
    """float32 sums could overflow or leave gamma_{k-1} >= 1 (a negative error
    term certified an upper end below the lower one); float64 sums of unscaled
    values overflowed; now a sum beyond float64 gives upper = inf."""
    S, sigma = _diagonal_sparse_cases()[case]
    data = S.data.copy()
    r = lb.spectral_norm(S, method=method, seed=0)
    assert Fraction(r.lower) <= sigma, (case, r.lower, float(sigma))
    assert r.upper == np.inf or sigma <= Fraction(r.upper), (case, r.upper, float(sigma))
    assert r.lower <= r.upper and np.array_equal(S.data, data)


@pytest.mark.parametrize("dtype", [np.longdouble, np.clongdouble])
def test_extended_precision_is_refused_by_name(dtype):
    if np.dtype(dtype).itemsize <= (16 if np.dtype(dtype).kind == "c" else 8):
        pytest.skip("this platform's long double is float64: nothing is rounded")
    A = np.eye(2, dtype=dtype)
    with pytest.raises(TypeError, match="extended precision"):
        lb.spectral_norm(A)
    if np.dtype(dtype).kind == "f":
        from lipbench.lipschitz import conv_operator_norm

        with pytest.raises(TypeError, match="extended precision"):
            conv_operator_norm(np.ones((1, 1, 3), dtype=dtype), (4,))


def test_generic_backend_certifies_a_nearly_singular_gram():
    """On an array-API backend the certificate's vector comes from two solves
    with the Cholesky factor, not an LU solve of the nearly singular matrix."""
    xps = pytest.importorskip("array_api_strict")
    A = np.full((4, 2), float.fromhex("0x1.3df6825177034p-28"))
    r, _ = run_quietly(xps.asarray(A), "gram", tol=1e-300, seed=0, certify=True)
    assert r.certified and not _exactly_below(A, r.lower) and _exactly_below(A, np.nextafter(r.upper, np.inf))
