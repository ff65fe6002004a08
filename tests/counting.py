"""A counting array namespace: array-api-strict wrapped so that every array
call and every host transfer is logged.

On a GPU each array call costs host time (a kernel launch or at least a
Python-level dispatch) and each host transfer (``float()``, ``bool()``,
``int()``, ``__array__``, DLPack export to NumPy) blocks until the queued
work is done.  The tests use this namespace as a CPU stand-in for CuPy: they
pass a :class:`CountingArray` to :func:`lipbench.spectral_norm`, which then
computes through :class:`CountingNamespace`, and read :attr:`Log.events`.

Each event is ``(kind, name, shapes)``: kind ``"op"`` for an array call
(a namespace function, an operator, indexing, an array-producing attribute
such as ``.T``), ``"transfer"`` for a host read.  Creating arrays from host
data (``asarray`` of a NumPy array) is an op: an upload does not wait for the
device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import array_api_strict

__all__ = ["Log", "CountingArray", "CountingNamespace", "wrap", "steps"]


@dataclass
class Log:
    """The events of one run, in order."""

    events: list = field(default_factory=list)

    def op(self, name: str, args: tuple = ()) -> None:
        self.events.append(("op", name, _shapes(args)))

    def transfer(self, name: str, x: Any) -> None:
        self.events.append(("transfer", name, (tuple(x.shape),)))

    def count(self, kind: str, start: int = 0, stop: int | None = None) -> int:
        return sum(1 for e in self.events[start:stop] if e[0] == kind)


def _shapes(args: Any) -> tuple:
    out = []
    for a in args:
        if isinstance(a, CountingArray):
            out.append(tuple(a._x.shape))
        elif isinstance(a, (list, tuple)):
            out.extend(_shapes(a))
    return tuple(out)


def _unwrap(x: Any) -> Any:
    if isinstance(x, CountingArray):
        return x._x
    if isinstance(x, list):
        return [_unwrap(a) for a in x]
    if isinstance(x, tuple):
        return tuple(_unwrap(a) for a in x)
    return x


def _wrap(x: Any, log: Log) -> Any:
    if type(x).__module__.startswith("array_api_strict") and hasattr(x, "__array_namespace__"):
        return CountingArray(x, log)
    if isinstance(x, tuple):
        return tuple(_wrap(a, log) for a in x)
    if isinstance(x, list):
        return [_wrap(a, log) for a in x]
    return x


class CountingNamespace:
    """array_api_strict (or its ``linalg``) with every callable counted."""

    def __init__(self, log: Log, inner: Any = array_api_strict, prefix: str = ""):
        self._log, self._inner, self._prefix = log, inner, prefix

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name in ("linalg", "fft"):
            return CountingNamespace(self._log, attr, prefix=name + ".")
        if not callable(attr) or isinstance(attr, type) or name in ("finfo", "iinfo", "isdtype"):
            return attr  # dtypes, constants, finfo: no array work
        log, label = self._log, self._prefix + name

        def call(*args: Any, **kwargs: Any) -> Any:
            log.op(label, args)
            return _wrap(attr(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}), log)

        return call


def _binary(name: str):
    def method(self: CountingArray, other: Any) -> Any:
        self._log.op(name, (self, other))
        return _wrap(getattr(self._x, name)(_unwrap(other)), self._log)

    method.__name__ = name
    return method


def _unary(name: str):
    def method(self: CountingArray) -> Any:
        self._log.op(name, (self,))
        return _wrap(getattr(self._x, name)(), self._log)

    method.__name__ = name
    return method


def _host(name: str):
    def method(self: CountingArray, *args: Any, **kwargs: Any) -> Any:
        self._log.transfer(name, self._x)
        return getattr(self._x, name)(*args, **kwargs)

    method.__name__ = name
    return method


class CountingArray:
    """An array_api_strict array whose every operation is logged."""

    __slots__ = ("_x", "_log")
    # lipbench names a backend by its array type's top-level module: this
    # wrapper is array-api-strict to it (the registry accepts that backend)
    __module__ = "array_api_strict.counting"

    def __init__(self, x: Any, log: Log):
        self._x, self._log = x, log

    def __array_namespace__(self, api_version: str | None = None) -> CountingNamespace:
        return CountingNamespace(self._log)

    @property
    def dtype(self) -> Any:
        return self._x.dtype

    @property
    def shape(self) -> tuple:
        return self._x.shape

    @property
    def ndim(self) -> int:
        return self._x.ndim

    @property
    def size(self) -> int:
        return self._x.size

    @property
    def device(self) -> Any:
        return self._x.device

    @property
    def T(self) -> CountingArray:
        self._log.op("T", (self,))
        return CountingArray(self._x.T, self._log)

    @property
    def mT(self) -> CountingArray:
        self._log.op("mT", (self,))
        return CountingArray(self._x.mT, self._log)

    def __getitem__(self, key: Any) -> Any:
        self._log.op("__getitem__", (self,))
        return _wrap(self._x[_unwrap(key)], self._log)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._log.op("__setitem__", (self, value))
        self._x[_unwrap(key)] = _unwrap(value)

    def __dlpack_device__(self) -> Any:
        return self._x.__dlpack_device__()

    def __repr__(self) -> str:
        return f"CountingArray({self._x!r})"

    __hash__ = None  # type: ignore[assignment]


for _name in ("__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__", "__pow__",
              "__matmul__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rfloordiv__",
              "__rmod__", "__rpow__", "__rmatmul__", "__and__", "__or__", "__xor__", "__rand__", "__ror__",
              "__rxor__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__", "__ne__", "__iadd__",
              "__isub__", "__imul__", "__itruediv__", "__lshift__", "__rshift__"):
    setattr(CountingArray, _name, _binary(_name))
for _name in ("__neg__", "__pos__", "__abs__", "__invert__"):
    setattr(CountingArray, _name, _unary(_name))
for _name in ("__float__", "__int__", "__bool__", "__index__", "__complex__", "__array__", "__dlpack__",
              "to_device"):
    setattr(CountingArray, _name, _host(_name))
del _name


def wrap(x: Any) -> tuple[CountingArray, Log]:
    """A NumPy array as a counting array on a fresh log."""
    log = Log()
    return CountingArray(array_api_strict.asarray(x), log), log


def steps(log: Log, shape: tuple[int, int], per_step: int = 1) -> list[tuple[int, int]]:
    """``(start, stop)`` event ranges of the Krylov steps: from one product of
    a ``shape`` matrix with a vector to the ``per_step``-th next one (a step
    that multiplies by a square matrix and its transpose makes two).  Only
    ranges that end in a later product are returned, so the last range ends
    where the last step began (or, for the product with A itself, where the
    final vector's certificate begins)."""
    at = [i for i, e in enumerate(log.events)
          if e[0] == "op" and e[1] == "__matmul__" and len(e[2]) == 2 and e[2][0] == tuple(shape)
          and len(e[2][1]) == 1]
    at = at[::per_step]
    return list(zip(at[:-1], at[1:]))


def _main() -> None:
    """Print array calls and host transfers per Krylov step of each Lanczos
    route that runs on CuPy, on a 300 x 200 Gaussian matrix at tol 1e-7
    (``python -m tests.counting``; docs/gpu-krylov.md records the numbers)."""
    import statistics
    import warnings

    import lipbench as lb
    from lipbench import matrices

    A = matrices.gaussian(300, 200, seed=1).matrix
    routes = {"bidiagonal": ({}, A.shape, 1), "normal=True": ({"normal": True}, A.shape, 1),
              "gram=True": ({"gram": True}, (200, 200), 2),
              "work_dtype=float32": ({"work_dtype": "float32"}, A.shape, 1)}
    print(f"{'route':20s} {'steps':>5s} {'calls/step':>10s} {'max':>4s} {'transfers in loop':>17s} "
          f"{'steps with one':>14s} {'before loop':>11s} {'last step + certificate':>23s}")
    for name, (options, shape, per) in routes.items():
        Ap, log = wrap(A)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lb.spectral_norm(Ap, method="lanczos", tol=1e-7, seed=0, **options)
        ranges = steps(log, shape, per)
        inner = ranges[:-1]  # the last range runs into the certificate
        ops = [log.count("op", a, b) for a, b in inner]
        tr = [log.count("transfer", a, b) for a, b in inner]
        print(f"{name:20s} {len(ranges):5d} {statistics.median(ops):10.0f} {max(ops):4d} {sum(tr):17d} "
              f"{sum(1 for t in tr if t):14d} {log.count('transfer', 0, ranges[0][0]):11d} "
              f"{log.count('transfer', ranges[-1][0]):23d}")


if __name__ == "__main__":
    _main()
