"""Tag batteries reported over BLE reach ``GET /api/v1/tags/batteries``: an Eddystone TLM
frame posted by an HTTP gateway, and an ESPresense report's ``batt`` through a real
Mosquitto.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import aiomqtt
import pytest

from floki_ble.espresense import EspresenseSource
from floki_core.config import AppConfig, parse_config
from floki_core.testing import Floki
from tests.fixtures.mosquitto import MosquittoBroker

API = "/api/v1"
GATEWAY = "AC:23:3F:C0:00:01"
TAG_MAC = "C3A1B2C3D4E5"
NAMESPACE, INSTANCE = "EDD1EBEAC04E5DEFA017", "0123456789AB"
# Eddystone service data after its 16-bit UUID (AA FE): a UID frame and a TLM frame.
UID_FRAME = "00EB" + NAMESPACE + INSTANCE + "0000"
TLM_FRAME = "2000" + "0960" + "1400" + "00000100" + "00002710"  # 2400 mV, 20 °C


def eddystone(frame: str) -> str:
    """A whole advert: flags, the Eddystone UUID list, then the service data."""
    service = "16AAFE" + frame
    return "020106" + "0303AAFE" + f"{len(service) // 2:02X}" + service


@pytest.fixture
def floki_config(request: pytest.FixtureRequest) -> AppConfig:
    plugin: dict[str, Any] = {}
    if getattr(request, "param", None) == "espresense":
        broker: MosquittoBroker = request.getfixturevalue("mosquitto_broker")
        plugin = {
            "espresense_host": broker.host,
            "espresense_port": broker.port,
            "espresense_batch_seconds": 0.05,
        }
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": {"backoff_initial": 0.05, "max_failures": 100}},
            "plugin": {"ble": plugin},
        }
    )


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers("admin"))
    data = await resp.json()
    assert resp.status == 201, (path, body, data)
    assert isinstance(data, dict)
    return data


async def batteries(floki: Floki, query: str = "") -> dict[str, Any]:
    resp = await floki.client.get(
        f"{API}/tags/batteries{query}", headers=await floki.headers("viewer")
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert isinstance(body, dict)
    return body


async def asset_with_tag(floki: Floki, number: str, technology: str, value: str) -> int:
    asset = await post(floki, "/assets", {"asset_number": number, "description": "Hoist"})
    await post(
        floki, "/identifiers", {"asset_id": asset["id"], "technology": technology, "value": value}
    )
    await floki.core.locations.reindex()
    return int(asset["id"])


async def test_an_eddystone_tlm_frame_from_a_gateway_reports_the_tags_battery(
    floki: Floki,
) -> None:
    asset = await asset_with_tag(floki, "HOIST-3", "eddystone", f"{NAMESPACE}:{INSTANCE}")
    device = floki.auth(await floki.token_for("admin", device=True))
    heard_at = floki.clock.now() - dt.timedelta(seconds=2)  # the gateway's own clock
    body = [
        {"type": "Gateway", "mac": GATEWAY.replace(":", "")},
        {"type": "Unknown", "mac": TAG_MAC, "rssi": -64, "rawData": eddystone(UID_FRAME)},
        {
            "type": "Unknown",
            "mac": TAG_MAC,
            "rssi": -65,
            "rawData": eddystone(TLM_FRAME),
            "timestamp": heard_at.isoformat(),
        },
    ]
    resp = await floki.client.post(
        f"{API}/ble/ingest/json",
        data=json.dumps(body),
        headers={**device, "Content-Type": "application/json"},
    )
    assert resp.status == 202, await resp.text()
    receipt = await resp.json()
    assert (receipt["queued"], receipt["rejected"]) == (2, {})
    await floki.settle()

    # The TLM frame carries no identity: it is the tag whose UID frames came from its MAC.
    listed = await batteries(floki, "?low=true")
    [row] = listed["items"]
    assert (row["technology"], row["tag"]) == ("eddystone", f"{NAMESPACE}:{INSTANCE}")
    assert (row["millivolts"], row["level"], row["low"]) == (2400, None, True)
    assert row["asset"]["id"] == asset and row["asset"]["asset_number"] == "HOIST-3"
    assert row["receiver"] == GATEWAY
    assert dt.datetime.fromisoformat(row["observed_at"]) == heard_at


@pytest.mark.parametrize("floki_config", ["espresense"], indirect=True)
async def test_an_espresense_report_with_batt_reports_the_tags_battery(floki: Floki) -> None:
    beacon = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E:100:7"
    asset = await asset_with_tag(floki, "PUMP-9", "ibeacon", beacon)
    registration = floki.core.plugins.registries.sources.get("ble-espresense")
    assert registration is not None
    source = registration.item
    assert isinstance(source, EspresenseSource)
    device_id = "iBeacon:f7826da6-4fa2-4e98-8024-bc5b71e0893e-100-7"
    report = {"id": device_id, "rssi": -63, "batt": 14, "mac": "c3a1b2c3d4e5"}

    items: list[dict[str, Any]] = []

    async def listed() -> bool:
        items[:] = (await batteries(floki))["items"]
        return bool(items)

    # The source and the broker work on their own; wait for them, bounded.
    settings = source.settings
    async with aiomqtt.Client(settings.espresense_host or "", settings.espresense_port) as mqtt:
        await floki.eventually(lambda: source.connected, "the ESPresense source to subscribe")
        await mqtt.publish(f"espresense/devices/{device_id}/ward7_bay3", json.dumps(report))
        await floki.eventually(listed, "the battery reading")
    [row] = items
    assert (row["technology"], row["tag"], row["level"]) == ("ibeacon", beacon, 14)
    assert row["low"] is True and row["receiver"] == "ward7_bay3"
    assert row["asset"]["id"] == asset
