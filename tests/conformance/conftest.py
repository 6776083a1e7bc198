"""Fixtures of the conformance modules: a real Mosquitto broker for the ESPresense source."""

from __future__ import annotations

from tests.fixtures.mosquitto import (  # noqa: F401  (fixtures are found by name)
    mosquitto_broker,
    private_mosquitto_broker,
)
