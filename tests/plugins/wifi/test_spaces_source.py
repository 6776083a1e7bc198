"""The Cisco Spaces firehose over loopback: a local stand-in streams NDJSON as the
firehose does; a bound pump is placed by its location updates, the stand-in dropping the
connection is survived and the stream resumed from the last record read."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator

import pytest

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.plugins.wifi.locating import API, where, wifi_config
from tests.plugins.wifi.spaces_firehose import KEY, Firehose
from tests.plugins.wifi.test_meraki_route import NEAREST_AP, PUMP, mapped_floor

pytestmark = pytest.mark.floki_entry_points("wifi")
MAP = "map-a1b2c3"
STRANGER = "AA:BB:CC:DD:EE:01"  # the sample event's device: nobody's asset (a random MAC)
PERSONAL = ("jdoe@example.com", "+14155551234", "John", "user-xyz-67890", "10.20.30.40")


def location_update(mac: str, uid: str, at_ms: int, x_ft: float, y_ft: float) -> bytes:
    """A DEVICE_LOCATION_UPDATE as Cisco's sample event has it (personal fields and all),
    ``mac`` at (``x_ft``, ``y_ft``) feet on the map."""
    record = {
        "recordUid": uid,
        "recordTimestamp": str(at_ms),  # proto3 JSON writes int64 as a string
        "spacesTenantId": "tenant-abc-123",
        "spacesTenantName": "Acme Corp",
        "partnerTenantId": "partner-xyz-456",
        "eventType": "DEVICE_LOCATION_UPDATE",
        "deviceLocationUpdate": {
            "device": {
                "deviceId": "dev-abc-12345",
                "userId": "user-xyz-67890",
                "tags": ["vip", "employee"],
                "mobile": "+14155551234",
                "email": "jdoe@example.com",
                "gender": "MALE",
                "firstName": "John",
                "lastName": "Doe",
                "macAddress": mac,
                "manufacturer": "Apple",
                "os": "iOS",
            },
            "location": {
                "locationId": "loc-floor-3",
                "name": "Level 3",
                "inferredLocationTypes": ["FLOOR"],
                "parent": {"locationId": "loc-building", "name": "Tower"},
            },
            "ssid": "Trust-Clinical",
            "rawUserId": "jdoe@example.com",
            "visitId": "visit-0001",
            "lastSeen": at_ms,
            "deviceClassification": "MOBILE",
            "mapId": MAP,
            "xPos": x_ft,
            "yPos": y_ft,
            "confidenceFactor": 8.0,
            "latitude": 0.0,
            "longitude": 0.0,
            "ipv4": "10.20.30.40",
            "apMac": NEAREST_AP.lower(),
            "maxDetectedRssi": -61,
        },
    }
    return json.dumps(record).encode() + b"\n"


def keep_alive(at_ms: int) -> bytes:
    return json.dumps({"recordTimestamp": at_ms, "eventType": "KEEP_ALIVE"}).encode() + b"\n"


@pytest.fixture
async def firehose() -> AsyncIterator[Firehose]:
    async with Firehose() as stand_in:
        yield stand_in


@pytest.fixture
def floki_config(firehose: Firehose) -> AppConfig:
    plans = [{"id": MAP, "floor_id": 1, "origin_x_px": 100.0, "origin_y_px": 50.0}]
    return wifi_config(
        spaces={"url": firehose.url, "api_key": KEY, "batch_seconds": 0.05, "floor_plans": plans}
    )


async def located_in(floki: Floki, asset_id: int, zone_id: int) -> None:
    async def there() -> bool:
        found = await where(floki, asset_id)
        return bool(found.get("located")) and found["zone"]["id"] == zone_id

    await Floki.eventually(there, f"asset {asset_id} in zone {zone_id}")


async def test_the_stream_places_a_bound_pump_survives_a_drop_and_resumes(
    floki: Floki, firehose: Firehose, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    floor = await mapped_floor(floki)
    await firehose.connected(1)
    assert firehose.requests[0] == {}  # the first connection: from now
    t = int(floki.clock.now().timestamp() * 1000)
    # 30 ft x 40 ft from the map's corner is pixel (282.9, 293.8): Bay 1.
    for line in (
        keep_alive(t - 500),
        location_update(STRANGER, "evt-1", t - 400, 30.0, 40.0),
        location_update(PUMP, "evt-2", t - 300, 30.0, 40.0),
    ):
        firehose.lines.put_nowait(line)
    await located_in(floki, floor.pump, floor.bay)

    firehose.lines.put_nowait(None)  # the firehose drops the connection
    await firehose.connected(2)
    # Resumed from the last record read, less the overlap (5 s).
    assert firehose.requests[1] == {"fromTimestamp": str(t - 300 - 5000)}
    # The overlap sends the last record again (dropped: read already), then the pump is
    # wheeled out of the bay into the ward (120 ft x 120 ft) and stays there past the
    # resolver's dwell.
    floki.advance(10)
    for line in (
        location_update(PUMP, "evt-2", t - 300, 30.0, 40.0),
        location_update(PUMP, "evt-3", t + 3000, 120.0, 120.0),
        location_update(PUMP, "evt-4", t + 9500, 121.0, 119.0),
    ):
        firehose.lines.put_nowait(line)
    await located_in(floki, floor.pump, floor.ward)

    resp = await floki.client.get(f"{API}/plugins", headers=await floki.headers("admin"))
    wifi = next(p for p in (await resp.json())["items"] if p["name"] == "wifi")
    (source,) = [s for s in wifi["sources"] if s["name"] == "wifi-spaces"]
    assert source["details"]["located"] == 3 and source["details"]["connections"] == 2
    # Nothing of the device no asset carries, nor anyone's personal fields, is kept.
    answers = [caplog.text]
    for path in ("/unknown-tags", "/sources", "/plugins", "/wifi/access-points"):
        resp = await floki.client.get(f"{API}{path}", headers=await floki.headers("admin"))
        answers.append(await resp.text())
    everything = "\n".join(answers)
    for secret in (STRANGER, STRANGER.lower(), STRANGER.replace(":", ""), *PERSONAL):
        assert secret not in everything, secret
    counted = json.loads(answers[2])["items"]
    spaces = next(i for i in counted if i["name"] == "wifi-spaces")
    assert spaces["rejected"] == {"randomised_device": 1}


class TestRefusedKey:
    @pytest.fixture
    def floki_config(self, firehose: Firehose) -> AppConfig:
        return wifi_config(spaces={"url": firehose.url, "api_key": "wrong"})

    async def test_a_refused_key_shows_in_the_sources_reason(self, floki: Floki) -> None:
        async def refused() -> bool:
            resp = await floki.client.get(f"{API}/plugins", headers=await floki.headers("admin"))
            wifi = next(p for p in (await resp.json())["items"] if p["name"] == "wifi")
            (source,) = [s for s in wifi["sources"] if s["name"] == "wifi-spaces"]
            return "refused the API key: 401" in json.dumps(source)

        await Floki.eventually(refused, "the refused key to show")
