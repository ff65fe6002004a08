"""Hypothesis profiles and the evidence log for the property suite.

Profiles (``--hypothesis-profile NAME`` or ``LIPBENCH_HYPOTHESIS_PROFILE=NAME``;
default ``ci`` when ``CI`` is set, else ``dev``):

* ``dev``      -- 25 examples per property, random, quick feedback while editing.
* ``ci``       -- built on Hypothesis' own ``ci`` profile (derandomized, no
  deadline, no example database, print the reproduction blob), 100 examples.
* ``thorough`` -- 1000 examples, random, for a long hunt.

All three suppress ``HealthCheck.function_scoped_fixture``: the only
function-scoped fixtures property tests take are ``backend``/``xp`` (immutable
module objects) and ``evidence`` (an append-only log), which need no reset
between examples.

Evidence: tests call ``evidence.record(key, value)`` (or ``evidence.maximum``
/ ``evidence.minimum`` to keep the extreme over examples); after the test the
entries are attached to the junit-xml report as properties named
``evidence:<key>`` (JSON values), which ``lipbench claims`` reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

PROFILES = ("dev", "ci", "thorough")
ENV_PROFILE = "LIPBENCH_HYPOTHESIS_PROFILE"
_SUPPRESS = (HealthCheck.function_scoped_fixture, HealthCheck.too_slow)

settings.register_profile("dev", max_examples=25, deadline=None, suppress_health_check=_SUPPRESS)
settings.register_profile("ci", parent=settings.get_profile("ci"), max_examples=100,
                          suppress_health_check=_SUPPRESS)
settings.register_profile("thorough", max_examples=1000, deadline=None, suppress_health_check=_SUPPRESS)


def default_profile(environ: os._Environ[str] | dict[str, str] = os.environ) -> str:
    """The profile named by ``LIPBENCH_HYPOTHESIS_PROFILE``, else ci under CI, else dev."""
    name = environ.get(ENV_PROFILE, "").strip()
    if name:
        if name not in PROFILES:
            raise pytest.UsageError(f"{ENV_PROFILE}={name!r} is not a profile; choose one of {', '.join(PROFILES)}")
        return name
    return "ci" if environ.get("CI", "").strip() else "dev"


# Loaded at import; Hypothesis' pytest plugin applies --hypothesis-profile afterwards, so the option wins.
settings.load_profile(default_profile())


def pytest_report_header(config: pytest.Config) -> str:
    chosen = config.getoption("hypothesis_profile", default=None) or default_profile()
    return f"lipbench hypothesis profile: {chosen} (max_examples={settings.get_profile(chosen).max_examples})"


class EvidenceLog:
    """Per-test key -> JSON-serialisable value, attached to the junit report."""

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}
        self._keys: dict[str, float] = {}

    def record(self, key: str, value: Any) -> None:
        json.dumps(value)  # fail early on something the report cannot carry
        self.entries[key] = value

    def maximum(self, key: str, score: float, value: Any = None) -> None:
        """Keep ``value`` (default ``score``) of the example with the largest ``score``."""
        if key not in self._keys or score > self._keys[key]:
            self._keys[key] = float(score)
            self.record(key, score if value is None else value)

    def minimum(self, key: str, score: float, value: Any = None) -> None:
        self.maximum(key, -float(score), score if value is None else value)


@pytest.fixture
def evidence(request: pytest.FixtureRequest) -> Iterator[EvidenceLog]:
    """An evidence log whose entries end up as junit properties ``evidence:<key>``."""
    log = EvidenceLog()
    yield log
    for key, value in log.entries.items():
        request.node.user_properties.append((f"evidence:{key}", json.dumps(value, sort_keys=True)))
