"""Gateways that upload beacon fields they decoded themselves (Minew's ``ibeaconUuid``,
``ibeaconMajor``, ``ibeaconMinor``; Eddystone namespace and instance; TLM readings)
instead of ``rawData`` name the tag by its beacon identity, as ``docs/gateways.md``
promises: golden entries accepted and refused, then an upload through the API.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from floki_ble.adverts import TagIdentities
from floki_ble.dialects import parse_json_batch
from floki_ble.http_gateways import to_observation
from floki_core.observations import Observation
from floki_core.testing import Floki

API = "/api/v1"
NOW = dt.datetime(2026, 2, 9, 0, 13, 54, tzinfo=dt.UTC)
GATEWAY = "AC233FC03641"
MAC = "C3000025EF6A"
UUID = "E2C56DB5-DFFB-48D2-B060-D0F5A71096E0"
BEACON = f"{UUID}:100:7"
NAMESPACE, INSTANCE = "EDD1EBEAC04E5DEFA017", "0123456789AB"
IBEACON_ADV = "0201061AFF4C000215" + UUID.replace("-", "") + "0064" + "0007" + "C5"
OTHER_ADV = "0201061AFF4C000215" + UUID.replace("-", "") + "0064" + "0008" + "C5"
TLM_ADV = "0201060303AAFE1116AAFE20000960140000000100" + "00002710"  # 2400 mV, 20 °C

# A Minew G1 upload as published ("JSON-LONG"): the iBeacon already parsed, no rawData.
MINEW_IBEACON = {
    "timestamp": "2026-02-09T00:13:53.667Z",
    "type": "iBeacon",
    "mac": MAC,
    "bleName": "",
    "ibeaconUuid": UUID.replace("-", ""),
    "ibeaconMajor": 100,
    "ibeaconMinor": 7,
    "rssi": -65,
    "ibeaconTxPower": -59,
    "battery": 0,
}


def entry(**fields: Any) -> dict[str, Any]:
    return {"type": "Unknown", "mac": MAC, "rssi": -65, **fields}


# (name, entries of one upload, technology and tag of the last entry's sighting, readings)
ACCEPTED: list[tuple[str, list[dict[str, Any]], tuple[str, str], dict[str, Any]]] = [
    ("minew_ibeacon", [MINEW_IBEACON], ("ibeacon", BEACON), {}),
    (
        "numbers_as_text_and_lower_case_uuid",
        [entry(ibeaconUuid=UUID.lower(), ibeaconMajor="100", ibeaconMinor=" 7 ")],
        ("ibeacon", BEACON),
        {},
    ),
    (
        "field_names_in_another_case",
        [entry(iBeaconUUID=UUID, iBeaconMajor=100.0, IBEACON_MINOR=7)],
        ("ibeacon", BEACON),
        {},
    ),
    (
        "eddystone_uid",
        [entry(eddystoneNamespace=NAMESPACE.lower(), eddystoneInstance=INSTANCE.lower())],
        ("eddystone", f"{NAMESPACE}:{INSTANCE}"),
        {},
    ),
    (
        "raw_and_fields_agree",
        [entry(rawData=IBEACON_ADV, ibeaconUuid=UUID, ibeaconMajor=100, ibeaconMinor=7)],
        ("ibeacon", BEACON),
        {},
    ),
    (
        "fields_name_the_tag_a_tlm_advert_belongs_to",
        [
            entry(ibeaconUuid=UUID, ibeaconMajor=100, ibeaconMinor=7),
            entry(rawData=TLM_ADV, ibeaconUuid=UUID, ibeaconMajor=100, ibeaconMinor=7),
        ],
        ("ibeacon", BEACON),
        {"battery_mv": 2400, "temperature_c": 20.0},
    ),
    (
        "tlm_readings_as_fields_after_the_identity",
        [MINEW_IBEACON, entry(type="TLM", batteryVoltage="2950", temperature=21.5)],
        ("ibeacon", BEACON),
        {"battery_mv": 2950, "temperature_c": 21.5},
    ),
    (
        "empty_fields_state_nothing",
        [entry(ibeaconUuid="", ibeaconMajor=None, ibeaconMinor=None)],
        ("ble", "C3:00:00:25:EF:6A"),
        {},
    ),
]

# (name, entry, reason)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    (
        "uuid_short",
        entry(ibeaconUuid="E2C56DB5", ibeaconMajor=1, ibeaconMinor=2),
        "bad_ibeacon_uuid",
    ),
    ("uuid_a_number", entry(ibeaconUuid=123, ibeaconMajor=1, ibeaconMinor=2), "bad_ibeacon_uuid"),
    (
        "major_too_big",
        entry(ibeaconUuid=UUID, ibeaconMajor=70000, ibeaconMinor=2),
        "bad_ibeacon_major",
    ),
    (
        "major_words",
        entry(ibeaconUuid=UUID, ibeaconMajor="abc", ibeaconMinor=2),
        "bad_ibeacon_major",
    ),
    ("major_bool", entry(ibeaconUuid=UUID, ibeaconMajor=True, ibeaconMinor=2), "bad_ibeacon_major"),
    (
        "minor_fraction",
        entry(ibeaconUuid=UUID, ibeaconMajor=1, ibeaconMinor=2.5),
        "bad_ibeacon_minor",
    ),
    ("minor_missing", entry(ibeaconUuid=UUID, ibeaconMajor=1), "incomplete_ibeacon"),
    (
        "namespace_short",
        entry(eddystoneNamespace=NAMESPACE[:18], eddystoneInstance=INSTANCE),
        "bad_eddystone_namespace",
    ),
    ("instance_missing", entry(eddystoneNamespace=NAMESPACE), "incomplete_eddystone_uid"),
    (
        "raw_and_fields_disagree",
        entry(rawData=OTHER_ADV, ibeaconUuid=UUID, ibeaconMajor=100, ibeaconMinor=7),
        "beacon_fields_disagree",
    ),
    (
        "two_kinds_of_beacon",
        entry(
            ibeaconUuid=UUID,
            ibeaconMajor=1,
            ibeaconMinor=2,
            eddystoneNamespace=NAMESPACE,
            eddystoneInstance=INSTANCE,
        ),
        "beacon_fields_disagree",
    ),
    ("battery_words", entry(batteryVoltage="lots"), "bad_battery_voltage"),
    ("battery_not_millivolts", entry(batteryVoltage=3.0e6), "bad_battery_voltage"),
    ("temperature_infinite", entry(temperature="inf"), "bad_temperature"),
]


def observations(entries: list[dict[str, Any]]) -> tuple[list[Observation], dict[str, int]]:
    """What the JSON gateway route makes of one upload: its sightings, its refusals."""
    result = parse_json_batch(json.dumps([{"type": "Gateway", "mac": GATEWAY}, *entries]))
    rejected = dict(result.rejections)
    made: list[Observation] = []
    identities = TagIdentities()
    for sighting in result.sightings:
        obs = to_observation(sighting, NOW, identities)
        if isinstance(obs, str):
            rejected[obs] = rejected.get(obs, 0) + 1
        else:
            made.append(obs)
    return made, rejected


@pytest.mark.parametrize(
    ("entries", "named", "readings"), [pytest.param(*row[1:], id=row[0]) for row in ACCEPTED]
)
def test_stated_fields_name_the_tag(
    entries: list[dict[str, Any]], named: tuple[str, str], readings: dict[str, Any]
) -> None:
    made, rejected = observations(entries)
    assert rejected == {}
    assert len(made) == len(entries)
    last = made[-1]
    assert (last.technology, last.tag) == named
    assert {k: last.extras[k] for k in readings if k in last.extras} == readings
    # The fields that named the tag are not carried again as extras.
    assert not {k for k in last.extras if k.lower().startswith(("ibeacon", "eddystone"))} - {
        "ibeaconTxPower"
    }


@pytest.mark.parametrize(("bad", "reason"), [pytest.param(*row[1:], id=row[0]) for row in REFUSED])
def test_bad_stated_fields_refuse_the_entry_and_spare_the_rest(
    bad: dict[str, Any], reason: str
) -> None:
    made, rejected = observations([MINEW_IBEACON, bad, MINEW_IBEACON])
    assert rejected == {reason: 1}
    assert [(o.technology, o.tag) for o in made] == [("ibeacon", BEACON)] * 2


async def test_a_minew_upload_without_raw_data_locates_the_asset_by_its_ibeacon(
    floki: Floki,
) -> None:
    admin = await floki.headers("admin")

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await floki.client.post(API + path, json=body, headers=admin)
        assert resp.status == 201, await resp.text()
        made: dict[str, Any] = await resp.json()
        return made

    site = await post("/sites", {"name": "General"})
    zone = await post("/zones", {"site_id": site["id"], "name": "Ward 7 Bay 1", "type": "bay"})
    await post(
        "/receivers",
        {
            "name": "bay 1 gateway",
            "technology": "ble",
            "identifier": GATEWAY,
            "zone_id": zone["id"],
        },
    )
    asset = await post("/assets", {"asset_number": "PUMP-7"})
    await post("/identifiers", {"asset_id": asset["id"], "technology": "ibeacon", "value": BEACON})
    await floki.core.locations.reindex()

    stamp = floki.clock.now().isoformat().replace("+00:00", "Z")
    upload = [
        {"timestamp": stamp, "type": "Gateway", "mac": GATEWAY, "gatewayFree": 89},
        {**MINEW_IBEACON, "timestamp": stamp},
        {**MINEW_IBEACON, "timestamp": stamp, "ibeaconMajor": "one hundred", "mac": "C30000000001"},
    ]
    device = floki.auth(await floki.token_for("admin", device=True))
    resp = await floki.client.post(
        f"{API}/ble/ingest/json", data=json.dumps(upload), headers=device
    )
    assert resp.status == 202, await resp.text()
    receipt = await resp.json()
    assert (receipt["queued"], receipt["rejected"]) == (1, {"bad_ibeacon_major": 1})
    await floki.settle()

    resp = await floki.client.get(f"{API}/assets/{asset['id']}/location", headers=admin)
    where = await resp.json()
    assert where["located"] is True, where
    assert (where["zone"]["name"], where["technology"]) == ("Ward 7 Bay 1", "ibeacon")
    resp = await floki.client.get(f"{API}/unknown-tags", headers=admin)
    assert (await resp.json())["items"] == []
