"""torch tensors in spectral_norm: both routes (a CPU tensor's NumPy view,
the default, and torch's own operations, the path of a CUDA tensor), every
dtype, parameters with ``requires_grad``, and the caller's tensor untouched."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import lipbench as lb
from lipbench import backends
from tests.helpers import assert_certified, said

torch = pytest.importorskip("torch", reason="torch is not installed (pip install -e '.[torch]')")

ROUTES = ["numpy", "native"]
# the methods that run through the array API (the native route); the SciPy
# ones refuse a tensor there, by name
NATIVE_METHODS = [m for m, info in lb.METHODS.items() if "torch" in info.backends]


@pytest.fixture(params=ROUTES)
def route(request, monkeypatch):
    monkeypatch.setenv(backends.TORCH_CPU_ENV, request.param)
    return request.param


def _truth(a: np.ndarray) -> float:
    return float(np.linalg.norm(a.astype(np.complex128 if np.iscomplexobj(a) else np.float64), 2))


def _tensor(dtype, shape=(40, 24), seed=0):
    g = torch.Generator().manual_seed(seed)
    if dtype.is_complex:
        return torch.randn(shape, dtype=dtype, generator=g)
    if dtype.is_floating_point:
        return torch.randn(shape, dtype=torch.float64, generator=g).to(dtype)
    if dtype is torch.bool:
        return torch.rand(shape, generator=g) > 0.5
    return torch.randint(-9, 10, shape, generator=g).to(dtype)


def _host(t) -> np.ndarray:
    return (t.float() if t.dtype is torch.bfloat16 else t).numpy()


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16, torch.complex64,
                                   torch.complex128, torch.int32, torch.bool])
def test_every_dtype_is_certified_like_numpy_input(route, dtype):
    t = _tensor(dtype)
    r = lb.spectral_norm(t, certify=True, seed=0)
    assert r.certified
    assert r.input_dtype == str(dtype).removeprefix("torch.")
    assert_certified(r, _truth(_host(t)), r.tol, t, context=f"route={route}")


@pytest.mark.parametrize("method", NATIVE_METHODS)
def test_native_methods_bracket_the_norm(route, method):
    t = _tensor(torch.float64, (60, 35))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = lb.spectral_norm(t, method=method, seed=1, tol=1e-8)
    assert_certified(r, _truth(t.numpy()), r.tol, t, context=f"route={route}")
    assert r.backend == ("numpy" if route == "numpy" else "torch")
    assert r.device == "cpu"


def test_the_numpy_view_gives_numpy_s_answer_and_says_so(monkeypatch):
    """The default route computes on the view: the same numbers as the array."""
    monkeypatch.delenv(backends.TORCH_CPU_ENV, raising=False)
    t = _tensor(torch.float32, (80, 50))
    a, b = lb.spectral_norm(t, seed=3), lb.spectral_norm(t.numpy(), seed=3)
    assert (a.value, a.lower, a.upper, a.matvecs, a.method) == (b.value, b.lower, b.upper, b.matvecs, b.method)
    assert said(a, "torch-numpy-view") and not said(b, "torch-numpy-view")


def test_a_parameter_is_read_without_autograd_or_a_write(route):
    """nn.Linear's weight: no graph, no .grad, no in-place write (the version
    counter counts every in-place operation on the tensor), no warning."""
    lin = torch.nn.Linear(48, 32)
    w = lin.weight
    version, before = w._version, w.detach().clone()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = lb.spectral_norm(w, certify=True, seed=0)
    assert r.certified and w.grad is None and w._version == version and torch.equal(w.detach(), before)
    assert_certified(r, _truth(before.numpy()), r.tol, w)


def test_a_stack_of_tensors(route):
    t = _tensor(torch.float64, (3, 20, 12))
    r = lb.spectral_norm(t, method="svd")
    truth = np.linalg.norm(t.numpy(), 2, axis=(-2, -1))
    assert np.all((r.lower <= truth) & (truth <= r.upper))


def test_scipy_methods_refuse_a_native_tensor_by_name(monkeypatch):
    monkeypatch.setenv(backends.TORCH_CPU_ENV, "native")
    with pytest.raises(ValueError, match="method 'arpack' runs on numpy arrays; got a torch array"):
        lb.spectral_norm(_tensor(torch.float64), method="arpack")


def test_scipy_methods_take_the_view():
    r = lb.spectral_norm(_tensor(torch.float64), method="arpack", seed=0)
    assert r.backend == "numpy"


def test_an_unknown_route_is_named(monkeypatch):
    monkeypatch.setenv(backends.TORCH_CPU_ENV, "cuda")
    with pytest.raises(ValueError, match="LIPBENCH_TORCH_CPU='cuda'"):
        lb.spectral_norm(_tensor(torch.float64))


def test_bad_entries_are_named(route):
    t = _tensor(torch.float32)
    t[3, 4] = float("nan")
    with pytest.raises(ValueError, match=r"NaN at \(3, 4\)"):
        lb.spectral_norm(t)


def test_the_backend_is_known():
    av = backends.availability("torch")
    assert av.available and av.version == torch.__version__
    assert backends.backend_name_of(torch.ones(2)) == "torch"
    assert backends.namespace("torch").__name__.endswith("torch")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device for torch")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_cuda_tensor_is_computed_on_its_device(dtype):
    t = _tensor(dtype, (300, 200)).cuda()
    r = lb.spectral_norm(t, certify=True, seed=0)
    assert r.backend == "torch" and r.device == torch.cuda.get_device_name(t.device) and r.certified
    assert_certified(r, _truth(t.cpu().numpy()), r.tol, t)


def test_auto_plans_a_view_as_numpy_and_a_native_tensor_as_a_gpu_array(route):
    """auto_plan sees what spectral_norm computes on: the view takes NumPy's
    rule (PROPACK steps for small float32, normal Lanczos), a native tensor
    the GPU's (the Gram iteration up to side 4096, no normal operator)."""
    t = _tensor(torch.float32, (600, 400))
    numpy_plan = lb.auto_plan(t.numpy(), 1e-6)
    assert lb.auto_plan(t, 1e-6) == (numpy_plan if route == "numpy" else ("gram", {}))
    assert numpy_plan != ("gram", {})
