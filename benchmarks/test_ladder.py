"""The bound ladder's rungs, timed one by one, with their tightness, by width and depth.

Random ReLU MLPs (weights N(0, 1/fan-in), biases N(0, 1/4), as in
benchmarks/studies/lipschitz_ladder.py) of widths 8-1000 and depths 2-9, two
random CNNs (the digits CNN's shape, 1x8x8; a CIFAR-size 3x32x32 one), and
networks trained on the digits (an MLP on the 8x8 images, one on the images
resized to 28x28, the digits CNN; these need ``lipbench[examples]``): each rung of
:func:`lipbench.lipschitz.lipschitz_ladder` (product, ECLipsE-Fast, LipSDP-Layer
and -Neuron, the pattern maximum, the attained lower bound, the empirical lower
bound, and the certified lower bound at the empirical rung's best point where no other
certified lower rung runs) is timed on its own; the row records the
rung's value beside the network's bracket from the full ladder (``lower`` =
best lower bound, ``upper`` = best certified upper bound, ``truth`` = L where
the two meet), so tightness = value / best lower.  A rung the ladder skips (its
cost, read from the sizes, past its limit: :mod:`lipbench.lipschitz.ladder_limits`)
is skipped here with the ladder's note, never dropped from the grid.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from benchmarks import grid
from lipbench.lipschitz import (
    ActivationLayer,
    AvgPool,
    Conv,
    Dense,
    Flatten,
    Sequential,
    activation,
    eclipse_fast,
    empirical_lower_bound,
    lipschitz_ladder,
    lipsdp_bound,
    network_chain,
    pattern_bound,
    product_bound,
)
from lipbench.lipschitz.ladder_limits import MAX_JACOBIAN_FLOPS, jacobian_skip, ladder_sizes
from lipbench.lipschitz.pattern_search import attained_search
from lipbench.lipschitz.point_lower import point_lower

MAX_HIDDEN = 16
MEET = 1e-9  # best lower and best certified upper this close (relative): L is known (as the ladder study)
#: name -> (widths, seed) of an MLP ("100x4": four hidden layers of 100), or (a CNN's input shape, seed)
NETWORKS = {"mlp-8-8-8-10": ((8, 8, 8, 10), 0), "mlp-8-8-10": ((8, 8, 10), 1), "mlp-32-32-32-10": ((32, 32, 32, 10), 2),
            "mlp-100-100-100-10": ((100,) * 3 + (10,), 3), "mlp-300-300-300-10": ((300,) * 3 + (10,), 4),
            "mlp-100-100x4-10": ((100,) * 5 + (10,), 5), "mlp-30-30x8-10": ((30,) * 9 + (10,), 6),
            "mlp-100-100x8-10": ((100,) * 9 + (10,), 7),
            "mlp-10-10-10": ((10, 10, 10), 10), "mlp-1000-1000-10": ((1000, 1000, 10), 11),
            "mlp-1000-1000x3-10": ((1000,) * 4 + (10,), 12), "mlp-300-300x8-10": ((300,) * 9 + (10,), 13),
            "cnn-1x8x8": ((1, 8, 8), 8), "cnn-3x32x32": ((3, 32, 32), 9)}
#: name -> (what is trained: hidden widths of an MLP or "cnn", the images' side); the seed is 0
TRAINED = {"digits-mlp-64-100-10": ((100,), 8), "digits-mlp-784-50-10": ((50,), 28), "digits-cnn": ("cnn", 8)}
#: the spread of the sampled and attained searches around a trained network's test points
TRAINED_SCALE = 0.3


def _attained(net, chain, points, scale):
    found = attained_search(net, n_samples=32, seed=grid.METHOD_SEED, points=points, scale=scale)
    return math.nan if found is None else found.value


_POINTS: dict = {}


def _empirical_point(net, scale):
    """The empirical rung's best Jacobian point (found once, outside the timed rounds)."""
    if id(net) not in _POINTS:
        _POINTS[id(net)] = empirical_lower_bound(net, n_samples=32, ascent_steps=10, seed=grid.METHOD_SEED,
                                                 scale=scale).jacobian_point
    return _POINTS[id(net)]


def _at_point(net, chain, points, scale):
    found = point_lower(net, _empirical_point(net, scale))
    return math.nan if found is None else found[0]


RUNGS = {
    "product": ("upper", lambda net, chain, points, scale: product_bound(net)),
    "eclipse_fast": ("upper", lambda net, chain, points, scale: eclipse_fast(chain).value),
    "lipsdp_layer": ("upper", lambda net, chain, points, scale: lipsdp_bound(chain, "layer").value),
    "lipsdp_neuron": ("upper", lambda net, chain, points, scale: lipsdp_bound(chain, "neuron").value),
    "patterns": ("upper", lambda net, chain, points, scale: pattern_bound(chain, max_hidden_units=MAX_HIDDEN).value),
    "attained_pattern": ("lower", _attained),
    "empirical": ("lower", lambda net, chain, points, scale: empirical_lower_bound(
        net, n_samples=32, ascent_steps=10, seed=grid.METHOD_SEED, scale=scale,
        jacobians=jacobian_skip(ladder_sizes(net), MAX_JACOBIAN_FLOPS) is None).value),
    "attained_point": ("lower", _at_point),
}
#: rungs timed in one round (seconds each); the others in three
SLOW_RUNGS = ("lipsdp_layer", "lipsdp_neuron", "patterns", "attained_pattern", "attained_point")
_BUILT: dict = {}


def _mlp(widths, seed) -> Sequential:
    rng = np.random.default_rng(seed)
    layers = []
    for i, (n, m) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(Dense(rng.standard_normal((m, n)) / math.sqrt(n), 0.5 * rng.standard_normal(m)))
        if i < len(widths) - 2:
            layers.append(ActivationLayer(activation("relu")))
    return Sequential(layers)


def _cnn(shape, seed) -> Sequential:
    """1x8x8: the digits CNN's shape (conv 3x3 to 8 channels, ReLU, 2x2 average pool, dense);
    3x32x32: two 3x3 stride-2 convolutions (16, 32 channels) with ReLUs, dense."""
    rng = np.random.default_rng(seed)
    relu = ActivationLayer(activation("relu"))
    if shape[0] == 1:
        conv = Conv(rng.standard_normal((8, 1, 3, 3)) / 3, shape, padding=1)
        pool = AvgPool(2, conv.output_shape)
        layers, out = [conv, relu, pool], pool.output_shape
    else:
        c1 = Conv(rng.standard_normal((16, shape[0], 3, 3)) / math.sqrt(9 * shape[0]), shape, padding=1, stride=2)
        c2 = Conv(rng.standard_normal((32, 16, 3, 3)) / 12, c1.output_shape, padding=1, stride=2)
        layers, out = [c1, relu, c2, relu], c2.output_shape
    flat = Flatten(out)
    head = Dense(rng.standard_normal((10, flat.out_features)) / math.sqrt(flat.out_features), np.zeros(10))
    return Sequential([*layers, flat, head])


def _trained(name: str):
    """(net, test points, test accuracy) of a network trained on the digits."""
    pytest.importorskip("sklearn", reason="the digits data need lipbench[examples]")
    from lipbench.lipschitz.train import train_cnn, train_mlp

    what, side = TRAINED[name]
    t = train_cnn() if what == "cnn" else train_mlp(what, side=side)
    return t.net, t.X_test[:64], t.test_accuracy


def _network(name: str):
    """(net, its chain or None when the ladder skips the chain rungs, the ladder, depth, width, points,
    scale, test accuracy)."""
    if name not in _BUILT:
        points, scale, accuracy = None, 1.0, None
        if name in TRAINED:
            net, points, accuracy = _trained(name)
            scale = TRAINED_SCALE
        else:
            dims, seed = NETWORKS[name]
            net = _cnn(dims, seed) if name.startswith("cnn") else _mlp(dims, seed)
        ladder = lipschitz_ladder(net, seed=grid.METHOD_SEED, max_hidden_units=MAX_HIDDEN, points=points,
                                  scale=scale)
        chain_runs = any(_ran(ladder, r) for r in ("eclipse_fast", "lipsdp_neuron", "patterns"))
        depth = sum(isinstance(layer, (Dense, Conv)) for layer in net.layers)
        dense = [layer.out_features for layer in net.layers[:-1] if isinstance(layer, Dense)]
        width = max(dense) if dense and not any(isinstance(layer, Conv) for layer in net.layers) else None
        _BUILT[name] = (net, network_chain(net) if chain_runs else None, ladder, depth, width, points, scale,
                        accuracy)
    return _BUILT[name]


def _ran(ladder, rung: str) -> bool:
    return any(r.name == rung and not math.isnan(r.value) for r in ladder.rows)


@pytest.mark.parametrize("rung", tuple(RUNGS))
@pytest.mark.parametrize("network", (*NETWORKS, *TRAINED))
def test_ladder_rung(benchmark, request, network, rung):
    config = request.config
    net, chain, ladder, depth, width, points, scale, accuracy = _network(network)
    hidden = ladder_sizes(net).hidden_units
    if not _ran(ladder, rung):
        why = ladder.row(rung).note if rung in {r.name for r in ladder.rows} else "the rung does not apply"
        pytest.skip(f"the ladder skips {rung} on {network}: {why}")
    kind, fn = RUNGS[rung]
    if rung == "attained_point":
        _empirical_point(net, scale)  # the point it starts from, not timed
    benchmark.group = f"ladder {network}"
    holder = []
    # each round of the product on a fresh copy of the layers: a layer keeps its constant once computed
    setup = (lambda: ((Sequential([dataclasses.replace(layer) for layer in net.layers]),), {})) \
        if rung == "product" else (lambda: ((net,), {}))
    benchmark.pedantic(lambda target: holder.append(fn(target, chain, points, scale)), setup=setup,
                       rounds=1 if rung in SLOW_RUNGS else 3, iterations=1, warmup_rounds=0)
    value = float(holder[-1])
    lower, upper = ladder.best_lower, ladder.best_certified_upper
    certified = {r.name: r.certified for r in ladder.rows}.get(rung, False)
    exact = upper - lower <= MEET * upper  # the realised pattern met the pattern maximum: L is known
    benchmark.extra_info.update({
        "kind": "ladder", "method": rung, "backend": "numpy", "device": "cpu", "dtype": "float64",
        "family": network, "shape": f"{net.in_features}->{net.out_features}", "m": net.out_features,
        "n": net.in_features, "value": value, "lower": lower, "upper": upper, "truth": upper if exact else None,
        "truth_source": "best lower bound meets the best certified upper (realised pattern)" if exact else None,
        "bracket_ok": bool(value >= lower) if kind == "upper" else bool(value <= upper),
        "rel_error": None, "tol": None, "met_target": None, "seed": grid.METHOD_SEED,
        "blas_threads": config._lipbench_threads, "profile": config._lipbench_profile,
        "options": {"rung_kind": kind, "certified": bool(certified), "hidden_units": hidden, "depth": depth,
                    "width": width, "ladder_seconds": ladder.row(rung).seconds,
                    "trained": network in TRAINED, "test_accuracy": accuracy},
        "note": ladder.row(rung).note,
    })
