"""The syslog listener in a running appliance, fed real UDP datagrams and TCP streams on
loopback: where the bound pump is then, what is counted, and what is kept of the phones
around it (nothing but a number)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
from typing import Any

import pytest
from floki_wifi.syslog_source import SOURCE, SyslogListener

from floki_core.sdk import AppConfig, DomainEvent
from floki_core.testing import Floki
from tests.fixtures.processes import free_port
from tests.plugins.wifi.locating import (
    CORRIDOR_AP,
    LIBRARY_AP,
    PUMP_WIFI,
    build_ward,
    syslog_ready,
    where,
    wifi_config,
)

pytestmark = pytest.mark.floki_entry_points("wifi")

PHONES = [f"3C:22:FB:61:{i // 256:02X}:{i % 256:02X}" for i in range(40)]  # staff's phones
RANDOM_PHONE = "DA:A1:19:00:00:01"  # a phone hiding behind a random MAC


def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.fixture(scope="module")
def syslog_ports() -> tuple[int, int]:
    return ports()


@pytest.fixture
def floki_config(syslog_ports: tuple[int, int]) -> AppConfig:
    udp, tcp = syslog_ports
    return wifi_config(
        listen_host="127.0.0.1",
        syslog={
            "udp_port": udp,
            "tcp_port": tcp,
            "batch_seconds": 0.05,
            "time_zone": "UTC",
            "max_message_bytes": 512,
            "access_points": {"bay-ap/wlan1": LIBRARY_AP},
        },
    )


async def listening(floki: Floki) -> SyslogListener:
    """The listener, once it listens and has read the register's access points (which
    it does as the register changes: the ward was just built)."""
    await syslog_ready(floki)
    registration = floki.core.plugins.registries.sources.get(SOURCE)
    assert registration is not None and isinstance(registration.item, SyslogListener)
    return registration.item


def rfc3164(at: dt.datetime, host: str, message: str) -> bytes:
    return f"<29>{at:%b} {at.day:2d} {at:%H:%M:%S} {host} {message}".encode()


def rfc5424(at: dt.datetime, host: str, app: str, message: str) -> bytes:
    return f"<29>1 {at.isoformat()} {host} {app} - - - {message}".encode()


def send_udp(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))


async def send_tcp(port: int, data: bytes) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    await writer.drain()
    writer.close()
    await writer.wait_closed()


def octets(message: bytes) -> bytes:
    return str(len(message)).encode() + b" " + message


async def counters(floki: Floki) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/sources", headers=await floki.headers("viewer"))
    for item in (await resp.json())["items"]:
        if item["name"] == SOURCE:
            found: dict[str, Any] = item
            return found
    return {}


async def rejected(floki: Floki) -> dict[str, int]:
    found: dict[str, int] = (await counters(floki)).get("rejected") or {}
    return found


async def zone_of(floki: Floki, asset_id: int) -> str | None:
    body = await where(floki, asset_id)
    return (body.get("zone") or {}).get("name") if body.get("located") else None


async def located_in(floki: Floki, asset_id: int, zone: str) -> None:
    async def there() -> bool:
        return await zone_of(floki, asset_id) == zone

    await Floki.eventually(there, f"asset {asset_id} in {zone}")


async def test_hostapd_lines_over_udp_place_the_pump_in_its_access_points_zone_and_phones_are_only_counted(  # noqa: E501
    floki: Floki, syslog_ports: tuple[int, int], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    ward = await build_ward(floki, beacon=False)
    listener = await listening(floki)
    udp, _ = syslog_ports
    at = floki.clock.now() - dt.timedelta(seconds=5)
    phones = [
        rfc3164(at, "ward5-ap-corridor", f"hostapd: wlan0: AP-STA-CONNECTED {mac.lower()}")
        for mac in [*PHONES, RANDOM_PHONE]
    ]
    # The pump joins the AP whose host name is a registered receiver's name.
    pump = rfc3164(at, "ward5-ap-corridor", f"hostapd: wlan0: AP-STA-CONNECTED {PUMP_WIFI.lower()}")
    send_udp(udp, *phones[:20], pump, *phones[20:])
    await located_in(floki, ward.pump, "Ward 5 Corridor")
    await Floki.eventually(
        lambda: listener.reader.device_filter.unknown == len(PHONES), "the phones counted"
    )
    assert await rejected(floki) == {"unknown_device": len(PHONES), "randomised_device": 1}
    book = listener.reader.book
    assert book.devices[PUMP_WIFI].access_point == CORRIDOR_AP
    assert set(book.access_points[CORRIDOR_AP].devices) == {PUMP_WIFI}
    # The evidence is the record's own time, as the access point logged it.
    body = await where(floki, ward.pump)
    assert body["last_seen"].startswith(at.replace(microsecond=0).isoformat()[:19])
    # No phone's MAC is anywhere the appliance shows or logs.
    paths = ("/api/v1/sources", "/api/v1/plugins", f"/api/v1/assets/{ward.pump}/location")
    headers = await floki.headers()
    shown = [await (await floki.client.get(path, headers=headers)).text() for path in paths]
    for mac in [*PHONES, RANDOM_PHONE]:
        for spelling in (mac, mac.lower(), mac.replace(":", "")):
            assert all(spelling not in text for text in shown)
            assert spelling not in caplog.text
    health = listener.details()
    assert (health["unknown_devices"], health["randomised_devices"]) == (len(PHONES), 1)
    # Phones are the ordinary run of things: counted, noted at INFO, never a warning.
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert not [m for m in warned if "unknown_device" in m or "randomised_device" in m]
    # Room for a controller's burst while the core takes a batch: well over the usual
    # 208 KiB a socket gets.
    assert listener.udp_buffer_bytes() >= 2**20
    # A pump's move leaves the register's MACs as they were: the listener still drops
    # phones by its mirror of them, without asking the device filter for each; a new
    # identifier has it read the register again.
    await Floki.eventually(lambda: not listener.known.stale, "the mirror to be current")
    moved = DomainEvent(type="location.changed", at=at, entity="assets", entity_id=ward.pump)
    await listener.register_changed([moved])
    assert not listener.known.stale
    await listener.register_changed(
        [DomainEvent(type="identifier.created", at=at, entity="identifiers", entity_id=9)]
    )
    assert listener.known.stale


async def test_controllers_over_tcp_octet_counted_and_line_framed_move_the_pump(
    floki: Floki, syslog_ports: tuple[int, int]
) -> None:
    ward = await build_ward(floki, beacon=False)
    listener = await listening(floki)
    _, tcp = syslog_ports
    at = floki.clock.now() - dt.timedelta(seconds=20)
    pump = PUMP_WIFI.lower()
    # Aruba: the AP by its name (a registered receiver's), octet-counted.
    aruba = rfc3164(
        at,
        "Aruba_MD3",
        f"stm[30085]: <501100> <30085> <NOTI> <Aruba_MD3 10.0.0.2>  Assoc success @ "
        f"{at:%H:%M:%S}.809533: {pump}: AP 10.1.2.3-18:64:72:aa:bb:cc-library-ap",
    )
    await send_tcp(tcp, octets(aruba))
    await located_in(floki, ward.pump, "Equipment Library")
    # Cisco AireOS, a line a message: the AP by its radio MAC. The pump is moved once
    # the new zone has led for the resolver's dwell (5 s): the controller's two lines.
    later = at + dt.timedelta(seconds=10)

    def cisco(when: dt.datetime) -> bytes:
        return rfc5424(
            when,
            "WLC001",
            "apf",
            f"%APF-3-AUTHENTICATION_TRAP: Client Authenticated: MACAddress:{pump} Base Radio "
            f"MAC:{CORRIDOR_AP.lower()} Slot:1 User Name:jsmith Ip Address:10.9.9.9 SSID:x",
        )

    await send_tcp(tcp, cisco(later) + b"\n" + cisco(later + dt.timedelta(seconds=6)) + b"\n")
    await located_in(floki, ward.pump, "Ward 5 Corridor")
    # A hostapd line from a host listed in access_points (by host and interface).
    book = listener.reader.book
    last = later + dt.timedelta(seconds=8)
    hostapd = rfc5424(last, "bay-ap", "hostapd", f"wlan1: AP-STA-CONNECTED {pump}")
    await send_tcp(tcp, hostapd + b"\n")
    await Floki.eventually(
        lambda: book.devices[PUMP_WIFI].access_point == LIBRARY_AP, "the pump on the bay AP"
    )
    # Leaving the network is no location: the pump stays placed, last on the network then.
    gone = last + dt.timedelta(seconds=5)
    left = rfc5424(gone, "bay-ap", "hostapd", f"wlan1: AP-STA-DISCONNECTED {pump}")
    await send_tcp(tcp, left + b"\n")
    await Floki.eventually(lambda: book.last_on_network(PUMP_WIFI) == gone, "the pump to leave")
    assert book.devices[PUMP_WIFI].access_point is None
    assert PUMP_WIFI not in book.access_points[LIBRARY_AP].devices
    assert await zone_of(floki, ward.pump) == "Ward 5 Corridor"


async def test_bad_lines_are_counted_by_reason_and_the_listener_goes_on(
    floki: Floki, syslog_ports: tuple[int, int]
) -> None:
    ward = await build_ward(floki, beacon=False)
    await listening(floki)
    udp, tcp = syslog_ports
    at = floki.clock.now() - dt.timedelta(seconds=5)
    pump = PUMP_WIFI.lower()
    send_udp(
        udp,
        b"<999>" + rfc3164(at, "ap", f"hostapd: wlan0: AP-STA-CONNECTED {pump}")[4:],
        rfc5424(at, "unknown-host", "hostapd", f"wlan0: AP-STA-CONNECTED {pump}"),
        f"AP-STA-CONNECTED {pump}".encode(),  # no header: no host, so no access point
    )
    await send_tcp(tcp, b"<29>" + b"x" * 600 + b"\n" + b"12345678 nonsense\n")
    want = {
        "bad_priority": 1,
        "unknown_access_point": 1,
        "no_access_point": 1,
        "line_too_long": 1,
        "bad_framing": 1,
    }

    async def counted() -> bool:
        return await rejected(floki) == want

    await Floki.eventually(counted, f"{want} counted")
    # Still listening: a good line after the bad ones places the pump.
    send_udp(udp, rfc3164(at, "ward5-ap-corridor", f"hostapd: wlan0: AP-STA-CONNECTED {pump}"))
    await located_in(floki, ward.pump, "Ward 5 Corridor")
