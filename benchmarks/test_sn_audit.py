"""The spectral-normalization audit (claim C13) as benchmark rows: each estimator's cost per
training step next to the overshoot of sigma(W / sigma_hat) above 1 it leaves.

A dense 64x64 layer (``nn_like`` spectrum) and a 16-channel 3x3 convolution
(circular padding on 16x16, so the truth is the exact DFT bracket) drift for
30 steps (:func:`lipbench.lipschitz.sn_audit.drifting_weights`).  The timed call
is :func:`~lipbench.lipschitz.sn_audit.estimate_sigmas` over all steps (what a
training loop pays); the audit (certified brackets per step) runs outside it.
``value`` is the largest overshoot, ``options`` holds its quantiles.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import grid
from lipbench import matrices as lm
from lipbench.lipschitz.sn_audit import (
    default_estimators,
    drifting_weights,
    estimate_sigmas,
    overshoot_summary,
    sn_audit,
)

STEPS = 30
#: name -> (weight builder, conv arguments or None)
LAYERS = {
    "dense-64x64-nn_like": (lambda: lm.nn_like(64, 64, seed=grid.INPUT_SEED).matrix, None),
    "conv-16ch-3x3-circular-16x16": (
        lambda: np.random.default_rng(grid.INPUT_SEED).standard_normal((16, 16, 3, 3)) * np.sqrt(2 / 144),
        dict(input_shape=(16, 16), padding=1, padding_mode="circular")),
}
_AUDITS: dict = {}


def _audit(layer: str):
    if layer not in _AUDITS:
        build, conv = LAYERS[layer]
        W = build()
        rows = sn_audit(W, steps=STEPS, seed=grid.METHOD_SEED, layer=layer, **(conv or {}))
        weights = list(drifting_weights(W, STEPS, seed=grid.METHOD_SEED + 1))
        _AUDITS[layer] = (weights, conv or {}, {d["estimator"]: d for d in overshoot_summary(rows)})
    return _AUDITS[layer]


#: per layer kind, its estimators by name; the grid is their union (the others skip with the reason)
ESTIMATORS = {kind: {e.name: e for e in default_estimators(kind)} for kind in ("dense", "conv")}
NAMES = tuple(dict.fromkeys(name for by_name in ESTIMATORS.values() for name in by_name))


@pytest.mark.parametrize("estimator", NAMES)
@pytest.mark.parametrize("layer", tuple(LAYERS))
def test_sn_audit(benchmark, request, layer, estimator):
    config = request.config
    kind = "dense" if LAYERS[layer][1] is None else "conv"
    e = ESTIMATORS[kind].get(estimator)
    if e is None:
        pytest.skip(f"estimator {estimator} does not apply to a {kind} layer")
    weights, conv_args, summary = _audit(layer)
    s = summary[estimator]
    benchmark.group = f"sn audit {layer}"
    benchmark.pedantic(lambda: estimate_sigmas(weights, e, seed=grid.METHOD_SEED, **conv_args), rounds=3,
                       iterations=1, warmup_rounds=0)
    W = weights[0]
    benchmark.extra_info.update({
        "kind": "sn_audit", "method": estimator, "backend": "numpy", "device": "cpu", "dtype": "float64",
        "family": layer, "shape": "x".join(str(d) for d in W.shape), "m": W.shape[0],
        "n": int(np.prod(W.shape[1:])), "steps": STEPS, "value": s["max"], "seed": grid.METHOD_SEED,
        "input_seed": grid.INPUT_SEED, "blas_threads": config._lipbench_threads, "profile": config._lipbench_profile,
        "options": {k: s[k] for k in ("q50", "q90", "q99", "max", "provably_above_1", "margin")},
        "note": "overshoot = certified upper end of sigma(W)/sigma_hat - 1 per step; time = sigma_hat over all steps",
    })
