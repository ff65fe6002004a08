"""One look per method in every plot: colour, marker, line width, legend label.

:data:`METHOD_STYLES` is defined once and every plot of the report draws a
method with it, so a reader who learned that lanczos is blue finds it blue
in every figure.  ``auto`` stands out (thick orange line, star markers); the
references are black and greys; the missed-target marker
(:data:`MISS_STYLE`) uses a colour no method has.  Each drawn line carries
its method in its gid (``method=<name>``), so a test can read the figures.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from ..benchmark_meta import BASELINES

__all__ = ["Style", "METHOD_STYLES", "MISS_STYLE", "method_style", "series_label", "BACKEND_LINESTYLES",
           "method_of_strategy"]


@dataclass(frozen=True)
class Style:
    color: str
    marker: str
    linewidth: float = 1.4
    zorder: float = 2.0


#: method -> its look in every plot
METHOD_STYLES: dict[str, Style] = {
    "auto": Style("#ff7f0e", "*", 3.0, 5.0),
    "numpy.linalg.norm": Style("#000000", "s", 1.8, 3.0),
    "scipy.sparse.linalg.svds": Style("#7f7f7f", "D", 1.6, 3.0),
    "svd": Style("#4d4d4d", "v", 1.6, 3.0),
    "lanczos": Style("#1f77b4", "o"),
    "arpack": Style("#2ca02c", "^"),
    "propack": Style("#9467bd", "P"),
    "lobpcg": Style("#8c564b", "X"),
    "power": Style("#e377c2", "<"),
    "randomized": Style("#bcbd22", ">"),
    "interpolative": Style("#17becf", "h"),
    "gram": Style("#393b79", "p"),
    "cupy-eigsh": Style("#637939", "d"),
    "uv-1step-warm": Style("#843c39", "."),
}

#: the marker of a missed target: a red cross, a colour no method has
MISS_STYLE = Style("#d62728", "x", 2.0, 6.0)

#: lines of one method on different backends in one figure
BACKEND_LINESTYLES = {"numpy": "-", "cupy": "--", "array_api_strict": ":"}

# methods added later: a fixed colour from this list, chosen by the name alone
_SPARE = ("#aec7e8", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5", "#6b6ecf", "#b5cf6b",
          "#e7ba52")


def method_style(method: str) -> Style:
    """The look of ``method`` (a method lipbench adds later gets a fixed spare colour)."""
    if method in METHOD_STYLES:
        return METHOD_STYLES[method]
    return Style(_SPARE[zlib.crc32(method.encode()) % len(_SPARE)], "o")


#: how a reference is named on each backend (it is the backend's own function there)
_REFERENCE_NAMES = {
    ("numpy.linalg.norm", "numpy"): "numpy.linalg.norm(A, 2) (full SVD)",
    ("numpy.linalg.norm", "cupy"): "cupy.linalg.norm(A, 2) (full SVD on the GPU)",
    ("scipy.sparse.linalg.svds", "numpy"): "scipy svds (ARPACK)",
    ("scipy.sparse.linalg.svds", "cupy"): "cupyx svds (on the GPU)",
}


def series_label(method: str, backend: str, *, show_backend: bool = False) -> str:
    """A series' legend label: a reference by the function that ran on that
    backend (``cupy.linalg.norm`` on CuPy, not ``numpy.linalg.norm``), any
    other method by its name; ``show_backend`` adds the backend where one
    figure holds several."""
    if method in BASELINES:
        return _REFERENCE_NAMES.get((method, backend), f"{method} ({backend})")
    return f"{method} ({backend})" if show_backend else method


def method_of_strategy(strategy: str) -> str:
    """The method a training strategy runs (``power-1step-warm`` -> ``power``)."""
    if strategy in METHOD_STYLES:
        return strategy
    for suffix in ("-1step-warm", "-warm", "-cold"):
        if strategy.endswith(suffix):
            return strategy[: -len(suffix)]
    return strategy
