"""A proven upper bound on sup |g'| for GELU's tanh approximation, by interval arithmetic in rationals.

``g(x) = x (1 + T) / 2`` with ``T = tanh(u)``, ``u = c (x + k x^3)``, ``c = sqrt(2 / pi)``,
``k = 0.044715`` (PyTorch's ``GELU(approximate='tanh')``, ONNX's ``Gelu`` with
``approximate="tanh"``).  With ``S = 1 - T^2``, ``u' = c (1 + 3 k x^2)`` and ``u'' = 6 c k x``:

    g'(x)  = (1 + T) / 2 + x S u' / 2
    g''(x) = S (u' - x T u'^2 + 3 c k x^2)

Every quantity is an interval ``(lo, hi)`` of Fractions, rounded outward to ``_BITS``
significant bits after each operation, so each interval contains the exact value:

* ``c`` from ``3.14159265358979323846 < pi < 3.14159265358979323847`` and integer square roots;
* ``exp(v)`` from its Taylor series at ``w = v / 2^j``, ``|w| <= 1/2``: for ``w >= 0`` the partial
  sum to ``n = N`` is a lower bound and adding twice its next term an upper one (the tail is
  at most ``t_{N+1} / (1 - w / (N + 2)) <= 2 t_{N+1}``); ``exp(-w) = 1 / exp(w)``; then ``j``
  squarings of positive bounds;
* ``tanh(u) = 1 - 2 / (e^{2u} + 1)`` is increasing in ``e^{2u}``, and ``u`` is increasing in x,
  so on a box ``[a, b]`` ``T`` lies between the lower bound of ``tanh(u(a))`` and the upper bound of
  ``tanh(u(b))``.

On a box ``X = [a, b]`` with midpoint m the mean value theorem gives
``g'(x) in g'(m) + g''(X) (x - m)``, ``|x - m| <= (b - a) / 2`` (the centred form, whose
overestimate shrinks like ``(b - a)^2`` where ``g''`` vanishes, i.e. at the sup).  Branch and
bound on ``[-R, R]`` splits every box whose bound on ``|g'|`` exceeds the best midpoint value
by more than ``rel_tol``; the answer is the largest bound over the final boxes and the tail.

Tail, ``|x| >= R`` with ``R >= 2``: ``0 <= S = 4 e^{-2|u|} / (1 + e^{-2|u|})^2 <= 4 e^{-2 c |x|}``
since ``|u| >= c |x|``.  For ``x >= R``: ``x u' >= 0`` so ``0 <= g' <= 1 + 2 x u' e^{-2 c x}``.  For
``x <= -R``: ``0 <= 1 + T = 2 e^{-2|u|} / (1 + e^{-2|u|}) <= 2 e^{-2 c |x|}`` and ``x S u' <= 0``, so
``|g'| <= e^{-2 c |x|} (1 + 2 |x| u')``.  Both are at most ``1 + h(|x|)``,
``h(x) = 2 c x (1 + 3 k x^2) e^{-2 c x} + e^{-2 c x}``, decreasing for ``x >= 2``: the derivative of
``x (1 + 3 k x^2) e^{-2 c x}`` has the sign of ``1 + 9 k x^2 - 2 c x (1 + 3 k x^2)``, negative
since ``2 c x > 1`` and ``6 c k x^3 >= 9 k x^2`` (``x >= 3 / (2 c) ~ 1.88``).  So the tail's
bound is ``1 + h(R)``, evaluated here with ``c``'s bounds taken in the safe direction.
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction

from .._rounding import up

__all__ = [
    "gelu_tanh_sup_upper", "gelu_tanh_tail_upper", "gelu_tanh_derivative_enclosure", "GELU_TANH_K", "GELU_TANH_REL_TOL",
]

#: the cubic coefficient of GELU's tanh approximation, as the exporters write it
GELU_TANH_K = Fraction(44715, 10**6)

#: how far, relatively, the proven bound may lie above the sup (then one rounding up to a float):
#: a final box's bound is at most (1 + rel_tol) times a midpoint's value, itself at most the sup
GELU_TANH_REL_TOL = Fraction(1, 10**9)

_BITS = 96  # significant bits kept (outward) after each interval operation
_MIN_WIDTH = Fraction(1, 2**40)  # a box narrower than this means rel_tol is out of reach
_TERMS = 24  # Taylor terms of exp at |w| <= 1/2: the next term is below 2^-100

Interval = tuple[Fraction, Fraction]


def _round(q: Fraction, upward: bool) -> Fraction:
    """q rounded to ``_BITS`` significant bits, toward +inf (upward) or -inf."""
    if q == 0:
        return q
    shift = _BITS - (abs(q.numerator).bit_length() - q.denominator.bit_length())
    scaled = q * 2**shift if shift >= 0 else q / 2**-shift
    n = math.ceil(scaled) if upward else math.floor(scaled)
    return Fraction(n) / 2**shift if shift >= 0 else Fraction(n * 2**-shift)


def _iv(lo: Fraction, hi: Fraction) -> Interval:
    return _round(lo, False), _round(hi, True)


def _add(x: Interval, y: Interval) -> Interval:
    return _iv(x[0] + y[0], x[1] + y[1])


def _mul(x: Interval, y: Interval) -> Interval:
    p = (x[0] * y[0], x[0] * y[1], x[1] * y[0], x[1] * y[1])
    return _iv(min(p), max(p))


def _sq(x: Interval) -> Interval:
    lo, hi = x
    if lo >= 0:
        return _iv(lo * lo, hi * hi)
    if hi <= 0:
        return _iv(hi * hi, lo * lo)
    return Fraction(0), _round(max(lo * lo, hi * hi), True)


def _pi_bounds() -> Interval:
    return Fraction(314159265358979323846, 10**20), Fraction(314159265358979323847, 10**20)


@functools.cache
def _c() -> Interval:
    """sqrt(2 / pi) between two rationals (integer square roots of ``2 / pi`` scaled by 4^60)."""
    pi_lo, pi_hi = _pi_bounds()
    s = 2**60
    lo = Fraction(math.isqrt(math.floor(2 / pi_hi * s * s)), s)
    hi = Fraction(math.isqrt(math.ceil(2 / pi_lo * s * s)) + 1, s)
    return lo, hi


def _exp_nonneg(w: Fraction) -> Interval:
    """exp(w) for 0 <= w <= 1/2: partial sum below, partial sum plus twice the next term above."""
    total, t = Fraction(0), Fraction(1)
    for n in range(_TERMS + 1):
        total += t
        t = _round(t * w / (n + 1), True) if n < _TERMS else t * w / (n + 1)
    return _round(total, False), _round(total + 2 * t, True)


def _exp(v: Fraction) -> Interval:
    """exp(v) between two positive rationals: reduce to |w| <= 1/2, then square j times."""
    j = max(0, (2 * abs(v)).numerator.bit_length() - (2 * abs(v)).denominator.bit_length() + 1)
    w = v / 2**j
    lo, hi = _exp_nonneg(abs(w))
    if w < 0:
        lo, hi = _round(1 / hi, False), _round(1 / lo, True)
    for _ in range(j):
        lo, hi = _round(lo * lo, False), _round(hi * hi, True)
    return lo, hi


def _tanh(u: Interval) -> Interval:
    """tanh over the interval u: ``1 - 2 / (e^{2u} + 1)``, increasing in u."""
    e_lo, e_hi = _exp(2 * u[0])[0], _exp(2 * u[1])[1]
    return _round(1 - 2 / (e_lo + 1), False), _round(1 - 2 / (e_hi + 1), True)


def _u(x: Fraction) -> Interval:
    """u(x) = c (x + k x^3) as an interval (c is only known to lie in an interval)."""
    return _mul(_c(), (x + GELU_TANH_K * x**3,) * 2)


def _d1_point(m: Fraction) -> Interval:
    """g'(m) = (1 + T) / 2 + m S u' / 2 at one point."""
    t = _tanh(_u(m))
    s = _add((Fraction(1),) * 2, _neg(_sq(t)))
    du = _mul(_c(), (1 + 3 * GELU_TANH_K * m * m,) * 2)
    half_m = (m / 2, m / 2)
    return _add(_iv((1 + t[0]) / 2, (1 + t[1]) / 2), _mul(_mul(half_m, s), du))


def _neg(x: Interval) -> Interval:
    return -x[1], -x[0]


def _d2_box(a: Fraction, b: Fraction) -> Interval:
    """g''(X) = S (u' - x T u'^2 + 3 c k x^2) over the box X = [a, b]."""
    x = (a, b)
    t = _iv(_tanh(_u(a))[0], _tanh(_u(b))[1])
    s = _add((Fraction(1),) * 2, _neg(_sq(t)))
    x2 = _sq(x)
    du = _mul(_c(), _add((Fraction(1),) * 2, _mul((3 * GELU_TANH_K,) * 2, x2)))
    inner = _add(_add(du, _neg(_mul(_mul(x, t), _sq(du)))), _mul(_mul(_c(), (3 * GELU_TANH_K,) * 2), x2))
    return _mul(s, inner)


def gelu_tanh_derivative_enclosure(a: Fraction, b: Fraction) -> Interval:
    """An interval holding g'(x) for every x in [a, b]: the centred form ``g'(m) + g''(X) (X - m)``."""
    m = (a + b) / 2
    return _add(_d1_point(m), _mul(_d2_box(a, b), (-(b - a) / 2, (b - a) / 2)))


def _box_upper(a: Fraction, b: Fraction) -> tuple[Fraction, Fraction]:
    """(an upper bound on |g'| over [a, b], a lower bound on |g'(m)| at its midpoint)."""
    centre = _d1_point((a + b) / 2)
    lo, hi = gelu_tanh_derivative_enclosure(a, b)
    mid_low = max(centre[0], -centre[1], Fraction(0))
    return max(abs(lo), abs(hi)), mid_low


def _tail(radius: Fraction) -> Fraction:
    """1 + h(R), h(x) = 2 c x (1 + 3 k x^2) e^{-2 c x} + e^{-2 c x}, an upper bound on |g'| for |x| >= R >= 2."""
    c_lo, c_hi = _c()
    e = _exp(-2 * c_lo * radius)[1]
    return _round(1 + (2 * c_hi * radius * (1 + 3 * GELU_TANH_K * radius**2) + 1) * e, True)


def gelu_tanh_tail_upper(radius: int) -> float:
    """A proven upper bound on ``|g'(x)|`` for every ``|x| >= radius`` (radius >= 2): ``1 + h(radius)``."""
    if radius < 2:
        raise ValueError(f"the tail bound needs radius >= 2; got {radius}")
    return up(_tail(Fraction(radius)))


@functools.cache
def gelu_tanh_sup_upper(radius: int = 6, boxes: int = 96, rel_tol: Fraction = GELU_TANH_REL_TOL) -> float:
    """A proven upper bound on ``sup_x |g'(x)|`` for GELU's tanh form (the module docstring's proof),
    within about ``rel_tol`` of the sup, rounded up to a float once."""
    tail = gelu_tanh_tail_upper(radius)
    width = Fraction(2 * radius, boxes)
    work = [(-radius + i * width, -radius + (i + 1) * width) for i in range(boxes)]
    scored = [(box, *_box_upper(*box)) for box in work]
    best = max(s[2] for s in scored)
    final: list[Fraction] = []
    while scored:
        (a, b), upper, mid = scored.pop()
        best = max(best, mid)
        if upper <= best * (1 + rel_tol):
            final.append(upper)
            continue
        if b - a < _MIN_WIDTH:
            raise RuntimeError(f"branch and bound stalled on [{float(a)}, {float(b)}]: rel_tol={rel_tol} is "
                               f"below what {_BITS}-bit intervals resolve")
        m = (a + b) / 2
        scored += [((a, m), *_box_upper(a, m)), ((m, b), *_box_upper(m, b))]
    return max(up(max(final)), tail)
