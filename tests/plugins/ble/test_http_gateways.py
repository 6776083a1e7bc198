"""BLE gateways posting over HTTP: JSON batches and Ingics lines reach the resolver."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from floki_core.testing import Floki

UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
IBEACON = "0201061AFF4C000215" + UUID.replace("-", "") + "0064" + "0007" + "C5"
GATEWAY = "AC:23:3F:C0:00:01"


async def _register(floki: Floki) -> int:
    admin = await floki.headers("admin")

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await floki.client.post(f"/api/v1/{path}", json=body, headers=admin)
        assert resp.status == 201, await resp.text()
        return await resp.json()  # type: ignore[no-any-return]

    site = await post("sites", {"name": "General"})
    zone = await post("zones", {"site_id": site["id"], "name": "Ward 7 Bay 1", "type": "bay"})
    await post(
        "receivers",
        {
            "name": "bay 1 gateway",
            "technology": "ble",
            "identifier": GATEWAY,
            "zone_id": zone["id"],
        },
    )
    asset = await post("assets", {"asset_number": "E1"})
    await post(
        "identifiers", {"asset_id": asset["id"], "technology": "ibeacon", "value": f"{UUID}:100:7"}
    )
    await floki.core.locations.reindex()
    return int(asset["id"])


async def _where(floki: Floki, asset_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"/api/v1/assets/{asset_id}/location", headers=await floki.headers("viewer")
    )
    return await resp.json()  # type: ignore[no-any-return]


async def test_json_batch_locates_an_ibeacon_and_counts_bad_entries(floki: Floki) -> None:
    asset_id = await _register(floki)
    device = floki.auth(await floki.token_for("admin", device=True))
    stamp = floki.clock.now().isoformat().replace("+00:00", "Z")
    body = [
        {"type": "Gateway", "mac": GATEWAY.replace(":", "")},
        {
            "type": "iBeacon",
            "mac": "C3A1B2C3D4E5",
            "rssi": -61,
            "rawData": IBEACON,
            "timestamp": stamp,
        },
        {
            "type": "Unknown",
            "mac": "C3A1B2C3D4E6",
            "rssi": -70,
            "rawData": "0201",
            "timestamp": stamp,
        },
    ]
    resp = await floki.client.post(
        "/api/v1/ble/ingest/json",
        data=json.dumps(body),
        headers={**device, "Content-Type": "application/json"},
    )
    assert resp.status == 202, await resp.text()
    receipt = await resp.json()
    assert (receipt["queued"], receipt["rejected"]) == (1, {"ad_length_past_end": 1})
    assert receipt["queue_depth"] >= 0  # the answer /api/v1/ingest gives
    await floki.settle()
    where = await _where(floki, asset_id)
    assert where["located"] is True and where["zone"]["name"] == "Ward 7 Bay 1"
    assert where["technology"] == "ibeacon"


async def test_ingics_lines_locate_the_tag_and_need_a_device_token(floki: Floki) -> None:
    asset_id = await _register(floki)
    at = int(floki.clock.now().timestamp())
    lines = (
        f"$GPRP,C3A1B2C3D4E5,{GATEWAY.replace(':', '')},-58,{IBEACON},{at}\r\n$RSPR,whatever\r\n"
    )
    viewer = await floki.headers("viewer")
    refused = await floki.client.post("/api/v1/ble/ingest/ingics", data=lines, headers=viewer)
    assert refused.status == 403
    device = floki.auth(await floki.token_for("admin", device=True))
    resp = await floki.client.post("/api/v1/ble/ingest/ingics", data=lines, headers=device)
    assert resp.status == 202, await resp.text()
    receipt = await resp.json()
    assert receipt["queued"] == 1
    assert receipt["rejected"] == {"unsupported_line": 1}
    await floki.settle()
    assert (await _where(floki, asset_id))["zone"]["name"] == "Ward 7 Bay 1"
    sources = await floki.client.get("/api/v1/sources", headers=await floki.headers("viewer"))
    counts = {s["name"]: s for s in (await sources.json())["items"]}
    assert counts["ble-http:test"]["rejected"] == {"unsupported_line": 1}


async def test_a_rotating_address_without_a_beacon_frame_is_not_a_tag(floki: Floki) -> None:
    from floki_ble.dialects import GatewaySighting
    from floki_ble.http_gateways import to_observation

    now = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    # 0x4x in the top byte: a resolvable private address (random type implied by the flags).
    plain = GatewaySighting(
        tag_mac="AA:BB:CC:DD:EE:FF",
        gateway=GATEWAY,
        rssi=-60.0,
        raw=bytes.fromhex("020106"),
        observed_at=None,
    )
    made = to_observation(plain, now)
    assert not isinstance(made, str)
    assert (made.technology, made.tag, made.observed_at) == ("ble", "AA:BB:CC:DD:EE:FF", now)
    beacon = GatewaySighting(
        tag_mac="4A:BB:CC:DD:EE:FF",
        gateway=GATEWAY,
        rssi=-60.0,
        raw=bytes.fromhex(IBEACON),
        observed_at=now,
    )
    made = to_observation(beacon, now)
    assert not isinstance(made, str) and made.tag == f"{UUID}:100:7"
