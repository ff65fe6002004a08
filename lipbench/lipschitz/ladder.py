"""The bound ladder: several bounds on one network's Lipschitz constant, side by side.

:func:`lipschitz_ladder` runs, on a ``Sequential`` network,

1. ``product`` -- the product of the layers' certified constants (claim C12);
2. ``eclipse_fast`` -- ECLipsE-Fast, each step verified in floating point
   (:mod:`.eclipse`); for chains of linear layers and monotone activations;
3. ``lipsdp_layer``, ``lipsdp_neuron`` -- LipSDP (:mod:`.lipsdp`), solved with CVXPY and
   verified in floating point; when cvxpy is installed and the LMI's order is at most
   ``lipsdp_max_order``;
4. ``patterns`` -- the maximum of sigma_max over all activation patterns
   (:mod:`.patterns`), certified; for up to ~20 hidden units;
5. ``realised_pattern`` -- a lower bound: sigma(J_f(x)) at an input x found by
   linear programming inside the region of a top pattern (plain ReLU-type MLPs);
   when it meets rung 4, L(f) is known to rounding;
6. ``branch_and_bound`` and ``attained_pattern`` (when ``bnb_seconds`` > 0, plain
   ReLU-type MLPs of any width) -- a certified upper bound by best-first branch
   and bound over activation patterns, and a certified lower bound attained by an
   input (:mod:`.pattern_search`); the note gives the nodes explored.  With two
   or more hidden ReLU layers and CVXPY installed, each node is also bounded by
   the verified LipSDP-Neuron of its sub-box (:mod:`.lipsdp_node`).  Without
   ``bnb_seconds``, past ``max_hidden_units`` (where rung 5 does not run), the
   ``attained_pattern`` rung alone;
7. ``empirical`` -- the lower bound of :func:`.bounds.empirical_lower_bound`
   (sampled difference quotients and Jacobian norms, gradient ascent), also at
   any given ``points``.

Each row says whether it is an upper or a lower bound and whether it is
certified (rounding accounted for).  A rung that does not apply says why, and
a rung whose cost, read from the sizes before it runs, passes its limit is
skipped with a note naming the size, the limit and the keyword that raises it
(:mod:`.ladder_limits`); past ``max_jacobian_flops`` the empirical rung keeps
its difference quotients and leaves out Jacobians.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .bounds import empirical_lower_bound, product_bound
from .chain import network_chain
from .eclipse import eclipse_fast
from .ladder_limits import (
    MAX_ATTAINED_UNITS,
    MAX_ECLIPSE_WIDTH,
    MAX_JACOBIAN_FLOPS,
    MAX_UNROLLED_ENTRIES,
    LadderSizes,
    attained_skip,
    chain_skip,
    eclipse_skip,
    jacobian_skip,
    ladder_sizes,
    lipsdp_skip,
    patterns_skip,
)
from .layers import ActivationLayer, Dense
from .lipsdp import FORMS, lipsdp_applies, lipsdp_bound
from .network import Sequential
from .patterns import MAX_HIDDEN_UNITS, pattern_bound, realise_pattern

__all__ = ["Rung", "Ladder", "lipschitz_ladder", "LIPSDP_MAX_ORDER"]

#: the largest LMI order the LipSDP rungs take by default: LipSDP's reference net (62) in a few seconds;
#: a 784-50-10 MLP reduces to 100 and takes SCS about 10 s (docs/lipschitz-ladder.md)
LIPSDP_MAX_ORDER = 64


@dataclass(frozen=True)
class Rung:
    """One row: ``value`` is nan when the rung does not apply (``note`` says why)."""

    name: str
    kind: str  # "upper" or "lower"
    value: float
    certified: bool
    seconds: float
    note: str = ""


@dataclass(frozen=True)
class Ladder:
    rows: tuple[Rung, ...]

    def row(self, name: str) -> Rung:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no rung named {name!r}; rungs: {', '.join(r.name for r in self.rows)}")

    @property
    def product(self) -> float:
        return self.row("product").value

    @property
    def best_certified_upper(self) -> float:
        return min(r.value for r in self.rows if r.kind == "upper" and r.certified and not math.isnan(r.value))

    @property
    def best_lower(self) -> float:
        vals = [r.value for r in self.rows if r.kind == "lower" and not math.isnan(r.value)]
        return max(vals) if vals else math.nan

    def table(self) -> str:
        """The rows as an aligned text table, then the two headline ratios."""
        lines = [f"{'rung':<18} {'kind':<6} {'value':>12} {'certified':<10} {'seconds':>8}  note"]
        for r in self.rows:
            value = "n/a" if math.isnan(r.value) else f"{r.value:.6g}"
            cert = "yes" if r.certified else ("-" if math.isnan(r.value) else "no")
            lines.append(f"{r.name:<18} {r.kind:<6} {value:>12} {cert:<10} {r.seconds:>8.3f}  {r.note}")
        lines.append(f"product / best certified upper = {_ratio(self.product, self.best_certified_upper):.4g}; "
                     f"product / best lower = {_ratio(self.product, self.best_lower):.4g}")
        return "\n".join(lines)


def _ratio(a: float, b: float) -> float:
    return a / b if b else (math.nan if a == 0 else math.inf)


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _plain_piecewise_mlp(net: Sequential) -> bool:
    """Dense, activation, Dense, ... with ReLU/leaky ReLU activations only."""
    kinds = [isinstance(layer, Dense) for layer in net.layers]
    return (kinds == [i % 2 == 0 for i in range(len(kinds))] and kinds[-1]
            and all(layer.piecewise_linear for layer in net.layers if isinstance(layer, ActivationLayer)))


def lipschitz_ladder(net: Sequential, *, seed: int = 0, max_hidden_units: int = MAX_HIDDEN_UNITS,
                     points: Any = None, n_samples: int = 32, ascent_steps: int = 10, scale: float = 1.0,
                     realise_top: int = 16, lipsdp_max_order: int = LIPSDP_MAX_ORDER, bnb_seconds: float = 0.0,
                     bnb_gap: float = 1e-3, max_unrolled_entries: int = MAX_UNROLLED_ENTRIES,
                     max_eclipse_width: int = MAX_ECLIPSE_WIDTH,
                     max_jacobian_flops: int = MAX_JACOBIAN_FLOPS, attained: bool = True,
                     max_attained_units: int = MAX_ATTAINED_UNITS) -> Ladder:
    """Every rung that applies to ``net``; ``points`` (rows of inputs, e.g. data) add Jacobian norms
    to the empirical rung; ``scale`` is the spread of its random samples; ``bnb_seconds`` > 0
    adds the branch-and-bound rungs, stopped at relative ``bnb_gap`` or that budget; without it,
    ``attained`` adds the attained lower bound alone on ReLU-type MLPs past ``max_hidden_units``
    (up to ``max_attained_units`` hidden units).

    Before a rung runs, its cost is read from the sizes (:mod:`.ladder_limits`): a rung past its
    limit (``max_unrolled_entries`` for the chain rungs, ``max_eclipse_width``,
    ``lipsdp_max_order``, ``max_hidden_units``, ``max_jacobian_flops`` for the empirical rung's
    Jacobians) is skipped with a note naming the size, the limit and the keyword."""
    if not isinstance(net, Sequential):
        raise TypeError(f"lipschitz_ladder takes a Sequential network; got {type(net).__name__}")
    sizes = ladder_sizes(net)
    rows = []
    prod, t = _timed(lambda: product_bound(net))
    rows.append(Rung("product", "upper", prod, True, t, "product of certified per-layer constants (C12)"))
    rows.extend(_chain_rows(net, sizes, _chain_reason(sizes, max_unrolled_entries, max_eclipse_width,
                                                      lipsdp_max_order, max_hidden_units),
                            max_eclipse_width, lipsdp_max_order, max_hidden_units, realise_top))
    if bnb_seconds > 0 and _plain_piecewise_mlp(net):
        rows += _branch_and_bound(net, bnb_seconds, bnb_gap, points, n_samples, scale, seed)
    elif attained and _plain_piecewise_mlp(net) and sizes.hidden_units > max_hidden_units:
        why = attained_skip(sizes, max_attained_units)
        rows.append(Rung("attained_pattern", "lower", math.nan, False, 0.0, why) if why is not None
                    else _attained(net, points, n_samples, scale, seed))
    skip_jac = jacobian_skip(sizes, max_jacobian_flops)

    def empirical() -> tuple[float, str, Any]:
        low = empirical_lower_bound(net, n_samples=n_samples, ascent_steps=ascent_steps, scale=scale, seed=seed,
                                    jacobians=skip_jac is None)
        if skip_jac is not None:
            return low.value, f"{n_samples} sampled difference quotients; {skip_jac}", None
        best, note, at = low.value, f"{n_samples} samples, {ascent_steps} ascent steps", low.jacobian_point
        best_j = low.jacobian
        if points is not None:
            P = np.atleast_2d(np.asarray(points, dtype=np.float64))
            norms = [float(np.linalg.norm(net.jacobian(x), 2)) for x in P]
            if max(norms) > best_j:
                at = P[int(np.argmax(norms))]
            best = max(best, max(norms))
            note += f", Jacobians at {len(P)} given points"
        return best, note, at

    out, t = _timed(lambda: _out_of_range(empirical))
    value, note, at = (math.nan, f"n/a: the network's outputs leave the float64 range ({out})", None) \
        if isinstance(out, str) else out
    rows.append(Rung("empirical", "lower", value, False, t, note))
    if not any(r.kind == "lower" and r.certified and not math.isnan(r.value) for r in rows):
        rows.append(_point_rung(net, at))
    return Ladder(tuple(rows))


def _point_rung(net: Sequential, x: Any) -> Rung:
    """The certified lower bound at the empirical rung's best Jacobian point (:mod:`.point_lower`),
    where no certified lower rung ran."""
    from .point_lower import point_lower, point_lower_applies

    why = point_lower_applies(net)
    if why is None and x is None:
        why = "the empirical rung found no Jacobian point (its Jacobians were left out)"
    if why is not None:
        return Rung("attained_point", "lower", math.nan, False, 0.0, f"n/a: {why}")
    found, t = _timed(lambda: _out_of_range(lambda: point_lower(net, x)))
    if isinstance(found, str) or found is None:
        reason = found if isinstance(found, str) else \
            "a pre-activation at the point is too close to 0 to prove its sign, or a value overflowed"
        return Rung("attained_point", "lower", math.nan, False, t, f"n/a: {reason}")
    return Rung("attained_point", "lower", found[0], True, t,
                f"certified ||J v|| / ||v|| at the empirical rung's best point, its pattern proven "
                f"(v: the computed top singular vector; estimate {found[1]:.6g})")


def _chain_reason(sizes: LadderSizes, max_unrolled: int, max_width: int, max_order: int,
                  max_units: int) -> str | dict[str, str] | None:
    """Why no chain rung runs (one note, or each rung's own when all are past their limits:
    the chain is then not assembled), else None."""
    why = chain_skip(sizes, max_unrolled)
    if why is not None:
        return why
    own = {"eclipse_fast": eclipse_skip(sizes, max_width), "patterns": patterns_skip(sizes, max_units),
           **{f"lipsdp_{form}": lipsdp_skip(sizes, max_order) for form in FORMS}}
    return {k: v for k, v in own.items() if v is not None} if all(own.values()) else None


def _chain_rows(net: Sequential, sizes: LadderSizes, chain_reason: str | dict[str, str] | None,
                max_eclipse_width: int,
                lipsdp_max_order: int, max_hidden_units: int, realise_top: int) -> list[Rung]:
    """ECLipsE-Fast, LipSDP, the pattern maximum and its realised pattern: each skipped with its
    reason when the chain cannot be built, or is past the limit, before anything is assembled."""
    chain = None
    if chain_reason is None:
        try:
            chain, t_chain = _timed(lambda: network_chain(net))
        except ValueError as exc:
            chain_reason = str(exc)
    if chain is None:
        names = ("eclipse_fast", *(f"lipsdp_{form}" for form in FORMS), "patterns")
        notes = chain_reason if isinstance(chain_reason, dict) else dict.fromkeys(names, str(chain_reason))
        return [Rung(name, "upper", math.nan, False, 0.0, notes[name]) for name in names]
    rows = []
    why = eclipse_skip(sizes, max_eclipse_width)
    ecl, t = (why, 0.0) if why is not None else _timed(lambda: _out_of_range(lambda: eclipse_fast(chain)))
    if why is not None:
        rows.append(Rung("eclipse_fast", "upper", math.nan, False, 0.0, why))
    elif isinstance(ecl, str):
        rows.append(Rung("eclipse_fast", "upper", math.nan, False, t + t_chain,
                         f"n/a: its recursion leaves the float64 range ({ecl})"))
    else:
        rows.append(Rung("eclipse_fast", "upper", ecl.value, ecl.certified, t + t_chain,
                         f"every step verified (tau = {ecl.tau:.3g})" if ecl.certified else
                         "estimate (exact arithmetic): a step failed verification"))
    rows.extend(_lipsdp_rows(chain, t_chain, lipsdp_max_order))
    why = patterns_skip(sizes, max_hidden_units)
    if why is not None:
        rows.append(Rung("patterns", "upper", math.nan, False, 0.0, why))
    else:
        pb, t = _timed(lambda: pattern_bound(chain, max_hidden_units=max_hidden_units, keep=realise_top))
        rows.append(Rung("patterns", "upper", pb.value, True, t + t_chain, f"max over {pb.patterns} patterns"))
        if _plain_piecewise_mlp(net):
            rows.append(_realised(net, chain, pb))
    return rows


def _out_of_range(fn: Callable[[], Any]) -> Any:
    """``fn()``, or what went wrong when its floating-point work overflowed or
    produced a non-finite value (weights or outputs near the ends of float64's range)."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            return fn()
    except (OverflowError, FloatingPointError, np.linalg.LinAlgError) as exc:
        return f"{type(exc).__name__}: {exc}"
    except ValueError as exc:  # a non-finite intermediate reached a check that names it
        text = str(exc)
        if any(p in text for p in _NON_FINITE_MESSAGES):
            return f"ValueError: {exc}"
        raise


# What lipbench's and NumPy/SciPy's input checks say about a non-finite array.
_NON_FINITE_MESSAGES = ("contains NaN or inf", "contains NaN at", "contains Inf at", "contains -Inf at",
                        "must not contain infs or NaNs", "non-finite")


def _lipsdp_rows(chain: Any, t_chain: float, max_order: int) -> list[Rung]:
    why = lipsdp_applies(chain, max_order)
    if why is not None:
        return [Rung(f"lipsdp_{form}", "upper", math.nan, False, 0.0, why) for form in FORMS]
    rows = []
    for form in FORMS:
        try:
            r, t = _timed(functools.partial(_out_of_range, functools.partial(lipsdp_bound, chain, form)))
        except RuntimeError as exc:  # the solver did not reach a solution
            r, t = f"RuntimeError: {exc}", 0.0
        if isinstance(r, str):
            rows.append(Rung(f"lipsdp_{form}", "upper", math.nan, False, t + t_chain, f"n/a: {r}"))
            continue
        note = (f"LMI verified (solver {r.solver} gave {r.solver_value:.6g}, rho raised {r.tau:.3g})" if r.certified
                else f"estimate: the LMI failed verification (solver {r.solver})")
        rows.append(Rung(f"lipsdp_{form}", "upper", r.value, r.certified, t + t_chain, note))
    return rows


def _branch_and_bound(net: Sequential, seconds: float, gap: float, points: Any, n_samples: int, scale: float,
                      seed: int) -> list[Rung]:
    from .lipsdp import cvxpy_available
    from .lipsdp_node import lipsdp_node_bound
    from .lower_search import plain_mlp, relu_only
    from .pattern_search import lipschitz_bracket

    why: str | None = None
    pairs: list = []
    try:
        pairs = plain_mlp(net)
        if len(pairs) < 2:
            why = "n/a: no hidden units (the product rung is L(f) itself)"
    except ValueError as exc:
        why = f"n/a: {exc}"
    if why is not None:
        return [Rung("branch_and_bound", "upper", math.nan, False, 0.0, why),
                Rung("attained_pattern", "lower", math.nan, False, 0.0, why)]
    # two or more hidden ReLU layers: the block relaxation is tight for one layer only, LipSDP couples them
    coupled = len(pairs) >= 3 and relu_only(pairs) and cvxpy_available()
    br, t = _timed(lambda: lipschitz_bracket(net, gap=gap, max_seconds=seconds, points=points,
                                             n_samples=n_samples, scale=scale, seed=seed,
                                             node_bound=lipsdp_node_bound() if coupled else None))
    s = br.search
    upper = Rung("branch_and_bound", "upper", br.upper, True, t,
                 f"{s.nodes} nodes explored, stopped by {s.stop}; relative width {br.relative_width:.3g} "
                 f"({'reached' if s.gap_reached else 'not reached'}: gap {gap:g})"
                 + ("; node bound: verified LipSDP-Neuron on each node's sub-box" if coupled else ""))
    return [upper, _attained_rung(br.attained, 0.0)]


def _attained(net: Sequential, points: Any, n_samples: int, scale: float, seed: int) -> Rung:
    """The lower end of :func:`.pattern_search.lipschitz_bracket` without its search: past
    ``max_hidden_units``, where the realised pattern rung does not run."""
    from .pattern_search import attained_search

    try:
        found, t = _timed(lambda: attained_search(net, n_samples=n_samples, seed=seed, points=points, scale=scale))
    except ValueError as exc:
        return Rung("attained_pattern", "lower", math.nan, False, 0.0, f"n/a: {exc}")
    return _attained_rung(found, t)


def _attained_rung(found: Any, seconds: float) -> Rung:
    """The ``attained_pattern`` row of an :class:`.lower_search.AttainedLower` (or of none found)."""
    if found is None:
        return Rung("attained_pattern", "lower", math.nan, False, seconds,
                    "no candidate pattern's region gave an input with a proven pattern")
    return Rung("attained_pattern", "lower", found.value, True, seconds,
                f"certified sigma(J(x)) at an input x in the region of a pattern found by local search "
                f"({found.tried} tried)")


def _realised(net: Sequential, chain: Any, pb: Any) -> Rung:
    t0 = time.perf_counter()
    for rank, (bits, _value) in enumerate(pb.top):
        x = realise_pattern(list(net.layers), chain, bits)
        if x is not None:
            sj = float(np.linalg.norm(net.jacobian(x), 2))
            return Rung("realised_pattern", "lower", sj, False, time.perf_counter() - t0,
                        f"sigma(J(x)) in the region of pattern #{rank + 1} of {len(pb.top)} tried")
    return Rung("realised_pattern", "lower", math.nan, False, time.perf_counter() - t0,
                f"none of the top {len(pb.top)} patterns has a region (linear programs infeasible)")
