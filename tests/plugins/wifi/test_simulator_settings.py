"""The demo's simulated access points run at the speed ``[plugin.wifi]
simulate_speedup`` asks for (10 by default, as the demo's other simulators)."""

from __future__ import annotations

import pytest

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.wifi.locating import syslog_settings, wifi_config

pytestmark = pytest.mark.floki_entry_points("wifi")


@pytest.fixture
def floki_config(port: int) -> AppConfig:
    return wifi_config(
        listen_host="127.0.0.1",
        syslog=syslog_settings(port),
        simulate=True,
        simulate_speedup=2.5,
        simulate_seed=3,
    )


async def test_the_simulator_runs_at_the_speed_set(floki: Floki) -> None:
    resp = await floki.client.get("/api/v1/plugins", headers=await floki.headers("admin"))
    [wifi] = [p for p in (await resp.json())["items"] if p["name"] == "wifi"]
    [simulator] = [s for s in wifi["sources"] if s["name"] == "wifi-simulator"]
    assert simulator["details"]["speedup"] == 2.5
