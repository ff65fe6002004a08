"""The spectral-normalization audit (claim C13): how far above 1 does ``W / sigma_hat`` go in training?

Training code normalizes a weight by ``sigma_hat`` from a few power
iterations per optimizer step, warm-started from the previous step's vectors.
Since ``sigma_hat = u^T W v <= sigma_max(W)`` for unit ``u, v``, the normalized
layer has norm ``sigma(W) / sigma_hat >= 1``: the "1-Lipschitz" layer is not.
:func:`sn_audit` runs a training-like sequence of slowly drifting weights
(:func:`drifting_weights`) and records, per step and per estimator, the
certified bracket of the true ``sigma(W / sigma_hat)`` and the overshoot above 1.

Estimators (:func:`default_estimators`):

* ``power-warm-k<k>`` / ``power-cold-k<k>`` (dense) -- ``k`` power iterations
  per step in the order of ``torch.nn.utils.parametrizations.spectral_norm``
  (``u <- W v/|.|``, ``v <- W^T u/|.|``, ``sigma_hat = u^T W v``); warm keeps
  ``u, v`` across steps after ``15 + k`` iterations on the first weight (what
  PyTorch runs when the parametrization is registered: 15 in its constructor,
  ``k`` in the forward pass ``register_parametrization`` makes to check the
  shape), cold starts from a fresh random ``v``;
* for a convolution the same on ``kernel.reshape(out, -1)`` (``reshape-*``,
  what ``spectral_norm(conv)`` does: the wrong matrix, see
  :mod:`.reshape_trap`) or on the convolution operator and its adjoint
  (``operator-*``);
* ``certified`` -- a proven upper end of sigma_max: then
  ``sigma(W / sigma_hat) <= 1`` provably (the margin rule that needs no margin).

The true norm is the proven bracket of ``sigma_max(W_t)`` (the SVD route for
a matrix, :func:`~.conv.conv_certified_bracket` for a convolution small enough
to assemble; for a larger one ``conv_operator_norm``'s bracket, an estimate,
and ``conv_upper_bound`` as the certified estimator's proven end), divided by
``sigma_hat``: the rows report ``sigma(W) / sigma_hat`` in exact arithmetic
(the rounding of the division itself, a relative ``2^-53`` per entry, is left
out).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..spectral.result import ConvergenceWarning
from . import _sigma
from .conv import DENSE_MAX_ENTRIES, conv_certified_bracket, conv_geometry, conv_operator, conv_operator_norm
from .conv_bound import conv_upper_bound
from .conv_map import check_kernel

__all__ = ["Estimator", "AuditRow", "default_estimators", "drifting_weights", "sn_audit", "overshoot_summary",
           "estimate_sigmas", "TORCH_INIT_ITERATIONS"]

#: power iterations ``torch.nn.utils.parametrizations.spectral_norm``'s constructor runs (registering
#: it adds one forward pass: ``k`` more)
TORCH_INIT_ITERATIONS = 15
_STARTS = ("warm", "cold", "certified")
_TARGETS = ("matrix", "reshape", "operator")


@dataclass(frozen=True)
class Estimator:
    """How ``sigma_hat`` is obtained: ``start`` warm/cold/certified, ``iterations`` per step,
    ``target`` the matrix iterated on (``matrix``, the conv kernel's ``reshape`` or the conv ``operator``)."""

    name: str
    start: str
    iterations: int = 0
    target: str = "matrix"

    def __post_init__(self) -> None:
        if self.start not in _STARTS:
            raise ValueError(f"estimator {self.name!r}: start must be one of {_STARTS}; got {self.start!r}")
        if self.target not in _TARGETS:
            raise ValueError(f"estimator {self.name!r}: target must be one of {_TARGETS}; got {self.target!r}")
        if self.start != "certified" and not (isinstance(self.iterations, int) and self.iterations >= 1):
            raise ValueError(f"estimator {self.name!r}: iterations must be a positive int; got {self.iterations!r}")


@dataclass(frozen=True)
class AuditRow:
    """One step of one estimator: ``sigma_hat`` and the bracket of ``sigma(W) / sigma_hat``;
    ``overshoot = normalized_upper - 1`` (what a 1-Lipschitz claim must cover),
    ``overshoot_lower = normalized_lower - 1`` (above 0: the layer provably exceeds 1)."""

    layer: str
    estimator: str
    start: str
    target: str
    iterations: int
    step: int
    sigma_hat: float
    sigma_lower: float
    sigma_upper: float
    normalized_lower: float
    normalized_upper: float

    @property
    def overshoot(self) -> float:
        return self.normalized_upper - 1.0

    @property
    def overshoot_lower(self) -> float:
        return self.normalized_lower - 1.0

    def as_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d.update(overshoot=self.overshoot, overshoot_lower=self.overshoot_lower)
        return d


def default_estimators(kind: str, iterations: Sequence[int] = (1, 2, 5)) -> tuple[Estimator, ...]:
    """Warm and cold power iteration with each ``k`` in ``iterations`` on every target of
    ``kind`` ("dense": the matrix; "conv": the reshaped kernel and the operator), then ``certified``."""
    targets = {"dense": ("matrix",), "conv": ("reshape", "operator")}
    if kind not in targets:
        raise ValueError(f"kind must be 'dense' or 'conv'; got {kind!r}")
    out = []
    for target in targets[kind]:
        prefix = "power" if target == "matrix" else target
        for start in ("warm", "cold"):
            out += [Estimator(f"{prefix}-{start}-k{k}", start, int(k), target) for k in iterations]
    out.append(Estimator("certified", "certified", 0, "operator" if kind == "conv" else "matrix"))
    return tuple(out)


def drifting_weights(weight: Any, steps: int, *, eta: float = 1e-2, seed: int = 0) -> Iterator[np.ndarray]:
    """``W_0 = weight``, ``W_{t+1} = W_t + eta * s * G_t`` with ``G_t`` standard Gaussian (drawn with
    ``seed``) and ``s = ||W_0||_F / sqrt(size)`` the entries' RMS: ``steps`` weights in all (copies)."""
    W = np.array(_sigma.host(weight), dtype=np.float64, copy=True)
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"steps must be a positive int; got {steps!r}")
    if not (math.isfinite(eta) and eta >= 0):
        raise ValueError(f"eta must be a finite non-negative number; got {eta!r}")
    rng = np.random.default_rng(seed)
    scale = float(np.linalg.norm(W)) / math.sqrt(W.size)
    for t in range(int(steps)):
        if t:
            W = W + eta * scale * rng.standard_normal(W.shape)
        yield W.copy()


def _unit(x: np.ndarray) -> np.ndarray:
    # F.normalize(x, eps=1e-12): x / max(|x|, eps)
    return x / max(float(np.linalg.norm(x)), 1e-12)


class _Power:
    """Power iteration in PyTorch's order with a persistent ``v`` (and ``u``)."""

    def __init__(self, n: int, rng: np.random.Generator, v0: np.ndarray | None = None) -> None:
        self.v = _unit(rng.standard_normal(n) if v0 is None else np.asarray(v0, dtype=np.float64).copy())
        self.u: np.ndarray | None = None

    def iterate(self, mv: Any, rmv: Any, k: int) -> float:
        for _ in range(k):
            self.u = _unit(mv(self.v))
            self.v = _unit(rmv(self.u))
        return float(self.u @ mv(self.v))


def _quotient(a: float, b: float, direction: float) -> float:
    """An end of ``[a/b]`` in exact arithmetic: IEEE division is correctly rounded, so one
    ulp towards ``direction`` covers it (and ``a == b`` is exactly 1)."""
    return 1.0 if a == b else float(np.nextafter(a / b, direction))


def _bracket(W: np.ndarray, input_shape: Sequence[int] | None = None, seed: int | None = None,
             conv_args: dict | None = None) -> tuple[float, float, float]:
    """``(lower, upper, proven upper)`` of sigma_max of the matrix, or of the convolution with
    kernel ``W``: the proven bracket (the SVD route; the assembled convolution where it fits,
    :data:`~.conv.DENSE_MAX_ENTRIES`), else ``conv_operator_norm``'s bracket (an estimate:
    FFT or matrix-free) with :func:`~.conv_bound.conv_upper_bound` as the proven upper end."""
    if input_shape is None:
        lo, _, up = _sigma.sigma_bracket(W)
        return lo, up, up
    args = conv_args or {}
    g = conv_geometry(W, input_shape, **args)
    if g.shape[0] * g.shape[1] <= DENSE_MAX_ENTRIES:
        lo, up, _ = conv_certified_bracket(g, input_shape, seed=seed)
        return lo, up, up
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = conv_operator_norm(W, input_shape, seed=seed, **args)
    return float(r.lower), float(r.upper), conv_upper_bound(g, g.in_spatial)


def _maps(W: np.ndarray, input_shape: Sequence[int] | None, conv_args: dict) -> dict[str, tuple]:
    """target -> (matvec, rmatvec, columns) for the matrix, or the reshaped kernel and the conv operator."""
    if input_shape is None:
        return {"matrix": (W.__matmul__, W.T.__matmul__, W.shape[1])}
    op = conv_operator(W, input_shape, **conv_args)
    R = W.reshape(W.shape[0], -1)
    return {"operator": (op.matvec, op.rmatvec, op.shape[1]), "reshape": (R.__matmul__, R.T.__matmul__, R.shape[1])}


class _Tracker:
    """sigma_hat of one estimator, step after step (keeps the warm state; cold starts draw from ``seed``)."""

    def __init__(self, e: Estimator, seed: int, start_vector: Any) -> None:
        self.e, self.seed, self.start_vector = e, seed, start_vector
        self.rng = np.random.default_rng(seed)
        self.warm: _Power | None = None

    def __call__(self, maps: dict[str, tuple], upper: float, step: int) -> float:
        e = self.e
        if e.start == "certified":
            s = upper
        else:
            mv, rmv, n = maps[e.target]
            if e.start == "warm":
                if self.warm is None:
                    self.warm = _Power(n, np.random.default_rng(self.seed), self.start_vector)
                    self.warm.iterate(mv, rmv, TORCH_INIT_ITERATIONS + e.iterations)
                s = self.warm.iterate(mv, rmv, e.iterations)
            else:
                s = _Power(n, self.rng).iterate(mv, rmv, e.iterations)
        if not (s > 0 and math.isfinite(s)):
            raise ValueError(f"step {step}, estimator {e.name}: sigma_hat = {s}; the weight is zero or the start "
                             "vector is orthogonal to its range")
        return s


def estimate_sigmas(weights: Sequence[Any], estimator: Estimator, *, input_shape: Sequence[int] | None = None,
                    seed: int = 0, start_vector: Any = None, **conv_args: Any) -> np.ndarray:
    """``sigma_hat`` of ``estimator`` after each weight of ``weights`` in turn (what a training
    loop pays per step; "certified" computes the certified bracket each step).  Arguments as
    :func:`sn_audit`."""
    out = []
    tracker = _Tracker(estimator, seed, start_vector)
    for t, W in enumerate(weights):
        W = np.asarray(W, dtype=np.float64)
        upper = (_bracket(W, input_shape, seed, conv_args)[2] if input_shape is not None else _bracket(W)[2]) \
            if estimator.start == "certified" else math.nan
        out.append(tracker(_maps(W, input_shape, conv_args), upper, t))
    return np.array(out)


def sn_audit(weight: Any, *, input_shape: Sequence[int] | None = None, steps: int = 50, eta: float = 1e-2,
             seed: int = 0, iterations: Sequence[int] = (1, 2, 5), estimators: Sequence[Estimator] | None = None,
             start_vector: Any = None, layer: str | None = None, **conv_args: Any) -> list[AuditRow]:
    """Spectral normalization over ``steps`` drifting weights (:func:`drifting_weights`), per estimator.

    ``weight`` is a dense matrix (out, in), or a convolution kernel
    ``(out, in/groups, *k)`` with ``input_shape`` and ``conv_args`` as for
    :func:`conv_operator_norm`.  Warm estimators start from ``start_vector``
    (length in, or the operator's columns) when given, else from a Gaussian
    drawn with ``seed``, and run :data:`TORCH_INIT_ITERATIONS` ``+ k`` iterations on
    the first weight (as PyTorch does on registration); cold ones draw a fresh start each step.  Returns one
    :class:`AuditRow` per (step, estimator), steps in order.
    """
    first = _sigma.host(weight)
    conv = first.ndim != 2
    if conv and input_shape is None:
        raise ValueError(f"weight of shape {first.shape} is a convolution kernel; give input_shape "
                         "(a dense layer's weight is a 2-D matrix)")
    if not conv and (input_shape is not None or conv_args):
        raise ValueError("input_shape and convolution arguments apply to a kernel, not a 2-D matrix")
    W0 = check_kernel(first) if conv else _sigma.check_matrix(first)
    ests = tuple(estimators) if estimators is not None else default_estimators("conv" if conv else "dense",
                                                                               iterations)
    if not ests:
        raise ValueError("no estimators given")
    if not conv and any(e.target != "matrix" for e in ests):
        raise ValueError("a dense layer takes estimators with target 'matrix'")
    if conv and any(e.target == "matrix" for e in ests):
        raise ValueError("a convolution takes estimators with target 'reshape' or 'operator'")
    if layer is None:
        layer = (f"conv {W0.shape} on {tuple(input_shape)}" if conv and input_shape is not None
                 else f"dense {W0.shape[0]}x{W0.shape[1]}")
    trackers = [_Tracker(e, seed, start_vector) for e in ests]
    rows: list[AuditRow] = []
    for t, W in enumerate(drifting_weights(W0, steps, eta=eta, seed=seed + 1)):
        lo, up, proven_up = _bracket(W, input_shape, seed, conv_args) if conv else _bracket(W)
        maps = _maps(W, input_shape, conv_args)
        for e, tracker in zip(ests, trackers):
            s = tracker(maps, proven_up, t)
            rows.append(AuditRow(layer, e.name, e.start, e.target, e.iterations, t, s, lo, up,
                                 _quotient(lo, s, -np.inf), _quotient(up, s, np.inf)))
    return rows


def overshoot_summary(rows: Sequence[AuditRow], quantiles: Sequence[float] = (0.5, 0.9, 0.99)) -> list[dict]:
    """Per (layer, estimator): the quantiles ``q<100 q>`` and ``max`` of the overshoot over steps,
    ``provably_above_1`` (fraction of steps with ``overshoot_lower > 0``) and ``margin``: the
    smallest ``m >= 0`` with ``sigma(W / (sigma_hat (1 + m))) <= 1`` at every step of this run
    (certified for the run, no rule for the next one)."""
    groups: dict[tuple[str, str], list[AuditRow]] = {}
    for r in rows:
        groups.setdefault((r.layer, r.estimator), []).append(r)
    out = []
    for (layer, est), rs in groups.items():
        over = np.array([r.overshoot for r in rs])
        d: dict[str, Any] = {"layer": layer, "estimator": est, "steps": len(rs)}
        for q in quantiles:
            d[f"q{100 * q:g}"] = float(np.quantile(over, q))
        d["max"] = float(over.max())
        d["provably_above_1"] = float(np.mean([r.overshoot_lower > 0 for r in rs]))
        d["margin"] = max(0.0, d["max"])
        out.append(d)
    return out
