"""Fusion: an asset with both a BLE tag and an RFID label gets evidence from both, and
``GET /api/v1/assets/{id}/location`` shows both in its evidence (the RFID read zones' as
fixed-point, the BLE gateways' as RSSI), through the in-process appliance.

Cost: an appliance per test, well under a second each."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from floki_core.observations import Observation
from floki_core.testing import Floki

pytestmark = pytest.mark.floki_entry_points("rfid")
API = "/api/v1"
BLE_TAG = "C0:FF:EE:00:00:01"
EPC = "E28011700000020A1B2C3D4E"
GATEWAY = {"library": "AA:BB:CC:00:00:01", "ward": "AA:BB:CC:00:00:02"}
SHELF = {"library": "shelves:1", "ward": "ward-7:1"}


async def call(floki: Floki, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    resp = await floki.client.request(method, path, headers=await floki.headers(), **kwargs)
    return resp.status, await resp.json()


async def made(floki: Floki, path: str, body: dict[str, Any]) -> int:
    status, answer = await call(floki, "POST", API + path, json=body)
    assert status == 201, (path, answer)
    return int(answer["id"])


async def register(floki: Floki) -> dict[str, int]:
    """The library and Ward 7, each with a BLE gateway and an RFID shelf antenna; a pump
    with a BLE tag and an RFID label."""
    site = await made(floki, "/sites", {"name": "St Elsewhere"})
    ids: dict[str, int] = {}
    for key, name in (("library", "Equipment Library"), ("ward", "Ward 7")):
        ids[key] = await made(floki, "/zones", {"site_id": site, "name": name, "type": "room"})
        for technology, identifier in (("ble", GATEWAY[key]), ("rfid", SHELF[key])):
            await made(
                floki,
                "/receivers",
                {
                    "name": f"{technology} {key}",
                    "technology": technology,
                    "identifier": identifier,
                    "zone_id": ids[key],
                },
            )
    pumps = await made(floki, "/asset-classes", {"name": "Infusion pump"})
    ids["pump"] = await made(
        floki, "/assets", {"asset_number": "E10001", "description": "pump", "class_id": pumps}
    )
    for technology, value in (("ble", BLE_TAG), ("rfid", EPC)):
        await made(
            floki,
            "/identifiers",
            {"asset_id": ids["pump"], "technology": technology, "value": value},
        )
    await floki.core.locations.reindex()
    return ids


def ble(zone: str, at: dt.datetime, rssi: float = -58.0) -> Observation:
    return Observation(
        technology="ble", tag=BLE_TAG, receiver=GATEWAY[zone], rssi=rssi, observed_at=at
    )


def rfid(zone: str, at: dt.datetime, rssi: float = -52.0) -> Observation:
    return Observation(
        technology="rfid",
        tag=EPC,
        receiver=SHELF[zone],
        rssi=rssi,
        observed_at=at,
        extras={"seen_count": 3, "last_seen": at.isoformat()},
    )


async def evidence(floki: Floki, asset_id: int) -> tuple[str | None, list[tuple[Any, ...]]]:
    status, where = await call(floki, "GET", f"{API}/assets/{asset_id}/location")
    assert status == 200, where
    found = sorted(
        (e["technology"], e["method"], e["zone_id"], e["receiver"]) for e in where["evidence"]
    )
    return where["zone"]["name"], found


async def test_both_technologies_evidence_is_shown(floki: Floki) -> None:
    ids = await register(floki)
    now = floki.clock.now()
    await floki.inject([ble("library", now)], source="ble-gateways")
    await floki.inject([rfid("library", now)], source="rfid-llrp-shelves")
    zone, found = await evidence(floki, ids["pump"])
    assert zone == "Equipment Library"
    assert found == [
        ("ble", "rssi", ids["library"], "ble library"),
        ("rfid", "fixed_point", ids["library"], "rfid library"),
    ]


async def test_when_they_disagree_both_are_shown_and_the_fresh_rfid_read_wins(
    floki: Floki,
) -> None:
    ids = await register(floki)
    now = floki.clock.now()
    await floki.inject([ble("ward", now)], source="ble-gateways")
    floki.advance(2)
    await floki.inject([rfid("library", floki.clock.now())], source="rfid-llrp-shelves")
    zone, found = await evidence(floki, ids["pump"])
    assert zone == "Equipment Library", "a read zone's fixed point outweighs one gateway"
    assert found == [
        ("ble", "rssi", ids["ward"], "ble ward"),
        ("rfid", "fixed_point", ids["library"], "rfid library"),
    ]
