"""A lower bound on L(f) attained by an input: local search over patterns, then an input in the region.

For a plain ReLU / leaky-ReLU MLP, ``J_f(x) = W_l D(x) ... D(x) W_1`` wherever no
pre-activation is zero, and ``L(f) >= sigma_max(J_f(x))``.  :func:`local_search`
climbs over activation patterns (flip the one unit that raises the pattern's
sigma_max most, until none does), from the patterns of given inputs (samples,
gradient-ascent points, data) and of branch-and-bound leaves;
:func:`attained_lower` asks :func:`.patterns.realise_pattern` (a linear program)
for an input in each candidate's region and certifies the result:

(:func:`realisable_climb` climbs through patterns whose regions a linear program
finds, from a pattern an input already realises, for inputs of low dimension where
many patterns have no region.)

* the pattern at x is *proven* (:func:`certified_pattern`, the forward pass of
  :mod:`.point_lower`): a running bound on each pre-activation's error (Higham's
  ``gamma_{n+1}`` for each affine map, :func:`lipbench._rounding.abs_sum_upper` for
  the sums of absolute values, the activation's slope for the error carried), every
  ``|z_i|`` above its bound, so every exact pre-activation has the computed sign;
* ``sigma_max`` of the exact product is at least the proven lower end of
  ``lipbench.spectral_norm(certify=True)`` on the computed product, minus the
  product's rounding (:func:`.patterns.pattern_rounding`, term ``pattern_products``).

So ``value`` is a certified lower bound on L(f), attained at ``x``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._rounding import dn
from ..spectral import spectral_norm
from .chain import Chain, network_chain
from .layers import ActivationLayer, Dense
from .network import Sequential
from .patterns import pattern_products, pattern_rounding, realise_pattern
from .point_lower import proven_slopes

__all__ = ["AttainedLower", "relu_only", "pattern_sigmas", "local_search", "climb", "certified_pattern",
           "pattern_lower", "attained_lower", "plain_mlp", "starts_from_inputs", "realisable_climb"]


@dataclass(frozen=True)
class AttainedLower:
    """``value`` <= sigma_max(J_f(x)) <= L(f), certified; ``bits`` the proven pattern at ``x``
    (1: slope hi); ``estimate`` the computed sigma_max; ``tried`` candidates sent to the LP."""

    value: float
    x: np.ndarray
    bits: np.ndarray
    estimate: float
    tried: int


def plain_mlp(net: Sequential) -> list[tuple[Dense, ActivationLayer | None]]:
    """The (Dense, activation) pairs of Dense, activation, ..., Dense with ReLU or leaky ReLU
    (0 <= alpha <= 1), or ValueError naming what does not fit."""
    layers = list(net.layers)
    ok = len(layers) % 2 == 1 and all(isinstance(layer, Dense) for layer in layers[::2])
    ok = ok and all(isinstance(layer, ActivationLayer) and layer.piecewise_linear for layer in layers[1::2])
    if not ok:
        raise ValueError("an attained lower bound needs a plain MLP: Dense, ReLU/leaky ReLU, ..., Dense")
    for layer in layers[1::2]:
        alpha = float(layer.activation.params.get("alpha", 0.0))
        if not 0 <= alpha <= 1:
            raise ValueError(f"leaky ReLU with alpha = {alpha}: the pattern search needs 0 <= alpha <= 1")
    return [(d, a) for d, a in zip(layers[::2], [*layers[1::2], None])]


def relu_only(pairs: list[tuple[Dense, ActivationLayer | None]]) -> bool:
    """Whether every activation of a :func:`plain_mlp` is ReLU (leaky ReLU with alpha 0)."""
    return all(float(act.activation.params.get("alpha", 0.0)) == 0.0 for _, act in pairs[:-1] if act is not None)


def pattern_sigmas(chain: Chain, bits: np.ndarray) -> np.ndarray:
    """sigma_max of each pattern's product (floats, an estimate)."""
    return np.linalg.norm(pattern_products(chain, np.atleast_2d(bits)), 2, axis=(1, 2))


def local_search(chain: Chain, starts: np.ndarray, *, max_rounds: int = 200) -> list[tuple[np.ndarray, float]]:
    """Greedy single-flip ascent from each row of ``starts``; the distinct local optima, best first."""
    found: dict[bytes, tuple[np.ndarray, float]] = {}
    H = chain.hidden_units
    W1 = chain.weights[0]
    if W1.shape[1] > W1.shape[0]:  # sigma(X W_1) = sigma(X R_1) for R_1 R_1^T = W_1 W_1^T: a narrower search
        R1 = np.asarray(np.linalg.qr(W1.T, mode="r")).T
        chain = Chain((R1, *chain.weights[1:]), chain.errors, chain.slopes)
    flips = np.eye(H, dtype=np.int8)
    for start in np.atleast_2d(np.asarray(starts, dtype=np.int8)):
        bits, value = start.copy(), float(pattern_sigmas(chain, start)[0])
        for _ in range(max_rounds):
            cand = bits[None, :] ^ flips
            vals = pattern_sigmas(chain, cand)
            i = int(np.argmax(vals))
            if not vals[i] > value:
                break
            bits, value = cand[i], float(vals[i])
        found[bits.tobytes()] = (bits, value)
    return sorted(found.values(), key=lambda t: -t[1])


def climb(chain: Chain, bits: np.ndarray, has_region: Callable[[np.ndarray], bool], max_programs: int
          ) -> tuple[np.ndarray, float, int]:
    """Single-flip ascent that stays on patterns ``has_region`` accepts: try the flips in order of
    the pattern's sigma_max and take the first accepted, until no flip is better or ``max_programs``
    tests have run; ``(bits, sigma estimate, tests run)``."""
    flips = np.eye(chain.hidden_units, dtype=np.int8)
    value = float(pattern_sigmas(chain, bits)[0])
    runs = 0
    while runs < max_programs:
        cand = bits[None, :] ^ flips
        vals = pattern_sigmas(chain, cand)
        moved = False
        for i in np.argsort(-vals):
            if not vals[i] > value or runs >= max_programs:
                break
            runs += 1
            if has_region(cand[i]):
                bits, value, moved = cand[i], float(vals[i]), True
                break
        if not moved:
            break
    return bits, value, runs


def realisable_climb(net: Sequential, chain: Chain, bits: np.ndarray, *, max_programs: int = 64
                     ) -> tuple[np.ndarray, float]:
    """:func:`climb` from a realisable ``bits`` through patterns whose region a linear program over
    the inputs finds."""
    layers: list[Any] = list(net.layers)
    found, value, _ = climb(chain, bits, lambda b: realise_pattern(layers, chain, b) is not None, max_programs)
    return found, value


def certified_pattern(net: Sequential, x: np.ndarray) -> np.ndarray | None:
    """The activation pattern at x (1: slope hi), proven for the exact arithmetic of the
    network on the float input x (:func:`.point_lower.proven_slopes`); None when some
    pre-activation is too close to 0 to tell."""
    plain_mlp(net)  # ValueError naming what does not fit
    slopes = proven_slopes(net, x)
    if slopes is None:
        return None
    his = [hi for _, hi in network_chain(net).slopes]
    bits = [(s == hi).astype(np.int8) for s, hi in zip(slopes, his)]
    return np.concatenate(bits) if bits else np.zeros(0, dtype=np.int8)


def pattern_lower(chain: Chain, bits: np.ndarray) -> tuple[float, float]:
    """``(certified lower, estimate)`` of sigma_max of the exact pattern product."""
    from ..spectral._certification import certified_width

    P = pattern_products(chain, np.atleast_2d(bits))[0]
    r = spectral_norm(P, method="svd", certify=True, tol=certified_width(0.0, "float64", *P.shape))
    return max(dn(float(r.lower) - pattern_rounding(chain)), 0.0), float(r.value)


def attained_lower(net: Sequential, candidates: list[np.ndarray], *, tries: int = 8,
                   chain: Chain | None = None) -> AttainedLower | None:
    """The best certified lower bound over inputs found in the regions of up to ``tries``
    candidate patterns (in the order given); None if no region yields a proven input."""
    chain = network_chain(net) if chain is None else chain
    best: AttainedLower | None = None
    layers: list[Any] = list(net.layers)
    for t, bits in enumerate(candidates[:tries]):
        x = realise_pattern(layers, chain, np.asarray(bits))
        if x is None:
            continue
        proven = certified_pattern(net, x)
        if proven is None:
            continue
        value, estimate = pattern_lower(chain, proven)
        if best is None or value > best.value:
            best = AttainedLower(value, x, proven, estimate, t + 1)
    return best


def starts_from_inputs(net: Sequential, X: np.ndarray) -> np.ndarray:
    """The computed activation patterns (1: slope hi) at each row of X: starting points."""
    pairs = plain_mlp(net)
    slopes = network_chain(net).slopes
    a = np.atleast_2d(np.asarray(X, dtype=np.float64))
    out = []
    for (dense, act), (_, hi) in zip(pairs[:-1], slopes):
        z = dense(a)
        slope = np.where(z > 0, 1.0, float(act.activation.params.get("alpha", 0.0))) if act else z
        out.append((slope == hi).astype(np.int8))
        a = act(z) if act else z
    return np.concatenate(out, axis=1)
