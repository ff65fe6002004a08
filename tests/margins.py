"""Margin checks: one or more per rounding term of every certified bound
(those of ``lipbench.lipschitz`` are in ``tests/lipschitz_margins.py``).

Each check is a plain function that raises AssertionError when a bound is
wrong, on a case where its term matters, with the truth in exact rational
arithmetic.  Three kinds:

* ``bracket`` -- a certified bracket or test through the library's own path
  (an input, or a Gram matrix computed in a summation order a BLAS may take)
  is false in exact arithmetic once the term is weakened;
* ``bound`` -- one bound of the rounding model, fed an adversarial but
  legitimate float64 computation (a left-to-right sum whose every addition
  rounds the same way), falls on the wrong side of the exact value;
* ``theorem`` -- the term can never change a computed float in a bracket (an
  underflow term far below the last bit of the other terms, or a published
  constant whose worst case no known input attains): its value where it is
  the only contribution is held against the published formula, exactly.

``python -m tests.margins`` prints the mutation table: every term, halved and
dropped inside the library (``lipbench.testing.weakened``), and the checks
that fail; a weakening no check catches is a survivor, and the command exits 1.
``tests/test_margins.py`` runs the same loop.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from fractions import Fraction as Q

import numpy as np

import lipbench as lb
from lipbench.spectral.certify import verify_positive_definite
from lipbench.spectral.gram import first_product_error, squarings
from lipbench.testing import TERMS, inertia_test_on_gram, operator_of, rounding, scale_array, shifted_diagonal, weakened
from properties.exact import exactly_below, exactly_positive_definite_float

U = Q(2) ** -53
ETA = Q(2) ** -1074
#: terms that are on or off: halving them is no weakening
SWITCHES = frozenset({"diagonal_steps", "scale_back"})

CHECKS: list[tuple[Callable[[], None], tuple[str, ...], str]] = []


def check(*terms: str, kind: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    def register(fn: Callable[[], None]) -> Callable[[], None]:
        CHECKS.append((fn, terms, kind))
        return fn
    return register


def gamma(k: int) -> Q:
    return k * U / (1 - k * U)


def left_to_right(values: list[float]) -> float:
    """A float64 sum in one legitimate order: left to right."""
    s = 0.0
    for v in values:
        s += v
    return s


def one_then_half_ulps(count: int, above: bool) -> list[float]:
    """1.0 and ``count - 1`` squares just below (``above``: just above) half an
    ulp of 1: summed left to right each addition drops (adds) nearly a unit roundoff."""
    half = 2.0**-53 * (1 + 2.0**-20 if above else 1 - 2.0**-20)
    return [1.0] + [half] * (count - 1)


# ------------------------------------------------------------------- sums
def _sum_bracket(above: bool) -> tuple[float, float, Q]:
    """(lower, upper) of ``sum_bounds`` for a left-to-right sum of 200 squares
    that lose (or gain) nearly u each, and the exact sum."""
    terms = one_then_half_ulps(200, above=above)
    lo, hi = rounding.sum_bounds(left_to_right(terms), len(terms))
    return lo, hi, sum(map(Q, terms))


@check("sum_gamma", kind="bound")
def sum_of_squares_lost_stays_below_the_upper_bound() -> None:
    _, hi, exact = _sum_bracket(above=False)
    assert Q(hi) >= exact, f"upper {hi!r} < the exact sum {float(exact)!r}, which the computed one lost"


@check("sum_gamma", kind="bound")
def sum_of_squares_gained_stays_above_the_lower_bound() -> None:
    lo, _, exact = _sum_bracket(above=True)
    assert Q(lo) <= exact, f"lower {lo!r} > the exact sum {float(exact)!r}, which the computed one overshot"


@check("sum_underflow", kind="bound")
def squares_that_underflow_to_zero_stay_below_the_upper_bound() -> None:
    x = math.ldexp(math.sqrt(2.0), -538) * (1 - 2.0**-30)  # x^2 just under eta / 2 = 2^-1075: rounds to 0
    c = 64
    s = float(np.sum(np.full(c, x) * np.full(c, x)))
    assert s == 0.0
    _, hi = rounding.sum_bounds(s, c)
    assert Q(hi) >= c * Q(x) ** 2, f"upper {hi!r} below the exact sum of {c} underflowed squares"


@check("sum_underflow", kind="bound")
def squares_that_round_up_to_eta_stay_above_the_lower_bound() -> None:
    x = math.ldexp(math.sqrt(2.0), -538) * (1 + 2.0**-30)  # x^2 just over eta / 2: rounds to eta
    c = 64
    s = float(np.sum(np.full(c, x) * np.full(c, x)))
    lo, _ = rounding.sum_bounds(s, c)
    assert Q(lo) <= c * Q(x) ** 2, f"lower {lo!r} above the exact sum {float(c * Q(x) ** 2)!r}"


@check("rescale_underflow", kind="bound")
def partial_sums_rescaled_to_zero_stay_below_the_upper_bound() -> None:
    """The one-pass summary's running scale: 64 partial sums of |x| (no
    underflow term) each moved down by 2^-600 to just under eta / 2, so each
    rounds to 0 (``ldexp``, correctly rounded); the sum of what is left is 0."""
    p = math.ldexp(1.0 - 2.0**-30, -1075 + 600)
    r = 64
    parts = np.ldexp(np.full(r, p), -600)
    assert not np.any(parts)
    s = rounding.up(left_to_right(parts.tolist()) + rounding.rescale_slack(r, r))
    hi = rounding.abs_sum_upper(s, r)
    assert Q(hi) >= r * Q(p) * Q(2) ** -600, f"upper {hi!r} below the exact sum of {r} rescaled partial sums"


@check("rescale_underflow", kind="theorem")
def rescale_term_is_half_an_eta_per_rescaled_partial_sum() -> None:
    c, r = 10**6, 10**6  # (the term must dwarf eta, the step of the outward rounding)
    got = rounding.rescale_slack(c, r)
    assert Q(got) >= (1 + gamma(c)) * r * ETA / 2, f"{got!r} < (1 + gamma_c) r eta / 2"


# --------------------------------------------------------------- products
@check("product_gamma", kind="bound")
def a_product_that_gained_keeps_the_lower_bound_below_the_norm() -> None:
    """A = b^T (one row), v = b: fl(A v) summed left to right gains about a
    unit roundoff per term, and ||A||_F ||v|| = |A||v| (rank one), so the
    product's slack is attained."""
    b = one_then_half_ulps(200, above=True)
    b = [math.sqrt(x) for x in b]
    w = left_to_right([x * x for x in b])
    ss_v = float(np.dot(b, b))
    fro_up = rounding.norm_bounds(ss_v, len(b))[1]
    lower = rounding.lower_from_product(w * w, 1, ss_v, len(b), len(b), fro_up)
    norm2 = sum(Q(x) ** 2 for x in b)  # ||A v|| / ||v|| = ||b||
    assert Q(lower) ** 2 <= norm2, f"lower {lower!r} > ||A v|| / ||v|| = {math.sqrt(float(norm2))!r}"


@check("product_gamma", kind="theorem")
def product_term_is_higham_s() -> None:
    """Halving the product's term is no bracket anyone can catch: a dense
    product of length k realizes at most (k - 1) u of slack while the bound
    holds gamma_k for it and gamma_k / 2 more for ||v||; so the constant is
    held against Higham's Thm 3.5, ``gamma_k ||A||_F ||v||``."""
    k, fro, vn = 100, 3.0, 2.0
    assert Q(rounding.product_error(k, 1, fro, vn)) >= gamma(k) * Q(fro) * Q(vn), "below gamma_k ||A||_F ||v||"


@check("product_underflow", kind="theorem")
def product_underflow_term_is_the_published_one() -> None:
    rows, k = 10**6, 10**6  # (the term must dwarf eta, the step of the outward rounding)
    err = rounding.product_error(k, rows, 0.0, 0.0)
    assert Q(err) >= (1 + gamma(k)) * 1000 * k * ETA / 2, \
        f"{err!r} < (1 + gamma_k) sqrt(m) k eta / 2 (Higham's underflow model)"


# ----------------------------------------------------------- Gram matrix
def _losing_column(m: int) -> np.ndarray:
    """An m x 2 matrix: 1 then entries whose squares are just under half an ulp
    of 1, and a second column holding one tiny entry."""
    a = np.zeros((m, 2))
    a[:, 0] = [math.sqrt(x) for x in one_then_half_ulps(m, above=False)]
    a[0, 1] = 2.0**-30
    return a


def _gram_left_to_right(a: np.ndarray) -> np.ndarray:
    k = a.shape[1]
    return np.array([[left_to_right(list(a[:, i] * a[:, j])) for j in range(k)] for i in range(k)])


@check("gram_gamma", kind="bracket")
def no_false_certificate_from_a_gram_matrix_that_lost_its_tail() -> None:
    a = _losing_column(64)
    G = _gram_left_to_right(a)
    m, n = a.shape
    for j in range(1, 64):  # t^2 = fl(G)_11 + j u: the exact G_11 lies at about 63 u above it
        t = math.sqrt(G[0, 0] + j * 2.0**-53)
        if inertia_test_on_gram(G, m, n, t):
            assert exactly_below(a, t), f"certified sigma_max < {t!r} (t^2 = fl(G)_11 + {j} u), false exactly"


@check("gram_underflow", kind="theorem")
def gram_underflow_term_is_the_published_one() -> None:
    m, n = 10**6, 10**3
    assert Q(rounding.gram_error(0.0, m, n)) >= (1 + gamma(m)) * n * m * ETA / 2, \
        "gram error below (1 + gamma_M) N M eta / 2 with ||A||_F = 0"


@check("fro_from_trace", kind="theorem")
def frobenius_from_the_trace_is_the_published_bound() -> None:
    m, n = 40, 3
    trace = 1.0
    want = (Q(trace) + n * m * ETA) / (1 - gamma(m))
    got = rounding.fro2_from_trace(trace, m, n)
    assert Q(got) >= want, f"||A||_F^2 bound {got!r} < (tr + N M eta) / (1 - gamma_M) = {float(want)!r}"


# ---------------------------------------------------------------- Cholesky
#: exactly indefinite, yet LAPACK's Cholesky runs to completion with its
#: diagonal stepped one float down (found among 20000 random 2 x 2 matrices)
FOOLS_CHOLESKY = np.array([[1.2427912445875575, -2.959436052359332],
                           [-2.959436052359332, 7.04725092500211]])


@check("rump_gamma", kind="bracket")
def rumps_shift_rejects_an_indefinite_matrix_cholesky_accepts() -> None:
    assert not exactly_positive_definite_float(FOOLS_CHOLESKY)
    assert not verify_positive_definite(FOOLS_CHOLESKY), "an indefinite matrix verified positive definite"


def _kappa(n: int) -> Q:
    return gamma(n + 2) / (1 - gamma(2 * n + 4))


@check("rump_gamma", kind="theorem")
def rumps_shift_is_the_published_one() -> None:
    n, trace = 5, 3.0
    assert Q(rounding.rump_shift(trace, 0.0, n)) >= _kappa(n) * Q(trace) + 4 * ETA * n * 2 * (n + 1), \
        "Rump's shift below gamma_{n+2} / (1 - gamma_{2n+4}) tr(M) + its underflow term"


@check("rump_underflow", kind="theorem")
def rumps_underflow_term_is_the_published_one() -> None:
    n, maxdiag = 5, 2.0
    assert Q(rounding.rump_shift(0.0, maxdiag, n)) >= 4 * ETA * n * (2 * (n + 1) + Q(maxdiag)), \
        "Rump's underflow term below 4 eta N (2 (N + 1) + max M_ii)"


@check("diagonal_steps", kind="bound")
def the_shifted_diagonal_lies_below_its_exact_value() -> None:
    """``d_i + s <= t^2 - G_ii`` exactly, with the library's own d and s: t^2 and
    each subtraction rounded to nearest would sometimes land above."""
    G = np.array([[0.75, 0.1], [0.1, 0.5]])
    for t in np.random.default_rng(0).uniform(1.0, 1.1, 200).tolist():
        d, s = shifted_diagonal(G, 2, 2, t)
        for dii, gii in zip(d.tolist(), np.diagonal(G).tolist()):
            if not math.isnan(dii):
                assert Q(dii) + Q(s) <= Q(t) ** 2 - Q(gii), f"diagonal {dii!r} above t^2 - G_ii - s at t = {t!r}"


# ------------------------------------------------------------- the input's copy
@check("scale_underflow", kind="bound")
def scaling_into_subnormals_stays_within_its_bound() -> None:
    x = np.arange(1, 2 * 50, 2) * 5e-324  # odd multiples of eta: halved, each ties to even, off by eta / 2
    y, err = scale_array(np, x, 1, "float64")
    exact = sum((Q(float(a)) / 2 - Q(float(b))) ** 2 for a, b in zip(x, y))
    assert Q(err) ** 2 >= exact, f"scaling error bound {err!r} below the exact error {math.sqrt(float(exact))!r}"


@check("conversion", kind="bracket")
def integers_past_2_53_carry_their_conversion_error() -> None:
    A = np.full((3, 4), 2**53 + 1, dtype=np.int64)  # each rounds to 2^53: off by 1
    op = operator_of(A)
    exact = math.sqrt(A.size) / op.scale  # ||A - fl(A)||_2 <= ||.||_F, in the operator's units
    assert Q(op.input_error) >= Q(exact), f"input error {op.input_error!r} < {exact!r}"


@check("conversion", kind="bracket")
def integers_past_2_53_summed_as_duplicates_carry_every_conversion() -> None:
    """64 stored values 2^53 + 1 at one position: each converts to 2^53, so the
    summed entry is off by 64, not by the 8 a bound on the stored values gives.
    Adding 64 copies of 2^53 is exact, so the duplicates term is set aside."""
    import scipy.sparse as sp

    k = 64
    S = sp.csr_matrix((np.full(k, 2**53 + 1, dtype=np.int64), [0] * k, [0, k, k]), shape=(2, 2))
    with weakened("duplicates", 0.0):
        op = operator_of(S)
    exact = k / op.scale  # the sum of the conversion errors, in the operator's units
    assert Q(op.input_error) >= Q(exact), f"input error {op.input_error!r} < {exact!r}"


@check("duplicates", kind="bracket")
def duplicate_sparse_entries_carry_their_sum_s_rounding() -> None:
    """A CSR matrix storing 1 and 199 values just below half an ulp of 1 at one
    position: SciPy sums them in storage order and drops nearly all of them."""
    import scipy.sparse as sp

    vals = one_then_half_ulps(200, above=False)
    S = sp.csr_matrix((vals, [0] * len(vals), [0, len(vals), len(vals)]), shape=(2, 2))
    op = operator_of(S)
    summed = Q(float(op.sparse.toarray()[0, 0])) * Q(op.scale)
    lost = abs(sum(map(Q, vals)) - summed)
    assert lost > 150 * U, "SciPy summed the duplicates more accurately than left to right: nothing to pin"
    assert Q(op.input_error) * Q(op.scale) >= lost, f"input error {op.input_error!r} below the lost {float(lost)!r}"


@check("scale_back", kind="bracket")
def subnormal_results_are_bracketed_exactly() -> None:
    eta = 5e-324
    for A in (np.array([[eta, eta], [eta, 0.0]]), np.array([[eta, eta, eta]]),
              np.where(np.arange(80).reshape(10, 8) % 3 == 0, eta, 2 * eta)):
        r = lb.spectral_norm(A, method="svd", certify=True)
        assert not exactly_below(A, r.lower), f"lower {r.lower!r} > sigma for {A.tolist()}"
        assert exactly_below(A, math.nextafter(r.upper, math.inf)), f"upper {r.upper!r} < sigma for {A.tolist()}"


# -------------------------------------------------------------- Gram iteration
@check("gram_iteration", kind="bound")
def gram_iteration_upper_bound_holds_after_a_lost_first_product() -> None:
    a = _losing_column(256)[:, :1]
    P = np.array([[left_to_right(list(a[:, 0] * a[:, 0]))]])
    fro_up = rounding.norm_bounds(float(np.dot(a[:, 0], a[:, 0])), a.size)[1]
    upper, *_ = squarings(np, P, first_product_error(a.shape[0], 1, fro_up), 1, maxiter=3, tol=1e-15,
                          lower_of=lambda H, t: 0.0, track_add=lambda *x: None)
    assert exactly_below(a, math.nextafter(upper, math.inf)), f"Gram iteration upper {upper!r} < sigma exactly"


# ------------------------------------------------------------ the table
def failing(term: str, factor: float) -> list[str]:
    """The checks that fail with ``term`` multiplied by ``factor``."""
    import tests.lipschitz_margins  # noqa: F401  (registers the lipschitz checks)

    out = []
    with weakened(term, factor):
        for fn, _, _ in CHECKS:
            try:
                fn()
            except AssertionError:
                out.append(fn.__name__)
    return out


def weakenings(term: str) -> tuple[float, ...]:
    return (0.0,) if term in SWITCHES else (0.5, 0.0)


def table() -> tuple[str, list[str]]:
    """The mutation table as markdown, and its survivors."""
    import tests.lipschitz_margins  # noqa: F401  (registers the lipschitz checks)

    kinds = {fn.__name__: kind for fn, _, kind in CHECKS}
    lines = ["| term | weakening | caught by (kind) |", "|---|---|---|"]
    survivors = []
    for term in TERMS:
        for f in weakenings(term):
            names = failing(term, f)
            label = "dropped" if f == 0 else f"x{f:g}"
            if not names:
                survivors.append(f"{term} {label}")
            caught = "; ".join(f"`{n}` ({kinds[n]})" for n in names) or "**SURVIVES**"
            lines.append(f"| `{term}` | {label} | {caught} |")
    return "\n".join(lines), survivors


if __name__ == "__main__":
    from tests import margins  # this file as a module, which the lipschitz checks register into

    text, survivors = margins.table()
    print(text)
    print(f"\n{len(survivors)} survivor(s)" + (": " + ", ".join(survivors) if survivors else ""))
    sys.exit(1 if survivors else 0)
