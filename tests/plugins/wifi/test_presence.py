""" "Last on the network" from syslog (issue 15 §3): hostapd says a device joined, then
nothing while it stays on that access point. The pump must count as seen for as long as
the network holds it, or the missing-equipment rule would call a pump missing that sits
on its ward; once the network says it has left, it was last seen then."""

from __future__ import annotations

import datetime as dt

import pytest
from floki_wifi import presence

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.wifi.locating import (
    API,
    PUMP_WIFI,
    build_ward,
    hostapd,
    open_alerts,
    send_udp,
    stamp,
    syslog_ready,
    syslog_settings,
    where,
    wifi_config,
    wifi_syslog,
)

pytestmark = pytest.mark.floki_entry_points("wifi")

HOUR = 3600
CORRIDOR = "ward5-ap-corridor"


@pytest.fixture
def floki_config(port: int) -> AppConfig:
    return wifi_config(
        listen_host="127.0.0.1",
        syslog=syslog_settings(port),
        location={"presence_seconds": 600, "presence_hours": 24},
    )


@pytest.fixture(autouse=True)
def quick_rounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence, "POLL_SECONDS", 0.01)


async def _last_seen(floki: Floki, asset_id: int, at: dt.datetime) -> None:
    async def seen() -> bool:
        return (await where(floki, asset_id)).get("last_seen") == stamp(at)

    await floki.eventually(seen, f"the pump last seen at {stamp(at)}")


async def test_a_pump_on_its_access_point_is_seen_until_it_leaves_the_network(
    floki: Floki, port: int
) -> None:
    ward = await build_ward(floki, beacon=False)
    await syslog_ready(floki)
    resp = await floki.client.post(
        f"{API}/alert-rules",
        json={"name": "Not seen for two hours", "type": "missing", "params": {"hours": 2}},
        headers=await floki.headers("admin"),
    )
    assert resp.status == 201, await resp.text()
    await wifi_syslog(floki, port, CORRIDOR, ward.pump, floki.clock.now())

    # Three hours on the access point and not a line about it: still on the network.
    floki.advance(3 * HOUR)
    await _last_seen(floki, ward.pump, floki.clock.now())
    found = await where(floki, ward.pump)
    assert found["zone"]["name"] == "Ward 5 Corridor"  # heard where it is, not moved
    assert await open_alerts(floki) == []

    # It leaves the network; two hours later it is missing, last seen as it left.
    left = floki.clock.now() + dt.timedelta(minutes=5)
    floki.advance(5 * 60)
    send_udp(port, hostapd(left, CORRIDOR, PUMP_WIFI, "AP-STA-DISCONNECTED"))

    async def off_the_network() -> bool:
        resp = await floki.client.get(
            f"{API}/wifi/access-points", headers=await floki.headers("engineer")
        )
        return not any(ap["devices"] for ap in (await resp.json())["items"])

    await floki.eventually(off_the_network, "the access point's device list to empty")
    floki.advance(600)  # the next round
    await _last_seen(floki, ward.pump, left)
    floki.advance(2 * HOUR + 60)
    await floki.settle()
    assert (await where(floki, ward.pump)).get("last_seen") == stamp(left)
    [alert] = await open_alerts(floki)
    assert alert["asset_id"] == ward.pump


async def test_a_device_no_feed_mentions_for_a_day_is_no_longer_taken_to_be_there(
    floki: Floki, port: int
) -> None:
    ward = await build_ward(floki, beacon=False)
    await syslog_ready(floki)
    joined = floki.clock.now()
    await wifi_syslog(floki, port, CORRIDOR, ward.pump, joined)
    floki.advance(23 * HOUR)
    await _last_seen(floki, ward.pump, floki.clock.now())
    seen = floki.clock.now()
    # Its leave line was lost on the way: a day after the join it is not reported again.
    floki.advance(2 * HOUR)
    await floki.settle()
    floki.advance(1)
    await floki.settle()
    assert (await where(floki, ward.pump)).get("last_seen") == stamp(seen)
