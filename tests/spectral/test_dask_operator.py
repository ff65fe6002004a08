"""A Dask array as an operator (``lipbench.spectral._dask_operator``): one pass
per product, ``A^T (A x)`` kept from the pass of ``A x``, each chunk read once a
pass, the Gram matrix in one pass, the cheap bounds around sigma_max and the
pass report."""

from __future__ import annotations

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import threading  # noqa: E402

from lipbench.testing import DaskOperator  # noqa: E402
from lipbench.testing import operator_of as prepare  # noqa: E402
from properties.tolerances import gram_atol, matvec_bound, normal_matvec_bound, svd_atol  # noqa: E402
from tests.helpers import assert_certified, run_quietly  # noqa: E402
from tests.spectral.dask_cases import case as _case  # noqa: E402


def _counting(M, chunks):
    """A Dask array over M whose chunk reads are counted (per chunk)."""
    counts: dict = {}
    lock = threading.Lock()

    def read(i, j, r0, r1, c0, c1):
        with lock:
            counts[(i, j)] = counts.get((i, j), 0) + 1
        return M[r0:r1, c0:c1].copy()

    rows = np.cumsum((0,) + chunks[0])
    cols = np.cumsum((0,) + chunks[1])
    A = da.block([[da.from_delayed(dask.delayed(read, pure=False)(i, j, rows[i], rows[i + 1], cols[j], cols[j + 1]),
                                   (rows[i + 1] - rows[i], cols[j + 1] - cols[j]), dtype=M.dtype)
                   for j in range(len(chunks[1]))] for i in range(len(chunks[0]))])
    return A, counts


@pytest.mark.parametrize("chunks", [((32, 32, 32), (72,)), ((96,), (40, 32)), ((48, 48), (36, 36))], ids=str)
@pytest.mark.parametrize("method,kw,per_step",
                         [("auto", {}, 1), ("power", {"maxiter": 4000}, 1), ("randomized", {}, 1),
                          ("lanczos", {"normal": False}, 2)], ids=["auto", "power", "randomized", "bidiag"])
def test_every_pass_reads_each_chunk_once(chunks, method, kw, per_step):
    M, truth = _case()
    A, counts = _counting(M, chunks)  # C-ordered chunks: the piecewise fused kernel
    r, _ = run_quietly(A, method, seed=2, tol=1e-8, **kw)
    assert r.converged
    assert_certified(r, truth, 1e-8, M, f"counted chunks={chunks}")
    p = r.passes
    assert set(counts.values()) == {p.passes}, f"chunk reads {counts} != passes {p.passes} ({method}, {chunks})"
    # the summary, then per_step passes per iteration (a fused A^T (A x) each), then the certificate
    certify = 0 if method == "power" else 1  # power reuses its last float64 A v
    assert p.count("summary") == 1, p
    if per_step == 1:
        assert p.count("rmatvec") == 0 and p.passes == 1 + r.iterations + certify, (method, p, r.iterations)
    else:  # the bidiagonalization: A v and A^T u are two passes a step
        assert p.count("rmatvec") >= r.iterations - 1 and p.passes >= 2 * r.iterations, (p, r.iterations)
    assert len(p.seconds) == p.passes and p.seconds_per_pass > 0


@pytest.mark.parametrize("method", ["auto", "power", "randomized", "lanczos"])
def test_entries_near_the_top_of_float64_stay_bracketed(method):
    """The slab product is scaled before its second half (a^T t of an unscaled
    slab overflowed), and the input error is formed small factors first."""
    from properties.exact import exactly_below

    D = np.array([[1.0, 2.0**1023], [2.0**1023, 1.0], [3.0, 2.0**1022]])
    r, _ = run_quietly(da.from_array(D, chunks=(2, 2)), method, seed=0, tol=1e-6)
    assert np.isfinite(r.upper) and not exactly_below(D, r.lower), (method, r.lower, r.upper, r.message)
    assert exactly_below(D, np.nextafter(r.upper, np.inf)), (method, r.lower, r.upper)


# ------------------------------------------------------------ the module's own contract
def _operator(M, chunks):
    op = prepare(da.from_array(M, chunks=chunks))
    assert isinstance(op, DaskOperator) and op.backend == "dask", type(op)
    return op


def test_a_product_is_one_pass_and_its_transpose_rides_along(rng):
    M = rng.standard_normal((40, 24))
    op = _operator(M, (10, 24))  # row slabs: the operator works on A itself
    before = op.pass_report().passes  # the summary
    x = rng.standard_normal(24)
    t = op.matvec(x)
    assert np.all(np.abs(t * op.scale - M @ x) <= matvec_bound("float64", M, x))
    z = op.rmatvec(t)  # A^T of exactly what matvec returned: computed in the same pass
    assert np.all(np.abs(z * op.scale**2 - M.T @ (M @ x)) <= normal_matvec_bound("float64", M, x))
    report = op.pass_report()
    assert report.passes == before + 1 and report.count("normal") == 1 and op.matvecs == 2, report
    assert not t.flags.writeable, "the kept product must not change under the pass that follows"
    y = rng.standard_normal(40)
    assert np.all(np.abs(op.rmatvec(y) * op.scale - M.T @ y) <= matvec_bound("float64", M.T, y))
    assert op.pass_report().count("rmatvec") == 1 and op.matvecs == 3
    op.normal_matvec(x)
    assert op.pass_report().count("normal") == 2 and op.matvecs == 5
    assert len(op.pass_report().seconds) == op.pass_report().passes


def test_the_gram_matrix_is_one_pass(rng):
    M = rng.standard_normal((50, 12))
    op = _operator(M, (20, 12))
    G = op.gram() * op.scale**2
    assert np.all(np.abs(G - M.T @ M) <= gram_atol("float64", M.shape, np.linalg.norm(M)))
    assert op.pass_report().count("gram") == 1 and op.matvecs == 12


@pytest.mark.parametrize("chunks", [(16, 30), (60, 7), (20, 10)])
def test_cheap_bounds_bracket_sigma(chunks, rng):
    M = rng.standard_normal((60, 30)) * 5.0
    op = _operator(M, chunks)
    sigma = float(np.linalg.norm(M, 2))
    slack = svd_atol("float64", M.shape, sigma)
    assert op.cheap_lower() * op.scale <= sigma + slack <= op.cheap_upper() * op.scale + 2 * slack, chunks
    U, _, Vt = np.linalg.svd(M)
    lower, _, _ = op.certified_lower(U[:, 0] if op.array_is_transpose else Vt[0])  # a vector of the slabbed side
    assert lower * op.scale <= sigma + slack


def test_a_dask_operator_refuses_to_be_gathered():
    op = _operator(np.ones((8, 6)), (4, 6))
    with pytest.raises(TypeError, match="a Dask array is never brought into memory whole"):
        op.dense64()
    dense, why = op.assembled64(10**9)
    assert dense is None and "not gathered" in why
