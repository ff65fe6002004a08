"""pytest-benchmark wiring for lipbench: profiles, storage per machine, provenance.

* ``--lipbench-size={tiny,quick,full}`` picks the profile (default ``quick``;
  ``benchmarks/profiles.py`` declares what each runs): the grid is the same
  everywhere, cases outside the profile are *skipped with a reason*, never
  dropped.
* Storage: unless ``--benchmark-storage`` is given, runs are saved under
  ``results/<machine>/`` (pytest-benchmark adds its own ``<machine id>/``
  folder and names files ``NNNN_NAME.json``).  ``<machine>`` is
  ``LIPBENCH_MACHINE`` if set, else ``gpu-<gpu name>`` on a box with a usable
  CUDA GPU, else ``cpu-<cores>c-<blas>``.
* BLAS threads are fixed with threadpoolctl (``--lipbench-threads``, default:
  the CPUs this process may use) and recorded.
* ``pytest_benchmark_update_machine_info`` adds GPU name, driver and CUDA
  versions, CuPy/NumPy/SciPy versions, BLAS vendor and threads, and the
  version of ``method="auto"``'s rule per backend
  (``lipbench.benchmark_meta.AUTO_RULE_VERSION``: the report marks rows of
  older rules stale).
* ``pytest_benchmark_generate_commit_info`` asks git about the checkout these
  benchmarks live in, wherever pytest was started; a copy of the tree without
  git names its commit in ``LIPBENCH_COMMIT`` (``<sha>`` or ``<sha>-dirty``).
* At the start, one line says what will run and about how long it will take
  (``benchmarks/plan.py``); while it runs, a progress line per group (cases
  done of its total, time elapsed, time left) at each group's end and at most
  every 30 s within one.
* After a run that saved results, ``lipbench.report.write_report`` turns every
  run under the results folder into REPORT.md/html, CSV and plots (disable
  with ``--lipbench-no-report``).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import plan, profiles
from benchmarks.inputs import InputCache
from benchmarks.runners import backend_runs
from lipbench import backends as _backends
from lipbench.benchmark_meta import AUTO_RULE_VERSION
from lipbench.timing import blas_info, cpu_count, default_threads

REPO = Path(__file__).resolve().parent.parent
DEFAULT_STORAGE = "file://./.benchmarks"  # pytest-benchmark's default


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lipbench", "lipbench benchmarks")
    group.addoption("--lipbench-size", choices=tuple(profiles.PROFILES),
                    default=os.environ.get("LIPBENCH_SIZE", profiles.DEFAULT),
                    help="benchmark profile: "
                         + ", ".join(f"{p.name} ({p.summary})" for p in profiles.PROFILES.values())
                         + ". Env: LIPBENCH_SIZE.")
    group.addoption("--lipbench-results", default=os.environ.get("LIPBENCH_RESULTS", str(REPO / "results")),
                    help="results root; runs are saved under <root>/<machine>/ (default: results/). "
                         "Env: LIPBENCH_RESULTS.")
    group.addoption("--lipbench-threads", type=int, default=None,
                    help="BLAS threads for the whole run (default: every CPU this process may use; "
                         "1 on boxes with <= 2 CPUs)")
    group.addoption("--lipbench-budget", type=float, default=None,
                    help="seconds of timed rounds per case (default: "
                         + ", ".join(f"{p.budget_seconds:g} {p.name}" for p in profiles.PROFILES.values()) + ")")
    group.addoption("--lipbench-no-report", action="store_true",
                    help="do not regenerate the report after a saving run")
    dask = parser.getgroup("lipbench-dask", "lipbench out-of-core benchmarks (Dask; opt-in)")
    dask.addoption("--dask-out-of-core", action="store_true",
                   default=os.environ.get("LIPBENCH_DASK_OUT_OF_CORE", "") not in ("", "0"),
                   help="run benchmarks/test_dask_out_of_core.py (skipped otherwise). "
                        "Env: LIPBENCH_DASK_OUT_OF_CORE=1.")
    dask.addoption("--dask-side", type=int, default=int(os.environ.get("LIPBENCH_DASK_SIDE", 10000)),
                   help="side of the square Dask cases, a multiple of 250 (default 10000: 0.8 GB; "
                        "the issue's size is 60000: 29 GB). Env: LIPBENCH_DASK_SIDE.")
    dask.addoption("--dask-rows", type=int, default=int(os.environ.get("LIPBENCH_DASK_ROWS", 100000)),
                   help="rows of the tall rows x 4096 float32 Dask case, a multiple of 1000 (default "
                        "100000: 1.6 GB; the issue's size is 1000000). Env: LIPBENCH_DASK_ROWS.")
    dask.addoption("--dask-store", default=os.environ.get("LIPBENCH_DASK_STORE"),
                   help="folder under which the Zarr case makes (and deletes) its temporary store "
                        "(default: the system's temporary folder). Env: LIPBENCH_DASK_STORE.")
    dask.addoption("--dask-maxiter", type=int, default=None,
                   help="stop lipbench's runs after this many steps (for a Zarr pass of minutes; the rows "
                        "record it and are not converged). Default: run to tol.")
    dask.addoption("--dask-budget", type=float, default=float(os.environ.get("LIPBENCH_DASK_BUDGET", 3600)),
                   help="seconds the Dask suite may take; a case whose estimate (from its bare pass) "
                        "does not fit what is left is skipped with the reason (default 3600). "
                        "Env: LIPBENCH_DASK_BUDGET.")


# --------------------------------------------------------------------------- machine id


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def machine_name() -> str:
    """``LIPBENCH_MACHINE``, else ``gpu-<gpu>`` or ``cpu-<cores>c-<blas>``."""
    env = os.environ.get("LIPBENCH_MACHINE", "").strip()
    if env:
        if not re.fullmatch(r"[A-Za-z0-9._-]+", env):
            raise pytest.UsageError(f"LIPBENCH_MACHINE={env!r} must be a folder name "
                                    "(letters, digits, '.', '_', '-')")
        return env
    av = _backends.availability(_backends.Backend.CUPY)
    if av.available:
        return "gpu-" + _slug(av.device or "cuda")
    blas = blas_info()
    vendor = _slug(blas[0]["internal_api"]) if blas else "noblas"
    return f"cpu-{cpu_count()}c-{vendor}"


def _gpu_provenance() -> dict:
    av = _backends.availability(_backends.Backend.CUPY)
    info: dict = {"gpu_name": None, "cupy_version": av.version, "gpu_reason": None if av else av.reason}
    if not av.available:
        return info
    import cupy as cp

    info["gpu_name"] = av.device
    try:
        info["cuda_driver_version"] = cp.cuda.runtime.driverGetVersion()
        info["cuda_runtime_version"] = cp.cuda.runtime.runtimeGetVersion()
    except Exception as exc:  # pragma: no cover - odd CUDA installs
        info["cuda_version_error"] = repr(exc)
    try:
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        info["gpu_total_memory"] = int(props.get("totalGlobalMem", 0))
        info["gpu_compute_capability"] = f"{props.get('major')}.{props.get('minor')}"
    except Exception:  # pragma: no cover
        pass
    try:  # NVML through CuPy when present: the driver version string
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        v = pynvml.nvmlSystemGetDriverVersion()
        info["nvidia_driver"] = v.decode() if isinstance(v, bytes) else v
    except Exception:
        pass
    return info


# --------------------------------------------------------------------------- which code ran


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True, text=True,
                          timeout=30).stdout.strip()


def commit_info(env: dict | None = None) -> dict:
    """The commit of the checkout holding these benchmarks, whether its tracked
    files differ from it (``dirty``), and its commit time.  Outside a git
    checkout, ``LIPBENCH_COMMIT`` (``<sha>`` or ``<sha>-dirty``) names it;
    failing both, ``id`` is ``"unknown"`` and ``error`` says why."""
    env = os.environ if env is None else env
    try:
        if Path(_git("rev-parse", "--show-toplevel")).resolve() == REPO.resolve():
            sha = _git("rev-parse", "HEAD")
            dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
            return {"id": sha, "time": _git("show", "-s", "--format=%cI", "HEAD"), "dirty": dirty,
                    "branch": _git("rev-parse", "--abbrev-ref", "HEAD"), "source": "git"}
        why = f"{REPO} is inside another git repository, not a checkout of its own"
    except (OSError, subprocess.SubprocessError) as exc:
        why = f"git names no commit for {REPO} ({type(exc).__name__}: not a checkout, or no commit yet)"
    named = env.get("LIPBENCH_COMMIT", "").strip()
    if named:
        sha, _, flag = named.partition("-")
        if not re.fullmatch(r"[0-9a-f]{7,40}", sha) or flag not in ("", "dirty"):
            raise pytest.UsageError(f"LIPBENCH_COMMIT={named!r} must be a commit id, optionally "
                                    "followed by '-dirty'")
        return {"id": sha, "time": None, "dirty": flag == "dirty", "source": "LIPBENCH_COMMIT"}
    return {"id": "unknown", "time": None, "dirty": False, "error": why + "; set LIPBENCH_COMMIT"}


# --------------------------------------------------------------------------- hooks


def pytest_benchmark_generate_commit_info(config: pytest.Config) -> dict:
    info = commit_info()
    info.setdefault("project", "lipbench")
    return info



def pytest_configure(config: pytest.Config) -> None:
    _CONFIG["config"] = config
    config._lipbench_start = time.monotonic()  # type: ignore[attr-defined]
    profile = config.getoption("--lipbench-size")
    config._lipbench_profile = profile  # type: ignore[attr-defined]
    results = Path(config.getoption("--lipbench-results")).resolve()
    machine = machine_name()
    config._lipbench_machine = machine  # type: ignore[attr-defined]
    config._lipbench_results = results  # type: ignore[attr-defined]
    if config.getoption("benchmark_storage", DEFAULT_STORAGE) == DEFAULT_STORAGE:
        # pytest-benchmark builds its storage in its own (trylast) pytest_configure,
        # after this hook: files land in results/<machine>/<machine id>/NNNN_NAME.json.
        config.option.benchmark_storage = "file://" + str(results / machine)
        config._lipbench_storage_set = True  # type: ignore[attr-defined]
    # Fix BLAS threads for the whole session (NumPy's and SciPy's BLAS both loaded first).
    from threadpoolctl import threadpool_limits

    blas_info()
    threads = config.getoption("--lipbench-threads") or default_threads()
    config._lipbench_threads = threads  # type: ignore[attr-defined]
    config._lipbench_limiter = threadpool_limits(limits=threads, user_api="blas")  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    limiter = getattr(config, "_lipbench_limiter", None)
    if limiter is not None:
        limiter.restore_original_limits()


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [
        f"lipbench benchmarks: profile={config._lipbench_profile} machine={config._lipbench_machine} "
        f"BLAS threads={config._lipbench_threads} storage={config.getoption('benchmark_storage')}"
    ]


def _params(item: pytest.Item) -> dict:
    spec = getattr(item, "callspec", None)
    return dict(spec.params) if spec is not None else {}


def will_run(item: pytest.Item, config: pytest.Config) -> bool:
    """Whether ``item`` will run rather than skip (the test module's
    ``planned(profile, **params)`` decides for its profile, then the backend)."""
    params = _params(item)
    backend = params.get("backend") or getattr(params.get("case"), "backend", None)
    if backend and not backend_runs(config, backend):
        return False
    module = getattr(item, "module", None)
    if module is not None and module.__name__.split(".")[-1] in FULL_PROFILE_MODULES \
            and config._lipbench_profile != "full":
        return False
    if module is not None and module.__name__.split(".")[-1] == OPT_IN_MODULE \
            and not config.getoption("--dask-out-of-core"):
        return False
    planned = getattr(module, "planned", None)
    return planned(profiles.get(config._lipbench_profile), **params) if planned else True


def session_plan(items: list[pytest.Item], config: pytest.Config) -> tuple[list[plan.Planned], str]:
    """The cases that will run, each with its estimated seconds, and what the
    estimate comes from."""
    runs = [(item.name, plan.GROUPS.get(getattr(item, "originalname", item.name), "other"))
            for item in items if will_run(item, config)]
    doc, source = plan.reference_doc(config._lipbench_results, config._lipbench_machine, [n for n, _ in runs])
    costs = plan.case_seconds(doc) if doc else {}
    factor = plan.calibration(doc) if doc else 1.0
    b = config.getoption("--lipbench-budget")
    unseen = plan.UNSEEN_BUDGETS * (profiles.get(config._lipbench_profile).budget_seconds if b is None else b)
    return plan.estimate(runs, costs, factor, unseen), source


#: suites that run in the full profile only (the quick one stays within the time it states)
FULL_PROFILE_MODULES = ("test_conv_methods", "test_ladder", "test_ladder_targets", "test_sn_audit")


#: the out-of-core Dask suite: only with --dask-out-of-core (any profile)
OPT_IN_MODULE = "test_dask_out_of_core"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--dask-out-of-core"):
        opt_in = pytest.mark.skip(reason="out-of-core Dask benchmarks are opt-in: --dask-out-of-core")
        for item in items:
            if getattr(item, "module", None) is not None and item.module.__name__.split(".")[-1] == OPT_IN_MODULE:
                item.add_marker(opt_in)
    if config._lipbench_profile == "full":
        return
    skip = pytest.mark.skip(reason=f"in the full profile only (--lipbench-size=full); this is "
                                   f"{config._lipbench_profile}")
    for item in items:
        if getattr(item, "module", None) is not None and item.module.__name__.split(".")[-1] in FULL_PROFILE_MODULES:
            item.add_marker(skip)


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    planned, source = session_plan(session.items, config)
    config._lipbench_progress = plan.Progress(planned)  # type: ignore[attr-defined]
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if tr is not None and planned:
        tr.write_line(plan.summary(planned, config._lipbench_profile, source))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "teardown":
        return
    config = _CONFIG.get("config")
    progress = getattr(config, "_lipbench_progress", None)
    if progress is None:
        return
    line = progress.finished(report.nodeid.rsplit("::", 1)[-1])
    tr = config.pluginmanager.get_plugin("terminalreporter")
    if line and tr is not None:
        tr.write_line(line)


_CONFIG: dict = {}


@pytest.fixture(scope="session")
def inputs() -> InputCache:
    """The session's inputs, shared by every suite: a matrix and its ground
    truth (a float64 SVD for float32) are built once, whichever suite asks first."""
    return InputCache()


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    import numpy
    import scipy

    machine_info["lipbench_machine"] = config._lipbench_machine
    machine_info["lipbench_profile"] = config._lipbench_profile
    # the session's wall time up to the save: what benchmarks/plan.py calibrates its estimates with
    machine_info["lipbench_wall_seconds"] = round(time.monotonic() - config._lipbench_start, 1)
    machine_info["lipbench_backends"] = os.environ.get(_backends.ENV_VAR, "")
    machine_info["blas_threads"] = config._lipbench_threads
    machine_info["cpu_count"] = cpu_count()
    machine_info["numpy_version"] = numpy.__version__
    machine_info["scipy_version"] = scipy.__version__
    machine_info["python"] = sys.version.split()[0]
    machine_info["platform"] = platform.platform()
    machine_info["blas"] = blas_info()
    machine_info.update(_gpu_provenance())
    machine_info["lipbench_auto_rule"] = dict(AUTO_RULE_VERSION)
    from importlib.metadata import version

    for name in ("lipbench", "torch"):
        try:
            machine_info[f"{name}_version"] = version(name)
        except Exception:  # not installed, or installed without metadata
            machine_info[f"{name}_version"] = None


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # pytest-benchmark's hookwrapper has already saved the run when this runs.
    config = session.config
    saved = bool(config.getoption("benchmark_save", None) or config.getoption("benchmark_autosave", False))
    bs = getattr(config, "_benchmarksession", None)
    if not saved or bs is None or not bs.benchmarks or config.getoption("--lipbench-no-report"):
        return
    if not getattr(config, "_lipbench_storage_set", False):
        return  # a custom --benchmark-storage: the user reports it with `lipbench report DIR`
    import warnings

    try:
        from lipbench.report import ReportWarning, write_report

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ReportWarning)
            paths = write_report(config._lipbench_results)
        tr = config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"lipbench report: {msg.message}" for msg in caught]
        lines.append(f"lipbench report written: {paths['md']} , {paths['html']} ({len(paths['png'])} plots)")
        for line in lines:
            if tr is not None:
                tr.write_line(line)
            else:  # pragma: no cover
                print(line, file=sys.stderr)
    except Exception as exc:  # the run's JSON is saved; a report failure must not hide it
        print(f"lipbench report failed ({type(exc).__name__}: {exc}); the run was saved, "
              f"retry with `lipbench report {config._lipbench_results}`", file=sys.stderr)
