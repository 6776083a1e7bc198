"""A tag's identity advert and its TLM advert in one gateway upload, heard at the same
RSSI and stamped with the same time (a JSON upload without timestamps, Ingics lines
sharing a second), are two sightings, not a replay: the battery reading reaches
``GET /api/v1/tags/batteries``. The same upload posted again is still a replay.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from floki_core.testing import Floki

API = "/api/v1"
GATEWAY = "AC233FC00001"
TAG_MAC = "C3A1B2C3D4E5"
UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
BEACON = f"{UUID}:100:7"
IBEACON_ADV = "0201061AFF4C000215" + UUID.replace("-", "") + "0064" + "0007" + "C5"
# Eddystone TLM: version 0, 2400 mV, 20.0 °C, advert count, tenths of a second since boot.
TLM_ADV = "0201060303AAFE1116AAFE20000960140000000100" + "00002710"


async def pump_with_ibeacon(floki: Floki) -> int:
    admin = await floki.headers("admin")
    resp = await floki.client.post(f"{API}/assets", json={"asset_number": "PUMP-1"}, headers=admin)
    asset = await resp.json()
    body = {"asset_id": asset["id"], "technology": "ibeacon", "value": BEACON}
    resp = await floki.client.post(f"{API}/identifiers", json=body, headers=admin)
    assert resp.status == 201, await resp.text()
    await floki.core.locations.reindex()
    return int(asset["id"])


async def upload(floki: Floki, dialect: str, payload: str) -> dict[str, Any]:
    device = floki.auth(await floki.token_for("admin", device=True))
    resp = await floki.client.post(
        f"{API}/ble/ingest/{dialect}", data=payload.encode(), headers=device
    )
    assert resp.status == 202, await resp.text()
    receipt: dict[str, Any] = await resp.json()
    await floki.settle()
    return receipt


async def battery_of(floki: Floki, tag: str) -> dict[str, Any] | None:
    resp = await floki.client.get(f"{API}/tags/batteries", headers=await floki.headers("viewer"))
    assert resp.status == 200
    found = [r for r in (await resp.json())["items"] if r["tag"] == tag]
    return found[0] if found else None


async def gateway_counts(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get(f"{API}/sources", headers=await floki.headers("viewer"))
    [stats] = [s for s in (await resp.json())["items"] if s["name"] == "ble-http:test"]
    return dict(stats)


def json_upload(*, timestamp: str | None) -> str:
    stamp = {} if timestamp is None else {"timestamp": timestamp}
    return json.dumps(
        [
            {"type": "Gateway", "mac": GATEWAY},
            {"type": "Unknown", "mac": TAG_MAC, "rssi": -63, "rawData": IBEACON_ADV, **stamp},
            {"type": "Unknown", "mac": TAG_MAC, "rssi": -63, "rawData": TLM_ADV, **stamp},
        ]
    )


def ingics_upload(second: int) -> str:
    return "".join(
        f"$GPRP,{TAG_MAC},{GATEWAY},-63,{advert},{second}\r\n" for advert in (IBEACON_ADV, TLM_ADV)
    )


@pytest.mark.parametrize("dialect", ["json", "ingics"])
async def test_identity_and_tlm_adverts_of_one_tag_in_one_upload_both_count(
    floki: Floki, dialect: str
) -> None:
    await pump_with_ibeacon(floki)
    second = int(floki.clock.now().timestamp())
    payload = json_upload(timestamp=None) if dialect == "json" else ingics_upload(second)

    receipt = await upload(floki, dialect, payload)
    assert (receipt["queued"], receipt["rejected"]) == (2, {})
    stats = await gateway_counts(floki)
    assert (stats["accepted"], stats["duplicates"]) == (2, 0)
    reading = await battery_of(floki, BEACON)
    assert reading is not None, "the TLM advert was dropped as a replay of the iBeacon one"
    assert (reading["technology"], reading["millivolts"]) == ("ibeacon", 2400)


async def test_the_same_upload_posted_again_is_a_replay(floki: Floki) -> None:
    await pump_with_ibeacon(floki)
    payload = json_upload(timestamp=floki.clock.now().isoformat())
    assert (await upload(floki, "json", payload))["queued"] == 2
    floki.advance(2)
    assert (await upload(floki, "json", payload))["queued"] == 2
    stats = await gateway_counts(floki)
    assert (stats["received"], stats["accepted"], stats["duplicates"]) == (4, 2, 2)
