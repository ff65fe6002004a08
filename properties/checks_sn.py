"""Checks for the reshape trap and the spectral-normalization audit (claim C13), as plain functions."""

from __future__ import annotations

import math

import numpy as np

from lipbench.lipschitz import reshape_trap as ltrap
from lipbench.lipschitz import sn_audit as laudit

from . import tolerances as tol
from .checks import ctx
from .strategies import ConvCase


def trap(case: ConvCase) -> ltrap.ReshapeTrap:
    """The certified brackets of sigma(reshaped kernel) and of the operator norm for ``case``."""
    return ltrap.reshape_trap(case.kernel, case.input_shape, **case.args)


def check_reshape_bounds(case: ConvCase) -> ltrap.ReshapeTrap:
    """What does hold between sigma(R), R = kernel.reshape(out, -1), and the operator norm ||A||
    (stride 1): ``||A|| <= sqrt(T) sigma(R)`` (each input entry read at most T times, zeros or
    circular "same" padding), and under circular "same" padding with every input length >= k,
    ``sigma(R) <= ||A||``.  Both against the certified brackets."""
    r = trap(case)
    bound = math.sqrt(r.taps) * r.reshape_upper * (1 + tol.scalar_rtol(ops=2))
    assert r.operator_lower <= bound, "operator norm above sqrt(T) sigma(reshaped kernel): " + ctx(
        case.kernel, **case.describe(), trap=r, bound=bound)
    if case.same and all(n >= k for n, k in zip(case.input_shape, case.kernel.shape[2:])):
        assert r.reshape_lower <= r.operator_upper, "circular: sigma(reshaped kernel) above the operator norm: " + \
            ctx(case.kernel, **case.describe(), trap=r)
    return r


def check_audit(rows: list[laudit.AuditRow], shape: tuple[int, int], fro: float) -> None:
    """Power iteration on the layer's own map estimates from below, so sigma(W)/sigma_hat >= 1 up
    to the rounding of u^T W v (one matvec); the certified estimator never exceeds 1."""
    for r in rows:
        if r.start == "certified":
            assert r.normalized_upper <= 1.0, "certified normalization exceeds 1: " + ctx(row=r)
        elif r.target in ("matrix", "operator"):
            slack = tol.matvec_atol("float64", shape, fro) / r.sigma_hat
            assert r.normalized_upper >= 1.0 - slack, "power iteration estimated sigma from above: " + ctx(
                row=r, slack=slack)


def quantiles(rows: list[laudit.AuditRow]) -> dict[str, dict[str, float]]:
    """Per estimator: median, 90 % quantile and max of the overshoot, and the fraction of
    steps provably above 1 -- rounded to 3 significant digits for the ledger."""
    def sig(x: float) -> float:
        return float(f"{x:.3g}")
    return {d["estimator"]: {"q50": sig(d["q50"]), "q90": sig(d["q90"]), "max": sig(d["max"]),
                             "provably_above_1": sig(d["provably_above_1"])}
            for d in laudit.overshoot_summary(rows, quantiles=(0.5, 0.9))}


def largest_frobenius(weight: np.ndarray, steps: int, seed: int) -> float:
    """The largest Frobenius norm of the weights :func:`sn_audit` visits with ``seed`` (its drift uses ``seed + 1``)."""
    return max(float(np.linalg.norm(W)) for W in laudit.drifting_weights(weight, steps, seed=seed + 1))
