"""Fixtures of the conformance modules: a real Mosquitto broker for the ESPresense source,
and the kit's own sample plugin installed."""

from __future__ import annotations

from tests.conformance.kit_samples import sample_installed  # noqa: F401
from tests.fixtures.mosquitto import (  # noqa: F401  (fixtures are found by name)
    mosquitto_broker,
    private_mosquitto_broker,
)
