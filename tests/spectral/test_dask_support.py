"""spectral_norm on Dask arrays (``dask_support``): agreement with NumPy on
both schedulers, refusals, SciPy through a LinearOperator, warm starts, the
virtual Kronecker matrices.  The Dask kind's own modules have their files:
test_dask_prepare.py, test_dask_operator.py, test_dask_schedule.py."""

from __future__ import annotations

import gc
import warnings

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import lipbench as lb  # noqa: E402
from lipbench import matrices  # noqa: E402
from lipbench.matrices_dask import known_kronecker, kronecker  # noqa: E402
from lipbench.spectral.dask_support import DASK_REFUSALS, as_linear_operator  # noqa: E402
from properties.tolerances import matvec_bound, reference_rtol  # noqa: E402
from tests.helpers import assert_certified, run_quietly  # noqa: E402
from tests.spectral.dask_cases import case as _case  # noqa: E402

# row slabs, column slabs, a grid, one chunk, uneven chunks
CHUNKINGS = [(16, 72), (96, 10), (25, 30), (96, 72), ((50, 30, 16), (7, 65))]
METHODS = [("auto", {}), ("power", {"maxiter": 4000}), ("randomized", {}), ("gram", {}),
           ("lanczos", {"normal": False})]


@pytest.fixture(scope="module")
def cluster_client():
    """An in-process LocalCluster (one worker, two threads), as CI runs it."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        # the cluster's start-up may note that a port or the dashboard is unavailable, and its
        # HTTP server's port probe can leave a socket for the garbage collector: collected here,
        # its ResourceWarning (distributed's, not lipbench's) would otherwise surface as an
        # unraisable exception in whichever test the collector happens to run
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        cluster = distributed.LocalCluster(processes=False, n_workers=1, threads_per_worker=2,
                                           dashboard_address=None)
        client = distributed.Client(cluster, set_as_default=False)
        gc.collect()
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        client.close()
        cluster.close()
        gc.collect()


def _check_agreement(chunks, method, kw, scheduler):
    M, truth = _case()
    D = da.from_array(M, chunks=chunks)
    r, msgs = run_quietly(D, method, seed=1, tol=1e-8, **kw)
    ctx = f"dask chunks={chunks} scheduler={scheduler}"
    assert not msgs, f"{ctx}: {msgs}"
    assert r.converged and r.backend == "dask" and r.shape == M.shape, (ctx, r.summary())
    assert_certified(r, truth, 1e-8, M, ctx)
    ref = lb.spectral_norm(M, method=method, seed=1, tol=1e-8, **kw)
    assert r.lower <= ref.upper and ref.lower <= r.upper, f"{ctx}: brackets disjoint {r} vs {ref}"
    assert r.vector.shape in ((M.shape[1],), (M.shape[0],)), ctx


@pytest.mark.parametrize("chunks", CHUNKINGS, ids=str)
@pytest.mark.parametrize("method,kw", METHODS, ids=[m for m, _ in METHODS])
def test_agrees_with_numpy_within_the_bracket(chunks, method, kw):
    with dask.config.set(scheduler="threads"):
        _check_agreement(chunks, method, kw, "threads")


@pytest.mark.parametrize("chunks", [CHUNKINGS[0], CHUNKINGS[1], CHUNKINGS[4]], ids=str)
@pytest.mark.parametrize("method,kw", [METHODS[0], METHODS[2], METHODS[3]], ids=["auto", "randomized", "gram"])
def test_agrees_on_a_local_cluster(chunks, method, kw, cluster_client):
    with cluster_client.as_current(), dask.config.set(scheduler=cluster_client.get):
        _check_agreement(chunks, method, kw, "distributed")


@pytest.mark.parametrize("method", sorted(DASK_REFUSALS))
def test_refused_methods_say_why(method):
    with pytest.raises((ValueError, TypeError), match="Dask array"):
        lb.spectral_norm(da.ones((8, 8), chunks=4), method=method)


def test_options_that_need_memory_are_refused():
    D = da.ones((20, 20), chunks=10)
    for kw in [{"work_dtype": "float32"}, {"gram": True}]:
        with pytest.raises(ValueError, match="Dask array"):
            lb.spectral_norm(D, method="lanczos", **kw)


def test_scipy_through_linear_operator():
    M, truth = _case(shape=(70, 50))
    op = as_linear_operator(da.from_array(M, chunks=(20, 50)))
    x = np.random.default_rng(0).standard_normal(50)
    assert np.all(np.abs(op.matvec(x) - M @ x) <= matvec_bound("float64", M, x))  # chunks summed in another order
    r, _ = run_quietly(op, "arpack", seed=0)
    assert r.lower <= truth * (1 + reference_rtol(M.shape)) and truth * (1 - reference_rtol(M.shape)) <= r.upper


def test_warm_start_and_auto_plan():
    M, truth = _case()
    D = da.from_array(M, chunks=(32, 72))
    assert lb.auto_plan(D) == ("lanczos", {"normal": True})
    first = lb.spectral_norm(D, seed=0)
    again = lb.spectral_norm(D, v0=first.vector, method="power", tol=1e-6)
    assert again.iterations <= 3 and again.contains(truth)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_virtual_kronecker_matrix(dtype):
    V = known_kronecker((12, 10), (9, 8), seed=2, dtype=dtype, row_chunk=27)
    dense = V.array.compute()
    truth = matrices.reference_norm(dense.astype(np.float64))
    lo, hi = V.sigma_bracket
    slack = reference_rtol(dense.shape)
    assert lo <= truth * (1 + slack) and truth * (1 - slack) <= hi, (V.sigma_bracket, truth)
    r, _ = run_quietly(V.array, "auto", seed=0)
    assert r.lower <= hi and lo <= r.upper, (r.summary(), V.sigma_bracket)


def test_kronecker_blocks_are_the_kronecker_product():
    rng = np.random.default_rng(1)
    B, C = rng.standard_normal((5, 4)), rng.standard_normal((3, 6))
    for kw in [{}, {"row_chunk": 4}, {"row_chunk": 5, "col_chunk": 7}]:
        assert np.array_equal(kronecker(B, C, **kw).array.compute(), np.kron(B, C)), kw


def test_zarr_store_round_trip(tmp_path):
    pytest.importorskip("zarr")
    from lipbench.matrices_dask import write_zarr

    V = known_kronecker((8, 6), (10, 9), seed=1, row_chunk=20)
    Z = write_zarr(V.array, str(tmp_path / "kron.zarr"))
    assert Z.chunks == V.array.chunks
    r, _ = run_quietly(Z, "auto", seed=0)
    lo, hi = V.sigma_bracket
    assert r.lower <= hi and lo <= r.upper and r.converged


