"""Privacy by construction (issue 15 §2), proved end to end: a mixed stream through the
Wi-Fi feeds over loopback (RADIUS accounting over UDP, the Meraki Scanning API's POST,
the Cisco Spaces firehose streamed from a local stand-in, and syslog datagrams: hostapd
and Cisco Catalyst 9800 lines to the plugin's UDP listener),
carrying staff's and patients' phones (burnt-in and randomised MACs) and personal fields
(names, emails, usernames, phone numbers, client addresses). Afterwards every file under
the appliance's data directory (the SQLite database, its WAL, the plugins' data), every
log record down to DEBUG, every live event and every GET answer is searched for each
unknown MAC in every spelling and each personal value: none is found, while the bound
devices (a pump, and a monitor whose randomised MAC is bound explicitly) are located."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType
from floki_wifi.radius_source import FEED, RadiusSource

from floki_core.sdk import AppConfig
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.wifi.locating import (
    API,
    CORRIDOR_AP,
    LIBRARY_AP,
    PUMP_WIFI,
    build_ward,
    hostapd,
    post,
    radius_settings,
    send_udp,
    stamp,
    syslog_ready,
    syslog_settings,
    where,
    wifi_config,
)
from tests.plugins.wifi.radius_nas import Nas, accounting
from tests.plugins.wifi.spaces_firehose import KEY, Firehose

pytestmark = pytest.mark.floki_entry_points("wifi")

MERAKI_SECRET = "meraki-shared-secret"
MONITOR_WIFI = "DA:A1:19:5E:6F:02"  # randomised (locally administered), bound on purpose

# Nobody's asset: a phone's burnt-in MAC, a laptop's, and two randomised phone MACs.
UNKNOWN_MACS = (
    "3C:22:FB:12:34:56",
    "F4:5C:89:AB:CD:EF",
    "DA:A1:19:5E:6F:01",
    "7A:11:22:33:44:55",
)
PERSONAL = (
    "Jane Doe",
    "jane.doe@example.nhs.uk",
    "ward5.nurse",
    "Dr Amir Khan",
    "+447700900123",
    "07700 900123",
    "10.20.30.40",
    "10.20.30.41",
    "fe80::1c2b:3cff:fe4d:5e6f",
    "Farhana",
    "Okonkwo",
)


def spellings(mac: str) -> list[str]:
    """Every way a network writes ``mac``, lower-cased (the haystacks are too)."""
    digits = mac.replace(":", "").lower()
    pairs = [digits[i : i + 2] for i in range(0, 12, 2)]
    return [
        ":".join(pairs),
        "-".join(pairs),
        digits,
        ".".join(digits[i : i + 4] for i in range(0, 12, 4)),  # Cisco's 3c22.fb12.3456
    ]


NEEDLES = sorted(
    {s for mac in UNKNOWN_MACS for s in spellings(mac)} | {p.lower() for p in PERSONAL}
)


@pytest.fixture
async def firehose() -> AsyncIterator[Firehose]:
    async with Firehose() as stand_in:
        yield stand_in


@pytest.fixture
def ports() -> tuple[int, int]:
    """The RADIUS and syslog listeners' UDP ports (probed free over TCP, free alike)."""
    return free_port(), free_port()


@pytest.fixture
def floki_config(firehose: Firehose, ports: tuple[int, int]) -> AppConfig:
    return wifi_config(
        spaces={"url": firehose.url, "api_key": KEY, "batch_seconds": 0.05},
        listen_host="127.0.0.1",
        radius=radius_settings(ports[0]),
        meraki={"secret": MERAKI_SECRET, "validator": "validator-string"},
        syslog=syslog_settings(ports[1]),
    )


def meraki_client(mac: str, at: dt.datetime, **personal: Any) -> dict[str, Any]:
    """A Scanning API v3 observation of ``mac`` nearest the corridor AP, no position."""
    return {
        "clientMac": mac.lower(),
        "ipv4": "/10.20.30.41",
        "ipv6": "fe80::1c2b:3cff:fe4d:5e6f",
        "ssid": "NHS-Devices",
        "os": "Android",
        "manufacturer": "Samsung",
        "latestRecord": {
            "time": stamp(at),
            "nearestApMac": CORRIDOR_AP.lower(),
            "nearestApRssi": "-52",
        },
        "locations": [],
        **personal,
    }


async def _radius_stream(floki: Floki, nas: Nas, at: dt.datetime) -> None:
    called = f"{CORRIDOR_AP.replace(':', '-')}:NHS-Staff"
    phone, laptop, random_phone, other_random = UNKNOWN_MACS
    for request in (
        accounting(
            "Start",
            phone,
            called,
            at=at,
            User_Name="jane.doe@example.nhs.uk",
            Framed_IP_Address="10.20.30.40",
            Acct_Session_Id="A1",
        ),
        accounting(
            "Start",
            random_phone.replace(":", "-").lower(),
            called,
            at=at,
            User_Name="+447700900123",
            Acct_Session_Id="A2",
        ),
        accounting(
            "Interim-Update",
            laptop.replace(":", "").lower(),
            called,
            at=at,
            User_Name="Dr Amir Khan",
            Connect_Info="07700 900123",
            Acct_Session_Id="A3",
        ),
        accounting(
            "Stop", other_random, called, at=at, User_Name="ward5.nurse", Acct_Session_Id="A4"
        ),
        # The bound devices, with personal fields beside them too.
        accounting(
            "Start",
            PUMP_WIFI,
            called,
            at=at,
            User_Name="ward5.nurse",
            Framed_IP_Address="10.20.30.40",
            Acct_Session_Id="A5",
        ),
        accounting(
            "Start",
            MONITOR_WIFI,
            f"{LIBRARY_AP}:NHS-Devices",
            at=at,
            User_Name="Jane Doe",
            Acct_Session_Id="A6",
        ),
    ):
        answer = await nas.send_with_pyrad(request)
        assert answer.code == 5  # Accounting-Response: every one answered


async def _meraki_stream(floki: Floki, at: dt.datetime) -> None:
    phone, laptop, random_phone, _ = UNKNOWN_MACS
    body = {
        "version": "3.0",
        "secret": MERAKI_SECRET,
        "type": "WiFi",
        "data": {
            "networkId": "L_000000000000000001",
            "observations": [
                meraki_client(phone, at, userId="jane.doe@example.nhs.uk"),
                meraki_client(laptop, at, manufacturer="Jane Doe", userId="Dr Amir Khan"),
                meraki_client(random_phone, at, userId="+447700900123"),
                meraki_client(PUMP_WIFI, at, userId="ward5.nurse"),
            ],
        },
    }
    resp = await floki.client.post(
        f"{API}/wifi/meraki", data=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert resp.status == 202, await resp.text()


def cisco_9800(at: dt.datetime, device: str, username: str) -> bytes:
    """A Catalyst 9800 controller's line for a client reaching the run state: Cisco's
    dotted MAC, and the user name the client signed in with."""
    digits = device.replace(":", "").lower()
    dotted = ".".join(digits[i : i + 4] for i in range(0, 12, 4))
    return (
        f"<30>1 {stamp(at)} wlc-9800 wncd - - - %CLIENT_ORCH_LOG-6-CLIENT_ADDED_TO_RUN_STATE: "
        f"R0/0: wncd: Username entry ({username}) joined with ssid (NHS-Staff) for device "
        f"with MAC: {dotted} on channel (36) AP name: ward5-ap-corridor"
    ).encode()


async def _syslog_stream(floki: Floki, port: int, at: dt.datetime) -> None:
    phone, laptop, random_phone, other_random = UNKNOWN_MACS
    send_udp(
        port,
        hostapd(at, "ward5-ap-corridor", phone),
        hostapd(at, "ward5-ap-corridor", random_phone),
        hostapd(at, "library-ap", other_random, "AP-STA-DISCONNECTED"),
        cisco_9800(at, laptop, "jane.doe@example.nhs.uk"),
        cisco_9800(at, other_random, "+447700900123"),
        cisco_9800(at, PUMP_WIFI, "ward5.nurse"),
        hostapd(at, "library-ap", MONITOR_WIFI),
    )

    async def counted() -> bool:
        resp = await floki.client.get(f"{API}/sources", headers=await floki.headers("viewer"))
        found = {s["name"]: s for s in (await resp.json())["items"]}.get("wifi-syslog", {})
        return bool(found.get("rejected") == {"unknown_device": 2, "randomised_device": 3})

    await floki.eventually(counted, "the syslog lines counted")


def spaces_update(mac: str, uid: str, at: dt.datetime, **device: Any) -> bytes:
    """A DEVICE_LOCATION_UPDATE of ``mac`` near the corridor AP, as the firehose sends
    one: with the person's details Spaces holds, and no position on a mapped plan."""
    millis = int(at.timestamp() * 1000)
    record = {
        "recordUid": uid,
        "recordTimestamp": str(millis),
        "eventType": "DEVICE_LOCATION_UPDATE",
        "deviceLocationUpdate": {
            "device": {"macAddress": mac.lower(), "manufacturer": "Samsung", **device},
            "ssid": "NHS-Staff",
            "rawUserId": "jane.doe@example.nhs.uk",
            "lastSeen": millis,
            "ipv4": "10.20.30.40",
            "apMac": CORRIDOR_AP.lower(),
            "maxDetectedRssi": -61,
        },
    }
    return json.dumps(record).encode() + b"\n"


async def _spaces_stream(floki: Floki, firehose: Firehose, at: dt.datetime) -> None:
    phone, laptop, random_phone, _ = UNKNOWN_MACS
    for line in (
        spaces_update(phone, "e1", at, firstName="Farhana", lastName="Okonkwo"),
        spaces_update(laptop, "e2", at, email="jane.doe@example.nhs.uk", mobile="+447700900123"),
        spaces_update(random_phone, "e3", at, userId="Dr Amir Khan"),
        spaces_update(PUMP_WIFI, "e4", at, userId="ward5.nurse", firstName="Farhana"),
    ):
        firehose.lines.put_nowait(line)

    async def counted() -> bool:
        resp = await floki.client.get(f"{API}/sources", headers=await floki.headers("viewer"))
        found = {s["name"]: s for s in (await resp.json())["items"]}.get("wifi-spaces", {})
        return bool(found.get("rejected") == {"unknown_device": 2, "randomised_device": 1})

    await floki.eventually(counted, "the Spaces records counted")


def _files(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()]


def _found(haystack: str) -> list[str]:
    text = haystack.lower()
    return [needle for needle in NEEDLES if needle in text]


async def test_no_unknown_device_nor_personal_field_is_kept_anywhere(
    floki: Floki,
    firehose: Firehose,
    ports: tuple[int, int],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    registration = floki.core.plugins.registries.sources.get(FEED)
    assert registration is not None and isinstance(registration.item, RadiusSource)
    await Floki.eventually(registration.item.listening.is_set, "the RADIUS listener")
    ward = await build_ward(floki, beacon=False)
    monitor = await post(floki, "assets", {"asset_number": "MON-0007", "description": "Monitor"})
    await post(
        floki,
        "identifiers",
        {"asset_id": monitor["id"], "technology": "wifi", "value": MONITOR_WIFI},
    )
    await floki.core.locations.reindex()
    await syslog_ready(floki)
    events = await floki.client.ws_connect(f"{API}/events", headers=await floki.headers("admin"))

    at = floki.clock.now() - dt.timedelta(seconds=5)
    await _radius_stream(floki, Nas(ports[0]), at)
    await _meraki_stream(floki, at + dt.timedelta(seconds=1))
    await _syslog_stream(floki, ports[1], at + dt.timedelta(seconds=2))
    await _spaces_stream(floki, firehose, at + dt.timedelta(seconds=3))

    # The bound devices are located, the randomised one too because it is bound.
    async def located() -> bool:
        pump = await where(floki, ward.pump)
        mon = await where(floki, monitor["id"])
        return bool(
            (pump.get("zone") or {}).get("id") == ward.zones["Ward 5 Corridor"]
            and (mon.get("zone") or {}).get("id") == ward.zones["Equipment Library"]
        )

    await floki.eventually(located, "the pump and the monitor located")
    await floki.settle()

    # Every answer an engineer or admin can GET.
    answers: dict[str, str] = {}
    admin = await floki.headers("admin")
    for path in (
        "/assets",
        f"/assets/{ward.pump}",
        f"/assets/{ward.pump}/location",
        f"/assets/{ward.pump}/history",
        f"/assets/{monitor['id']}/location",
        "/unknown-tags",
        "/sources",
        "/plugins",
        "/wifi/access-points",
        "/receivers",
        "/identifiers",
        "/alerts",
        "/health",
    ):
        resp = await floki.client.get(f"{API}{path}", headers=admin)
        assert resp.status == 200, (path, resp.status)
        answers[path] = await resp.text()
    metrics = await floki.client.get("/metrics", headers=admin)
    answers["/metrics"] = await metrics.text()
    # The counters say what was dropped, as numbers.
    sources = {s["name"]: s for s in json.loads(answers["/sources"])["items"]}
    assert sources["wifi-radius"]["rejected"].get("unknown_device", 0) >= 2
    assert sources["wifi-radius"]["rejected"].get("randomised_device", 0) >= 1
    assert sources["wifi-meraki"]["rejected"] == {"unknown_device": 2, "randomised_device": 1}

    # The live events the admin's socket was sent.
    delivered: list[str] = []
    while True:
        try:
            message = await events.receive(timeout=0.2)
        except TimeoutError:
            break
        if message.type != WSMsgType.TEXT:
            break
        delivered.append(message.data)
    await events.close()
    assert any("location.changed" in data for data in delivered)

    # Everything written under the data directory: database, WAL, plugins' data, logs.
    await floki.core.locations.flush()
    data_dir = floki.core.data_dir
    files = _files(data_dir)
    assert any(path.suffix == ".db" for path in files)
    kept = {str(path): path.read_bytes().decode("latin-1") for path in files}

    leaks = {
        **{f"GET {path}": _found(text) for path, text in answers.items()},
        "events": _found("\n".join(delivered)),
        "log records": _found(caplog.text + "".join(str(r.args) for r in caplog.records)),
        **{path: _found(text) for path, text in kept.items()},
    }
    assert {where: found for where, found in leaks.items() if found} == {}
    # ... and the search would have found them: the bound pump's MAC is in the register.
    assert any(PUMP_WIFI.lower() in text.lower() for text in kept.values())
