"""The benchmark grid: method x backend x shape x dtype x spectrum x target tolerance.

The grid is the same on every machine.  A case outside the chosen profile
(``benchmarks/profiles.py``), or one that cannot run here, is skipped with a
reason, never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

from lipbench.benchmark_meta import BASELINES, TOL_INDEPENDENT

#: ``auto+certify`` is ``spectral_norm(A, certify=True)``: auto's estimate and its certificate.
#: Every estimator name of the lipbench.METHODS contract, in a fixed order; names
#: lipbench adds later are appended at collection time (same code on every machine).
CORE_METHODS = ("auto", "auto+certify", "svd", "power", "lanczos", "arpack", "propack", "lobpcg", "cupy-eigsh",
                "interpolative", "randomized", "gram")
#: O(mn min(m, n)) dense methods: on the 100 000^2 sparse operator they would need 80 GB.
DENSE_ONLY = frozenset({"svd", "gram", "numpy.linalg.norm"})

BACKENDS = ("numpy", "cupy")
SPARSE_N = 100_000
SPARSE_BLOCK = 10  # 10 000 blocks of 10 x 10: 10^6 non-zeros
SPARSE_SHAPE = f"sparse{SPARSE_N}"
SHAPES = (
    ("256x256", 256, 256),
    ("1024x1024", 1024, 1024),
    ("2048x2048", 2048, 2048),
    ("4096x4096", 4096, 4096),
    ("8192x1024", 8192, 1024),      # tall
    ("1024x8192", 1024, 8192),      # wide
    (SPARSE_SHAPE, SPARSE_N, SPARSE_N),
    ("8192x8192", 8192, 8192),
    ("16384x16384", 16384, 16384),
)
DTYPES = ("float64", "float32")
#: The grid's spectra, by the labels its rows carry (benchmarks/spectra.py builds them).
FAMILIES = ("gaussian", "gap0.99", "nn_like")
TOLS = (1e-3, 1e-6)
INPUT_SEED = 0
METHOD_SEED = 1


def all_methods() -> tuple[str, ...]:
    """:data:`CORE_METHODS`, then any other name in ``lipbench.METHODS``, then the baselines."""
    try:
        import lipbench

        extra = tuple(sorted(set(getattr(lipbench, "METHODS", {})) - set(CORE_METHODS)))
    except Exception:  # the library is broken: every case will say so when it runs
        extra = ()
    return CORE_METHODS + extra + BASELINES


@dataclass(frozen=True)
class Case:
    method: str
    backend: str
    shape: str
    m: int
    n: int
    dtype: str
    family: str
    tol: float

    @property
    def sparse(self) -> bool:
        return self.shape.startswith("sparse")

    @property
    def id(self) -> str:
        return f"{self.backend}-{self.shape}-{self.dtype}-{self.family}-{self.tol:g}-{self.method}"


def grid() -> list[Case]:
    """The whole grid, ordered so that cases sharing an input run together."""
    cases = []
    for shape, m, n in SHAPES:
        for backend in BACKENDS:
            for dtype in DTYPES:
                for family in FAMILIES:
                    for tol in TOLS:
                        for method in all_methods():
                            cases.append(Case(method, backend, shape, m, n, dtype, family, tol))
    return cases


def tol_independent_skip(case: Case) -> str | None:
    """Why ``case`` is skipped in every profile: a method that does not depend
    on tol is timed once, at the finest tolerance (None: not such a case)."""
    if case.method in TOL_INDEPENDENT and case.tol != min(TOLS):
        return f"{case.method} does not depend on tol: timed once, at tol={min(TOLS):g}"
    return None


def work_of(case: Case, nnz: int | None) -> float:
    """A size measure the cost of ``case.method`` grows about linearly with."""
    if case.method in DENSE_ONLY or case.method == "svd":
        return float(case.m) * case.n * min(case.m, case.n)
    return float(nnz if nnz is not None else case.m * case.n)


__all__ = ["BACKENDS", "BASELINES", "CORE_METHODS", "Case", "DENSE_ONLY", "DTYPES", "FAMILIES",
           "INPUT_SEED", "METHOD_SEED", "SHAPES", "SPARSE_BLOCK", "SPARSE_N", "SPARSE_SHAPE", "TOLS",
           "TOL_INDEPENDENT", "all_methods", "grid", "tol_independent_skip", "work_of"]
