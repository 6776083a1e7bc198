"""What the Wi-Fi plugin's tests share: a free port for a listener under test."""

from __future__ import annotations

import pytest

from tests.fixtures.processes import free_port


@pytest.fixture
def port() -> int:
    """A free port for the listener (a TCP probe; the UDP port of the same number is free
    alike here). A module that shares one appliance overrides it at module scope."""
    return free_port()
