"""Training-like scenario: track sigma_max of a weight that drifts every step.

Spectral normalization (Miyato et al. 2018) needs sigma_max(W_t) after every
optimizer step, where ``W_{t+1} = W_t + eta G_t`` changes little.  Strategies:

* ``uv-1step-warm`` -- the training-style iteration: persistent ``u``, one
  step per update ``v = W^T u / |.|``, ``u = W v / |.|``, ``sigma = |W v|``
  (2 matvecs per step, no convergence test; cold random ``u`` at step 0);
* ``power-1step-warm`` -- converged to ``tol`` at step 0, then
  ``lb.spectral_norm(W_t, method="power", maxiter=1, v0=previous vector)``: one
  power step per update (2 products: the float64 certificate reuses the last);
* ``<method>-warm`` -- ``lb.spectral_norm(W, method=..., v0=previous vector)``,
  only when the result exposes its right singular vector;
* ``<method>-cold`` -- ``lb.spectral_norm(W_t, method=..., tol=1e-3)`` from a
  fresh random start every step.

The timed call runs all steps; the drifted weights are built outside it.  The
tracking error per step (against a float64 SVD of each ``W_t``) goes to
``extra_info['tracking_rel_error']``.
"""

from __future__ import annotations

import math
import time
import warnings

import numpy as np
import pytest

import lipbench as lb
from benchmarks import grid, profiles
from benchmarks.runners import device_name, require_backend
from benchmarks.timing import budget
from lipbench import backends as _backends
from lipbench import matrices as _matrices

TRAIN_TOL = 1e-3
ETA = 1e-3  # drift per step, relative to the entries' scale
BURN_IN = 5  # steps excluded from max_tracking_error_after_burn_in
STRATEGIES = ("uv-1step-warm", "power-1step-warm", "lanczos-warm", "lanczos-cold", "power-cold",
              "arpack-cold", "randomized-cold")


class _Trajectory:
    def __init__(self, backend: str, m: int, n: int, steps: int):
        t0 = time.perf_counter()
        rng = np.random.default_rng(7)
        W = _matrices.nn_like(m, n, seed=grid.INPUT_SEED).matrix
        scale = 1.0 / math.sqrt(max(m, n))
        host = [W]
        for _ in range(steps - 1):
            W = W + ETA * scale * rng.standard_normal((m, n))
            host.append(W)
        self.truths = [float(np.linalg.svd(w, compute_uv=False)[0]) for w in host]
        xp = _backends.namespace(backend)
        self.weights = [xp.asarray(w) for w in host]
        _backends.synchronize(backend)
        self.build_seconds = time.perf_counter() - t0
        self.m, self.n, self.steps = m, n, steps


@pytest.fixture(scope="session")
def trajectories() -> dict:
    return {}


def _result_vector(r):
    for name in ("vector", "right_vector", "v"):
        v = getattr(r, name, None)
        if v is not None:
            return v
    return None


def _strategy(name: str, weights: list, backend: str):
    """A callable running ``name`` over all weights -> (estimates, matvecs, warnings)."""
    xp = _backends.namespace(backend)
    cw = lb.ConvergenceWarning

    if name == "uv-1step-warm":
        def run():
            u = xp.asarray(np.random.default_rng(grid.METHOD_SEED).standard_normal(weights[0].shape[0]))
            u = u / xp.linalg.vector_norm(u)
            est = []
            for W in weights:
                v = W.T @ u
                v = v / xp.linalg.vector_norm(v)
                w = W @ v
                s = xp.linalg.vector_norm(w)
                u = w / s
                est.append(s)
            _backends.synchronize(backend)
            return [float(s) for s in est], [2] * len(weights), []
        return run

    if name.endswith("-1step-warm"):  # one iteration per update from the previous vector
        method, mode = name[: -len("-1step-warm")], "1step"
    else:
        method, mode = name.rsplit("-", 1)  # "lanczos-warm" / "lanczos-cold"
    if method not in lb.METHODS:
        pytest.skip(f"{method!r} is not in lipbench.METHODS")
    ok, reason = lb.METHODS[method].applies_to(weights[0])
    if not ok:
        pytest.skip(f"{method} does not apply: {reason}")
    if mode in ("warm", "1step"):
        probe = lb.spectral_norm(weights[0], method=method, tol=TRAIN_TOL, seed=0)
        if _result_vector(probe) is None:
            pytest.skip("SpectralNormResult exposes no singular vector (no .vector/.right_vector), "
                        "so lb.spectral_norm cannot be warm-started from the previous step")

    def run():
        est, mv, msgs, v = [], [], [], None
        for step, W in enumerate(weights):
            kw = {"tol": TRAIN_TOL, "seed": step}
            if mode in ("warm", "1step") and v is not None:
                kw["v0"] = v
            if mode == "1step" and v is not None:  # converged once, then one step per update
                kw["maxiter"] = 1
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", cw)
                r = lb.spectral_norm(W, method=method, **kw)
            msgs += [str(w.message) for w in caught if issubclass(w.category, cw)]
            v = _result_vector(r)
            est.append(float(r.value))
            mv.append(int(r.matvecs))
        _backends.synchronize(backend)
        return est, mv, msgs
    return run


@pytest.mark.parametrize("backend", grid.BACKENDS)
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_tracking(benchmark, request, trajectories, strategy: str, backend: str) -> None:
    config = request.config
    require_backend(config, backend)
    m, n, steps = profiles.get(config._lipbench_profile).training
    key = (backend, m, n, steps)
    if key not in trajectories:
        trajectories[key] = _Trajectory(backend, m, n, steps)
    traj = trajectories[key]
    benchmark.group = f"training {backend} {m}x{n} {steps} steps"
    run = _strategy(strategy, traj.weights, backend)
    holder = []
    run()  # warm-up, untimed
    secs, max_rounds = budget(config)
    benchmark.pedantic(lambda: holder.append(run()), rounds=max(1, min(3, max_rounds)), iterations=1,
                       warmup_rounds=0)
    est, per_step, msgs = holder[-1]
    matvecs = int(sum(per_step))
    errs = [abs(e - t) / t for e, t in zip(est, traj.truths)]
    after = errs[BURN_IN:] or errs
    benchmark.extra_info.update({
        "kind": "training", "method": strategy, "baseline": strategy == "uv-1step-warm",
        "backend": backend, "device": device_name(backend),
        "dtype": "float64", "family": "nn_like", "shape": f"{m}x{n}", "m": m, "n": n, "nnz": None,
        "tol": TRAIN_TOL, "steps": steps, "eta": ETA,
        "tracking_rel_error": errs,
        "rel_error": max(errs), "mean_tracking_error": float(np.mean(errs)),
        "max_tracking_error": max(errs), "final_tracking_error": errs[-1],
        "max_tracking_error_after_burn_in": max(after),
        "matvecs": matvecs, "iterations": steps, "matvecs_per_step": per_step,
        "matvecs_per_step_after_first": float(np.mean(per_step[1:])) if len(per_step) > 1 else None,
        "converged": not msgs, "warning": "; ".join(sorted(set(msgs)))[:500],
        "met_target": bool(max(errs) <= TRAIN_TOL),
        "truth_source": "float64 SVD of every W_t (host)",
        "seed": grid.METHOD_SEED, "input_seed": grid.INPUT_SEED,
        "blas_threads": config._lipbench_threads, "profile": config._lipbench_profile,
        "input_build_seconds": round(traj.build_seconds, 3),
    })
