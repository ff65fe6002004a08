"""LipSDP-Neuron on a node's sub-box: a certified bound over every pattern completing the node."""

from __future__ import annotations

import numpy as np
import pytest

from lipbench.lipschitz import ActivationLayer, Dense, Sequential, activation, network_chain
from lipbench.lipschitz.branch_bound import branch_and_bound, node_bounds, prepare
from lipbench.lipschitz.chain import Chain
from lipbench.lipschitz.lipsdp_node import lipsdp_node_bound, sub_box_bound, sub_box_chain
from lipbench.lipschitz.lipsdp_verify import lmi_margin
from lipbench.testing import rounding
from properties.tolerances import svd_atol

pytest.importorskip("cvxpy", reason="the LipSDP node bound needs cvxpy (pip install -e '.[networks]')")


def _mlp(seed: int, widths: tuple[int, ...], act: str = "relu") -> Sequential:
    rng = np.random.default_rng(seed)
    layers: list = []
    for i in range(len(widths) - 1):
        layers.append(Dense(rng.standard_normal((widths[i + 1], widths[i]))))
        if i < len(widths) - 2:
            layers.append(ActivationLayer(activation(act, **({"alpha": 0.1} if act == "leaky_relu" else {}))))
    return Sequential(layers)


def _product(chain: Chain, bits: np.ndarray) -> np.ndarray:
    P, start = chain.weights[0], 0
    for W in chain.weights[1:]:
        n = P.shape[0]
        P = W @ (bits[start:start + n][:, None] * P)
        start += n
    return P


def _brute(chain: Chain, f: np.ndarray) -> float:
    """The largest sigma_max over the full patterns that complete the node ``f``."""
    free = np.flatnonzero(f < 0)
    best = 0.0
    for m in range(2 ** len(free)):
        g = np.where(f < 0, 0, f).astype(np.float64)
        g[free] = (m >> np.arange(len(free))) & 1
        best = max(best, float(np.linalg.norm(_product(chain, g), 2)))
    return best


@pytest.mark.parametrize("seed,widths", [(0, (9, 5, 4, 3)), (1, (4, 6, 5, 2)), (2, (6, 4, 3, 3, 2))])
def test_the_node_bound_covers_every_completing_pattern(seed, widths):
    """Certified: never below the brute-force maximum over the node's patterns (the root included,
    and a node with a layer all at slope 0, whose products are all zero)."""
    chain = network_chain(_mlp(seed, widths))
    H = chain.hidden_units
    rng = np.random.default_rng(seed)
    fixed = np.where(rng.random((6, H)) < 0.5, -1, rng.integers(0, 2, (6, H))).astype(np.int8)
    fixed[0] = -1
    fixed[1, :widths[1]] = 0
    bounds = lipsdp_node_bound()(prepare(chain), fixed)
    for f, b in zip(fixed, bounds):
        sig = _brute(chain, f)
        assert b >= sig - svd_atol("float64", (widths[-1], widths[0]), sig), (widths, f, b, sig)
    assert bounds[1] == 0.0, bounds


def test_the_node_bound_couples_the_layers():
    """On two hidden layers the SDP bound at the root is below the radius-and-block bound (which
    takes one layer's free units as first-order radii)."""
    chain = network_chain(_mlp(3, (8, 12, 12, 4)))
    root = np.full(chain.hidden_units, -1, dtype=np.int8)
    sdp = sub_box_bound(chain, root)
    cheap = float(node_bounds(prepare(chain), root[None])[0])
    info = f"sdp {sdp!r}, radius/block {cheap!r}"
    assert sdp < cheap, info


def test_the_search_with_the_node_bound_reaches_the_best_pattern():
    """Run to the end (gap 0) with the node bound, the search stops on the best vertex pattern,
    as it does without it (the node bound may only prune)."""
    chain = network_chain(_mlp(4, (6, 5, 5, 3)))
    plain = branch_and_bound(chain, gap=0.0)
    sdp = branch_and_bound(chain, gap=0.0, node_bound=lipsdp_node_bound())
    info = f"plain {plain.upper!r} ({plain.nodes} nodes), with the SDP {sdp.upper!r} ({sdp.nodes} nodes)"
    assert sdp.stop == plain.stop == "leaf", info
    assert np.array_equal(sdp.best_leaves[0][0], plain.best_leaves[0][0]), info
    assert sdp.nodes <= plain.nodes, info


def test_bad_input_names_the_problem_and_data_is_kept():
    leaky = network_chain(_mlp(5, (4, 3, 2), act="leaky_relu"))
    with pytest.raises(ValueError, match="ReLU"):
        sub_box_chain(leaky, np.full(3, -1))
    chain = network_chain(_mlp(5, (4, 3, 3, 2)))
    with pytest.raises(ValueError, match="one entry per hidden unit"):
        sub_box_chain(chain, np.full(5, -1))
    before = [W.copy() for W in chain.weights]
    f = np.array([1, -1, 0, -1, 0, 1], dtype=np.int8)
    kept = f.copy()
    sub_box_bound(chain, f)
    assert np.array_equal(f, kept)
    assert all(np.array_equal(a, b) for a, b in zip(before, chain.weights))


def test_the_raise_of_rho_is_bisected_below_the_first_step_that_verifies(monkeypatch):
    """SCS's loose multipliers need rho raised before the LMI verifies; bisecting below the first
    step of the ladder that verifies gives a smaller certified bound on some node, never a larger
    one (a ladder step alone is up to 8x the previous one)."""
    import lipbench.lipschitz.lipsdp_node as node

    chain = network_chain(_mlp(11, (12, 10, 10, 3)))
    rng = np.random.default_rng(0)
    nodes = [np.where(rng.random(20) < 0.7, -1, rng.integers(0, 2, 20)).astype(np.int8) for _ in range(6)]
    options = {"eps_abs": 1e-3, "eps_rel": 1e-3, "max_iters": 20_000}  # loose: the raise matters
    checks: list[tuple[float, float]] = []  # (rho, margin) of every verification

    def recorded(*args, **kwargs):
        margin = lmi_margin(*args, **kwargs)
        checks.append((args[4], margin))
        return margin

    monkeypatch.setattr(node, "lmi_margin", recorded)
    bisected = []
    for f in nodes:
        checks.clear()
        bisected.append(sub_box_bound(chain, f, options=options))
        proven = {rounding.sqrt_up(r) for r, m in checks if m > 0}
        assert bisected[-1] in proven, "the bound returned is not one whose LMI verified"
    monkeypatch.setattr(node, "_HALVINGS", 0)
    ladder = [sub_box_bound(chain, f, options=options) for f in nodes]
    for f, b in zip(nodes, bisected):
        assert b >= _brute(chain, f) - svd_atol("float64", (3, 12), b)
    assert all(b <= a for a, b in zip(ladder, bisected))
    assert any(b < a for a, b in zip(ladder, bisected))
