"""The one entry from the caller's array to an :class:`~._operator.Operator`:
:func:`prepare` sends each input kind (:func:`._inputs.classify`) to the
function that validates it, scales it and records its bounds in one pass."""

from __future__ import annotations

from typing import Any

from ._dask_prepare import prepare_dask
from ._inputs import InputKind, prepare_dense, prepare_linop, prepare_sparse
from ._operator import Operator

__all__ = ["prepare"]


def prepare(A: Any, kind: InputKind | None, *, batched_ok: bool = True, name: str = "A") -> Operator:
    """Validate ``A`` of the given kind and wrap it as an :class:`Operator`
    (``batched_ok``: a dense stack ``(..., m, n)`` is accepted; an unknown kind,
    None, goes to the dense path, which names what it got)."""
    if kind is InputKind.LINEAR_OPERATOR:
        return prepare_linop(A, name)
    if kind in (InputKind.SCIPY_SPARSE, InputKind.CUPY_SPARSE):
        return prepare_sparse(A, kind, name)
    if kind is InputKind.DASK:
        return prepare_dask(A, kind, name)
    return prepare_dense(A, batched_ok, name)
