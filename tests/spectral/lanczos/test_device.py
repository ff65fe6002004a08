"""The device-resident Lanczos loops: host transfers and array calls per
step, counted on array-api-strict through a counting namespace (the CPU
stand-in for CuPy), and the same answers as NumPy's host loops."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lipbench as lb
from lipbench import backends, matrices
from lipbench.spectral.lanczos import device as lanczos_device
from properties.tolerances import eigh_atol
from tests.counting import steps, wrap
from tests.helpers import assert_certified, said

pytestmark = pytest.mark.skipif(not backends.availability("array_api_strict").available,
                                reason="array_api_strict is not installed")

M, N = 300, 200  # non-square, so that products with A and with A^T are told apart by shape

# The routes that run on CuPy, with the matrix whose products delimit a step
# and how many such products a step makes.
ROUTES = {
    "bidiagonal": ({}, (M, N), 1),
    "normal": ({"normal": True}, (M, N), 1),
    "gram": ({"gram": True}, (N, N), 2),
    "float32-work": ({"work_dtype": "float32"}, (M, N), 1),
}
# Array calls per step, counted by construction for the array-API step
# (ArraySteps in lipbench.spectral's step module): per side a row read, the
# product, the basis slice, CGS2 (2 x 3 calls) and the normalization (norm,
# store, max, divide, row write: 5); ``.T`` once for A^T; the normal route
# has one side, two products and one more read and store (alpha).
OPS_PER_STEP = {"bidiagonal": 2 * (1 + 1 + 1 + 6 + 5) + 1, "normal": 1 + 3 + 1 + 6 + 2 + 5}
OPS_PER_STEP["gram"] = OPS_PER_STEP["float32-work"] = OPS_PER_STEP["bidiagonal"]
# Host reads outside the loop: the summary pass and the certificate; the Gram
# route adds the Gram matrix's Frobenius bound and the certificate with A.
FIXED_TRANSFERS = {"gram": 4}


def _run(route: str, **kw):
    options, shape, per_step = ROUTES[route]
    A = matrices.gaussian(M, N, seed=1).matrix
    Ap, log = wrap(A)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = lb.spectral_norm(Ap, method="lanczos", tol=1e-7, seed=0, **options, **kw)
    return A, r, log, steps(log, shape, per_step)


@pytest.mark.parametrize("route", list(ROUTES))
def test_no_host_transfer_between_checks(route):
    """Inside the loop the only host read is a check's read of the scalars of
    the steps so far (one transfer of shape (k, 2) right after step k);
    every other step makes none."""
    A, r, log, ranges = _run(route)
    assert r.converged, r.message
    assert len(ranges) >= 10, f"{route}: only {len(ranges)} steps seen"
    reads = 0
    for k, (a, b) in enumerate(ranges[:-1], start=1):  # the last range runs into the certificate
        found = [e for e in log.events[a:b] if e[0] == "transfer"]
        assert len(found) <= 1, f"{route}: step {k} made {len(found)} host transfers: {found}"
        if found:
            assert found[0][2] == ((k, 2),), f"{route}: step {k}'s transfer is not its check's read: {found}"
            reads += 1
    assert reads < len(ranges), f"{route}: the schedule checked every one of {len(ranges)} steps"


@pytest.mark.parametrize("route", list(ROUTES))
def test_transfers_at_most_checks_plus_a_constant(route):
    """The whole call reads the host once per check (a read of the (k, 2)
    scalars) plus a fixed number of times.  With a history the stopping test
    runs at every step and records one row per check (the Gram route's inner
    loop keeps no history: its checks are counted by their reads)."""
    A, r, log, ranges = _run(route, return_history=True)
    reads = [e for e in log.events if e[0] == "transfer"]
    checks = [e for e in reads if len(e[2]) == 1 and len(e[2][0]) == 2 and e[2][0][1] == 2]
    others = len(reads) - len(checks)
    allowed = FIXED_TRANSFERS.get(route, 2)
    assert others <= allowed, (
        f"{route}: {others} host transfers besides {len(checks)} checks (allowed {allowed}): {reads}")
    if route != "gram":
        assert len(checks) == len(r.history), f"{route}: {len(checks)} check reads, {len(r.history)} checks"


@pytest.mark.parametrize("route", list(ROUTES))
def test_array_calls_per_step(route):
    A, r, log, ranges = _run(route)
    budget = OPS_PER_STEP[route]
    # not counted: a check's slice of the scalars (with its read), and a
    # basis' growth by doubling (an allocation and a copy, amortized)
    per_step = [log.count("op", a, b) - log.count("transfer", a, b)
                - 2 * sum(1 for e in log.events[a:b] if e[1] == "zeros") for a, b in ranges[:-1]]
    assert max(per_step) <= budget, f"{route}: array calls per step {per_step} exceed the budget {budget}"


FAMILIES = {"gaussian": {}, "low_rank": {}, "gap": {"delta": 1e-2}, "identity": {}}


@pytest.mark.parametrize("normal", [False, True])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_same_answer_as_the_host_loop(family, normal):
    """The device loop (array-api-strict) and NumPy's host loop run the same
    iteration: the same steps and verdict (an exhausted Krylov space, which
    the device loop finds in its scalars, says so in the message) and the
    same Ritz values up to rounding, checked at every step."""
    xps = backends.namespace("array_api_strict")
    ks = matrices.make(family, 90, 60, seed=3, **FAMILIES[family])
    tol = 1e-10
    host = lb.spectral_norm(ks.matrix, method="lanczos", tol=tol, seed=2, normal=normal, return_history=True)
    dev = lb.spectral_norm(xps.asarray(ks.matrix), method="lanczos", tol=tol, seed=2, normal=normal,
                           return_history=True)
    where = f"family={family} normal={normal}"
    truth = matrices.reference_norm(ks.matrix)
    assert_certified(dev, truth, tol, ks.matrix, where)
    assert (dev.iterations, dev.converged, dev.notes) == (host.iterations, host.converged, host.notes), (
        f"{where}: device loop {dev.iterations} steps (converged={dev.converged}: {dev.message!r}), "
        f"host loop {host.iterations} (converged={host.converged}: {host.message!r})")
    # Golub-Kahan is Lanczos on [[0, A], [A^T, 0]] (order m + n, norm sigma): two runs' Ritz values
    # each within an eigensolver's backward error of the same exact one
    slack = 2 * eigh_atol("float64", sum(ks.matrix.shape), truth)
    for h, d in zip(host.history, dev.history):
        assert abs(h.estimate - d.estimate) <= slack, (
            f"{where}: step {h.iteration}: host theta {h.estimate!r}, device theta {d.estimate!r}")


class _LaggedReader:
    """A reader whose reads land only after ``polls`` unanswered polls, as a
    GPU's asynchronous copy would (the loop must wait for it only when
    forced)."""

    lagged = True

    def __init__(self, polls: int):
        self.polls, self.k, self.left, self.host = polls, None, 0, None

    def request(self, scal, k):
        self.k, self.left = k, self.polls
        self.host = np.array(backends.to_numpy(scal[:k, :]), dtype=np.float64)

    def ready(self):
        self.left -= 1
        return self.left < 0

    def take(self):
        k, self.k = self.k, None
        return k, self.host


@pytest.mark.parametrize("polls", [1, 5])
@pytest.mark.parametrize("normal", [False, True])
def test_lagged_check(monkeypatch, normal, polls):
    """A check that resolves steps after its own step answers from its step.
    Resolved one step late (every read in flight one poll), the checks run at
    the same steps as immediate ones, so the answer is the same to the last
    bit; later, the check is waited for MAX_LAG steps on.  Either way the
    steps run past the answer are counted in the products and named in the
    message."""
    xps = backends.namespace("array_api_strict")
    A0 = matrices.gaussian(120, 80, seed=4).matrix
    A = xps.asarray(A0)
    tol = 1e-9
    kw = dict(method="lanczos", tol=tol, seed=1, normal=normal)
    now = lb.spectral_norm(A, **kw)
    monkeypatch.setattr(lanczos_device, "reader_for", lambda op, rows, dt: _LaggedReader(polls))
    late = lb.spectral_norm(A, **kw)
    assert late.converged, late.message
    assert_certified(late, matrices.reference_norm(A0), tol, A0, f"polls={polls}")
    if polls == 1:
        assert (late.value, late.lower, late.iterations) == (now.value, now.lower, now.iterations)
    extra = (late.matvecs - 2 * late.iterations) - (now.matvecs - 2 * now.iterations)
    assert 0 < extra <= 2 * lanczos_device.MAX_LAG, f"{extra} products past the answer (polls={polls})"
    assert [n["steps"] for n in said(late, "lagged-steps")] == [extra // 2], late.notes
