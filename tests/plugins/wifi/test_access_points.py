"""``GET /api/v1/wifi/access-points`` (issue 15 §4): an engineer sees every access point,
registered or only named by a feed, its zone, the tracked devices on it now and its last
message; the devices reach it through RADIUS accounting sent over loopback UDP."""

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
    post,
    radius_settings,
    wifi_config,
)
from tests.plugins.wifi.radius_nas import Nas, accounting

pytestmark = pytest.mark.floki_entry_points("wifi")

STRANGE_AP = "F0:9F:C2:00:00:99"  # an AP no receiver is registered as
SECOND_PUMP = "00:1B:44:11:3A:C8"


@pytest.fixture
def floki_config(port: int) -> AppConfig:
    return wifi_config(listen_host="127.0.0.1", radius=radius_settings(port))


async def _listening(floki: Floki, port: int) -> Nas:
    registration = floki.core.plugins.registries.sources.get(FEED)
    assert registration is not None and isinstance(registration.item, RadiusSource)
    await Floki.eventually(registration.item.listening.is_set, "the RADIUS listener")
    return Nas(port)


async def test_an_engineer_sees_each_access_point_its_zone_and_the_devices_on_it(
    floki: Floki, port: int
) -> None:
    nas = await _listening(floki, port)
    ward = await build_ward(floki, beacon=False)
    other = await post(floki, "assets", {"asset_number": "PUMP-0043", "description": "Pump"})
    await post(
        floki, "identifiers", {"asset_id": other["id"], "technology": "wifi", "value": SECOND_PUMP}
    )
    await floki.core.locations.reindex()
    start = floki.clock.now() - dt.timedelta(seconds=30)
    await nas.send_with_pyrad(
        accounting("Start", PUMP_WIFI, f"{CORRIDOR_AP}:NHS-Devices", at=start)
    )
    await nas.send_with_pyrad(
        accounting("Start", SECOND_PUMP, STRANGE_AP.replace(":", "-"), at=start)
    )
    await floki.eventually(
        lambda: _zone_of(floki, ward.pump, ward.zones["Ward 5 Corridor"]), "the pump placed"
    )

    resp = await floki.client.get(
        f"{API}/wifi/access-points", headers=await floki.headers("engineer")
    )
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert (body["registered"], body["unregistered"]) == (2, 1)
    by_key = {item["key"]: item for item in body["items"]}
    assert [item["key"] for item in body["items"]] == [LIBRARY_KEY, CORRIDOR_AP, STRANGE_AP]

    corridor = by_key[CORRIDOR_AP]
    assert corridor["name"] == "ward5-ap-corridor"
    assert corridor["zone"] == {"id": ward.zones["Ward 5 Corridor"], "name": "Ward 5 Corridor"}
    assert corridor["devices"] == [
        {
            "asset_id": ward.pump,
            "asset_number": "PUMP-0042",
            "description": "Pump",
            "since": start.isoformat().replace("+00:00", "Z"),
        }
    ]
    assert corridor["feed"] == "wifi-radius"
    assert corridor["last_message_at"] == start.isoformat().replace("+00:00", "Z")

    library = by_key[LIBRARY_KEY]
    assert (library["devices"], library["last_message_at"], library["feed"]) == ([], None, None)

    stranger = by_key[STRANGE_AP]
    assert (stranger["registered"], stranger["name"], stranger["zone"]) == (False, None, None)
    assert [d["asset_number"] for d in stranger["devices"]] == ["PUMP-0043"]
    # The devices are shown by their assets only, never by their MACs.
    assert PUMP_WIFI not in await resp.text() and SECOND_PUMP not in await resp.text()

    # A disassociation (accounting Stop) leaves the AP: no device on it any more.
    await nas.send_with_pyrad(
        accounting(
            "Stop", PUMP_WIFI, f"{CORRIDOR_AP}:NHS-Devices", at=start + dt.timedelta(seconds=5)
        )
    )

    async def left() -> bool:
        resp = await floki.client.get(
            f"{API}/wifi/access-points", headers=await floki.headers("engineer")
        )
        items = {item["key"]: item for item in (await resp.json())["items"]}
        return items[CORRIDOR_AP]["devices"] == []

    await floki.eventually(left, "the pump gone from the corridor AP")


LIBRARY_KEY = "F0:9F:C2:00:00:02"


async def _zone_of(floki: Floki, asset_id: int, zone_id: int) -> bool:
    resp = await floki.client.get(
        f"{API}/assets/{asset_id}/location", headers=await floki.headers("viewer")
    )
    body = await resp.json()
    return bool((body.get("zone") or {}).get("id") == zone_id)


async def test_a_viewer_may_not_list_access_points_and_the_openapi_document_says_so(
    floki: Floki,
) -> None:
    resp = await floki.client.get(
        f"{API}/wifi/access-points", headers=await floki.headers("viewer")
    )
    assert resp.status == 403
    assert "engineer" in (await resp.json())["error"]
    # The OpenAPI document says so, and what an engineer gets.
    resp = await floki.client.get(f"{API}/openapi.json", headers=await floki.headers("viewer"))
    document = await resp.json()
    listing = document["paths"][f"{API}/wifi/access-points"]["get"]
    assert listing["x-floki-policy"] == "engineer"
    schema = listing["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/AccessPointList"}
    fields = document["components"]["schemas"]["AccessPoint"]["properties"]
    assert {"zone", "devices", "last_message_at", "feed", "registered"} <= set(fields)
