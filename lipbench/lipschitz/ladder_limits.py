"""What each rung of the bound ladder would cost, read from the network's sizes before it runs.

The ladder's rungs scale very differently: the product rung costs one certified
norm per layer (convolutions through their own routes, never unrolled), while
the chain rungs (ECLipsE-Fast, LipSDP, the pattern maximum) work on each
convolution's unrolled matrix, ECLipsE-Fast takes eigendecompositions of
``n_i x n_i`` matrices for every hidden width ``n_i``, and the empirical rung's
Jacobians multiply each layer's matrix into a ``width x n_in`` Jacobian.  :func:`ladder_sizes` reads these sizes
from the layers alone (nothing is assembled) and the ``*_skip`` functions return
the note of a rung that would pass its limit -- naming the size, the limit and
the keyword that raises it -- or None when it runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .batchnorm import BatchNorm
from .conv_layer import Conv
from .layers import ActivationLayer
from .network import Sequential
from .pooling import AvgPool

__all__ = ["LadderSizes", "ladder_sizes", "MAX_UNROLLED_ENTRIES", "MAX_ECLIPSE_WIDTH", "MAX_JACOBIAN_FLOPS",
           "MAX_ATTAINED_UNITS", "chain_skip", "eclipse_skip", "lipsdp_skip", "patterns_skip", "jacobian_skip",
           "attained_skip"]

#: the largest unrolled matrix (entries) of one convolution or pooling layer the chain rungs assemble:
#: 2^22 float64 entries = 32 MiB, the size past which a convolution's own norm stops assembling it too
MAX_UNROLLED_ENTRIES = 1 << 22
#: the widest hidden layer ECLipsE-Fast takes: each step is an eigendecomposition of an n x n matrix and a
#: certified check of a 2n x 2n block; on a loaded 2-core machine 5 s for a 300-300 MLP, 10 s for the digits
#: CNN's 512 hidden units, 107 s for a 1000-1000 MLP (docs/lipschitz-ladder.md)
MAX_ECLIPSE_WIDTH = 512
#: the most multiply-adds one Jacobian of the empirical rung may take (it builds about 60).  Multiplied
#: from the input side, a 1000-1000 MLP took 2.0e9 per Jacobian (36 s for the rung) and a 3x16x16 input
#: under a 16-channel convolution 1.5e10 (246 s, on the loaded 2-core machine); from a 10-wide output
#: (Sequential.jacobian) the 1000-1000 MLP's takes 1e7, a 3x32x32 CNN's 2.5e8 (about 6 s for the rung)
MAX_JACOBIAN_FLOPS = 1 << 31
#: the most hidden units the attained lower bound searches without the branch and bound: its local searches
#: try every single flip, each a product through the net, and its climbs a linear program per step; on the
#: loaded 2-core machine 6 s for a 32-32-32 MLP and 10 s for 784-50-10, but 71 s for a depth-8 width-30
#: MLP (240 units) and 212 s for a 100-100 one (docs/lipschitz-ladder.md)
MAX_ATTAINED_UNITS = 128


#: the linear layers the chain assembles as matrices (a dense layer's weight is its matrix already)
_ASSEMBLED = (Conv, AvgPool, BatchNorm)


@dataclass(frozen=True)
class LadderSizes:
    """``hidden``: (width, shape text) at each activation; ``unrolled``: (rows, cols, what) of the
    largest matrix a non-dense linear layer unrolls to; ``widest``: the widest layer output;
    ``jacobian_flops``: the multiply-adds of one Jacobian by the chain rule from its narrower end
    (:meth:`.Sequential.jacobian`: each layer's ``out x in`` matrix times the Jacobian so far,
    ``min(n_in, n_out)`` columns or rows; an activation's diagonal as a vector)."""

    in_features: int
    hidden: tuple[tuple[int, str], ...]
    unrolled: tuple[int, int, str] | None
    widest: int
    jacobian_flops: int

    @property
    def hidden_units(self) -> int:
        return sum(n for n, _ in self.hidden)


def _shape_text(layer: Any, width: int) -> str:
    shape = getattr(layer, "output_shape", None)
    return "x".join(str(int(s)) for s in shape) if shape else str(width)


def ladder_sizes(net: Sequential) -> LadderSizes:
    """The sizes of ``net`` that set the rungs' costs (read from the layers; nothing assembled)."""
    n_in = net.in_features
    if n_in is None:
        raise ValueError("the network's input width is unknown (no layer with in_features); the ladder needs it")
    width, shape, widest = n_in, str(n_in), n_in
    hidden: list[tuple[int, str]] = []
    unrolled: tuple[int, int, str] | None = None
    products = 0
    for i, layer in enumerate(net.layers):
        out = getattr(layer, "out_features", None)
        out = width if out is None else int(out)
        products += width if isinstance(layer, ActivationLayer) else out * width
        if isinstance(layer, ActivationLayer):
            hidden.append((width, shape))
            continue
        if isinstance(layer, _ASSEMBLED):
            given = getattr(layer, "input_shape", None)
            src = "x".join(str(int(d)) for d in given) if given else shape
            if unrolled is None or out * width > unrolled[0] * unrolled[1]:
                unrolled = (out, width, f"layer {i}, {type(layer).__name__} {src} -> {_shape_text(layer, out)}")
        width, shape = out, _shape_text(layer, out)
        widest = max(widest, width)
    return LadderSizes(n_in, tuple(hidden), unrolled, widest, products * min(n_in, width))


def _count(n: int) -> str:
    return f"{n / 1e9:.3g}G" if n >= 10**9 else f"{n / 1e6:.3g}M" if n >= 10**6 else str(n)


def chain_skip(sizes: LadderSizes, max_unrolled_entries: int) -> str | None:
    """The chain rungs' note when a layer's unrolled matrix passes ``max_unrolled_entries``."""
    if sizes.unrolled is None:
        return None
    m, n, what = sizes.unrolled
    if m * n <= max_unrolled_entries:
        return None
    return (f"n/a: the chain needs each layer's unrolled matrix, {m}x{n} ({what}), {_count(m * n)} "
            f"entries; limit {_count(max_unrolled_entries)}: raise max_unrolled_entries to run it")


def eclipse_skip(sizes: LadderSizes, max_width: int) -> str | None:
    """ECLipsE-Fast's note when a hidden layer is wider than ``max_width``."""
    if not sizes.hidden:
        return None
    n, shape = max(sizes.hidden)
    if n <= max_width:
        return None
    layer = f"hidden layer of {shape}" if "x" in shape else "hidden layer"
    return (f"n/a: ECLipsE-Fast needs eigendecompositions of {n}x{n} matrices ({layer}); "
            f"limit {max_width}: raise max_eclipse_width to run it")


def lipsdp_order(sizes: LadderSizes) -> int:
    """The order of LipSDP's largest LMI after the input reduction (as :func:`.lipsdp.lmi_size`)."""
    if not sizes.hidden:
        return 0
    return min(sizes.in_features, sizes.hidden[0][0]) + sizes.hidden_units


def lipsdp_skip(sizes: LadderSizes, max_order: int) -> str | None:
    """The LipSDP rungs' note when the LMI's order passes ``max_order``."""
    order = lipsdp_order(sizes)
    if order <= max_order:
        return None
    return f"n/a: LMI of order {order} > {max_order} (the time budget; raise lipsdp_max_order)"


def patterns_skip(sizes: LadderSizes, max_hidden_units: int) -> str | None:
    """The pattern rung's note when it would enumerate more than ``2^max_hidden_units`` patterns."""
    units = sizes.hidden_units
    if units <= max_hidden_units:
        return None
    return (f"n/a: the pattern maximum enumerates 2^{units} activation patterns ({units} hidden units); "
            f"limit {max_hidden_units}: raise max_hidden_units to run it")


def attained_skip(sizes: LadderSizes, max_units: int) -> str | None:
    """The attained lower bound's note when the net has more than ``max_units`` hidden units."""
    units = sizes.hidden_units
    if units <= max_units:
        return None
    return (f"n/a: the pattern searches flip each of {units} hidden units; limit {max_units}: raise "
            "max_attained_units, or give bnb_seconds (the branch and bound brings its own lower bound)")


def jacobian_skip(sizes: LadderSizes, max_flops: int) -> str | None:
    """Why the empirical rung leaves out Jacobians (and the gradient ascent built on them), or None."""
    if sizes.jacobian_flops <= max_flops:
        return None
    return (f"Jacobians and gradient ascent left out: one J(x) takes {_count(sizes.jacobian_flops)} multiply-adds "
            f"(widest layer {sizes.widest}, input {sizes.in_features}); limit {_count(max_flops)}: "
            f"raise max_jacobian_flops to run them")
