"""PyTorch's sigma_max functions as an ML user would run them, on a tensor made
from the benchmark's NumPy input (``torch.from_numpy``: the same data).

* ``torch.linalg.matrix_norm(A, 2)``: a full SVD, the exact reference.
* ``torch.svd_lowrank(A, q, niter)``: randomized subspace iteration.  Rule (a):
  the docs' q for a rank-k approximation ("k + 5..10") at k = 1, q = 6 (the
  default), and niter doubled from its default 2 until two successive
  estimates agree to the target -- the estimate's own word, not the answer.
  The doubling stops once its calls have cost more than the full SVD on the
  same tensor: past that a user would have had the exact answer.
* ``torch.lobpcg(A.T @ A, k=1, tol, niter)``: LOBPCG on the Gram matrix, formed
  inside the timed call (``torch.lobpcg`` takes a tensor, not an operator).
  Rule (a): its test ``|r| / ((|G| + theta) |x|) <= tol`` bounds the relative
  error of theta = sigma^2 by 2 tol, so of sigma by tol: tol = the target, but
  never below torch's documented default ``eps ** 0.5`` (float32 stalls above
  1e-6).  The docs' niter=-1 ("until convergence") becomes 10 x the side, so
  that a stalled run ends; a tracker reads its steps and whether it converged.
* the power iteration of ``torch.nn.utils.parametrizations.spectral_norm``:
  u, v from normalised normal draws, then per step ``u = normalize(W v)``,
  ``v = normalize(W^T u)``, and sigma = ``u . (W v)`` -- 15 steps when the
  parametrization is registered, 1 per training step.  Fixed work, no target:
  never "met".
* ``lipbench.spectral_norm(tensor)``: auto on the tensor itself.

Setting (b) of svd_lowrank and lobpcg is the luckiest verified setting of a
small grid (:func:`search_settings`), found like SciPy's
(:func:`benchmarks.rivals.search`).  Every call seeds torch's generator
(:data:`benchmarks.grid.METHOD_SEED`) and synchronises a CUDA device before it
returns.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.rivals import search
from benchmarks.runners import Outcome
from benchmarks.turns import Contender
from lipbench.timing import limit_threads

RIVALS = ("svd_lowrank", "lobpcg")
#: the SN power iteration's step counts: the registration's 15 and a training step's 1
SN_STEPS = (1, 15)


def torch_or_reason() -> tuple[Any, str]:
    """(the torch module, "") when it imports, else (None, why)."""
    try:
        import torch
    except ImportError as exc:
        return None, f"torch is not installed ({exc}); pip install -e '.[torch]' adds its rows"
    return torch, ""


def devices(torch: Any) -> list[str]:
    """``cpu``, and ``cuda`` where a small allocation on it succeeds."""
    out = ["cpu"]
    try:
        if torch.cuda.is_available():
            torch.ones(1, device="cuda").sum().item()
            out.append("cuda")
    except Exception:  # noqa: BLE001 - a broken CUDA install is no device
        pass
    return out


def threaded(fn: Callable[[], Any], threads: int) -> Callable[[], Any]:
    """``fn`` called with the BLAS and torch's own pool held at ``threads``
    (:func:`lipbench.timing.limit_threads`)."""
    def run() -> Any:
        with limit_threads(threads):
            return fn()
    return run


def _sync(torch: Any, device: str) -> None:
    if device != "cpu":
        torch.cuda.synchronize()


def describe(rival: str, setting: dict) -> str:
    """``torch.svd_lowrank(A, q=6, niter=64)``."""
    args = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(setting.items()))
    if rival == "lobpcg":
        return f"torch.lobpcg(A.T @ A, k=1, {args})"
    return f"torch.{rival}(A, {args})"


def rival_call(torch: Any, T: Any, rival: str, setting: dict, seed: int, device: str) -> Callable[[], Outcome]:
    """A zero-argument call of ``rival`` at ``setting`` on tensor ``T``: an
    :class:`Outcome` with its products with A (or steps) and convergence."""
    if rival == "svd_lowrank":
        q, niter = int(setting["q"]), int(setting["niter"])

        def lowrank() -> Outcome:
            torch.manual_seed(seed)
            s = torch.svd_lowrank(T, q=q, niter=niter)[1]
            _sync(torch, device)
            # one block of q columns to start, two per subspace step, one for the projection
            return Outcome(float(s[0]), iterations=niter, matvecs=q * (2 * niter + 2), converged=True)

        return lowrank
    if rival != "lobpcg":
        raise ValueError(f"unknown torch rival {rival!r}; known: {RIVALS}")
    tol, niter = float(setting["tol"]), int(setting["niter"])

    def lobpcg() -> Outcome:
        state: dict = {}

        def tracker(worker: Any) -> None:
            state["steps"] = int(worker.ivars["istep"])
            state["converged"] = int(worker.ivars["converged_count"]) >= 1

        torch.manual_seed(seed)
        e = torch.lobpcg(T.T @ T, k=1, tol=tol, niter=niter, tracker=tracker)[0]
        _sync(torch, device)
        return Outcome(math.sqrt(max(float(e[0]), 0.0)), iterations=state.get("steps"),
                       converged=bool(state.get("converged")))

    return lobpcg


def rule_setting(torch: Any, T: Any, rival: str, target: float, seed: int, device: str,
                 svd_seconds: float) -> tuple[dict, list[str], tuple[float, Outcome] | None]:
    """Setting (a) of ``rival`` (module docstring), the calls made to derive
    it, and (seconds, outcome) of its last such call (None when none was made)."""
    side = min(int(d) for d in T.shape)
    if rival == "lobpcg":
        return {"tol": max(target, torch.finfo(T.dtype).eps ** 0.5), "niter": 10 * side}, [], None
    tried: list[str] = []
    prev, niter, spent = math.nan, 2, 0.0
    while True:
        setting = {"q": min(6, side), "niter": niter}
        t0 = time.perf_counter()
        out = rival_call(torch, T, rival, setting, seed, device)()
        dt, value = time.perf_counter() - t0, out.value
        spent += dt
        step = abs(value - prev) / value if value > 0 else math.inf
        settled = step <= target
        dearer = spent > svd_seconds
        tried.append(f"{describe(rival, setting)}: {value:.17g}, change {step:.1e}, {dt:.3g} s"
                     + (": settled" if settled else ": the doubling has cost more than the full SVD" if dearer
                        else ""))
        if settled or dearer:
            return setting, tried, (dt, out)
        prev, niter = value, 2 * niter


def search_settings(rival: str, m: int, n: int) -> list[dict]:
    """The grid setting (b) is picked from.  svd_lowrank: the smallest
    subspaces and step counts that reached 1e-6 on the Gaussian spectrum at
    2048^2 and 4096^2 (q=20 at 128 steps, q=40 at 64; q=20 at 64 fell short
    there); lobpcg: looser residual tolerances than the float64 rule's (1e-3
    missed 1e-6 at every size tried)."""
    side = min(m, n)
    if rival == "svd_lowrank":
        return [{"q": q, "niter": k} for q, k in ((20, 128), (40, 64)) if q <= side]
    if rival == "lobpcg":
        return [{"tol": t, "niter": 10 * side} for t in (1e-4, 1e-5)]
    raise ValueError(f"unknown torch rival {rival!r}; known: {RIVALS}")


def sn_power(torch: Any, T: Any, steps: int, seed: int, device: str) -> Callable[[], Outcome]:
    """What ``torch.nn.utils.parametrizations.spectral_norm`` computes: ``steps``
    power steps from normalised normal u, v, then sigma = u . (W v)."""
    F = torch.nn.functional
    m, n = (int(d) for d in T.shape)

    def run() -> Outcome:
        g = torch.Generator(device=device).manual_seed(seed)
        u = F.normalize(T.new_empty(m).normal_(0, 1, generator=g), dim=0, eps=1e-12)
        v = F.normalize(T.new_empty(n).normal_(0, 1, generator=g), dim=0, eps=1e-12)
        for _ in range(steps):
            u = F.normalize(torch.mv(T, v), dim=0, eps=1e-12)
            v = F.normalize(torch.mv(T.T, u), dim=0, eps=1e-12)
        sigma = float(torch.vdot(u, torch.mv(T, v)))
        _sync(torch, device)
        return Outcome(sigma, iterations=steps, matvecs=2 * steps + 1, converged=False)

    return run


def matrix_norm(torch: Any, T: Any, device: str) -> Callable[[], Outcome]:
    """``torch.linalg.matrix_norm(A, 2)``: sigma_max from a full SVD."""

    def run() -> Outcome:
        v = float(torch.linalg.matrix_norm(T, 2))
        _sync(torch, device)
        return Outcome(v, matvecs=0, iterations=0)

    return run


def auto_call(torch: Any, T: Any, tol: float, seed: int, device: str) -> tuple[Callable[[], Outcome] | None, str]:
    """(``lipbench.spectral_norm(T, tol=tol)`` as a call, "") -- or (None, why)
    when lipbench refuses the tensor; one untimed call decides."""
    import lipbench as lb

    def run() -> Outcome:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", lb.ConvergenceWarning)
            r = lb.spectral_norm(T, tol=tol, seed=seed)
        _sync(torch, device)
        msgs = [str(w.message) for w in caught if issubclass(w.category, lb.ConvergenceWarning)]
        return Outcome(float(r.value), float(r.lower), float(r.upper), int(r.iterations), int(r.matvecs),
                       bool(r.converged), float(r.error_estimate), "; ".join(msgs), r)

    try:
        run()
    except Exception as exc:  # noqa: BLE001 - the refusal is the row's finding
        return None, f"{type(exc).__name__}: {exc}"
    return run, ""


@dataclass
class TorchSide:
    """The torch contenders of one input, prepared at the default threads."""

    contenders: list[Contender] = field(default_factory=list)
    #: the full SVD's one call at the default threads: name -> (meta, seconds, outcome)
    references: dict = field(default_factory=dict)
    #: (base name, threads, call, meta) of the full SVD, to call once after the turns
    after: list = field(default_factory=list)
    search: dict = field(default_factory=dict)
    #: name -> (meta, why lipbench refused the tensor)
    refused: dict = field(default_factory=dict)


def prepare(torch: Any, A: Any, truth: float, target: float, seed: int, thread_counts: tuple[int, ...]) -> TorchSide:
    """Every torch contender of NumPy input ``A`` (module docstring), on each
    device: the full SVD timed once at the default threads (it caps the
    svd_lowrank rule), the rules derived and the searches run there; CPU
    contenders at every thread count, CUDA ones at the default count."""
    hi = max(thread_counts)
    side = TorchSide()
    T = torch.from_numpy(A)
    for device in devices(torch):
        Td = T if device == "cpu" else T.to(device)
        tag = "" if device == "cpu" else f" [{device}]"
        label = "cpu" if device == "cpu" else torch.cuda.get_device_name()
        at = tuple(thread_counts) if device == "cpu" else (hi,)

        def meta(method: str, role: str, setting: str, label: str = label) -> dict:
            return {"method": method, "role": role, "setting": setting, "library": "torch", "backend": "torch",
                    "device": label, "dtype": str(A.dtype), "seed": seed}

        def add(base: str, call: Callable[[], Any], m: dict, first: Any = None, at: tuple = at) -> None:
            side.contenders += [Contender(base, t, threaded(call, t), m, first if t == hi else None) for t in at]

        svd = matrix_norm(torch, Td, device)
        svd_meta = meta("torch.linalg.matrix_norm", "reference", "torch.linalg.matrix_norm(A, 2)")
        with limit_threads(hi):
            if device != "cpu":
                svd()  # the first CUDA call initialises cuSOLVER
            t0 = time.perf_counter()
            out = svd()
            side.references[f"torch.linalg.matrix_norm{tag}@{hi}"] = (svd_meta, time.perf_counter() - t0, out)
            side.after += [(f"torch.linalg.matrix_norm{tag}", t, svd, svd_meta) for t in at if t != hi]
            for rival in RIVALS:
                rule, derived, last = rule_setting(torch, Td, rival, target, seed, device, side.references[
                    f"torch.linalg.matrix_norm{tag}@{hi}"][1])
                firsts: dict = {}
                calls = [(s, describe(rival, s), rival_call(torch, Td, rival, s, seed, device))
                         for s in search_settings(rival, *A.shape)]
                best, tried = search(calls, target, truth, repeats=0, firsts=firsts)
                side.search[f"torch.{rival}{tag}@{hi}"] = tried
                side.search[f"torch.{rival}{tag}@{hi} rule"] = derived
                roles = {"rule": (rule, last)}
                if best is not None and best != rule:
                    roles["luckiest"] = (best, firsts[describe(rival, best)])
                for role, (setting, first) in roles.items():
                    add(f"torch.{rival} ({role}){tag}", rival_call(torch, Td, rival, setting, seed, device),
                        {**meta(f"torch.{rival}", role, describe(rival, setting)), "pool": f"torch{tag}"},
                        first)
            auto, why = auto_call(torch, Td, target, seed, device)
        auto_meta = meta("auto", "lipbench", f"lipbench.spectral_norm(tensor, tol={target:g})")
        if auto is None:
            side.refused[f"auto (torch){tag}"] = (auto_meta, why)
        else:
            add(f"auto (torch){tag}", auto, auto_meta)
        for steps in SN_STEPS:
            add(f"torch SN power ({steps} step{'s' if steps > 1 else ''}){tag}",
                sn_power(torch, Td, steps, seed, device),
                meta("torch SN power", "sn", f"spectral_norm's power iteration, {steps} step(s)"))
    return side


__all__ = ["RIVALS", "SN_STEPS", "TorchSide", "auto_call", "describe", "devices", "matrix_norm", "prepare",
           "rival_call", "rule_setting", "search_settings", "sn_power", "threaded", "torch_or_reason"]
