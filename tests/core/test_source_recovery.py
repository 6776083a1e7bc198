"""A source that failed over and over (its gateway unplugged, its broker down) is marked
failed, then tried again every ``retry_failed_seconds``: when its device is back it runs
again by itself, the plugin with it, without restarting the appliance."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from floki_core.config import AppConfig
from floki_core.testing import Floki
from tests.core.plugin_samples import EventRecorder, SourcePlugin, appliance_config, listed_plugins


class UnpluggedGateway:
    """Fails at once while ``plugged`` is False; runs until stopped once it is."""

    def __init__(self) -> None:
        self.plugged = False
        self.runs = 0
        self._stop = asyncio.Event()

    async def run(self, sink: Any) -> None:
        self.runs += 1
        if not self.plugged:
            raise ConnectionRefusedError(f"gateway refused the connection (run {self.runs})")
        await self._stop.wait()

    async def stop(self) -> None:
        self._stop.set()


GATEWAY = UnpluggedGateway()


@pytest.fixture
def floki_config() -> AppConfig:
    return appliance_config(
        plugins={
            "supervision": {
                "max_failures": 2,
                "failure_window": 60.0,
                "backoff_initial": 0.01,
                "backoff_max": 0.05,
                "retry_failed_seconds": 0.05,
            }
        }
    )


@pytest.fixture
def floki_plugins() -> list[tuple[str, Any]]:
    GATEWAY.__init__()  # type: ignore[misc]  # a fresh gateway for each test
    return [("recorder", EventRecorder()), ("gw", SourcePlugin("gw-stream", GATEWAY))]


async def test_a_failed_source_is_tried_again_and_recovers_when_its_device_is_back(
    floki: Floki,
) -> None:
    await floki.eventually(
        lambda: floki.core.plugins.plugins["gw"].status == "failed", "the source to fail"
    )
    listing = await listed_plugins(floki)
    assert "refused the connection" in listing["gw"]["reason"]

    # Still failing: tried again, and still failed, naming the latest error.
    tried = GATEWAY.runs
    await floki.eventually(lambda: GATEWAY.runs >= tried + 2, "more tries")
    [status] = (await listed_plugins(floki))["gw"]["sources"]
    assert status["status"] == "failed"
    assert "still failing" in status["reason"]

    GATEWAY.plugged = True
    await floki.eventually(
        lambda: floki.core.plugins.plugins["gw"].status == "running", "the plugin to recover"
    )
    listing = await listed_plugins(floki)
    [status] = listing["gw"]["sources"]
    assert (status["status"], status["reason"]) == ("running", None)
    assert listing["gw"]["reason"] is None
