"""The matrix the Dask tests share: a known-spectrum case and its reference norm."""

from __future__ import annotations

from lipbench import matrices

SHAPE = (96, 72)


def case(family="gap", shape=SHAPE, seed=3, delta=0.05, **kw):
    K = matrices.make(family, *shape, seed=seed, **({"delta": delta} if family == "gap" else {}), **kw)
    return K.matrix, matrices.reference_norm(K.matrix)
