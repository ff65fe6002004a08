"""Fixtures of the spectral tests."""

from __future__ import annotations

import pytest

from lipbench import backends


@pytest.fixture
def cp():
    av = backends.availability("cupy")
    if not av.available:
        pytest.skip(f"backend cupy unavailable: {av.reason}")
    import cupy

    return cupy
