"""Proving that a partial activation pattern has no input: the branch and bound's pruning.

The branch and bound (:mod:`.branch_bound`) bounds sigma_max over *every* vertex
pattern, realisable or not; on a trained two-hidden-layer net the best vertex
patterns can be several tenths of a percent above every pattern an input
realises, and then no node bound can close the bracket.  A node whose fixed
units no input can satisfy contains no Jacobian of f, so it may be dropped;
this module proves that, for a ReLU MLP whose first weight has full row rank.

**The region as a system in non-negative variables.**  With ``W_1`` of full
row rank, ``z_1 = W_1 x + b_1`` takes every value in R^{h_1}, so the first
layer's outputs ``y_1 = relu(z_1)`` range over all ``y_1 >= 0`` with ``y_1i = 0``
for a unit fixed off; a unit fixed on or free takes any ``y_1i >= 0``.  In a
later hidden layer ``z_l = W_l y_{l-1} + b_l``: a unit fixed on has ``y = z >= 0``
(a variable ``y >= 0`` and the rows ``y - z >= 0``, ``z - y >= 0``), one fixed off
has ``z <= 0`` and ``y = 0``, a free unit a variable ``y >= 0`` with ``y - z >= 0``
(the convex hull of ReLU's graph over R).  The last hidden layer only adds the
rows of its fixed units.  Every input whose pattern agrees with the node gives
a point of ``{u >= 0 : G u + g >= 0}`` (closure: a point on a boundary counts),
where ``G`` holds weights and +-1 and ``g`` biases, exactly as stored.

**The proof of emptiness** (Farkas): if ``lambda >= 0`` has ``G^T lambda <= 0``
and ``g^T lambda < 0``, a point u of the system would give
``0 <= lambda^T (G u + g) = (G^T lambda)^T u + g^T lambda < 0``.  A linear
program (HiGHS through SciPy) proposes lambda, with a small margin
``G^T lambda <= -tau |G|^T lambda`` so that its own tolerance and our rounding
fit under it; the proposal is not trusted: each inequality is then checked
with every product's rounding bounded.  A sum ``sum_i G_ij lambda_i`` is split
into its positive and negative terms (their signs are exact); the exact
positive part is at most the upper end, and the negative part at least the
lower end, of :func:`lipbench._rounding.sum_bounds` on their computed sums
(each term one rounded product, docs/certify.md, "Sums"), and a column with
no positive term is ``<= 0`` outright.  A node is pruned only when every
inequality holds so proven.

Leaky ReLU (a free unit's output ranges over R) and a first weight without
full row rank (``x`` itself would be a free variable, whose Farkas condition
is an equality no rounding margin can prove) get no pruner: :func:`region_pruner`
returns None and says why.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize

from .._rounding import fro_bounds, gram_error, sum_bounds, up
from .chain import Chain, psd_margin
from .lower_search import climb, plain_mlp, relu_only
from .network import Sequential

__all__ = ["Regions", "region_pruner", "region_system", "proven_empty", "proven_nonpositive", "region_climb"]

_TAU = 1e-6  # the margin asked of the linear program, far above its tolerance and any rounding


def _full_row_rank(W: np.ndarray) -> bool:
    """``W W^T`` proven positive definite: the exact Gram matrix within its rounding of the computed one."""
    if W.shape[0] > W.shape[1]:
        return False
    return psd_margin(W @ W.T, gram_error(up(fro_bounds(W)[1] ** 2), *W.shape)) > 0


def region_system(h1: int, layers: list[tuple[np.ndarray, np.ndarray]], fixed: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(G, g)``: the node's region as ``{u >= 0 : G u + g >= 0}`` (module docstring), for
    ``h1`` first-layer units and the ``(W_l, b_l)`` of hidden layers 2..L.  Every entry of
    G is a weight, +-1 or 0 and every entry of g a bias: nothing is rounded."""
    f = fixed[:h1]
    col = np.where(f != 0, np.cumsum(f != 0) - 1, -1)  # layer-1 units not fixed off: one variable each
    n_var = int((f != 0).sum())
    blocks: list[np.ndarray] = []
    offs: list[np.ndarray] = []
    start = h1
    for k, (W, b) in enumerate(layers):
        n = W.shape[0]
        f = fixed[start:start + n]
        start += n
        Z = np.zeros((n, n_var))
        live = col >= 0
        Z[:, col[live]] = W[:, live]  # z = Z u + b: each entry one weight
        on, off, free = (np.flatnonzero(f == 1), np.flatnonzero(f == 0), np.flatnonzero(f < 0))
        if k == len(layers) - 1:  # the last hidden layer: only its fixed units' signs
            blocks += [Z[on], -Z[off]]
            offs += [b[on], -b[off]]
            break
        new = np.concatenate([on, free])
        nxt = np.full(n, -1)
        nxt[new] = n_var + np.arange(new.size)
        E = np.zeros((n, new.size))
        E[new, np.arange(new.size)] = 1.0
        blocks += [np.hstack([-Z[off], E[off]]),     # z <= 0 (and y = 0: no variable)
                   np.hstack([-Z[new], E[new]]),     # y - z >= 0
                   np.hstack([Z[on], -E[on]])]       # z - y >= 0 (with the row above, y = z)
        offs += [-b[off], -b[new], b[on]]
        n_var += new.size
        col = nxt
    # each block has the columns of the variables there were when it was written: pad to all of them
    G = np.vstack([np.zeros((0, n_var)), *(np.hstack([B, np.zeros((B.shape[0], n_var - B.shape[1]))])
                                           for B in blocks)])
    g = np.concatenate([np.zeros(0), *offs])
    return G, g


def proven_empty(G: np.ndarray, g: np.ndarray) -> bool:
    """True when a Farkas certificate for ``{u >= 0 : G u + g >= 0}`` is found and proven (module docstring)."""
    m = G.shape[0]
    if m == 0:
        return False
    A = np.abs(G)
    res = optimize.linprog(g, A_ub=(G + _TAU * A).T, b_ub=np.zeros(G.shape[1]), A_eq=np.ones((1, m)),
                           b_eq=[1.0], bounds=[(0, None)] * m, method="highs")
    if res.status != 0 or not res.fun < 0:
        return False
    lam = np.maximum(np.asarray(res.x, dtype=np.float64), 0.0)
    return proven_nonpositive(G, lam, strict=False) and proven_nonpositive(g[:, None], lam, strict=True)


def proven_nonpositive(G: np.ndarray, lam: np.ndarray, *, strict: bool) -> bool:
    """Proven ``G^T lambda <= 0`` (``< 0`` if ``strict``) for the exact products, lambda >= 0."""
    T = G * lam[:, None]  # each product rounded once; its sign is exact
    pos = np.where(T > 0, T, 0.0).sum(axis=0)
    neg = np.where(T < 0, -T, 0.0).sum(axis=0)
    any_pos = ((G > 0) & (lam[:, None] > 0)).any(axis=0)
    count = max(G.shape[0], 1)
    pos_hi = np.where(any_pos, sum_bounds(pos, count)[1], 0.0)
    neg_lo = sum_bounds(neg, count)[0]
    return bool(np.all(pos_hi < neg_lo)) if strict else bool(np.all(pos_hi <= neg_lo))


class Regions:
    """The region test of one network (module docstring), for a stack of nodes."""

    def __init__(self, h1: int, layers: list[tuple[np.ndarray, np.ndarray]]):
        self.h1 = h1
        self.layers = layers

    def _empty(self, f: np.ndarray) -> bool:
        if not (f[self.h1:] >= 0).any():  # no later unit fixed: every y_1 >= 0 is a point
            return False
        return proven_empty(*region_system(self.h1, self.layers, f))

    def empty(self, fixed: np.ndarray) -> np.ndarray:
        """True for each row of ``fixed`` (-1 free, 0 off, 1 on) proven to have no input."""
        return np.array([self._empty(f) for f in np.atleast_2d(fixed)], dtype=bool)


def region_pruner(net: Sequential) -> tuple[Regions | None, str]:
    """``(regions, why)``: the region test for ``net``'s branch and bound, or None and the reason there is none."""
    pairs = plain_mlp(net)
    if not relu_only(pairs):
        return None, "leaky ReLU: a free unit's output ranges over R (no sign-constrained system)"
    if len(pairs) < 3:
        return None, "one hidden layer: every pattern of a full-row-rank first layer has an input"
    W1 = pairs[0][0].weight
    if not _full_row_rank(W1):
        return None, f"the first weight ({W1.shape[0]} x {W1.shape[1]}) is not proven of full row rank"
    layers = [(d.weight, np.zeros(d.weight.shape[0]) if d.bias is None else d.bias) for d, _ in pairs[1:-1]]
    return Regions(W1.shape[0], layers), "ReLU with a first weight of full row rank"


def region_climb(chain: Chain, regions: Regions, starts: np.ndarray, *, max_programs: int = 2000
                 ) -> list[tuple[np.ndarray, float]]:
    """:func:`.lower_search.climb` from each row of ``starts`` (patterns inputs realise) through
    patterns whose region is not proven empty, ``max_programs`` programs in all; the distinct end
    points, best first (estimates: an input must still be found in each region)."""
    found: dict[bytes, tuple[np.ndarray, float]] = {}
    runs = 0
    for bits in np.atleast_2d(np.asarray(starts, dtype=np.int8)):
        if runs >= max_programs:
            break
        end, value, used = climb(chain, bits, lambda b: not regions.empty(b[None])[0], max_programs - runs)
        runs += used
        found[end.tobytes()] = (end, value)
    return sorted(found.values(), key=lambda t: -t[1])
