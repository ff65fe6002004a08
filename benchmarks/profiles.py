"""The benchmark profiles as data: what each one runs of every suite, and its time budget.

``--lipbench-size=NAME`` (or ``LIPBENCH_SIZE``) picks one; ``quick`` is the
default.  The grid is the same in every profile: a case a profile leaves out
is skipped with the reason given here, never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from benchmarks.grid import SPARSE_SHAPE, Case, tol_independent_skip


def _frozen(values: Iterable | None) -> frozenset | None:
    return None if values is None else frozenset(values)


@dataclass(frozen=True)
class Slice:
    """The grid cases whose every given field takes one of the listed values
    (a field left at None: any value)."""

    shapes: frozenset[str] | None = None
    dtypes: frozenset[str] | None = None
    families: frozenset[str] | None = None
    tols: frozenset[float] | None = None
    methods: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for name in ("shapes", "dtypes", "families", "tols", "methods"):
            object.__setattr__(self, name, _frozen(getattr(self, name)))

    def __contains__(self, case: Case) -> bool:
        return ((self.shapes is None or case.shape in self.shapes)
                and (self.dtypes is None or case.dtype in self.dtypes)
                and (self.families is None or case.family in self.families)
                and (self.tols is None or case.tol in self.tols)
                and (self.methods is None or case.method in self.methods))


@dataclass(frozen=True)
class Exclusion:
    """Grid cases a profile leaves out although a broader rule would run them.
    ``reason`` is formatted with ``profile`` (the profile's name) and ``case``."""

    cases: Slice
    reason: str


@dataclass(frozen=True)
class Profile:
    name: str
    #: shown by ``pytest benchmarks --help``
    summary: str
    #: seconds of timed rounds per grid case, and the most rounds a case gets
    budget_seconds: float
    max_rounds: int
    #: the grid cases it runs (None: every one) ...
    grid: tuple[Slice, ...] | None
    #: ... less these, checked first
    exclusions: tuple[Exclusion, ...]
    #: why any other grid case is skipped
    left_out: str
    #: error-vs-cost curves (test_convergence.py) run at these shapes (None: all)
    curve_shapes: frozenset[str] | None
    #: ``auto`` on every matrix family (test_targets.py) runs at these sides (None: all)
    auto_accuracy_sides: frozenset[int] | None
    #: (count, side) of the stack of small matrices (test_targets.py)
    batched_stack: tuple[int, int]
    #: (m, n, steps) of the drifting weight (test_training.py)
    training: tuple[int, int, int]
    #: auto against SciPy's and PyTorch's solvers at their best, at one thread and all (test_rivals.py), on
    #: these inputs (a grid shape, ``-float32`` for its float32 rounding)
    rival_inputs: frozenset[str] = frozenset()


#: shapes that only the full profile runs
FULL_ONLY_SHAPES = ("8192x8192", "16384x16384")
_FULL_ONLY = Exclusion(Slice(shapes=FULL_ONLY_SHAPES),
                       "not in {profile} profile: {case.shape} runs with --lipbench-size=full")
_HEADLINE_SIDES = ("2048x2048", "4096x4096")
#: the inputs of the speed targets against SciPy's and PyTorch's solvers at their best
_RIVAL_INPUTS = frozenset({"2048x2048", "4096x4096", "8192x1024", "1024x8192",
                           "2048x2048-float32", "4096x4096-float32"})
_QUICK_SPARSE = dict(shapes={SPARSE_SHAPE}, dtypes={"float64"}, families={"gaussian"}, tols={1e-3})

TINY = Profile(
    name="tiny", summary="self-test", budget_seconds=0.05, max_rounds=3,
    grid=(Slice(shapes={"256x256"}, dtypes={"float64"}, families={"gaussian"}, tols={1e-6}),),
    exclusions=(_FULL_ONLY,),
    left_out="not in tiny profile (256x256 float64 gaussian at 1e-6 only)",
    curve_shapes=frozenset(),
    auto_accuracy_sides=frozenset({1024}),
    batched_stack=(32, 64),
    training=(256, 256, 10),
    rival_inputs=frozenset({"256x256", "256x256-float32"}),
)

#: methods the quick profile times at the headline sizes, tall, wide and sparse: auto, the methods it
#: chooses between, and the references its targets name.  The others run with --lipbench-size=full:
#: power, gram, randomized and lobpcg take seconds to minutes there and win nowhere on a CPU,
#: interpolative misses the target, and svd is numpy.linalg.norm's SVD through lipbench.
_QUICK_METHODS = ("auto", "lanczos", "arpack", "propack", "cupy-eigsh", "numpy.linalg.norm",
                  "scipy.sparse.linalg.svds")
#: ... and at 256^2 and 1024^2, where the report's per-regime tables cover every spectrum (power,
#: gram and randomized are timed there head to head, benchmarks/test_head_to_head.py)
_QUICK_SMALL = _QUICK_METHODS + ("lobpcg", "interpolative")

QUICK = Profile(
    name="quick", summary="default, about 7 min on 2 CPU cores, 9 with torch", budget_seconds=0.6, max_rounds=15,
    grid=(
        Slice(shapes={"256x256", "1024x1024"}, methods=_QUICK_SMALL),  # every spectrum, dtype and tol
        # the headline: float64 Gaussian at 1e-6 ...
        Slice(shapes=_HEADLINE_SIDES, dtypes={"float64"}, families={"gaussian"}, tols={1e-6},
              methods=_QUICK_METHODS),
        # ... and its float32 counterpart: auto against its references
        Slice(shapes=_HEADLINE_SIDES, families={"gaussian"}, tols={1e-6},
              methods={"auto", "lanczos", "scipy.sparse.linalg.svds", "propack"}),
        # tall and wide: auto's targets against numpy.linalg.norm
        Slice(shapes={"8192x1024", "1024x8192"}, dtypes={"float64"}, families={"gaussian"}, tols={1e-6},
              methods=_QUICK_METHODS),
        Slice(**_QUICK_SPARSE, methods={"auto", "lanczos", "arpack", "scipy.sparse.linalg.svds"}),
    ),
    exclusions=(_FULL_ONLY,),
    left_out="not in quick profile (it times auto, the methods it chooses between and its references at "
             "the headline sizes; run everything with --lipbench-size=full)",
    curve_shapes=frozenset({"1024x1024"}),
    auto_accuracy_sides=frozenset({1024}),
    batched_stack=(512, 64),
    training=(512, 512, 30),
    rival_inputs=_RIVAL_INPUTS,
)

FULL = Profile(
    name="full", summary="all sizes, for GPUs", budget_seconds=2.0, max_rounds=30,
    grid=None, exclusions=(), left_out="",
    curve_shapes=None, auto_accuracy_sides=None, batched_stack=(512, 64), training=(2048, 2048, 50),
    rival_inputs=_RIVAL_INPUTS,
)

PROFILES: dict[str, Profile] = {p.name: p for p in (TINY, QUICK, FULL)}
DEFAULT = "quick"


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown benchmark profile {name!r}; known: {', '.join(PROFILES)}") from None


def skip_reason(case: Case, profile: str) -> str | None:
    """Why grid ``case`` is not run in ``profile`` (None: it runs)."""
    reason = tol_independent_skip(case)
    if reason:
        return reason
    p = get(profile)
    for ex in p.exclusions:
        if case in ex.cases:
            return ex.reason.format(profile=p.name, case=case)
    if p.grid is None or any(case in s for s in p.grid):
        return None
    return p.left_out


def elsewhere(what: str, profile: str, runs_in: Callable[[Profile], bool]) -> str:
    """The skip reason for a part of a suite that ``profile`` leaves out
    (``what``: "curves at 4096x4096 run"); ``runs_in(p)`` says whether
    profile ``p`` runs it."""
    names = [p.name for p in PROFILES.values() if runs_in(p)]
    return f"not in {profile} profile: {what} with --lipbench-size={' or '.join(names)}"


__all__ = ["DEFAULT", "Exclusion", "FULL", "FULL_ONLY_SHAPES", "PROFILES", "Profile", "QUICK", "Slice",
           "TINY", "elsewhere", "get", "skip_reason"]
