"""The Gram route of conv_operator_norm: its time by phase, and the upper ends past its size.

Run:  python -m benchmarks.studies.conv_gram [--reps 3]

Part 1: for real layer sizes (zeros padding 1, Gaussian kernels, seed 0) the
median seconds of ``conv_operator_norm(..., certify=True)`` over ``reps``
rounds, its bracket, and one round of each phase (the Gram assembly, ARPACK's
top pair, one Rump test).  Part 2: past ``GRAM_MAX_SIDE``, the upper ends
available, relative to a proven lower end: the Gram route's bracket on a
smaller input (zeros padding, stride 1: the small operator is a
submatrix of the large one, so its lower end is one for the large one too),
against ``conv_upper_bound`` (proven), the circular embedding's upper end
with calibrated DFT constants (``embedding_upper``, not a proof) and the same
embedding with every rounding proven (``proven_embedding_upper``, the upper
end ``certify=True`` takes there), with its seconds.  Part 3: strided
convolutions past ``GRAM_MAX_SIDE``: ``conv_operator_norm(..., stride=2,
certify=True)``'s proven bracket (the Lanczos vector's lower end; the upper
end, named, the smaller of ``conv_upper_bound`` and the proven polyphase
embedding) beside ``conv_upper_bound`` alone (the upper end before the
polyphase form).  ``--part 1``, ``2`` or ``3`` runs one part.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lipbench.lipschitz import conv_geometry, conv_operator, conv_operator_norm, conv_upper_bound
from lipbench.lipschitz.conv_embedding import proven_embedding_upper
from lipbench.lipschitz.conv_fft import embedding_upper
from lipbench.lipschitz.conv_gram import assemble_gram, gram_rounding, gram_side
from lipbench.testing import rounding

LAYERS = (((16, 3, 3, 3), 32), ((64, 64, 3, 3), 8), ((64, 32, 3, 3), 16), ((32, 32, 3, 3), 16))
#: (kernel, input side, the smaller input side whose Gram route gives the lower end)
PAST = (((16, 3, 3, 3), 64, 32), ((64, 64, 3, 3), 32, 8), ((128, 64, 3, 3), 16, 8))
#: (kernel, input side) of stride-2 layers past the Gram route's size
STRIDED = (((32, 16, 3, 3), 64), ((64, 32, 3, 3), 32), ((128, 64, 3, 3), 32))


def _phases(W: np.ndarray, n: int) -> tuple[float, float, float]:
    """Seconds of one assembly, one ARPACK top pair and one Rump test (Cholesky)."""
    from scipy.linalg import lapack
    from scipy.sparse.linalg import LinearOperator, eigsh

    g = conv_geometry(W, (n, n), padding=1)
    side, size = gram_side(g)
    op = conv_operator(g, ())
    normal = LinearOperator((size, size), matvec=lambda x: op.rmatvec(op.matvec(x)), dtype=np.float64)
    t0 = time.perf_counter()
    G = assemble_gram(g, 0, side)
    t1 = time.perf_counter()
    lam = eigsh(normal, k=1, which="LA", tol=1e-10, v0=np.ones(size))[0][0]  # as the route: through the convolution
    t2 = time.perf_counter()
    M = np.array(-G.T, order="F")
    np.fill_diagonal(M, lam * (1 + 1e-8) - np.diagonal(G) - gram_rounding(g))
    lapack.dpotrf(M, lower=0, clean=0, overwrite_a=1)
    return t1 - t0, t2 - t1, time.perf_counter() - t2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--part", type=int, choices=(1, 2, 3), default=None)
    args = ap.parse_args()
    if args.part in (None, 1):
        _layers(args.reps)
    if args.part in (None, 2):
        _past()
    if args.part in (None, 3):
        _strided()


def _layers(reps: int) -> None:
    rng = np.random.default_rng(0)
    print("| kernel | input | Gram side | median s | assembly / eigsh / Cholesky s | bracket (rel. width) "
          "| certified |")
    print("|---|---|---|---|---|---|---|")
    for shape, n in LAYERS:
        W = rng.standard_normal(shape)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            r = conv_operator_norm(W, (n, n), padding=1, certify=True, seed=0)
            times.append(time.perf_counter() - t)
        side, size = gram_side(conv_geometry(W, (n, n), padding=1))
        ph = " / ".join(f"{x:.2f}" for x in _phases(W, n))
        print(f"| {shape} | {shape[1]}x{n}x{n} | {side} {size} | {statistics.median(times):.2f} | {ph} | "
              f"[{r.lower:.10g}, {r.upper:.10g}] ({r.relative_width:.2g}) | {r.certified} |")


def _past() -> None:
    rng = np.random.default_rng(1)
    print("| kernel | input | proven lower (Gram route, smaller input) | conv_upper_bound | "
          "circular embedding (calibrated) | circular embedding (proven) | its s |")
    print("|---|---|---|---|---|---|---|")
    for shape, n, small in PAST:
        W = rng.standard_normal(shape)
        lower = conv_operator_norm(W, (small, small), padding=1, certify=True, seed=0).lower
        g = conv_geometry(W, (n, n), padding=1)
        bound = conv_upper_bound(g, g.in_spatial)
        embedded = embedding_upper(g)[0]
        t = time.perf_counter()
        proven = proven_embedding_upper(g, 1e-8)[0]
        seconds = time.perf_counter() - t
        rel = [float(rounding.up(x / lower - 1)) for x in (bound, embedded, proven)]
        print(f"| {shape} | {shape[1]}x{n}x{n} | {lower:.10g} | {bound:.10g} (+{rel[0]:.2g}) | "
              f"{embedded:.10g} (+{rel[1]:.2g}) | {proven:.10g} (+{rel[2]:.2g}) | {seconds:.1f} |")



def _strided() -> None:
    rng = np.random.default_rng(2)
    print("| kernel | input, stride 2 | proven bracket (rel. width) | upper end from | conv_upper_bound (rel. width) "
          "| certified | s |")
    print("|---|---|---|---|---|---|---|")
    for shape, n in STRIDED:
        W = rng.standard_normal(shape)
        t = time.perf_counter()
        r = conv_operator_norm(W, (n, n), stride=2, padding=1, certify=True, seed=0)
        seconds = time.perf_counter() - t
        g = conv_geometry(W, (n, n), stride=2, padding=1)
        bound = conv_upper_bound(g, g.in_spatial)
        source = next(note["upper_from"] for note in r.notes if note.code == "conv-certify-ends")
        print(f"| {shape} | {shape[1]}x{n}x{n} | [{r.lower:.10g}, {r.upper:.10g}] ({r.relative_width:.2g}) | "
              f"{source} | {bound:.10g} ({float(rounding.up(bound / r.lower - 1)):.2g}) | {r.certified} | "
              f"{seconds:.1f} |")


if __name__ == "__main__":
    main()
