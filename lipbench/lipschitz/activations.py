"""Elementwise activations and their exact Lipschitz constants.

For a differentiable (or piecewise differentiable) scalar function g, the best
Lipschitz constant on R is ``sup_x |g'(x)|`` (mean value theorem).  Each
constant here is *derived*, not typed in: ``sup |g'|`` is the maximum of |g'|
over

* the critical points of g' (roots of g'' found with ``scipy.optimize.brentq``
  inside brackets where g'' changes sign),
* the one-sided values of g' at kinks, and
* the limits of g' at -inf and +inf.

For GELU, ``g'(x) = Phi(x) + x phi(x)`` and ``g''(x) = phi(x) (2 - x^2)``:
brentq finds the critical points ``+-sqrt(2)`` and the constant is
``Phi(sqrt 2) + sqrt 2 phi(sqrt 2) ~ 1.1289``.  ``attained_at`` says where the
sup is reached (``None`` when it is only approached, e.g. softplus as x -> inf).

Every derived constant but GELU's is exact in floating point: it is attained
(or approached) where g' evaluates exactly to a float (1, 1/4, alpha).
GELU's is a floating-point evaluation of special functions, so its layer
uses :func:`gelu_sup_upper` instead, a proven upper bound in rationals; GELU's
tanh approximation uses a bound proven by interval arithmetic (``_proven_sup``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from scipy import optimize, special

from .._rounding import up
from ._proven_sup import GELU_TANH_K, gelu_tanh_sup_upper

__all__ = [
    "Activation",
    "ACTIVATIONS",
    "activation",
    "relu",
    "leaky_relu",
    "sin",
    "cos",
    "tanh",
    "sigmoid",
    "softplus",
    "elu",
    "gelu",
    "gelu_tanh",
    "erf",
    "selu",
    "hard_sigmoid",
    "hard_swish",
    "silu",
    "clip",
    "numerical_sup_abs_derivative",
]

Fn = Callable[[np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Activation:
    """An elementwise function with its derivative and its derived Lipschitz constant."""

    name: str
    fn: Fn
    derivative: Fn
    second_derivative: Fn | None
    critical_brackets: tuple[tuple[float, float], ...] = ()
    kink_values: tuple[float, ...] = ()  # one-sided values of g' at kinks
    limits: tuple[float, float] = (math.nan, math.nan)  # g'(-inf), g'(+inf)
    params: dict = field(default_factory=dict)
    #: a proven upper bound on sup |g'| where :attr:`lipschitz` is only a floating-point
    #: evaluation (GELU); None where the derived constant is exact
    proven_upper: float | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.fn(np.asarray(x, dtype=np.float64))

    @property
    def critical_points(self) -> tuple[float, ...]:
        """Roots of g'' (the critical points of g'), by brentq in each bracket."""
        if self.second_derivative is None:
            return ()
        g2 = self.second_derivative
        return tuple(
            float(optimize.brentq(lambda t: float(g2(np.float64(t))), a, b, xtol=1e-15, rtol=4 * np.finfo(float).eps))
            for a, b in self.critical_brackets
        )

    @property
    def lipschitz(self) -> float:
        """sup_x |g'(x)|: the best Lipschitz constant of g on R."""
        return _sup(self)[0]

    @property
    def attained_at(self) -> float | None:
        """A point where |g'| equals the constant, or None if it is only approached."""
        return _sup(self)[1]


def _sup(act: Activation) -> tuple[float, float | None]:
    candidates: list[tuple[float, float | None]] = []
    for x in act.critical_points:
        candidates.append((abs(float(act.derivative(np.float64(x)))), x))
    for x in act.kink_values:
        candidates.append((abs(float(act.derivative(np.float64(x)))), x))
    for lim in act.limits:
        if not math.isnan(lim):
            candidates.append((abs(lim), None))
    if not candidates:
        raise ValueError(f"activation {act.name!r} has no critical points, kinks or limits to bound g'")
    best = max(c[0] for c in candidates)
    # Prefer an attained point among the candidates that reach the sup.
    for value, where in candidates:
        if value == best and where is not None:
            return best, where
    return best, None


def numerical_sup_abs_derivative(act: Activation, lo: float = -20.0, hi: float = 20.0,
                                 n: int = 20001) -> tuple[float, float]:
    """An independent check: max |g'| on a grid over [lo, hi], refined by
    ``scipy.optimize.minimize_scalar`` around the best grid point.  Returns
    ``(value, x)``; a lower bound on the true sup."""
    x = np.linspace(lo, hi, n)
    d = np.abs(act.derivative(x))
    i = int(np.argmax(d))
    a, b = x[max(i - 1, 0)], x[min(i + 1, n - 1)]
    res = optimize.minimize_scalar(lambda t: -abs(float(act.derivative(np.float64(t)))), bounds=(a, b),
                                   method="bounded", options={"xatol": 1e-12})
    if -res.fun > d[i]:
        return float(-res.fun), float(res.x)
    return float(d[i]), float(x[i])


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return special.expit(x)


def relu() -> Activation:
    """max(x, 0); g' in {0, 1} (g'(0) := 0)."""
    return Activation("relu", lambda x: np.maximum(x, 0.0), lambda x: (np.asarray(x) > 0).astype(np.float64),
                      None, kink_values=(1.0, -1.0), limits=(0.0, 1.0))


def leaky_relu(alpha: float = 0.01) -> Activation:
    """x for x > 0, alpha x otherwise; constant max(1, |alpha|)."""
    alpha = float(alpha)
    if not math.isfinite(alpha):
        raise ValueError(f"leaky_relu slope alpha must be finite; got {alpha}")
    return Activation(f"leaky_relu(alpha={alpha:g})", lambda x: np.where(x > 0, x, alpha * x),
                      lambda x: np.where(np.asarray(x) > 0, 1.0, alpha), None,
                      kink_values=(1.0, -1.0), limits=(alpha, 1.0), params={"alpha": alpha})


def sin() -> Activation:
    """g' = cos, g'' = -sin: critical point 0 (one period suffices)."""
    return Activation("sin", np.sin, np.cos, lambda x: -np.sin(x), critical_brackets=((-1.0, 1.0),))


def cos() -> Activation:
    """g' = -sin, g'' = -cos: critical point pi/2."""
    return Activation("cos", np.cos, lambda x: -np.sin(x), lambda x: -np.cos(x), critical_brackets=((1.0, 2.0),))


def tanh() -> Activation:
    """g' = 1 - tanh^2, g'' = -2 tanh (1 - tanh^2): critical point 0."""
    return Activation("tanh", np.tanh, lambda x: 1.0 - np.tanh(x) ** 2,
                      lambda x: -2.0 * np.tanh(x) * (1.0 - np.tanh(x) ** 2),
                      critical_brackets=((-1.0, 2.0),), limits=(0.0, 0.0))


def sigmoid() -> Activation:
    """g' = s (1 - s), g'' = s (1 - s)(1 - 2 s): critical point 0, constant 1/4."""
    return Activation("sigmoid", _sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)),
                      lambda x: _sigmoid(x) * (1.0 - _sigmoid(x)) * (1.0 - 2.0 * _sigmoid(x)),
                      critical_brackets=((-1.0, 2.0),), limits=(0.0, 0.0))


def softplus(beta: float = 1.0) -> Activation:
    """log(1 + exp(beta x)) / beta; g' = sigmoid(beta x) is monotone, sup 1 approached as x -> inf."""
    beta = float(beta)
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"softplus beta must be a positive finite number; got {beta}")
    return Activation(f"softplus(beta={beta:g})", lambda x: np.logaddexp(0.0, beta * x) / beta,
                      lambda x: _sigmoid(beta * x), None, limits=(0.0, 1.0), params={"beta": beta})


def elu(alpha: float = 1.0) -> Activation:
    """x for x > 0, alpha (exp(x) - 1) otherwise; g' = 1 or alpha exp(x) (<= alpha, reached at 0-)."""
    alpha = float(alpha)
    if not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"elu alpha must be a non-negative finite number; got {alpha}")
    return Activation(f"elu(alpha={alpha:g})", lambda x: np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
                      lambda x: np.where(np.asarray(x) > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))), None,
                      kink_values=(1.0, 0.0), limits=(0.0, 1.0), params={"alpha": alpha})


def _phi(x: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * np.square(x)) / math.sqrt(2.0 * math.pi)


def _sqrt_pi_lower() -> Fraction:
    """A rational lower bound on sqrt(pi): ``pi > 3.14159265358979323846`` and an integer square root."""
    pi_lo = Fraction(314159265358979323846, 10**20)
    scale = 10**30
    return Fraction(math.isqrt(int(pi_lo * scale * scale)), scale)


def gelu_sup_upper() -> float:
    """A proven upper bound on GELU's constant ``Phi(sqrt 2) + sqrt 2 phi(sqrt 2) =
    1/2 + (erf(1) sqrt(pi) / 2 + 1/e) / sqrt(pi)``, in exact rationals: erf(1) sqrt(pi) / 2
    ``= sum (-1)^n / (n! (2n + 1))`` and ``1/e = sum (-1)^n / n!`` are alternating series
    with decreasing terms, so a partial sum ending on a positive term bounds each from
    above; ``sqrt(pi)`` is bounded below through ``pi > 3.14159265358979323846`` and an integer
    square root; the result is rounded up once."""
    erf_part, e_inv = Fraction(0), Fraction(0)
    for n in range(0, 31):  # 31 terms, the last (n = 30) positive
        t = Fraction((-1) ** n, math.factorial(n))
        erf_part += t / (2 * n + 1)
        e_inv += t
    bound = Fraction(1, 2) + (erf_part + e_inv) / _sqrt_pi_lower()
    return up(bound)


def gelu(a: float = 1.0) -> Activation:
    """x Phi(a x), a > 0 (a = 1: GELU, erf form; other a: the exporters' x (1 + erf(x / c)) / 2
    with a = sqrt 2 / c).  g' = Phi(a x) + a x phi(a x) = G'(a x) with G' GELU's derivative,
    so sup |g'| = sup |G'| whatever a is: GELU's proven constant holds for every a.
    g'' = a phi(a x)(2 - (a x)^2): critical points +-sqrt 2 / a."""
    a = float(a)
    if not (math.isfinite(a) and a > 0):
        raise ValueError(f"gelu needs a finite scale a > 0; got {a}")
    return Activation("gelu" if a == 1.0 else f"gelu(a={a:.17g})", lambda x: x * special.ndtr(a * x),
                      lambda x: special.ndtr(a * x) + a * x * _phi(a * x),
                      lambda x: a * _phi(a * x) * (2.0 - np.square(a * x)),
                      critical_brackets=((0.5 / a, 3.0 / a), (-3.0 / a, -0.5 / a)), limits=(0.0, 1.0),
                      params={} if a == 1.0 else {"a": a}, proven_upper=gelu_sup_upper())


def gelu_tanh() -> Activation:
    """GELU's tanh approximation ``x (1 + tanh(c (x + k x^3))) / 2``, ``c = sqrt(2 / pi)``,
    ``k = 0.044715`` (PyTorch's ``approximate='tanh'``, ONNX's ``Gelu`` with ``approximate="tanh"``).
    With ``T = tanh(u)``, ``u = c (x + k x^3)``, ``u' = c (1 + 3 k x^2)``:
    ``g' = (1 + T) / 2 + x (1 - T^2) u' / 2`` and ``g'' = (1 - T^2)(u' - x T u'^2 + 3 c k x^2)``,
    critical points near +-1.42 (``g'(x) + g'(-x) = 1``), constant ~1.1290, a floating-point
    evaluation; its layer uses :func:`~lipbench.lipschitz._proven_sup.gelu_tanh_sup_upper`, proven
    by interval branch and bound in rationals plus an analytic tail, within ~1e-9 of the sup."""
    c, k = math.sqrt(2.0 / math.pi), float(GELU_TANH_K)

    def t(x: np.ndarray) -> np.ndarray:
        return np.tanh(c * (x + k * x**3))

    def d(x: np.ndarray) -> np.ndarray:
        return 0.5 * (1.0 + t(x)) + 0.5 * x * (1.0 - t(x) ** 2) * c * (1.0 + 3.0 * k * x**2)

    def d2(x: np.ndarray) -> np.ndarray:
        du = c * (1.0 + 3.0 * k * x**2)
        return (1.0 - t(x) ** 2) * (du - x * t(x) * du**2 + 3.0 * c * k * x**2)

    return Activation("gelu_tanh", lambda x: 0.5 * x * (1.0 + t(x)), d, d2,
                      critical_brackets=((0.5, 3.0), (-3.0, -0.5)), limits=(0.0, 1.0),
                      proven_upper=gelu_tanh_sup_upper())


def erf() -> Activation:
    """erf(x); g' = 2 exp(-x^2) / sqrt(pi), largest at 0: constant 2 / sqrt(pi), proven through
    a rational lower bound on sqrt(pi) and rounded up."""
    c = 2.0 / math.sqrt(math.pi)
    return Activation("erf", special.erf, lambda x: c * np.exp(-np.square(x)),
                      lambda x: -2.0 * c * x * np.exp(-np.square(x)), critical_brackets=((-1.0, 1.0),),
                      limits=(0.0, 0.0), proven_upper=up(Fraction(2) / _sqrt_pi_lower()))


def selu(alpha: float = 1.6732632423543772, gamma: float = 1.0507009873554805) -> Activation:
    """gamma x for x > 0, gamma alpha (exp(x) - 1) otherwise (ONNX's defaults, in float64);
    g' = gamma or gamma alpha exp(x), so the constant is gamma max(1, alpha) (alpha >= 0),
    reached at 0+ or 0-; its layer uses the exact product rounded up."""

    alpha, gamma = float(alpha), float(gamma)
    if not (math.isfinite(alpha) and alpha >= 0 and math.isfinite(gamma) and gamma > 0):
        raise ValueError(f"selu needs finite alpha >= 0 and gamma > 0; got alpha={alpha}, gamma={gamma}")
    return Activation(f"selu(alpha={alpha:g}, gamma={gamma:g})",
                      lambda x: gamma * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0))),
                      lambda x: gamma * np.where(np.asarray(x) > 0, 1.0, alpha * np.exp(np.minimum(x, 0.0))), None,
                      kink_values=(1.0, 0.0), limits=(0.0, gamma), params={"alpha": alpha, "gamma": gamma},
                      proven_upper=up(Fraction(gamma) * max(Fraction(1), Fraction(alpha))))


def hard_sigmoid(alpha: float = 0.2, beta: float = 0.5) -> Activation:
    """max(0, min(1, alpha x + beta)) (ONNX's HardSigmoid); g' = alpha between the kinks, 0 outside:
    constant |alpha|."""
    alpha, beta = float(alpha), float(beta)
    if not (math.isfinite(alpha) and alpha != 0 and math.isfinite(beta)):
        raise ValueError(f"hard_sigmoid needs a finite non-zero alpha and a finite beta; got {alpha}, {beta}")
    inside = (0.5 - beta) / alpha  # where alpha x + beta = 1/2
    return Activation(f"hard_sigmoid(alpha={alpha:g}, beta={beta:g})",
                      lambda x: np.clip(alpha * x + beta, 0.0, 1.0),
                      lambda x: np.where((alpha * np.asarray(x) + beta > 0) & (alpha * np.asarray(x) + beta < 1),
                                         alpha, 0.0), None,
                      kink_values=(inside,), limits=(0.0, 0.0), params={"alpha": alpha, "beta": beta})


def hard_swish(alpha: float = 1.0 / 6.0, beta: float = 0.5) -> Activation:
    """x max(0, min(1, alpha x + beta)) (ONNX's HardSwish, alpha = 1/6, beta = 1/2), alpha > 0.

    Between the kinks g = x (alpha x + beta), g' = 2 alpha x + beta, monotone: at the
    lower kink (alpha x + beta = 0) it is -beta, at the upper one (alpha x + beta = 1) it is
    2 - beta, whatever alpha is; outside, g' is 0 and 1.  So the constant is
    max(1, |beta|, |2 - beta|), 3/2 for the defaults (approached at x -> 3-), exact in floats."""
    alpha, beta = float(alpha), float(beta)
    if not (math.isfinite(alpha) and alpha > 0 and math.isfinite(beta)):
        raise ValueError(f"hard_swish needs a finite alpha > 0 and a finite beta; got {alpha}, {beta}")
    bound = max(1.0, abs(beta), abs(2.0 - beta))

    def d(x: np.ndarray) -> np.ndarray:
        z = alpha * np.asarray(x) + beta
        return np.where(z < 0, 0.0, np.where(z > 1, 1.0, 2.0 * alpha * np.asarray(x) + beta))  # kinks: inner side

    return Activation(f"hard_swish(alpha={alpha:g}, beta={beta:g})", lambda x: x * np.clip(alpha * x + beta, 0.0, 1.0),
                      d, None, kink_values=((1.0 - beta) / alpha, -beta / alpha), limits=(0.0, 1.0),
                      params={"alpha": alpha, "beta": beta},
                      proven_upper=None if bound == 1.0 else bound)


def silu_sup_upper() -> float:
    """A proven (loose) upper bound on SiLU's constant: with s = sigmoid(x),
    g' = s + x s (1 - s).  For x >= 0, s <= 1 and x s (1 - s) <= x e^{-x} <= 1/e;
    for x < 0, s < 1/2, |x| s <= |x| e^{-|x|} <= 1/e and 1 - s <= 1, so |g'| < 1/2 + 1/e.
    Hence sup |g'| <= 1 + 1/e, bounded here with 1/e <= 0.36787944117144234 (the
    alternating series to n = 20) and rounded up once."""

    e_inv = sum((Fraction((-1) ** n, math.factorial(n)) for n in range(0, 21)), Fraction(0))  # last term positive
    return up(1 + e_inv)


def silu() -> Activation:
    """x sigmoid(x) (SiLU, swish); g' = s (1 + x (1 - s)), g'' = s (1 - s)(2 + x (1 - 2 s)):
    critical point near 2.3994, constant ~1.0998 (a floating-point evaluation); its layer
    uses :func:`silu_sup_upper`, 1 + 1/e, proven but 24% looser."""

    def d(x: np.ndarray) -> np.ndarray:
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))

    def d2(x: np.ndarray) -> np.ndarray:
        s = _sigmoid(x)
        return s * (1.0 - s) * (2.0 + x * (1.0 - 2.0 * s))

    return Activation("silu", lambda x: x * _sigmoid(x), d, d2, critical_brackets=((1.0, 4.0), (-4.0, -1.0)),
                      limits=(0.0, 1.0), proven_upper=silu_sup_upper())


def clip(lo: float = -math.inf, hi: float = math.inf) -> Activation:
    """min(max(x, lo), hi), lo <= hi; slope 1 between, 0 outside: constant 1 (0 when lo == hi)."""
    lo, hi = float(lo), float(hi)
    if math.isnan(lo) or math.isnan(hi) or lo > hi:
        raise ValueError(f"clip needs lo <= hi; got lo={lo}, hi={hi}")
    if lo == hi:
        inside = lo
    elif math.isfinite(lo) and math.isfinite(hi):
        inside = lo / 2 + hi / 2
    else:
        inside = lo + 1.0 if math.isfinite(lo) else (hi - 1.0 if math.isfinite(hi) else 0.0)
    return Activation(f"clip(lo={lo:g}, hi={hi:g})", lambda x: np.minimum(np.maximum(x, lo), hi),
                      lambda x: np.where((np.asarray(x) > lo) & (np.asarray(x) < hi), 1.0, 0.0), None,
                      kink_values=(inside,), limits=(0.0, 0.0), params={"lo": lo, "hi": hi})


ACTIVATIONS: dict[str, Callable[..., Activation]] = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "sin": sin,
    "cos": cos,
    "tanh": tanh,
    "sigmoid": sigmoid,
    "softplus": softplus,
    "elu": elu,
    "gelu": gelu,
    "gelu_tanh": gelu_tanh,
    "erf": erf,
    "selu": selu,
    "hard_sigmoid": hard_sigmoid,
    "hard_swish": hard_swish,
    "silu": silu,
    "clip": clip,
}


def activation(name: str, **params: float) -> Activation:
    """An activation by name: ``activation("leaky_relu", alpha=0.2)``."""
    try:
        factory = ACTIVATIONS[name]
    except KeyError:
        raise ValueError(f"unknown activation {name!r}; known: {', '.join(ACTIVATIONS)}") from None
    return factory(**params)
