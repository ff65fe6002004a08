"""A SciPy or CuPy sparse matrix, and a matrix-free LinearOperator, as
operators."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import backends as _backends
from .._rounding import norm_bounds
from .._rounding_maps import linop_lower_bound
from ._operator import Operator, format_index

__all__ = ["SparseOperator", "MatrixFreeOperator"]


@dataclass
class SparseOperator(Operator):
    """A SciPy or CuPy sparse matrix (CSR, duplicates summed)."""

    def matvec(self, x: Any) -> Any:
        self._count(x)
        return self.sparse @ x

    def rmatvec(self, y: Any) -> Any:
        self._count(y)
        return self.sparse.T @ y

    def sparse64(self) -> Any:
        """The scaled sparse matrix in float64 (cached), for certification."""
        if self._exact64 is None:
            self._exact64 = self.sparse if self.dtype == "float64" else self.sparse.astype("float64")
        return self._exact64

    def _product64(self, v64: Any) -> Any:
        self.matvecs += 1
        return self.sparse64() @ v64

    def with_work_dtype(self, dtype: str) -> Operator:
        if self.dtype == dtype:
            return self
        if dtype == "float64":
            return dataclasses.replace(self, sparse=self.sparse64(), dtype="float64")
        return dataclasses.replace(self, sparse=self.sparse.astype(dtype), dtype=dtype, _exact64=self.sparse)

    def rmatvec64(self, w: Any) -> Any:
        self.matvecs += 1
        return self.sparse64().T @ w

    def _inner_terms(self) -> int:
        return max(1, self.nnz_per_row_max())

    def assembled64(self, max_entries: int) -> tuple[Any, str]:
        if self.m * self.n > max_entries:
            return None, (f"a sparse {self.m} x {self.n} matrix is not assembled to be certified (over "
                          f"{max_entries} entries)")
        return self.sparse64().toarray(), ""

    def sum_squares64(self) -> float:
        d = np.asarray(_backends.to_numpy(self.sparse64().data), dtype=np.float64)
        return float(d @ d)

    def nnz_per_row_max(self) -> int:
        indptr = _backends.to_numpy(self.sparse.indptr)
        return int(np.max(np.diff(indptr))) if indptr.size > 1 else 0

    def fro_upper(self) -> float:
        if self._fro is None:  # the float64 matrix the bounds are about, not a float32 working copy
            d = np.asarray(_backends.to_numpy(self.sparse64().data), dtype=np.float64)
            self._fro = norm_bounds(float(np.sum(d * d)), max(1, int(d.size)))[1]
        return self._fro

    def cheap_upper(self) -> float:
        a = abs(self.sparse64())  # summed in float64, as the bound assumes
        return self._norm_product_upper(float(a.sum(axis=0).max()), float(a.sum(axis=1).max()))


@dataclass
class MatrixFreeOperator(Operator):
    """A ``scipy.sparse.linalg.LinearOperator``: products only, unscaled, its
    results checked for non-finite values; no entries to bound anything with."""

    products_assumed = True

    def assembled64(self, max_entries: int) -> tuple[Any, str]:
        return None, "a LinearOperator has no entries to form a Gram matrix from"

    def sum_squares64(self) -> float:
        """One product gives the whole row or column."""
        e = np.ones(1)
        col = self.matvec(e) if self.n == 1 else self.rmatvec(e)
        return float(col @ col)

    def matvec(self, x: Any) -> Any:
        self._count(x)
        y = self.linop.matvec(x) if x.ndim == 1 else self.linop.matmat(x)
        return self._checked(y, "A @ x") / self.scale

    def rmatvec(self, y: Any) -> Any:
        self._count(y)
        x = self.linop.rmatvec(y) if y.ndim == 1 else self.linop.rmatmat(y)
        return self._checked(x, "A.T @ y") / self.scale

    def _checked(self, y: Any, what: str) -> Any:
        y = np.asarray(y, dtype=np.float64).reshape(-1) if np.ndim(y) <= 1 else np.asarray(y, dtype=np.float64)
        if not np.all(np.isfinite(y)):
            bad = np.argwhere(~np.isfinite(y))[0]
            raise FloatingPointError(
                f"the LinearOperator returned a non-finite value ({y[tuple(bad)]}) at index "
                f"{format_index(tuple(bad))} of {what}; spectral norm is undefined"
            )
        return y

    def certified_lower(self, v: Any) -> tuple[float, Any, Any]:
        v64 = np.asarray(_backends.to_numpy(v), dtype=np.float64).reshape(-1)
        return self.certified_lower_from(v64, self.matvec(v64))

    def _lower_from_sums(self, ss_w: float, ss_v: float) -> float:
        return linop_lower_bound(math.sqrt(ss_w / ss_v), self.m, self.n)
