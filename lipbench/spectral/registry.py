"""The registry of methods: name -> what runs, what it takes, its options."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._inputs import InputInfo, InputKind, classify
from ._raw import Raw
from ._units import iterations_unit, maxiter_unit
from .cupy_eigsh import cupy_eigsh
from .dask_support import DASK_REFUSALS
from .gram import gram_iteration
from .interpolative import interpolative_estimate
from .lanczos import lanczos
from .power import power_iteration
from .randomized import randomized_block_krylov
from .scipy_svds import arpack, lobpcg, propack
from .svd import full_svd

__all__ = ["MethodInfo", "METHODS"]

ALL_BACKENDS = frozenset({"numpy", "cupy", "torch", "array_api_strict"})


@dataclass(frozen=True)
class MethodInfo:
    """One entry of :data:`METHODS`."""

    name: str
    function: Callable[..., Raw]
    summary: str
    kinds: frozenset[InputKind]
    backends: frozenset[str]
    batched: bool = False
    options: tuple[str, ...] = ()

    @property
    def counts(self) -> str:
        """What ``result.iterations`` counts for this method."""
        return iterations_unit(self.name)

    @property
    def maxiter_meaning(self) -> str:
        """What ``maxiter`` caps for this method (the same as :attr:`counts` unless said)."""
        return maxiter_unit(self.name)

    @property
    def doc(self) -> str:
        """Algorithm, cost per iteration and what the bounds guarantee."""
        return self.function.__doc__ or ""

    def applies_to(self, A: Any) -> tuple[bool, str]:
        """Whether this method takes ``A``, and why not (a full sentence) if not."""
        return self.takes(classify(A), type(A).__name__)

    def takes(self, info: InputInfo, type_name: str) -> tuple[bool, str]:
        """:meth:`applies_to` for an input already classified."""
        kind, backend, ndim = info
        if kind is None:
            return False, f"method {self.name!r} cannot take an object of type {type_name}"
        if kind is InputKind.DASK and self.name in DASK_REFUSALS:
            return False, DASK_REFUSALS[self.name]
        if kind not in self.kinds:
            return False, (f"method {self.name!r} does not take {kind} input; it takes "
                           f"{', '.join(sorted(str(k) for k in self.kinds))}")
        if backend not in self.backends:
            return False, (f"method {self.name!r} runs on {', '.join(sorted(self.backends))} arrays; "
                           f"got a {backend} array")
        if ndim > 2 and not self.batched:
            return False, (f"method {self.name!r} takes one 2-D matrix, not a stack of ndim {ndim}; "
                           "use 'svd' or 'power' for stacks")
        return True, ""


_DENSE = frozenset({InputKind.DENSE})
_SCIPY_KINDS = frozenset({InputKind.DENSE, InputKind.SCIPY_SPARSE, InputKind.LINEAR_OPERATOR})
_MATRIX_FREE = frozenset(InputKind)
_NUMPY = frozenset({"numpy"})
_WITH_DASK = ALL_BACKENDS | {"dask"}  # the Krylov methods and gram also run on a Dask array's operator

_METHODS: dict[str, MethodInfo] = {m.name: m for m in [
    MethodInfo("svd", full_svd, "full dense SVD (LAPACK gesdd/gesvd, cuSOLVER)", _DENSE, ALL_BACKENDS,
               batched=True),
    MethodInfo("power", power_iteration, "power iteration on A^T A, error-bounded stopping", _MATRIX_FREE,
               _WITH_DASK, batched=True),
    MethodInfo("lanczos", lanczos, "Golub-Kahan-Lanczos bidiagonalization, full reorthogonalization",
               _MATRIX_FREE, _WITH_DASK, options=("work_dtype", "gram", "normal", "max_basis", "engine",
                                                  "check_warmup", "fused_min_bytes")),
    MethodInfo("arpack", arpack, "scipy.sparse.linalg.svds with ARPACK", _SCIPY_KINDS, _NUMPY),
    MethodInfo("propack", propack, "scipy.sparse.linalg.svds with PROPACK", _SCIPY_KINDS, _NUMPY),
    MethodInfo("lobpcg", lobpcg, "scipy.sparse.linalg.svds with LOBPCG", _SCIPY_KINDS, _NUMPY),
    MethodInfo("cupy-eigsh", cupy_eigsh, "cupyx.scipy.sparse.linalg.eigsh on A^T A",
               frozenset({InputKind.DENSE, InputKind.CUPY_SPARSE}), frozenset({"cupy"})),
    MethodInfo("interpolative", interpolative_estimate, "scipy.linalg.interpolative.estimate_spectral_norm",
               _SCIPY_KINDS, _NUMPY),
    MethodInfo("randomized", randomized_block_krylov, "randomized block Krylov (Musco & Musco 2015)",
               _MATRIX_FREE, _WITH_DASK, options=("block_size",)),
    MethodInfo("gram", gram_iteration, "Gram iteration (Delattre et al. 2023), certified upper bound",
               _DENSE | {InputKind.DASK}, _WITH_DASK),
]}


class _Methods(Mapping):
    """Read-only registry: method name -> :class:`MethodInfo`."""

    def __getitem__(self, key: str) -> MethodInfo:
        return _METHODS[key]

    def __iter__(self):
        return iter(_METHODS)

    def __len__(self) -> int:
        return len(_METHODS)

    def __repr__(self) -> str:
        return "METHODS(" + ", ".join(_METHODS) + ")"


METHODS: Mapping[str, MethodInfo] = _Methods()
