"""What the Wi-Fi location, fusion, access-point and privacy tests share: a ward with BLE
gateways and Wi-Fi access points, a pump carrying both a BLE tag and a Wi-Fi MAC, and the
requests the real feeds make (a BLE gateway's JSON upload, ``POST /api/v1/ingest``)."""

from __future__ import annotations

import datetime as dt
import json
import socket
from dataclasses import dataclass, field
from typing import Any

from floki_core.sdk import AppConfig, parse_config
from floki_core.testing import Floki

API = "/api/v1"
UUID = "F7826DA6-4FA2-4E98-8024-BC5B71E0893E"
PUMP_WIFI = "00:1B:44:11:3A:B7"  # the pump's burnt-in Wi-Fi MAC
PUMP_BEACON = f"{UUID}:100:7"
BAY_GATEWAY = "AC:23:3F:C0:00:01"  # the BLE gateway in Bay 1
STORE_GATEWAY = "AC:23:3F:C0:00:02"  # the BLE gateway in the equipment store
CORRIDOR_AP = "F0:9F:C2:00:00:01"  # the AP in the corridor (covers the bays)
LIBRARY_AP = "F0:9F:C2:00:00:02"  # the AP by the equipment library


def wifi_config(**wifi: Any) -> AppConfig:
    """The appliance's configuration with ``[plugin.wifi]`` = ``wifi`` (no listener unless
    it names a ``listen_host``)."""
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": {"backoff_initial": 0.02, "backoff_max": 0.1}},
            "plugin": {"wifi": wifi},
        }
    )


def stamp(at: dt.datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class Ward:
    """The register the tests build: zone ids by name, the pump's asset id."""

    zones: dict[str, int] = field(default_factory=dict)
    receivers: dict[str, int] = field(default_factory=dict)
    pump: int = 0


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(f"{API}/{path}", json=body, headers=await floki.headers())
    assert resp.status == 201, await resp.text()
    made: dict[str, Any] = await resp.json()
    return made


async def build_ward(floki: Floki, *, beacon: bool = True) -> Ward:
    """Ward 5: Bay 1 and the equipment store (a BLE gateway each), the corridor and the
    equipment library (a Wi-Fi AP each); a pump with its Wi-Fi MAC (and a BLE tag)."""
    ward = Ward()
    site = await post(floki, "sites", {"name": "General"})
    for name, kind in (
        ("Ward 5 Bay 1", "bay"),
        ("Ward 5 Store", "store"),
        ("Ward 5 Corridor", "ward"),
        ("Equipment Library", "equipment_library"),
    ):
        zone = await post(floki, "zones", {"site_id": site["id"], "name": name, "type": kind})
        ward.zones[name] = zone["id"]
    for name, technology, identifier, zone_name in (
        ("bay 1 gateway", "ble", BAY_GATEWAY, "Ward 5 Bay 1"),
        ("store gateway", "ble", STORE_GATEWAY, "Ward 5 Store"),
        ("ward5-ap-corridor", "wifi", CORRIDOR_AP, "Ward 5 Corridor"),
        ("library-ap", "wifi", LIBRARY_AP, "Equipment Library"),
    ):
        receiver = await post(
            floki,
            "receivers",
            {
                "name": name,
                "technology": technology,
                "identifier": identifier,
                "zone_id": ward.zones[zone_name],
            },
        )
        ward.receivers[name] = receiver["id"]
    pump = await post(floki, "assets", {"asset_number": "PUMP-0042", "description": "Pump"})
    ward.pump = pump["id"]
    await post(
        floki, "identifiers", {"asset_id": pump["id"], "technology": "wifi", "value": PUMP_WIFI}
    )
    if beacon:
        await post(
            floki,
            "identifiers",
            {"asset_id": pump["id"], "technology": "ibeacon", "value": PUMP_BEACON},
        )
    await floki.core.locations.reindex()
    return ward


def ibeacon_advert(major: int = 100, minor: int = 7) -> str:
    return "0201061AFF4C000215" + UUID.replace("-", "") + f"{major:04X}{minor:04X}" + "C5"


async def ble_upload(floki: Floki, gateway: str, at: dt.datetime, rssi: int = -58) -> None:
    """The pump's beacon as a BLE gateway posts it (the BLE plugin's JSON upload)."""
    device = floki.auth(await floki.token_for("admin", device=True))
    body = [
        {"type": "Gateway", "mac": gateway.replace(":", "")},
        {
            "type": "iBeacon",
            "mac": "C3A1B2C3D4E5",
            "rssi": rssi,
            "rawData": ibeacon_advert(),
            "timestamp": stamp(at),
        },
    ]
    resp = await floki.client.post(
        f"{API}/ble/ingest/json",
        data=json.dumps(body),
        headers={**device, "Content-Type": "application/json"},
    )
    assert resp.status == 202, await resp.text()
    await floki.settle()


async def wifi_ingest(
    floki: Floki, device: str, access_point: str | None, at: dt.datetime, **extra: Any
) -> None:
    """A Wi-Fi record as ``POST /api/v1/ingest`` takes it: ``device`` on ``access_point``."""
    token = floki.auth(await floki.token_for("admin", device=True))
    item: dict[str, Any] = {"technology": "wifi", "tag": device, "observed_at": stamp(at)}
    if access_point is not None:
        item["receiver"] = access_point
    item.update(extra)
    resp = await floki.client.post(f"{API}/ingest", json={"observations": [item]}, headers=token)
    assert resp.status == 202, await resp.text()
    await floki.settle()


async def where(floki: Floki, asset_id: int) -> dict[str, Any]:
    resp = await floki.client.get(
        f"{API}/assets/{asset_id}/location", headers=await floki.headers("viewer")
    )
    assert resp.status == 200, await resp.text()
    found: dict[str, Any] = await resp.json()
    return found


# --- hostapd syslog over loopback UDP --------------------------------------------------------


def syslog_settings(udp_port: int) -> dict[str, Any]:
    """``[plugin.wifi.syslog]`` listening on ``udp_port`` only, handing on at once."""
    return {"udp_port": udp_port, "tcp_port": 0, "batch_seconds": 0.02, "time_zone": "UTC"}


def radius_settings(port: int) -> dict[str, Any]:
    """``[plugin.wifi.radius]`` on ``port``, the loopback test NAS its one client, handing
    on at once."""
    from tests.plugins.wifi.radius_nas import SECRET

    return {
        "port": port,
        "batch_seconds": 0.02,
        "clients": [{"address": "127.0.0.1", "secret": SECRET.decode()}],
    }


async def syslog_ready(floki: Floki) -> None:
    """Wait until the syslog listener listens and knows the ward's access points by name
    (it reads them again as the register changes)."""
    from floki_wifi.syslog_source import SOURCE, SyslogListener

    registration = floki.core.plugins.registries.sources.get(SOURCE)
    assert registration is not None and isinstance(registration.item, SyslogListener)
    listener = registration.item
    await Floki.eventually(listener.listening.is_set, "the syslog listener to listen")
    await Floki.eventually(
        lambda: {CORRIDOR_AP, LIBRARY_AP} <= listener.names.macs,
        "the syslog listener to know the ward's access points",
    )


def hostapd(at: dt.datetime, ap_host: str, device: str, event: str = "AP-STA-CONNECTED") -> bytes:
    """An RFC 5424 syslog message as a hostapd access point (host name ``ap_host``, the
    name its receiver is registered under) sends it."""
    return f"<30>1 {stamp(at)} {ap_host} hostapd - - - wlan0: {event} {device.lower()}".encode()


def send_udp(port: int, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, ("127.0.0.1", port))


async def wifi_syslog(
    floki: Floki, port: int, ap_host: str, asset_id: int, at: dt.datetime
) -> None:
    """The pump's association on ``ap_host`` as one hostapd datagram; waits until the
    asset's location answer shows Wi-Fi evidence of that moment."""
    send_udp(port, hostapd(at, ap_host, PUMP_WIFI))
    moment = stamp(at)

    async def applied() -> bool:
        found = await where(floki, asset_id)
        return any(
            ev["technology"] == "wifi" and ev["observed_at"] == moment
            for ev in found.get("evidence", [])
        )

    await Floki.eventually(applied, f"the Wi-Fi record of {moment} applied")
    await floki.settle()


async def open_alerts(floki: Floki) -> list[dict[str, Any]]:
    """The open alerts once the rules have been evaluated now (on the test's clock)."""
    await floki.core.workflow.alerts.evaluate()
    resp = await floki.client.get(
        f"{API}/alerts", params={"status": "open"}, headers=await floki.headers("viewer")
    )
    assert resp.status == 200, await resp.text()
    items: list[dict[str, Any]] = (await resp.json())["items"]
    return items
