""" "Last on the network" (issue 15 §3): what the Wi-Fi feeds report of a tracked device
keeps its asset seen, so the missing-equipment rule ("not seen for N hours") counts a pump
whose controller keeps accounting for it as present, and raises the alert once the network
has stopped reporting it, naming the last report. Driven by RADIUS accounting over
loopback UDP."""

from __future__ import annotations

import datetime as dt

import pytest
from floki_wifi.radius_source import FEED, RadiusSource

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.wifi.locating import (
    API,
    CORRIDOR_AP,
    PUMP_WIFI,
    build_ward,
    open_alerts,
    radius_settings,
    where,
    wifi_config,
)
from tests.plugins.wifi.radius_nas import Nas, accounting

pytestmark = pytest.mark.floki_entry_points("wifi")

HOUR = 3600


@pytest.fixture
def floki_config(port: int) -> AppConfig:
    return wifi_config(listen_host="127.0.0.1", radius=radius_settings(port))


async def test_accounting_updates_keep_a_pump_from_being_missing_until_they_stop(
    floki: Floki, port: int
) -> None:
    registration = floki.core.plugins.registries.sources.get(FEED)
    assert registration is not None and isinstance(registration.item, RadiusSource)
    await Floki.eventually(registration.item.listening.is_set, "the RADIUS listener")
    nas = Nas(port)
    ward = await build_ward(floki, beacon=False)
    resp = await floki.client.post(
        f"{API}/alert-rules",
        json={"name": "Not seen for two hours", "type": "missing", "params": {"hours": 2}},
        headers=await floki.headers("admin"),
    )
    assert resp.status == 201, await resp.text()
    called = f"{CORRIDOR_AP}:NHS-Devices"

    async def report(status: str) -> dt.datetime:
        at = floki.clock.now()
        await nas.send_with_pyrad(accounting(status, PUMP_WIFI, called, at=at))

        async def seen() -> bool:
            found = await where(floki, ward.pump)
            return found.get("last_seen") == at.isoformat().replace("+00:00", "Z")

        await floki.eventually(seen, f"the pump seen at {at}")
        return at

    await report("Start")
    for _ in range(3):  # the controller's interim update every hour and a half
        floki.advance(1.5 * HOUR)
        last = await report("Interim-Update")
    floki.advance(1.5 * HOUR)
    assert await open_alerts(floki) == []  # on the network 1.5 h ago: not missing

    floki.advance(0.5 * HOUR + 1)  # the reports stopped two hours ago
    [alert] = await open_alerts(floki)
    assert alert["asset_id"] == ward.pump
    detail = alert["detail"]
    assert isinstance(detail, dict)
    assert dt.datetime.fromisoformat(str(detail["last_seen"])) == last
    assert detail["last_zone"] == "Ward 5 Corridor"
