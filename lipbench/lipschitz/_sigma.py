"""sigma_max of a small dense weight matrix, through lipbench's certified estimator."""

from __future__ import annotations

import warnings
from typing import Any

import array_api_compat
import numpy as np

from .. import backends as _backends
from ..spectral import ConvergenceWarning, spectral_norm
from ..spectral._inputs import dtype_name

__all__ = ["sigma_bracket", "sigma_exact", "sigma_upper", "check_matrix", "host", "dtype_label"]


def dtype_label(x: Any) -> str:
    """The name of the dtype the caller's array holds ('bfloat16' for a torch
    bfloat16 tensor, before :func:`host` widens it)."""
    return dtype_name(x.dtype) if array_api_compat.is_array_api_obj(x) else np.asarray(x).dtype.name


def host(x: Any) -> np.ndarray:
    """A layer's array as NumPy on the host: an array of any backend (a torch
    parameter is read detached, without building an autograd graph; a CPU
    tensor or a NumPy array is not copied), or anything ``np.asarray`` takes."""
    return _backends.to_numpy(x) if array_api_compat.is_array_api_obj(x) else np.asarray(x)


def real_array(W: Any, name: str) -> np.ndarray:
    """``W`` as a NumPy array of a real numeric dtype, or a TypeError naming the problem."""
    try:
        a = host(W)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be array-like; got {type(W).__name__} ({exc})") from None
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name} must have a real numeric dtype; got {a.dtype}")
    if np.iscomplexobj(a):
        raise TypeError(f"{name} must be real; got complex dtype {a.dtype}")
    if a.dtype.kind == "f" and a.dtype.itemsize > 8:
        raise TypeError(f"{name} has dtype {a.dtype} (extended precision), which would be rounded to float64 "
                        "silently; convert it with astype(float64) first")
    return a


def check_matrix(W: Any, name: str = "W") -> np.ndarray:
    """``W`` as a finite 2-D float64 NumPy array, or a ValueError/TypeError naming the problem."""
    a = real_array(W, name)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix; got shape {a.shape}")
    if a.size == 0:
        raise ValueError(f"{name} is empty (shape {a.shape}); a layer needs at least one input and one output")
    a = a.astype(np.float64, copy=False)
    bad = np.argwhere(~np.isfinite(a))
    if bad.size:
        i, j = (int(t) for t in bad[0])
        raise ValueError(f"{name} contains {a[i, j]} at ({i}, {j}); its Lipschitz constant is undefined")
    return a


def sigma_bracket(W: Any) -> tuple[float, float, float]:
    """``(lower, value, upper)`` of sigma_max(W) from ``lipbench.spectral_norm(W, method="svd")``.

    The bracket is proven (the inertia certificate at the narrowest width it
    reaches, rounding accounted for), so ``upper`` is a sound Lipschitz
    constant for ``x -> W x``.
    """
    from ..spectral._certification import certified_width

    W = check_matrix(W)
    with warnings.catch_warnings():
        # the narrowest width is not always reached (the test then bisects): the bracket is
        # proven either way, and it is all this function promises
        warnings.simplefilter("ignore", ConvergenceWarning)
        r = spectral_norm(W, method="svd", tol=certified_width(0.0, "float64", *W.shape))
    return float(r.lower), float(r.value), float(r.upper)


def sigma_exact(W: Any) -> float:
    """sigma_max(W) to working accuracy (the estimate inside the certified bracket)."""
    return sigma_bracket(W)[1]


def sigma_upper(W: Any) -> float:
    """A certified upper bound on sigma_max(W)."""
    return sigma_bracket(W)[2]

