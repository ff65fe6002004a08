"""Which loop one Lanczos run in the operator's own dtype takes: the
recurrence (bidiagonal or normal) and where its scalars live (host or device)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._operator import Operator
from .._raw import Raw, Tracker
from .bidiag import lanczos_bidiagonal
from .device import lanczos_bidiagonal_device, lanczos_normal_device
from .normal import lanczos_normal
from .plan import LanczosPlan

__all__ = ["lanczos_in_dtype"]


def lanczos_in_dtype(op: Operator, plan: LanczosPlan, *, rng: np.random.Generator, v0: Any, track: Tracker) -> Raw:
    """One Lanczos run in the operator's own dtype: on the normal operator
    (``plan.normal``) or the bidiagonalization; on device arrays (CuPy,
    array-api-strict) in the device-resident loops of :mod:`.device` (thick
    restarts excepted; a Dask operator's vectors live in NumPy on the client:
    host loops)."""
    if op.on_device and (not plan.normal or not plan.restarts(op.n)):
        run = lanczos_normal_device if plan.normal else lanczos_bidiagonal_device
        return run(op, plan, rng=rng, v0=v0, track=track)
    run = lanczos_normal if plan.normal else lanczos_bidiagonal
    return run(op, plan, rng=rng, v0=v0, track=track)
