"""PyTorch's functions as rivals (benchmarks/torch_rivals.py): the SN power
iteration is the one torch's spectral_norm runs, the rules follow what they
say, and the thread pools are restored.  Skipped where torch is not installed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks import torch_rivals as tr
from lipbench.timing import limit_threads
from properties.tolerances import scalar_rtol, svd_atol

torch = pytest.importorskip("torch")
TARGET = 1e-6  # the relative error the rules and searches are asked for (benchmarks/test_rivals.py's)


def _matrix(m=120, n=80, gap=0.9, seed=0, dtype=np.float64):
    """sigma_1 = 1, sigma_2 = ``gap``: power-like methods converge, not at once."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, n)))
    v, _ = np.linalg.qr(rng.standard_normal((n, n)))
    s = np.linspace(gap, 0.05, n)
    s[0] = 1.0
    return ((u * s) @ v.T).astype(dtype), 1.0


def test_sn_power_is_what_torchs_spectral_norm_computes():
    A, _ = _matrix()
    layer = torch.nn.Linear(A.shape[1], A.shape[0], bias=False, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.copy_(torch.from_numpy(A))
    # the parametrization draws u and v from torch's generator and runs 15 steps; registering it calls
    # it once in training mode, one step more
    torch.manual_seed(7)
    sn = torch.nn.utils.parametrizations.spectral_norm(layer).eval()
    with torch.no_grad():
        sigma_torch = float(A[0, 0] / sn.weight[0, 0])
    ours = {k: tr.sn_power(torch, torch.from_numpy(A), k, seed=7, device="cpu")() for k in (1, 15, 16)}
    # the same steps in the same order; torch's sigma read back as W[0, 0] / (W / sigma)[0, 0]: two roundings
    assert ours[16].value == pytest.approx(sigma_torch, rel=scalar_rtol("float64", ops=2)), (ours[16].value,
                                                                                              sigma_torch)
    truth = 1.0
    assert ours[1].value < ours[15].value < ours[16].value <= truth + svd_atol("float64", A.shape, truth), ours
    assert not ours[15].converged and ours[15].matvecs == 31


def test_svd_lowrank_rule_doubles_niter_until_two_estimates_agree():
    A, truth = _matrix()
    setting, tried, (_, last) = tr.rule_setting(torch, torch.from_numpy(A), "svd_lowrank", TARGET, 1, "cpu",
                                                svd_seconds=math.inf)
    assert setting["q"] == 6 and setting["niter"] == 2 ** len(tried), (setting, tried)
    assert tried[-1].endswith(": settled") and not any("settled" in t for t in tried[:-1]), tried
    assert last.value == pytest.approx(truth, rel=TARGET)
    # a user stops once the doubling has cost more than the full SVD: after the first call, here
    setting, tried, _ = tr.rule_setting(torch, torch.from_numpy(A), "svd_lowrank", TARGET, 1, "cpu",
                                        svd_seconds=0.0)
    assert setting["niter"] == 2 and tried[0].endswith("has cost more than the full SVD"), tried


def test_lobpcg_rule_is_the_target_but_not_below_torchs_default_tol():
    for dtype, tol in ((np.float64, TARGET), (np.float32, float(np.finfo(np.float32).eps) ** 0.5)):
        A, truth = _matrix(dtype=dtype)
        T = torch.from_numpy(A)
        setting, tried, last = tr.rule_setting(torch, T, "lobpcg", TARGET, 1, "cpu", svd_seconds=math.inf)
        assert setting["tol"] == pytest.approx(tol) and tried == [] and last is None, (dtype, setting)
        out = tr.rival_call(torch, T, "lobpcg", setting, 1, "cpu")()
        assert out.converged and out.iterations > 0, (dtype, out)
        assert abs(out.value - truth) <= 10 * setting["tol"] * truth, (dtype, out.value)


def test_search_picks_the_fastest_verified_setting_of_the_grid():
    from benchmarks.rivals import search

    A, truth = _matrix(m=150, n=100)
    T = torch.from_numpy(A)
    calls = [(s, tr.describe("svd_lowrank", s), tr.rival_call(torch, T, "svd_lowrank", s, 1, "cpu"))
             for s in tr.search_settings("svd_lowrank", *A.shape)]
    with limit_threads(1):
        best, tried = search(calls, TARGET, truth, repeats=0)
    met = [t for t in tried if t["met_target"]]
    assert met and best == min(met, key=lambda t: t["seconds"])["setting"], tried
    assert all(t["met_target"] == (t["rel_error"] <= TARGET) for t in tried), tried


def test_a_threaded_call_holds_torchs_pool_and_restores_it():
    before = torch.get_num_threads()
    assert tr.threaded(torch.get_num_threads, 1)() == 1 and torch.get_num_threads() == before


def test_auto_on_a_tensor_runs_or_says_why_not():
    A, truth = _matrix()
    run, why = tr.auto_call(torch, torch.from_numpy(A), TARGET, 1, "cpu")
    if run is None:
        assert why and ":" in why, why  # the refusal names its error and reason
    else:
        out = run()
        assert why == "" and abs(out.value - truth) <= TARGET * truth, out


def test_prepare_gives_every_torch_contender_its_row_fields():
    A, truth = _matrix(m=64, n=48)
    side = tr.prepare(torch, A, truth, TARGET, 1, (1, 2))
    bases = {c.base for c in side.contenders}
    assert {"torch.svd_lowrank (rule)", "torch.lobpcg (rule)", "torch SN power (1 step)",
            "torch SN power (15 steps)"} <= bases, bases
    assert {c.threads for c in side.contenders} == {1, 2}
    assert list(side.references) == ["torch.linalg.matrix_norm@2"] and [a[1] for a in side.after] == [1]
    for c in side.contenders:
        assert {"method", "role", "setting", "library", "backend", "device", "dtype", "seed"} <= set(c.meta), c
        assert c.meta["backend"] == "torch" and c.meta["device"] == "cpu" and c.meta["dtype"] == "float64"
    assert set(side.search) >= {"torch.svd_lowrank@2", "torch.svd_lowrank@2 rule", "torch.lobpcg@2"}
    assert ("auto (torch)" in bases) != ("auto (torch)" in side.refused)
