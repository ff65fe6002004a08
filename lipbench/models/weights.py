"""Named weight arrays from a file, whatever wrote it, without running its code.

:func:`read_weights` picks the reader from the suffix, checks the file's first
bytes agree, and returns a :class:`WeightFile`: every array as NumPy, by name.

========================  =============================================================
suffix                    reader
========================  =============================================================
``.safetensors``          ``safetensors.numpy`` (no torch); bfloat16 widened to float32
``.pt`` ``.pth`` ``.bin`` ``torch.load(weights_only=True)`` (tensors and containers only);
                          nested dicts flattened to dotted names
``.npz`` ``.npy``         ``numpy.load(allow_pickle=False)``
``.pt2``                  a ``torch.export`` program (``torch.export.load``): its parameters,
                          buffers and constants, and each conv kernel's input size in the program
``.onnx``                 the graph's initializers (``onnx.numpy_helper.to_array``)
``.mat``                  the ``weights`` cell array of LipSDP and ECLipsE (dense layers
                          ``W1 .. Wn`` of the chain ``Wn relu(... relu(W1 x))``)
========================  =============================================================

Nothing is unpickled beyond PyTorch's weights-only loader.  A missing optional
reader, an unknown suffix, or a file that is not what its suffix says is a
:class:`WeightFileError` naming the problem and the fix.
"""

from __future__ import annotations

import dataclasses
import json
import struct
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["WeightFile", "WeightFileError", "LazyArrays", "read_weights", "load_torch_file", "FORMATS"]


class WeightFileError(ValueError):
    """A weight file that cannot be read: the message names the file, the problem and the fix."""


@dataclasses.dataclass(frozen=True)
class WeightFile:
    """The arrays of one file.

    path, format : the file and its reader's name (a key of :data:`FORMATS`).
    arrays : name -> NumPy array, in the file's order; for safetensors and ``.pt`` files a
        :class:`LazyArrays` that reads (and widens) each array when it is asked for, so a
        checkpoint larger than memory can be scanned one array at a time.
    ignored : names of entries that are not arrays (a checkpoint's epoch, a config string).
    chain : for ``.mat`` files, the names of the dense layers of the ReLU chain, first layer first;
        ``None`` where the file does not say how its weights compose.
    tied : name -> the earlier name whose tensor it shares (a ``.pt`` file's tied weights, such as
        a language model's output layer and its embedding table).
    input_sizes : name -> the spatial size of the input its convolution reads, where the file
        says it (a ``.pt2`` program, at its example input).
    """

    path: Path
    format: str
    arrays: Mapping[str, np.ndarray]
    ignored: tuple[str, ...] = ()
    chain: tuple[str, ...] | None = None
    tied: dict[str, str] = dataclasses.field(default_factory=dict)
    input_sizes: dict[str, tuple[int, ...]] = dataclasses.field(default_factory=dict)


class LazyArrays(Mapping[str, np.ndarray]):
    """name -> array, each read by its loader on every access (nothing is kept)."""

    def __init__(self, loaders: dict[str, Callable[[], np.ndarray]]) -> None:
        self._loaders = loaders

    def __getitem__(self, name: str) -> np.ndarray:
        return self._loaders[name]()

    def __iter__(self) -> Iterator[str]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


_MODELS_EXTRA = "pip install -e '.[models]'"


def _need(module: str, path: Path, what: str, install: str = _MODELS_EXTRA) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise WeightFileError(f"{path}: reading {what} needs the {module.split('.')[0]} package "
                              f"(`{install}`)") from None


def _head(path: Path, n: int = 128) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _is_zip(head: bytes) -> bool:
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def _not_what_it_says(path: Path, fmt: str, head: bytes) -> WeightFileError:
    return WeightFileError(f"{path}: not a {fmt} file (it starts with {head[:8]!r}); "
                           "is the suffix right?")


# --- safetensors ------------------------------------------------------------------------------

def _read_safetensors(path: Path) -> WeightFile:
    head = _head(path, 9)
    if len(head) < 9 or head[8:9] != b"{":
        raise _not_what_it_says(path, "safetensors", head)
    header = _safetensors_header(path)
    dtypes = {k: v.get("dtype") for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
    odd = {k: d for k, d in dtypes.items() if d not in _SAFETENSORS_NUMPY and d != "BF16"}
    if odd:
        name, dtype = next(iter(odd.items()))
        raise WeightFileError(f"{path}: {len(odd)} tensors in a type NumPy cannot hold (e.g. {name!r}, {dtype}); "
                              "convert them to float16, bfloat16 or float32 first")
    _need("safetensors.numpy", path, ".safetensors")
    safe_open = _need("safetensors", path, ".safetensors").safe_open
    try:
        with safe_open(str(path), framework="np") as fh:  # checks the header against the file
            names = list(fh.keys())
    except Exception as exc:  # the Rust reader's SafetensorError derives from Exception alone
        raise WeightFileError(f"{path}: not a valid safetensors file ({exc})") from None

    def loader(name: str) -> Callable[[], np.ndarray]:
        if dtypes[name] == "BF16":
            return lambda: _bf16(path, header[name])

        def load() -> np.ndarray:
            with safe_open(str(path), framework="np") as fh:
                return fh.get_tensor(name)

        return load

    return WeightFile(path, "safetensors", LazyArrays({name: loader(name) for name in names}))


#: the safetensors dtypes ``safetensors.numpy`` reads (bfloat16 is widened here instead)
_SAFETENSORS_NUMPY = {"F64", "F32", "F16", "I64", "I32", "I16", "I8", "U64", "U32", "U16", "U8", "BOOL"}


def _safetensors_header(path: Path) -> dict[str, Any]:
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        if n > path.stat().st_size - 8:
            raise WeightFileError(f"{path}: not a valid safetensors file (header of {n} bytes in a "
                                  f"{path.stat().st_size}-byte file)")
        try:
            header = json.loads(fh.read(n))
        except ValueError as exc:
            raise WeightFileError(f"{path}: not a valid safetensors file (header: {exc})") from None
    if not isinstance(header, dict):
        raise WeightFileError(f"{path}: not a valid safetensors file (its header is not a JSON object)")
    return header


def _bf16(path: Path, entry: dict[str, Any]) -> np.ndarray:
    """A bfloat16 tensor (which NumPy lacks) as float32, exactly: its bits are float32's top half."""
    with open(path, "rb") as fh:
        (n,) = struct.unpack("<Q", fh.read(8))
        start, stop = entry["data_offsets"]
        fh.seek(8 + n + start)
        raw = np.frombuffer(fh.read(stop - start), dtype="<u2")
    return (raw.astype(np.uint32) << 16).view(np.float32).reshape(entry["shape"])


# --- PyTorch ------------------------------------------------------------------------------------

def load_torch_file(path: str | Path, mmap: bool = False) -> Any:
    """What ``torch.save`` wrote, through ``torch.load(weights_only=True)`` on
    the CPU: tensors and containers of them, nothing else is unpickled.
    ``mmap``: map the tensors' storage from the file instead of reading it
    (zip-format files only, the format of ``torch.save`` since PyTorch 1.6)."""
    p = Path(path)
    torch = _need("torch", p, "a PyTorch file", "pip install -e '.[torch]'")
    try:
        return torch.load(p, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as exc:  # the weights-only unpickler refuses anything but tensors and containers
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise WeightFileError(
            f"{p}: not a weights-only PyTorch file ({type(exc).__name__}: {first}); lipbench reads tensors only "
            "(a whole module saved with torch.save(model) needs its code: save model.state_dict() instead)"
        ) from None


def _read_torch(path: Path) -> WeightFile:
    head = _head(path, 8)
    if not (_is_zip(head) or head[:1] == b"\x80"):
        raise _not_what_it_says(path, "PyTorch (torch.save)", head)
    loaded = load_torch_file(path, mmap=_is_zip(head))  # needs torch, so the import below cannot fail
    import torch

    arrays: dict[str, Callable[[], np.ndarray]] = {}
    ignored: list[str] = []
    tied: dict[str, str] = {}
    seen: dict[tuple[Any, ...], str] = {}

    def walk(prefix: str, obj: Any) -> None:
        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu()
            view = (t.untyped_storage().data_ptr(), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
            if t.numel() and view in seen:
                tied[prefix or path.stem] = seen[view]
            seen.setdefault(view, prefix or path.stem)
            narrow = t.is_floating_point() and t.dtype not in (torch.float32, torch.float64)
            arrays[prefix or path.stem] = lambda: (t.float() if narrow else t).numpy()  # widening is exact
        elif isinstance(obj, dict):
            for k, v in obj.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        elif isinstance(obj, (list, tuple)):
            for i, v in enumerate(obj):
                walk(f"{prefix}.{i}" if prefix else str(i), v)
        else:
            ignored.append(prefix or path.stem)

    walk("", loaded)
    return WeightFile(path, "torch", LazyArrays(arrays), tuple(ignored), tied=tied)


def _read_exported(path: Path) -> WeightFile:
    head = _head(path, 8)
    if not _is_zip(head):
        raise _not_what_it_says(path, "torch.export (.pt2)", head)
    _need("torch", path, "a torch.export program", "pip install -e '.[torch]'")
    from .export_import import conv_input_sizes, load_exported

    try:
        program = load_exported(path)  # reads the program's own format: nothing is unpickled
    except ValueError as exc:
        raise WeightFileError(f"{path}: {exc}") from None
    tensors = {**program.state_dict, **program.constants}
    arrays: dict[str, Callable[[], np.ndarray]] = {}
    ignored = [k for k, t in tensors.items() if not hasattr(t, "detach")]

    def loader(t: Any) -> Callable[[], np.ndarray]:
        narrow = t.is_floating_point() and t.element_size() < 4
        return lambda: (t.detach().float() if narrow else t.detach()).cpu().numpy()  # widening is exact

    for k, t in tensors.items():
        if hasattr(t, "detach"):
            arrays[k] = loader(t)
    return WeightFile(path, "torch.export", LazyArrays(arrays), tuple(ignored),
                      input_sizes=conv_input_sizes(program))


# --- NumPy --------------------------------------------------------------------------------------

def _read_numpy(path: Path) -> WeightFile:
    head = _head(path, 8)
    if not (head.startswith(b"\x93NUMPY") or _is_zip(head)):
        raise _not_what_it_says(path, "NumPy .npy/.npz", head)
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                return WeightFile(path, "numpy", {k: loaded[k] for k in loaded.keys()})
        return WeightFile(path, "numpy", {path.stem: loaded})
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise WeightFileError(f"{path}: holds pickled Python objects; lipbench reads .npy/.npz files "
                                  "without pickle (it can run arbitrary code)") from None
        raise WeightFileError(f"{path}: not a valid .npy/.npz file ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise WeightFileError(f"{path}: not a valid .npy/.npz file ({type(exc).__name__}: {exc})") from None


# --- ONNX ---------------------------------------------------------------------------------------

def _read_onnx(path: Path) -> WeightFile:
    onnx = _need("onnx", path, ".onnx")
    helper = _need("onnx.numpy_helper", path, ".onnx")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf's DecodeError and friends
        raise WeightFileError(f"{path}: not a valid ONNX model ({type(exc).__name__}: {exc})") from None
    if not model.HasField("graph"):
        raise WeightFileError(f"{path}: not an ONNX model (no graph)")
    return WeightFile(path, "onnx", {t.name: _widen(helper.to_array(t)) for t in model.graph.initializer})


def _widen(a: np.ndarray) -> np.ndarray:
    """A bfloat16 or float8 array (``ml_dtypes``, which NumPy sees as void) as float32, exactly."""
    if a.dtype.kind == "V" and a.dtype.name.startswith(("bfloat16", "float8", "float6", "float4")):
        return a.astype(np.float32)
    return a


# --- MATLAB (LipSDP, ECLipsE) ------------------------------------------------------------------

def _read_mat(path: Path) -> WeightFile:
    head = _head(path)
    if b"MATLAB 7.3" in head:
        raise WeightFileError(f"{path}: a MATLAB v7.3 (HDF5) file; save it with save(..., '-v7') to scan it")
    if not head.startswith(b"MATLAB 5.0"):
        raise _not_what_it_says(path, "MATLAB (v5/v7) .mat", head)
    import scipy.io

    try:
        data = scipy.io.loadmat(path)
    except Exception as exc:  # scipy raises several kinds on a damaged file
        raise WeightFileError(f"{path}: not a valid .mat file ({type(exc).__name__}: {exc})") from None
    if "weights" not in data:
        found = ", ".join(k for k in data if not k.startswith("__")) or "none"
        raise WeightFileError(f"{path}: has no 'weights' variable (LipSDP's layout: a cell array of the layers' "
                              f"matrices); it holds: {found}")
    cells = data["weights"]
    layers = list(cells.ravel()) if cells.dtype == object else [cells]
    arrays = {f"weights[{i}]": np.asarray(w) for i, w in enumerate(layers)}
    for name, w in arrays.items():
        if w.ndim != 2 or not np.issubdtype(w.dtype, np.number):
            raise WeightFileError(f"{path}: {name} is a {w.dtype} array of shape {w.shape}, not a matrix")
    names = list(arrays)
    for a, b in zip(names, names[1:]):
        if arrays[b].shape[1] != arrays[a].shape[0]:
            raise WeightFileError(f"{path}: {b} {arrays[b].shape} cannot follow {a} {arrays[a].shape} in a chain "
                                  "(its column count must be the previous layer's row count)")
    return WeightFile(path, "mat", arrays, chain=tuple(names))


#: reader name -> (suffixes, reader)
FORMATS: dict[str, tuple[tuple[str, ...], Callable[[Path], WeightFile]]] = {
    "safetensors": ((".safetensors",), _read_safetensors),
    "torch": ((".pt", ".pth", ".bin"), _read_torch),
    "torch.export": ((".pt2",), _read_exported),
    "numpy": ((".npz", ".npy"), _read_numpy),
    "onnx": ((".onnx",), _read_onnx),
    "mat": ((".mat",), _read_mat),
}


def read_weights(path: str | Path) -> WeightFile:
    """Every array of the weight file at ``path``, by name (reader by suffix: :data:`FORMATS`)."""
    p = Path(path)
    if not p.exists():
        raise WeightFileError(f"{p}: no such file")
    if p.is_dir():
        raise WeightFileError(f"{p}: is a directory, expected a weight file")
    for suffixes, reader in FORMATS.values():
        if p.suffix.lower() in suffixes:
            return reader(p)
    known = ", ".join(s for suffixes, _ in FORMATS.values() for s in suffixes)
    raise WeightFileError(f"{p}: unknown weight format {p.suffix or '(no suffix)'!r}; lipbench reads {known}")
