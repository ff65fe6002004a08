"""Array backends: which exist here, how to get their namespace, how to synchronise.

Four backends are known:

* ``numpy`` -- the default, always available.
* ``cupy`` -- CUDA GPUs.  CuPy imports fine on machines without a usable GPU, so
  a GPU is detected by *allocating* on it and synchronising, never by import.
* ``torch`` -- PyTorch tensors on the CPU or a CUDA GPU, through
  array-api-compat's torch namespace; available wherever torch imports, its
  GPU (``device``) found by allocating on it like CuPy's.
* ``array_api_strict`` -- a CPU stand-in that accepts nothing outside the array
  API standard; code that runs on it is backend-neutral.

A CPU torch tensor is computed on the NumPy array that shares its memory
(:func:`host_view`; measured faster than torch's own operations there, see
docs/torch.md) unless ``LIPBENCH_TORCH_CPU=native``; a CUDA tensor always runs
through torch's operations on its device.

``LIPBENCH_BACKENDS`` (comma separated) selects backends for tests and
benchmarks.  An unknown name is an error, a requested backend that is not
available is an error, and an unrequested unavailable backend is skipped with
the reason :func:`availability` gives.
"""

from __future__ import annotations

import enum
import functools
import importlib
import os
import sys
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import array_api_compat
import numpy as np

__all__ = [
    "Backend",
    "Availability",
    "BackendSelectionError",
    "availability",
    "namespace",
    "namespace_of",
    "selected_backends",
    "synchronize",
    "to_numpy",
    "device_name",
    "backend_name_of",
    "host_view",
    "ENV_VAR",
    "TORCH_CPU_ENV",
]

ENV_VAR = "LIPBENCH_BACKENDS"
#: ``numpy`` (the default): CPU tensors are computed on their NumPy view;
#: ``native``: through torch's own operations, as CUDA tensors are
TORCH_CPU_ENV = "LIPBENCH_TORCH_CPU"


class Backend(str, enum.Enum):
    """The array libraries lipbench runs on."""

    NUMPY = "numpy"
    CUPY = "cupy"
    ARRAY_API_STRICT = "array_api_strict"
    TORCH = "torch"

    def __str__(self) -> str:  # pragma: no cover - trivial
        return self.value


class BackendSelectionError(ValueError):
    """``LIPBENCH_BACKENDS`` names an unknown or unavailable backend."""


@dataclass(frozen=True)
class Availability:
    backend: Backend
    available: bool
    reason: str
    version: str | None = None
    device: str | None = None

    def __bool__(self) -> bool:
        return self.available


def _coerce(backend: Backend | str) -> Backend:
    if isinstance(backend, Backend):
        return backend
    name = str(backend).strip().lower().replace("-", "_")
    try:
        return Backend(name)
    except ValueError:
        known = ", ".join(b.value for b in Backend)
        raise BackendSelectionError(
            f"unknown backend {backend!r}; known backends are: {known}"
        ) from None


@functools.cache
def availability(backend: Backend | str) -> Availability:
    """Whether ``backend`` can be used here, and why not if it cannot.

    For CuPy this allocates a small array on the current device and
    synchronises; any failure (no driver, no device, no CUDA runtime) makes the
    backend unavailable with the error as the reason.
    """
    b = _coerce(backend)
    if b is Backend.NUMPY:
        return Availability(b, True, "always available", np.__version__, "cpu")
    if b is Backend.ARRAY_API_STRICT:
        try:
            mod = importlib.import_module("array_api_strict")
        except ImportError as exc:
            return Availability(b, False, f"array_api_strict is not installed ({exc})")
        return Availability(b, True, "installed", getattr(mod, "__version__", None), "cpu")
    if b is Backend.TORCH:
        return _torch_availability()
    # CuPy: import, then prove a GPU works by allocating on it.
    try:
        cp = importlib.import_module("cupy")
    except Exception as exc:  # ImportError, or a broken CUDA install raising at import
        return Availability(b, False, f"CuPy is not importable ({type(exc).__name__}: {exc})")
    try:
        x = cp.arange(4, dtype=cp.float64)
        float((x * x).sum())
        cp.cuda.Device().synchronize()
    except Exception as exc:
        return Availability(
            b, False, f"CuPy {cp.__version__} is installed but no GPU is usable "
            f"({type(exc).__name__}: {exc})", cp.__version__
        )
    return Availability(b, True, "GPU allocation succeeded", cp.__version__, _cupy_device_name(cp))


def _torch_availability() -> Availability:
    """torch runs wherever it imports; its device is the GPU when an
    allocation there succeeds, else the CPU (and the reason is said)."""
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:  # ImportError, or a broken install raising at import
        return Availability(Backend.TORCH, False, f"torch is not importable ({type(exc).__name__}: {exc})")
    version = str(torch.__version__)
    try:
        x = torch.arange(4, dtype=torch.float64, device="cuda")
        float((x * x).sum())
        torch.cuda.synchronize()
    except Exception as exc:
        return Availability(Backend.TORCH, True, f"installed; CPU only (no GPU allocation: {type(exc).__name__})",
                            version, "cpu")
    return Availability(Backend.TORCH, True, "GPU allocation succeeded", version, torch.cuda.get_device_name())


def _cupy_device_name(cp: Any) -> str:
    try:
        props = cp.cuda.runtime.getDeviceProperties(cp.cuda.Device().id)
        name = props["name"]
        return name.decode() if isinstance(name, bytes) else str(name)
    except Exception:  # pragma: no cover - only on odd CUDA setups
        return "cuda"


def selected_backends(env: str | None = None) -> list[tuple[Backend, Availability]]:
    """Backends to run, from ``LIPBENCH_BACKENDS`` (or ``env`` if given).

    Returns every known backend with its availability.  When the variable is
    set, only the named backends are returned and each of them must be
    available (otherwise :class:`BackendSelectionError`).  When it is unset,
    all backends are returned; callers skip the unavailable ones with
    ``Availability.reason``.
    """
    raw = os.environ.get(ENV_VAR) if env is None else env
    if raw is None or not raw.strip():
        return [(b, availability(b)) for b in Backend]
    names = [part for part in (p.strip() for p in raw.split(",")) if part]
    chosen = []
    for name in names:
        b = _coerce(name)
        if b not in chosen:
            chosen.append(b)
    out = []
    for b in chosen:
        av = availability(b)
        if not av.available:
            raise BackendSelectionError(
                f"{ENV_VAR}={raw!r} requests backend {b.value!r}, which is not available: {av.reason}"
            )
        out.append((b, av))
    return out


def namespace(backend: Backend | str) -> ModuleType:
    """The array-API namespace of a backend (array-api-compat wrappers)."""
    b = _coerce(backend)
    if b is Backend.NUMPY:
        return array_api_compat.array_namespace(np.empty(0))
    if b is Backend.ARRAY_API_STRICT:
        return importlib.import_module("array_api_strict")
    if b is Backend.TORCH:
        av = availability(b)
        if not av.available:
            raise BackendSelectionError(f"backend 'torch' is not available: {av.reason}")
        return array_api_compat.array_namespace(importlib.import_module("torch").empty(0))
    av = availability(b)
    if not av.available:
        raise BackendSelectionError(f"backend 'cupy' is not available: {av.reason}")
    cp = importlib.import_module("cupy")
    return array_api_compat.array_namespace(cp.empty(0))


def namespace_of(*arrays: Any) -> ModuleType:
    """The array-API namespace of the given arrays (array-api-compat)."""
    return array_api_compat.array_namespace(*arrays)


def backend_name_of(x: Any) -> str:
    """``'numpy'``, ``'cupy'``, ``'torch'`` or ``'array_api_strict'`` for an array."""
    if array_api_compat.is_cupy_array(x):
        return Backend.CUPY.value
    if array_api_compat.is_torch_array(x):
        return Backend.TORCH.value
    if array_api_compat.is_numpy_array(x):
        return Backend.NUMPY.value
    mod = type(x).__module__.split(".")[0]
    if mod == "array_api_strict":
        return Backend.ARRAY_API_STRICT.value
    return mod


def synchronize(x: Any = None) -> None:
    """Wait for queued GPU work (CuPy); a no-op for CPU backends.

    ``x`` may be an array, a backend name, or ``None`` (synchronise CuPy's
    current device if CuPy is in use).
    """
    named = isinstance(x, (str, Backend))
    if (named and _coerce(x) is Backend.TORCH) or (not named and array_api_compat.is_torch_array(x)):
        torch = sys.modules.get("torch")
        if torch is not None and torch.cuda.is_initialized():
            torch.cuda.synchronize()
        return
    if x is None or (named and _coerce(x) is Backend.CUPY) or (not named and array_api_compat.is_cupy_array(x)):
        if x is None and "cupy" not in sys.modules:
            return
        try:
            cp = importlib.import_module("cupy")
        except ImportError:
            return
        cp.cuda.Device().synchronize()


def to_numpy(x: Any) -> np.ndarray:
    """Copy (or view) any backend's array as a NumPy array on the host."""
    if isinstance(x, np.ndarray):
        return x
    if array_api_compat.is_cupy_array(x):
        return x.get()
    if array_api_compat.is_torch_array(x):  # a view of a CPU tensor; no autograd graph is read
        x = x.detach()
        if x.dtype.is_floating_point and x.element_size() < 4:  # bfloat16 has no NumPy dtype
            x = x.float()
        return x.resolve_conj().cpu().numpy()
    if np.isscalar(x):
        return np.asarray(x)
    try:
        return np.from_dlpack(x)
    except Exception:
        return np.asarray(x)


def takes_numpy_view(x: Any) -> bool:
    """Whether ``x`` is computed on its NumPy view (:func:`host_view`): a CPU
    torch tensor of a dtype NumPy has (not bfloat16), unless
    ``LIPBENCH_TORCH_CPU=native``."""
    if not array_api_compat.is_torch_array(x) or x.device.type != "cpu":
        return False
    route = os.environ.get(TORCH_CPU_ENV, "numpy").strip().lower() or "numpy"
    if route not in ("numpy", "native"):
        raise ValueError(f"{TORCH_CPU_ENV}={route!r}: expected 'numpy' (the default) or 'native'")
    return route == "numpy" and x.dtype is not sys.modules["torch"].bfloat16


def host_view(x: Any) -> Any:
    """A CPU torch tensor as the NumPy array sharing its memory (detached from
    autograd, no copy) where :func:`takes_numpy_view`; anything else as it is."""
    return x.detach().resolve_conj().numpy() if takes_numpy_view(x) else x


def device_name(x: Any) -> str:
    """``'cpu'`` or the GPU name for an array."""
    if array_api_compat.is_torch_array(x):
        return "cpu" if x.device.type == "cpu" else importlib.import_module("torch").cuda.get_device_name(x.device)
    if array_api_compat.is_cupy_array(x):
        av = availability(Backend.CUPY)
        return av.device or "cuda"
    return "cpu"
