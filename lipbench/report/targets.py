"""Step 3 of the report: the targets of ``method="auto"``, as data, and their verdicts.

:data:`TARGETS` is the one table of what ``auto`` is held to: each row names
what is judged (``target``), the bound (``threshold``), what it is compared
with (``reference``) and on which input (``regime``).  :func:`targets_table`
judges every row against the saved runs, per machine and backend.  Speed
targets are ratios of medians measured side by side in one run: each takes the
newest run holding ``auto`` on its input, and its references from that same
run.

Regimes are written ``"<shape> <dtype> <family> tol=<tol>"`` for one input of
the grid, ``"grid"`` for every regime of it, ``"auto_accuracy"`` for the
accuracy sweep over every spectrum family, and ``"training <strategy>"`` for
the training-like scenario.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .compare import TOL_INDEPENDENT
from .formatting import STALE, fmt_code, fmt_err, fmt_time
from .implementations import TORCH_JUDGES
from .load import isnan
from .regimes import auto_regimes
from .rivals import RIVAL_JUDGES, rivals_target_rows

__all__ = ["Target", "TARGETS", "REFERENCE_LABELS", "targets_table"]


@dataclass(frozen=True)
class Target:
    """One target of ``method="auto"`` (see the module docstring for ``regime``)."""

    target: str  #: what is judged: one of the judges below
    threshold: float  #: the bound the measurement must meet
    reference: str  #: the method auto is compared with ("" when none)
    regime: str  #: the input, or the set of inputs, it is judged on


_2048 = "2048x2048 float64 gaussian tol=1e-6"
_4096 = "4096x4096 float64 gaussian tol=1e-6"
_2048_32 = "2048x2048 float32 gaussian tol=1e-6"
_4096_32 = "4096x4096 float32 gaussian tol=1e-6"

#: What ``auto`` is held to, in the order of the report's rows.  "faster than":
#: median(reference) / median(auto) >= threshold (a threshold of 1: strictly
#: faster); "time / ... floor": auto's time over (its matvecs x the time of one
#: product), at most threshold; "steps / theory": auto's Lanczos steps over the
#: gap-dependent estimate for its residual stopping rule; "picks the winner":
#: within threshold of the fastest method that met the target, in every regime.
TARGETS: tuple[Target, ...] = (
    # target                          threshold  reference                   regime
    Target("faster than",                  50.0, "numpy.linalg.norm",        _2048),
    Target("faster than",                   3.0, "propack",                  _2048),
    Target("faster than",                   1.0, "scipy.sparse.linalg.svds", _2048),
    Target("faster than",                   3.0, "lanczos",                  _2048),
    Target("time / matvec floor",           1.2, "",                         _2048),
    Target("steps / theory",                1.0, "",                         _2048),
    Target("time / work-dtype floor",       1.2, "",                         _2048),
    Target("rel. error",                   1e-6, "",                         _2048_32),
    Target("faster than",                  50.0, "numpy.linalg.norm",        _4096),
    Target("faster than",                   3.0, "propack",                  _4096),
    Target("faster than",                   1.0, "scipy.sparse.linalg.svds", _4096),
    Target("faster than",                   3.0, "lanczos",                  _4096),
    Target("time / matvec floor",           1.2, "",                         _4096),
    Target("steps / theory",                1.0, "",                         _4096),
    Target("time / work-dtype floor",       1.2, "",                         _4096),
    Target("rel. error",                   1e-6, "",                         _4096_32),
    Target("faster than",                   5.0, "numpy.linalg.norm",        "8192x1024 float64 gaussian tol=1e-6"),
    # certify=True: a certified bracket of width tol at a fraction of the full SVD's time
    Target("certified width",              1e-6, "",                         _2048),
    Target("certified, faster than",        4.0, "numpy.linalg.norm",        _2048),
    Target("certified width",              1e-6, "",                         _4096),
    Target("certified, faster than",        4.0, "numpy.linalg.norm",        _4096),
    Target("certified width",              1e-6, "",                         "8192x1024 float64 gaussian tol=1e-6"),
    Target("certified, faster than",        2.0, "numpy.linalg.norm",        "8192x1024 float64 gaussian tol=1e-6"),
    Target("faster than",                   5.0, "numpy.linalg.norm",        "1024x8192 float64 gaussian tol=1e-6"),
    # against SciPy's solvers at their best (benchmarks/test_rivals.py), at the default threads
    Target("faster than, rule-derived setting",        3.0, "each SciPy rival", _2048),
    Target("not slower than, luckiest setting",        1.0, "each SciPy rival", _2048),
    Target("faster than, all cores",                  50.0, "numpy.linalg.norm", _2048),
    Target("speed-up from threads",                    1.6, "auto at one thread", _2048),
    Target("faster than, rule-derived setting",        3.0, "each SciPy rival", _4096),
    Target("not slower than, luckiest setting",        1.0, "each SciPy rival", _4096),
    Target("faster than, all cores",                  50.0, "numpy.linalg.norm", _4096),
    Target("speed-up from threads",                    1.6, "auto at one thread", _4096),
    Target("faster than, best verified SciPy setting", 2.0, "every SciPy setting",
           "8192x1024 float64 gaussian tol=1e-6"),
    Target("faster than, best verified SciPy setting", 2.0, "every SciPy setting",
           "1024x8192 float64 gaussian tol=1e-6"),
    # against PyTorch on a tensor of the same data (benchmarks/test_rivals.py), at every thread setting
    Target("torch tensor, time / NumPy's",            1.15, "auto on NumPy, same data", _2048),
    Target("faster than, torch full SVD",             20.0, "torch.linalg.matrix_norm", _2048),
    Target("not slower than, torch luckiest setting",  1.0, "each torch rival", _2048),
    Target("torch tensor, time / NumPy's",            1.15, "auto on NumPy, same data", _2048_32),
    Target("faster than, torch full SVD",             20.0, "torch.linalg.matrix_norm", _2048_32),
    Target("not slower than, torch luckiest setting",  1.0, "each torch rival", _2048_32),
    Target("torch tensor, time / NumPy's",            1.15, "auto on NumPy, same data", _4096),
    Target("faster than, torch full SVD",             20.0, "torch.linalg.matrix_norm", _4096),
    Target("not slower than, torch luckiest setting",  1.0, "each torch rival", _4096),
    Target("torch tensor, time / NumPy's",            1.15, "auto on NumPy, same data", _4096_32),
    Target("faster than, torch full SVD",             20.0, "torch.linalg.matrix_norm", _4096_32),
    Target("not slower than, torch luckiest setting",  1.0, "each torch rival", _4096_32),
    Target("picks the winner",              1.1, "every method that met the target", "grid"),
    Target("rel. error, every family",     1e-6, "",                         "auto_accuracy"),
    Target("products per step",             2.0, "",                         "training power-1step-warm"),
    Target("tracking error after burn-in", 1e-3, "",                         "training power-1step-warm"),
)

#: how the report names each reference method in a target
REFERENCE_LABELS = {
    "numpy.linalg.norm": "numpy.linalg.norm(A, 2)",
    "propack": "svds(solver='propack'), kmax raised, same accuracy",
    "scipy.sparse.linalg.svds": "svds default (arpack)",
    "lanczos": "plain float64 lanczos (mixed precision gain)",
}


def _bound(x: float) -> str:
    """A threshold as a reader writes it: ``50``, ``1.2``, ``1e-6``."""
    if x >= 1e-2:
        return f"{x:g}"
    mantissa, exponent = f"{x:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _verdict(ok: Any, stale: bool = False) -> str:
    """``met`` / ``NOT met``; ``(STALE)`` added when the rows judged predate auto's rule today."""
    if ok is None:
        return ""
    return ("met" if ok else "NOT met") + (f" ({STALE})" if stale else "")


def _row_code(r: pd.Series) -> str:
    return fmt_code(r.get("code"), r.get("stale"), r.get("auto_rule"), r.get("backend"))


def _codes(g: pd.DataFrame) -> str:
    """The code cell of several rows: each distinct one, stale ones marked."""
    if g.empty or "code" not in g:
        return ""
    return "; ".join(dict.fromkeys(_row_code(r) for _, r in g.iterrows()))


@dataclass(frozen=True)
class _Input:
    """One input of the grid (``regime``) and what its newest ``auto`` run holds."""

    shape: str
    dtype: str
    family: str
    tol: float
    every: pd.DataFrame  # every run's rows of this input
    same_run: pd.DataFrame  # the rows of auto's run: references come from here only
    auto: pd.Series  # auto's row
    work_floor: float  # auto's matvecs x the time of one product in its work dtype
    work_dtype: str
    work_matvec_seconds: float

    @property
    def title(self) -> str:
        return f"{self.shape} {self.dtype} {self.family.capitalize()}"


def _parse_input(regime: str) -> tuple[str, str, str, float]:
    parts = regime.split()
    if len(parts) != 4 or not parts[3].startswith("tol="):
        raise ValueError(f"target regime {regime!r} is not '<shape> <dtype> <family> tol=<tol>'")
    return parts[0], parts[1], parts[2], float(parts[3][len("tol="):])


def _pick(d: pd.DataFrame, **eq: Any) -> pd.DataFrame:
    m = pd.Series(True, index=d.index)
    for k, v in eq.items():
        m &= d[k] == v
    return d[m]


def _latest_auto(h: pd.DataFrame, tol: float) -> pd.DataFrame:
    a = h[(h["method"] == "auto") & (h["tol"] == tol)]
    return a.sort_values(["datetime", "file"], na_position="first").tail(1)


def _median_time(d: pd.DataFrame, method: str, tol: float | None) -> float:
    """Median time of ``method`` in ``d`` at ``tol`` (any tolerance when None)."""
    rows = d[d["method"] == method]
    if tol is not None:
        rows = rows[rows["tol"] == tol]
    return float(rows["time_median"].median()) if not rows.empty else math.nan


def _input(g: pd.DataFrame, regime: str) -> _Input | None:
    """The newest run holding auto on ``regime`` in ``g`` (one machine and backend), or None."""
    shape, dtype, family, tol = _parse_input(regime)
    every = _pick(g, dtype=dtype, family=family, shape=shape)
    a = _latest_auto(every, tol)
    if a.empty:
        return None
    auto = a.iloc[0]
    mv, ms = auto.get("matvecs", math.nan), auto.get("matvec_seconds", math.nan)
    a32 = _latest_auto(_pick(g, dtype="float32", family=family, shape=shape), tol)
    ms32 = a32["matvec_seconds"].iloc[0] if not a32.empty and "matvec_seconds" in a32 else math.nan
    worked32 = "float32" in str(auto.get("options", ""))
    work_ms, work_dt = (ms32, "float32") if worked32 else (ms, dtype)
    # the products auto used, one by one, at this run's cost per product of its work dtype
    floor = float(mv) * float(work_ms) if pd.notna(mv) and mv > 0 and pd.notna(work_ms) else math.nan
    return _Input(shape, dtype, family, tol, every, every[every["run"] == auto["run"]], auto, floor, work_dt,
                  work_ms)


def _earlier_ratios(inp: _Input, ref: str, keep: int = 3) -> str:
    """``"; earlier runs: 46.75x (0005_normal), ..."`` -- the same ratio (reference
    median / auto median, both from one run) in the newest ``keep`` earlier runs
    holding both, so that run-to-run spread and older code stay in view."""
    h, ref_tol = inp.every, (None if ref in TOL_INDEPENDENT else inp.tol)
    out = []
    auto = h[(h["method"] == "auto") & (h["tol"] == inp.tol)]
    order = auto.sort_values(["datetime", "file"], na_position="first")["run"].drop_duplicates().tolist()
    for run in reversed(order):
        if run == inp.auto["run"]:
            continue
        hr = h[h["run"] == run]
        ta, tr = _median_time(hr, "auto", inp.tol), _median_time(hr, ref, ref_tol)
        if math.isfinite(ta) and math.isfinite(tr) and ta > 0:
            out.append(f"{tr / ta:.2f}x ({run})")
        if len(out) == keep:
            break
    return f"; earlier runs: {', '.join(out)}" if out else ""


# --------------------------------------------------------------------------- judges of one input
# each returns (target, measured, met, detail), or None where the run holds nothing to judge


def _faster_than(t: Target, inp: _Input) -> tuple | None:
    ref_tol = None if t.reference in TOL_INDEPENDENT else inp.tol
    tr = _median_time(inp.same_run, t.reference, ref_tol)
    if not math.isfinite(tr):
        return None
    ta, need = float(inp.auto["time_median"]), t.threshold
    ratio = tr / ta
    met = ratio >= need if need > 1 else ratio > 1
    limit = ""
    mv = inp.auto.get("matvecs")
    if not met and inp.work_floor > 0 and tr / need < inp.work_floor:
        # the target asks for less than the time of the products auto used, one by one
        limit = (f"; needs auto at <= {tr / need / inp.work_floor:.2f}x the {inp.work_dtype} matvec floor of "
                 f"this run ({int(mv)} matvecs x {fmt_time(inp.work_matvec_seconds)}; "
                 f"auto: {ta / inp.work_floor:.2f}x)")
    return (f"{inp.title}: auto >= {need:g}x faster than {REFERENCE_LABELS.get(t.reference, t.reference)}",
            f"{ratio:.2f}x", met,
            f"auto {fmt_time(ta)} (rel. error {fmt_err(float(inp.auto['rel_error']))}), reference {fmt_time(tr)}"
            + limit + _earlier_ratios(inp, t.reference))


def _matvec_floor(t: Target, inp: _Input) -> tuple | None:
    mv, ms = inp.auto.get("matvecs", math.nan), inp.auto.get("matvec_seconds", math.nan)
    if not (pd.notna(mv) and pd.notna(ms) and mv > 0 and ms > 0):
        return None
    ta, floor = float(inp.auto["time_median"]), float(mv) * float(ms)
    return (f"{inp.title}: auto time <= {t.threshold:g}x the matvec floor", f"{ta / floor:.2f}x",
            ta / floor <= t.threshold,
            f"{int(mv)} matvecs x {fmt_time(ms)} per {inp.dtype} product = {fmt_time(floor)}")


def _work_dtype_floor(t: Target, inp: _Input) -> tuple | None:
    if inp.work_dtype == inp.dtype or not inp.work_floor > 0:
        return None  # auto worked in the input's dtype: the matvec floor target covers it
    ta, mv = float(inp.auto["time_median"]), int(inp.auto["matvecs"])
    return (f"{inp.title}: auto time <= {t.threshold:g}x the {inp.work_dtype} matvec floor (its work dtype)",
            f"{ta / inp.work_floor:.2f}x", ta / inp.work_floor <= t.threshold,
            f"{mv} matvecs x {fmt_time(inp.work_matvec_seconds)} per {inp.work_dtype} product = "
            f"{fmt_time(inp.work_floor)}")


def _steps_against_theory(t: Target, inp: _Input) -> tuple | None:
    """Auto's Lanczos steps against what theory says Lanczos needs on that
    input's spectrum (the ``theory_steps`` the benchmark recorded, from
    ``lipbench.spectral.lanczos_steps_theory``); met when auto took no more
    than ``threshold`` x the gap-dependent estimate for its stopping rule."""
    steps, th, mv = inp.auto.get("iterations", math.nan), inp.auto.get("theory_steps"), inp.auto.get("matvecs")
    if not (isinstance(th, dict) and {"value", "residual"} <= set(th) and pd.notna(steps) and steps > 0):
        return None
    steps = int(steps)
    used = f"{steps} steps" + (f" ({int(mv)} matvecs)" if mv is not None and pd.notna(mv) else "")
    factor = "" if t.threshold == 1 else f"{t.threshold:g}x "
    return (f"{inp.title}: auto's Lanczos steps at {inp.tol:g} against theory (no more than {factor}the "
            "gap-dependent estimate for its residual stopping rule)",
            f"{used}: {steps / th['residual']:.2f}x the residual-rule estimate, {steps / th['value']:.2f}x the "
            "true-error estimate",
            steps <= t.threshold * th["residual"],
            f"Kaniel-Paige-Saad with a random start: {th['value']} steps until the Ritz value's error is within "
            f"tol, {th['residual']} until the residual bound auto stops on is; gap-free bounds: "
            f"Kuczynski-Wozniakowski {th['kw']} steps (failure probability {th['kw_failure_probability']:g}), "
            f"Musco & Musco block Krylov ln(n)/sqrt(2 tol) = {th['block_krylov']} iterations")


def _rel_error(t: Target, inp: _Input) -> tuple | None:
    e = float(inp.auto["rel_error"])
    return (f"{inp.title}: auto rel. error <= {_bound(t.threshold)}", fmt_err(e), e <= t.threshold,
            f"{fmt_time(float(inp.auto['time_median']))}")


def _certified_row(inp: _Input) -> pd.Series | None:
    """``auto+certify``'s row in auto's run (``spectral_norm(A, certify=True)``)."""
    c = inp.same_run[(inp.same_run["method"] == "auto+certify") & (inp.same_run["tol"] == inp.tol)]
    return None if c.empty else c.iloc[0]


def _certified_width(t: Target, inp: _Input) -> tuple | None:
    c = _certified_row(inp)
    if c is None:
        return None
    w, certified = c.get("relative_width"), c.get("certified")
    if w is None or isnan(w):
        return None
    ok = bool(certified) and float(w) <= t.threshold and bool(c.get("bracket_ok"))
    extra = float(c["time_median"]) / float(inp.auto["time_median"])
    return (f"{inp.title}: certify=True proves a bracket of relative width <= {_bound(t.threshold)}",
            f"{fmt_err(float(w))} ({c.get('certificate')})", ok,
            f"certified {bool(certified)}, bracket holds {bool(c.get('bracket_ok'))}; "
            f"{fmt_time(float(c['time_median']))}"
            f" = {extra:.2f}x the uncertified auto call of the same run")


def _certified_faster_than(t: Target, inp: _Input) -> tuple | None:
    c = _certified_row(inp)
    if c is None:
        return None
    ref_tol = None if t.reference in TOL_INDEPENDENT else inp.tol
    tr = _median_time(inp.same_run, t.reference, ref_tol)
    if not math.isfinite(tr):
        return None
    tc = float(c["time_median"])
    return (f"{inp.title}: certified auto >= {t.threshold:g}x faster than "
            f"{REFERENCE_LABELS.get(t.reference, t.reference)} (<= {1 / t.threshold:.2g}x its time)",
            f"{tr / tc:.2f}x", tr / tc >= t.threshold,
            f"certified auto {fmt_time(tc)}, reference {fmt_time(tr)}")


_INPUT_JUDGES: dict[str, Callable[[Target, _Input], tuple | None]] = {
    "certified width": _certified_width,
    "certified, faster than": _certified_faster_than,
    "faster than": _faster_than,
    "time / matvec floor": _matvec_floor,
    "time / work-dtype floor": _work_dtype_floor,
    "steps / theory": _steps_against_theory,
    "rel. error": _rel_error,
}


# --------------------------------------------------------------------------- the table

#: targets judged over many inputs at once (below), not one input of the grid
_OTHER_JUDGES = ("picks the winner", "rel. error, every family", "products per step",
                 "tracking error after burn-in")


def _one(targets: tuple[Target, ...], name: str) -> Target:
    found = [t for t in targets if t.target == name]
    if len(found) != 1:
        raise ValueError(f"the targets table must hold one {name!r} row, not {len(found)}")
    return found[0]


def _accuracy_rows(acc: pd.DataFrame, t: Target) -> list[dict]:
    rows = []
    for (machine, backend), g in acc.groupby(["machine", "backend"]):
        for (shape, dt), gg in g.groupby(["shape", "dtype"]):
            met = int((gg["rel_error"] <= t.threshold).sum())
            brk = int((gg["bracket_ok"] == True).sum())  # noqa: E712 - object column
            rows.append({"machine": machine, "backend": backend,
                         "target": f"{shape} {dt}: auto rel. error <= {_bound(t.threshold)} on every family, "
                                   "bracket holds",
                         "measured": f"{met}/{len(gg)} met, {brk}/{len(gg)} brackets hold",
                         "verdict": _verdict(met == len(gg) and brk == len(gg), bool(gg["stale"].any())),
                         "detail": f"worst rel. error {fmt_err(gg['rel_error'].max())}", "code": _codes(gg)})
    return rows


def _training_rows(d: pd.DataFrame, per_step: Target, tracking: Target) -> list[dict]:
    strategy = per_step.regime.split()[1]
    rows = []
    tr = d[(d["kind"] == "training") & (d["method"].astype(str).str.contains(strategy))]
    for _, r in tr.iterrows():
        products, what = r.get("matvecs_per_step_after_first"), "products/step after step 0"
        if products is None or isnan(products):  # older runs: the average over all steps
            products = float(r["matvecs"]) / float(r["steps"]) if r["steps"] else math.nan
            what = "products/step (all steps, cold step 0 included)"
        products = float(products)
        ok = products <= per_step.threshold and float(r["max_tracking_error_after_burn_in"]) <= tracking.threshold
        rows.append({"machine": r["machine"], "backend": r["backend"],
                     "target": "training: warm power (converged once, then 1 step per update), "
                               f"<= {_bound(per_step.threshold)} products per step at <= "
                               f"{_bound(tracking.threshold)} tracking error",
                     "measured": f"{products:.2f} {what}, max error after burn-in "
                                 f"{fmt_err(r['max_tracking_error_after_burn_in'])}",
                     "verdict": _verdict(ok), "detail": f"{int(r['steps'])} steps, {r['shape']}",
                     "code": _row_code(r)})
    return rows


def targets_table(d: pd.DataFrame, targets: tuple[Target, ...] = TARGETS) -> pd.DataFrame:
    """Judge ``targets`` (default :data:`TARGETS`) per machine and backend: one
    row each with the target, the measurement, ``met`` / ``NOT met`` and the
    detail.  Pass every run, not only the latest rows: each target takes the
    newest run holding ``auto`` for its input, and its references from that
    same run (the detail adds the same ratio from up to three earlier runs).
    ``code`` names the commit of the rows judged; a verdict on rows measured
    under an older rule of auto than today's reads ``met (STALE)`` or
    ``NOT met (STALE)``."""
    known = [*_INPUT_JUDGES, *_OTHER_JUDGES, *RIVAL_JUDGES, *TORCH_JUDGES]
    unknown = {t.target for t in targets} - set(known)
    if unknown:
        raise ValueError(f"no judge for target(s) {sorted(unknown)}; known: {sorted(known)}")
    rows: list[dict] = []
    spec = d[d["kind"] == "spectral"]
    for (machine, backend), g in spec.groupby(["machine", "backend"]):
        inputs: dict[str, _Input | None] = {}
        for t in targets:
            if t.target not in _INPUT_JUDGES:
                continue
            if t.regime not in inputs:
                inputs[t.regime] = _input(g, t.regime)
            inp = inputs[t.regime]
            judged = None if inp is None else _INPUT_JUDGES[t.target](t, inp)
            if inp is not None and judged is not None:
                target, measured, ok, detail = judged
                auto = inp.auto
                rows.append({"machine": machine, "backend": backend, "target": target, "measured": measured,
                             "verdict": _verdict(ok, bool(auto.get("stale"))), "detail": detail,
                             "code": _row_code(auto)})
    rows += rivals_target_rows(d, targets)
    rows += rivals_target_rows(d, targets, TORCH_JUDGES, every_thread_count=True)
    names = {t.target for t in targets}
    if "picks the winner" in names:
        rows += auto_regimes(spec, d[d["kind"] == "head_to_head"], _one(targets, "picks the winner").threshold)
    if "rel. error, every family" in names:
        rows += _accuracy_rows(d[d["kind"] == "auto_accuracy"], _one(targets, "rel. error, every family"))
    if {"products per step", "tracking error after burn-in"} <= names:
        rows += _training_rows(d, _one(targets, "products per step"), _one(targets, "tracking error after burn-in"))
    return pd.DataFrame(rows, columns=["machine", "backend", "target", "measured", "verdict", "detail", "code"])
