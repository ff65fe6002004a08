"""spectral_norm on Dask arrays: agreement with NumPy, one pass per step, the
summary pass, refusals, the virtual Kronecker matrices, both schedulers (``dask_support``
with the Dask kind's ``_dask_prepare``, ``_dask_operator`` and ``_dask_schedule``)."""

from __future__ import annotations

import gc
import threading
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

SHAPE = (96, 72)
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


def _case(family="gap", shape=SHAPE, seed=3, delta=0.05, **kw):
    K = matrices.make(family, *shape, seed=seed, **({"delta": delta} if family == "gap" else {}), **kw)
    return K.matrix, matrices.reference_norm(K.matrix)


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


def test_cheap_bounds_match_numpy():
    """One step: the bracket's upper end is the cheap bound from the summary pass."""
    M, _ = _case(shape=(80, 50))
    for chunks in [(20, 50), (80, 7)]:
        with pytest.warns(lb.ConvergenceWarning):
            r = lb.spectral_norm(da.from_array(M, chunks=chunks), method="power", maxiter=1, seed=0)
        with pytest.warns(lb.ConvergenceWarning):
            ref = lb.spectral_norm(M, method="power", maxiter=1, seed=0)
        slack = reference_rtol(M.shape)
        assert abs(r.upper - ref.upper) <= slack * ref.upper, (chunks, r.upper, ref.upper)


@pytest.mark.parametrize("layout", ["views", "C-ordered"])
@pytest.mark.parametrize("method", ["auto", "randomized"])
@pytest.mark.parametrize("end", ["huge", "tiny"])
def test_badly_scaled_input(end, method, layout):
    K = matrices.make("badly_scaled", 64, 48, end=end, seed=5)
    truth = matrices.reference_norm(K.matrix)
    D = da.from_array(K.matrix, chunks=(16, 24))  # chunks are strided views: the whole-block kernel
    if layout == "C-ordered":  # the piecewise kernel
        D = D.map_blocks(np.ascontiguousarray)
    r, _ = run_quietly(D, method, seed=0)
    assert r.converged, r.summary()
    assert r.passes.count("summary") == 2, r.passes  # the rescaled summary
    assert_certified(r, truth, r.tol, K.matrix, f"badly scaled ({end})")


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool"])
def test_other_dtypes(dtype):
    rng = np.random.default_rng(4)
    M = (rng.standard_normal((60, 40)) * 5).astype(dtype)
    truth = matrices.reference_norm(M.astype(np.float64))
    r, _ = run_quietly(da.from_array(M, chunks=(15, 20)), "auto", seed=0)
    assert r.input_dtype == dtype and r.dtype == "float64"
    assert_certified(r, truth, r.tol, M, f"dask {dtype}")


@pytest.mark.parametrize("bad,name", [(np.nan, "NaN"), (np.inf, "Inf"), (-np.inf, "-Inf")])
def test_non_finite_entry_is_named(bad, name):
    M = np.ones((30, 20))
    M[17, 13] = bad
    M[25, 2] = bad
    with pytest.raises(ValueError, match=rf"A contains {name} at \(17, 13\) \(and 1 other"):
        lb.spectral_norm(da.from_array(M, chunks=(10, 7)))


def test_zero_vector_and_shape_inputs():
    r = lb.spectral_norm(da.zeros((40, 30), chunks=(10, 30)))
    assert r.value == r.lower == r.upper == 0.0
    col = np.arange(12.0)[:, None]
    r = lb.spectral_norm(da.from_array(col, chunks=(5, 1)))
    assert r.lower <= np.linalg.norm(col) <= r.upper
    with pytest.raises(ValueError, match="not a stack"):
        lb.spectral_norm(da.ones((3, 4, 5)))
    with pytest.raises(ValueError, match="2-D Dask array"):
        lb.spectral_norm(da.ones((3, 4, 5)), method="power")
    with pytest.raises(TypeError, match="complex Dask array"):
        lb.spectral_norm(da.ones((4, 5), dtype=complex))


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


def _progress_run(monkeypatch, capsys, setting):
    if setting is None:
        monkeypatch.delenv("LIPBENCH_PROGRESS", raising=False)
    else:
        monkeypatch.setenv("LIPBENCH_PROGRESS", setting)
    M, _ = _case()
    r = lb.spectral_norm(da.from_array(M, chunks=(32, 72)), seed=0)
    return r, capsys.readouterr().err


def test_progress_bar_per_pass_when_asked(monkeypatch, capsys):
    # a threshold of 0 s: every pass draws its bar, on stderr
    r, err = _progress_run(monkeypatch, capsys, "0.0")
    assert err.count("% Completed") >= r.passes.passes, (r.passes, err[-300:])


@pytest.mark.parametrize("setting", [None, "auto", "off", "on"])
def test_progress_bar_quiet_when_short_or_off(monkeypatch, capsys, setting):
    # stderr is not a terminal under pytest (auto: no bar); "on" waits 10 s, longer than these passes
    _, err = _progress_run(monkeypatch, capsys, setting)
    assert "Completed" not in err, (setting, err[-300:])


def test_progress_setting_is_validated(monkeypatch):
    from lipbench.spectral.dask_support import PROGRESS_AFTER, progress_setting

    assert progress_setting("on") == PROGRESS_AFTER and progress_setting("off") is None
    assert progress_setting("2.5") == 2.5
    for bad in ("sometimes", "-1", "nan"):
        with pytest.raises(ValueError, match="LIPBENCH_PROGRESS"):
            progress_setting(bad)


@pytest.mark.parametrize("method", ["auto", "power", "randomized", "lanczos"])
def test_entries_near_the_top_of_float64_stay_bracketed(method):
    """The slab product is scaled before its second half (a^T t of an unscaled
    slab overflowed), and the input error is formed small factors first."""
    from properties.exact import exactly_below

    D = np.array([[1.0, 2.0**1023], [2.0**1023, 1.0], [3.0, 2.0**1022]])
    r, _ = run_quietly(da.from_array(D, chunks=(2, 2)), method, seed=0, tol=1e-6)
    assert np.isfinite(r.upper) and not exactly_below(D, r.lower), (method, r.lower, r.upper, r.message)
    assert exactly_below(D, np.nextafter(r.upper, np.inf)), (method, r.lower, r.upper)
