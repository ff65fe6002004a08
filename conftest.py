"""Shared pytest wiring for tests/, properties/ and benchmarks/.

* validates ``LIPBENCH_BACKENDS`` once (an unknown or unavailable requested
  backend stops the run with a usage error);
* ``backend`` / ``xp`` fixtures parametrized over every backend, skipping the
  unavailable ones with the reason, unless they were requested;
* a report header with backends, GPU, BLAS threads and ``LIPBENCH_*`` variables.
"""

from __future__ import annotations

import os

import pytest

from lipbench import backends as _backends


def pytest_configure(config: pytest.Config) -> None:
    try:
        config._lipbench_backends = _backends.selected_backends()  # type: ignore[attr-defined]
    except _backends.BackendSelectionError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_report_header(config: pytest.Config) -> list[str]:
    lines = []
    for b, av in getattr(config, "_lipbench_backends", []):
        state = f"{av.version} on {av.device}" if av.available else f"unavailable: {av.reason}"
        lines.append(f"lipbench backend {b.value}: {state}")
    try:
        from threadpoolctl import threadpool_info

        for info in threadpool_info():
            if info.get("user_api") == "blas":
                lines.append(
                    f"BLAS: {info.get('internal_api')} {info.get('version')} "
                    f"threads={info.get('num_threads')} arch={info.get('architecture')}"
                )
    except Exception as exc:  # pragma: no cover - threadpoolctl is a dependency
        lines.append(f"BLAS: unknown ({exc})")
    env = {k: v for k, v in os.environ.items() if k.startswith("LIPBENCH_")}
    lines.append("LIPBENCH_* environment: " + (", ".join(f"{k}={v}" for k, v in sorted(env.items())) or "none"))
    return lines


def _backend_params() -> list:
    params = []
    for b in _backends.Backend:
        marks = [pytest.mark.gpu] if b is _backends.Backend.CUPY else []
        params.append(pytest.param(b, id=b.value, marks=marks))
    return params


@pytest.fixture(params=_backend_params())
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> _backends.Backend:
    """Each backend in turn; unavailable ones are skipped with the reason.

    With ``LIPBENCH_BACKENDS`` set, backends not named are skipped and the named
    ones are guaranteed available (checked at start-up).  torch tensors run
    through torch's own operations (``LIPBENCH_TORCH_CPU=native``), the path
    a CUDA tensor takes, so the CPU tests exercise it.
    """
    b: _backends.Backend = request.param
    selected = dict(getattr(request.config, "_lipbench_backends", []))
    if os.environ.get(_backends.ENV_VAR, "").strip() and b not in selected:
        pytest.skip(f"backend {b.value} not in {_backends.ENV_VAR}={os.environ[_backends.ENV_VAR]!r}")
    av = _backends.availability(b)
    if not av.available:
        pytest.skip(f"backend {b.value} unavailable: {av.reason}")
    if b is _backends.Backend.TORCH:
        monkeypatch.setenv(_backends.TORCH_CPU_ENV, "native")
    return b


@pytest.fixture
def xp(backend: _backends.Backend):
    """The array-API namespace of the current ``backend``."""
    return _backends.namespace(backend)
