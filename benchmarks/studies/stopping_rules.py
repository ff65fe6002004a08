"""Stopping rules for Lanczos on A^T A, replayed step by step.

    python -m benchmarks.studies.stopping_rules [--n 512]

For each spectrum, the step at which each rule would stop at tol=1e-6 and the
true relative error of the Ritz value there:

* oracle: the first step whose true error is <= tol (needs the answer);
* linear: the residual bound ``||r|| / (2 theta^2)`` that lipbench stops on
  (some singular value lies that close to theta);
* quadratic: the Ritz-gap estimate ``||r||^2 / (2 theta^2 (theta_1^2 -
  theta_2^2))`` (PROPACK-style refinement): fewer steps, but an estimate --
  it trusts the second Ritz value to stand for sigma_2, which fails while a
  close second singular value is not yet resolved.

The Lanczos recurrence here is plain NumPy (full reorthogonalization, float64)
so that every Ritz value is visible; it runs the same Krylov space as
``lipbench.spectral_norm(A, method="lanczos", normal=True)``.  What it found:
docs/studies/stopping_rules.md.
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.linalg import eigh_tridiagonal

from benchmarks.spectra import SPECTRA as _ALL_SPECTRA

TOL = 1e-6
SPECTRA = tuple(_ALL_SPECTRA[label] for label in ("gaussian", "gap", "gap1e-4", "gap1e-6", "geometric", "nn_like"))


def replay(A: np.ndarray, sigma_max: float, steps: int, seed: int = 1) -> list[tuple[int, float, float, float]]:
    """(step, true relative error, linear bound, quadratic estimate) per step."""
    n = A.shape[1]
    v = np.random.default_rng(seed).standard_normal(n)
    v /= np.linalg.norm(v)
    basis, alphas, betas, rows = [v], [], [], []
    for k in range(1, min(steps, n) + 1):
        w = A.T @ (A @ v)
        a = v @ w
        w = w - a * v - (betas[-1] * basis[-2] if k > 1 else 0.0)
        Q = np.array(basis)
        for _ in range(2):
            w = w - Q.T @ (Q @ w)
        b = float(np.linalg.norm(w))
        alphas.append(a)
        betas.append(b)
        lam = eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]))[0]
        y_last = abs(eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]), select="i",
                                      select_range=(k - 1, k - 1))[1][-1, 0])
        top = lam[-1]
        r = b * y_last
        linear = r / (2 * top)
        quad = r * r / (2 * top * (top - lam[-2])) if k > 1 and top > lam[-2] else np.inf
        rows.append((k, (sigma_max - np.sqrt(top)) / sigma_max, linear, quad))
        if b <= 1e-300:
            break
        v = w / b
        basis.append(v)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=512, help="matrix side (default 512)")
    parser.add_argument("--steps", type=int, default=250)
    args = parser.parse_args()
    print(f"| spectrum ({args.n}^2) | oracle | linear: steps | linear: true error | quadratic: steps "
          f"| quadratic: true error |")
    print("|---|---|---|---|---|---|")
    for spectrum in SPECTRA:
        ks = spectrum.make(args.n, args.n, seed=0)
        rows = replay(ks.matrix, ks.sigma_max, args.steps)

        def first(col: int, rows: list = rows) -> tuple[str, str]:
            hit = next((r for r in rows if r[col] <= TOL), None)
            return ("-", "-") if hit is None else (str(hit[0]), f"{hit[1]:.1e}")

        oracle, _ = first(1)
        print(f"| {spectrum.label} | {oracle} | {' | '.join(first(2))} | {' | '.join(first(3))} |")


if __name__ == "__main__":
    main()
