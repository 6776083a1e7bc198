"""RADIUS accounting sent over loopback UDP to a running appliance's ``wifi-radius``
listener: what the NAS is answered, where the device's asset is then, what is counted, and
that an unknown device is found nowhere. One appliance serves the module (each test its
own devices), so the counters are compared before and after."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import pytest_asyncio
from floki_wifi.radius_source import FEED, RadiusSource

from floki_core.clock import ManualClock
from floki_core.sdk import parse_config
from floki_core.testing import Floki, installed_plugins, running_appliance
from tests.fixtures.processes import free_port
from tests.plugins.wifi.locating import radius_settings
from tests.plugins.wifi.radius_nas import (
    NO_ANSWER_SECONDS,
    SECRET,
    Nas,
    accounting,
    response_is_signed,
    rfc_request,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

NOW = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
AP = "00-10-A4-23-19-C0"  # RFC 3580 section 3.20's example access point
AP_SPELT = "00:10:A4:23:19:C0"


@pytest.fixture(scope="module")
def port() -> int:
    return free_port()  # a TCP probe; the UDP port of the same number is free alike here


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def floki(
    tmp_path_factory: pytest.TempPathFactory, floki_migrated_database: Path, port: int
) -> AsyncIterator[Floki]:
    config = parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"disabled": [n for n in installed_plugins() if n != "wifi"]},
            "plugin": {
                "wifi": {
                    "listen_host": "127.0.0.1",
                    "radius": radius_settings(port),
                }
            },
        }
    )
    async with running_appliance(
        tmp_path_factory.mktemp("radius"),
        config,
        clock=ManualClock(NOW),
        database=floki_migrated_database,
    ) as appliance:
        registration = appliance.core.plugins.registries.sources.get(FEED)
        assert registration is not None and isinstance(registration.item, RadiusSource)
        await Floki.eventually(registration.item.listening.is_set, "the listener to listen")
        yield appliance


@pytest.fixture(scope="module")
def nas(port: int) -> Nas:
    return Nas(port)


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(f"/api/v1{path}", json=body, headers=await floki.headers())
    assert resp.status == 201, await resp.text()
    made: dict[str, Any] = await resp.json()
    return made


async def get(floki: Floki, path: str, role: str = "admin") -> Any:
    resp = await floki.client.get(f"/api/v1{path}", headers=await floki.headers(role))
    assert resp.status == 200, await resp.text()
    return await resp.json()


async def ward_with_ap(floki: Floki) -> int:
    """Ward 5 with the access point registered as a receiver of technology wifi; its id."""
    zones = await get(floki, "/zones")
    found = next((z for z in zones["items"] if z["name"] == "Ward 5"), None)
    if found is not None:
        return int(found["id"])
    site = await post(floki, "/sites", {"name": "General"})
    zone = await post(floki, "/zones", {"site_id": site["id"], "name": "Ward 5"})
    await post(
        floki,
        "/receivers",
        {"name": "AP ward 5", "technology": "wifi", "identifier": AP_SPELT, "zone_id": zone["id"]},
    )
    return int(zone["id"])


async def pump(floki: Floki, number: str, mac: str) -> int:
    asset = await post(floki, "/assets", {"asset_number": number, "description": "Pump"})
    await post(floki, "/identifiers", {"asset_id": asset["id"], "technology": "wifi", "value": mac})
    await floki.core.locations.reindex()
    return int(asset["id"])


async def counters(floki: Floki) -> dict[str, Any]:
    for item in (await get(floki, "/sources", "viewer"))["items"]:
        if item["name"] == FEED:
            found: dict[str, Any] = item
            return found
    return {"rejected": {}, "accepted": 0, "duplicates": 0}


async def rejected(floki: Floki, reason: str) -> int:
    return int((await counters(floki)).get("rejected", {}).get(reason, 0))


async def located(floki: Floki, asset_id: int, zone_id: int) -> dict[str, Any]:
    where: dict[str, Any] = {}

    async def there() -> bool:
        where.update(await get(floki, f"/assets/{asset_id}/location", "viewer"))
        return bool(where.get("located")) and (where.get("zone") or {}).get("id") == zone_id

    await Floki.eventually(there, f"asset {asset_id} in zone {zone_id}")
    return where


async def test_a_start_is_answered_signed_and_places_the_device_at_its_access_points_zone(
    floki: Floki, nas: Nas
) -> None:
    zone = await ward_with_ap(floki)
    asset_id = await pump(floki, "PUMP-START", "00:1B:63:84:45:E6")
    at = NOW - dt.timedelta(seconds=20)
    request = accounting(
        "Start", "00-1b-63-84-45-e6", f"{AP}:NHS-Devices", at=at, User_Name="pump-0042"
    )
    answer = await nas.send_with_pyrad(request)  # pyrad checked its Response Authenticator
    assert (answer.code, answer.id) == (5, request.id)
    where = await located(floki, asset_id, zone)
    assert where["method"] == "wifi" or "wifi" in str(where), where
    assert dt.datetime.fromisoformat(where["last_seen"]) == at  # the NAS's Event-Timestamp


async def test_a_packet_built_octet_by_octet_from_the_rfcs_is_answered_and_used(
    floki: Floki, nas: Nas
) -> None:
    zone = await ward_with_ap(floki)
    asset_id = await pump(floki, "PUMP-RFC", "0013.E8A2.7F01")
    datagram = rfc_request(
        0x2A,
        SECRET,
        [
            (40, struct.pack("!I", 3)),  # Acct-Status-Type = Interim-Update
            (31, b"00-13-E8-A2-7F-01"),  # Calling-Station-Id, RFC 3580 section 3.21 form
            (30, f"{AP}:AP1".encode()),  # Called-Station-Id, RFC 3580 section 3.20 example
            (44, b"4E3A0F12"),  # Acct-Session-Id
            (41, struct.pack("!I", 5)),  # Acct-Delay-Time: 5 s since the update
        ],
    )
    answer = await nas.send(datagram)
    assert answer is not None and response_is_signed(datagram, answer, SECRET)
    where = await located(floki, asset_id, zone)
    # No Event-Timestamp: the appliance's clock when it arrived, less the NAS's delay.
    assert dt.datetime.fromisoformat(where["last_seen"]) == NOW - dt.timedelta(seconds=5)


async def test_a_bad_authenticator_is_not_answered_and_is_counted(floki: Floki, nas: Nas) -> None:
    zone = await ward_with_ap(floki)
    asset_id = await pump(floki, "PUMP-FORGED", "00:1B:63:84:45:F0")
    before = await rejected(floki, "bad_authenticator")
    wrong_secret = accounting("Start", "00:1B:63:84:45:F0", AP, secret=b"not-the-secret")
    good = accounting("Start", "00:1B:63:84:45:F0", AP).RequestPacket()
    tampered = good[:4] + bytes([good[4] ^ 0x01]) + good[5:]  # changed on the way
    answers = await asyncio.gather(
        nas.send(wrong_secret.RequestPacket(), wait=NO_ANSWER_SECONDS),
        nas.send(tampered, wait=NO_ANSWER_SECONDS),
    )
    assert answers == [None, None]
    await Floki.eventually(
        lambda: _at_least(floki, "bad_authenticator", before + 2), "two bad authenticators"
    )
    where = await get(floki, f"/assets/{asset_id}/location", "viewer")
    assert not where.get("located") or (where.get("zone") or {}).get("id") != zone


async def test_a_packet_from_an_address_with_no_client_entry_is_dropped_and_counted(
    floki: Floki, port: int
) -> None:
    before = await rejected(floki, "unknown_client")
    stranger = Nas(port, source="127.0.0.2")
    request = accounting("Start", "00:1B:63:84:45:F1", AP)
    assert await stranger.send(request.RequestPacket(), wait=NO_ANSWER_SECONDS) is None
    await Floki.eventually(
        lambda: _at_least(floki, "unknown_client", before + 1), "the stranger counted"
    )


async def _at_least(floki: Floki, reason: str, count: int) -> bool:
    return await rejected(floki, reason) >= count


async def test_an_unknown_device_is_answered_counted_and_found_nowhere(
    floki: Floki, nas: Nas, caplog: pytest.LogCaptureFixture
) -> None:
    await ward_with_ap(floki)
    await pump(floki, "PUMP-BESIDE", "00:1B:63:84:45:EA")  # what a stored MAC looks like
    phone, user = "3C:22:FB:0A:71:9D", "alice.smith@nhs.net"
    before = await rejected(floki, "unknown_device")
    caplog.set_level(logging.DEBUG)
    for status in ("Start", "Interim-Update", "Stop"):
        request = accounting(
            status,
            phone.lower().replace(":", "-"),
            f"{AP}:Staff",
            User_Name=user,
            Framed_IP_Address="10.44.1.23",
        )
        answer = await nas.send_with_pyrad(request)  # answered, or the NAS would resend
        assert answer.code == 5
    await Floki.eventually(
        lambda: _at_least(floki, "unknown_device", before + 3), "the phone counted"
    )
    await floki.settle()
    seen = [
        msgspec.json.encode(await get(floki, path)).decode().upper()
        for path in ("/unknown-tags", "/sources", "/plugins", "/receivers")
    ]
    seen.append("\n".join(r.getMessage() for r in caplog.records).upper())
    # Every file the appliance wrote (its database and write-ahead log included).
    for path in sorted(floki.core.data_dir.rglob("*")):
        if path.is_file():
            seen.append(path.read_bytes().decode("latin-1").upper())
    assert any("00:1B:63:84:45:EA" in text for text in seen)  # the search sees the register
    for spelling in (phone, phone.replace(":", "-"), phone.replace(":", ""), user.upper()):
        for text in seen:
            assert spelling not in text
    assert "10.44.1.23" not in "".join(seen)


async def test_a_retransmitted_request_is_answered_again_but_used_once(
    floki: Floki, nas: Nas
) -> None:
    zone = await ward_with_ap(floki)
    asset_id = await pump(floki, "PUMP-AGAIN", "00:1B:63:84:45:E7")
    accepted = (await counters(floki)).get("accepted", 0)
    datagram = accounting("Interim-Update", "00:1B:63:84:45:E7", AP).RequestPacket()
    first = await nas.send(datagram)
    await located(floki, asset_id, zone)
    again = await nas.send(datagram)  # the first answer was lost: the NAS sends it again
    assert first is not None and again == first and response_is_signed(datagram, again, SECRET)
    await floki.settle()
    after = await counters(floki)
    assert after["accepted"] == accepted + 1
    assert after.get("duplicates", 0) == 0  # never handed to the core twice
    health = await source_health(floki)
    assert health["listening"] and health["answered_again"] >= 1
    assert health["clients"][0]["name"] == "127.0.0.1" and health["clients"][0]["requests"] > 1


async def source_health(floki: Floki) -> dict[str, Any]:
    """What GET /api/v1/plugins says of the wifi-radius source."""
    for plugin in (await get(floki, "/plugins"))["items"]:
        for item in plugin["sources"]:
            if item["name"] == FEED:
                assert item["status"] == "running", item
                details: dict[str, Any] = item["details"]
                return details
    raise AssertionError(f"{FEED} is not in GET /api/v1/plugins")


async def test_stop_and_accounting_off_end_the_association_without_a_location(
    floki: Floki, nas: Nas
) -> None:
    zone = await ward_with_ap(floki)
    asset_id = await pump(floki, "PUMP-STOP", "00:1B:63:84:45:E8")
    book = floki.core.plugins.contexts["wifi"].state["associations"]
    await nas.send_with_pyrad(accounting("Start", "00:1B:63:84:45:E8", AP, at=NOW))
    await located(floki, asset_id, zone)
    accepted = (await counters(floki))["accepted"]
    left = NOW + dt.timedelta(seconds=10)
    await nas.send_with_pyrad(accounting("Stop", "00:1B:63:84:45:E8", AP, at=left))
    record = book.devices["00:1B:63:84:45:E8"]
    assert (record.access_point, record.last_on_network_at) == (None, left)
    await floki.settle()
    assert (await counters(floki))["accepted"] == accepted  # a Stop is not a sighting

    await pump(floki, "PUMP-NAS-OFF", "00:1B:63:84:45:E9")
    await nas.send_with_pyrad(accounting("Start", "00:1B:63:84:45:E9", AP, at=NOW))
    assert book.devices["00:1B:63:84:45:E9"].access_point == AP_SPELT
    off = accounting("Accounting-Off", None, None, at=NOW + dt.timedelta(seconds=30))
    await nas.send_with_pyrad(off)
    record = book.devices["00:1B:63:84:45:E9"]
    assert (record.access_point, record.last_on_network_at) == (None, off_at(off))


def off_at(request: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(request["Event-Timestamp"][0], dt.UTC)
