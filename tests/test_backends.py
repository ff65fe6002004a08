"""Backend selection rules and helpers."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from lipbench import backends


def test_unknown_backend_is_an_error():
    with pytest.raises(backends.BackendSelectionError,
                       match=r"unknown backend 'jax'; known backends are: numpy, cupy, array_api_strict, torch"):
        backends.selected_backends("numpy,jax")


def test_requested_but_unavailable_is_an_error(monkeypatch):
    fake = backends.Availability(backends.Backend.CUPY, False, "no GPU here")
    monkeypatch.setattr(backends, "availability", lambda b: fake if backends._coerce(b) is backends.Backend.CUPY
                        else backends.Availability(backends._coerce(b), True, "ok"))
    with pytest.raises(backends.BackendSelectionError,
                       match=r"requests backend 'cupy', which is not available: no GPU here"):
        backends.selected_backends("numpy,cupy")


def test_unset_selects_all_with_reasons():
    chosen = backends.selected_backends("")
    assert [b for b, _ in chosen] == list(backends.Backend)
    for _, av in chosen:
        assert av.available or av.reason


def test_names_are_normalised_and_deduplicated():
    chosen = backends.selected_backends(" NumPy , numpy,array-api-strict ")
    assert [b.value for b, _ in chosen] == ["numpy", "array_api_strict"]


def test_gpu_detected_by_allocation_not_import(monkeypatch):
    """A CuPy that imports but cannot allocate makes the backend unavailable."""

    class FakeCuPy:
        __version__ = "0.0-fake"
        float64 = "float64"

        @staticmethod
        def arange(*a, **k):
            raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    monkeypatch.setitem(sys.modules, "cupy", FakeCuPy)
    backends.availability.cache_clear()
    try:
        av = backends.availability("cupy")
        assert not av.available
        assert "installed but no GPU is usable" in av.reason and "cudaErrorNoDevice" in av.reason
    finally:
        backends.availability.cache_clear()


def test_pytest_refuses_bad_env(tmp_path):
    """LIPBENCH_BACKENDS with an unknown name stops pytest with a usage error."""
    test = tmp_path / "test_x.py"
    test.write_text("def test_ok():\n    pass\n")
    import os
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, LIPBENCH_BACKENDS="numpy,jax")
    test = str(root / "tests" / "test_backends.py::test_unset_selects_all_with_reasons")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
                          capture_output=True, text=True, env=env, cwd=root)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "unknown backend 'jax'" in proc.stdout + proc.stderr


def test_namespace_to_numpy_and_synchronize(backend, xp):
    x = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    assert backends.backend_name_of(x) == backend.value
    np.testing.assert_array_equal(backends.to_numpy(x), [[1.0, 2.0], [3.0, 4.0]])
    backends.synchronize(x)  # must not fail on any backend
    expected = "cpu" if backend is not backends.Backend.CUPY else backends.availability("cupy").device
    assert backends.device_name(x) == expected
