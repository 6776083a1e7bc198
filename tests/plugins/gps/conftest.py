"""Helpers the GPS plugin's tests share: sentences and requests as the devices make them."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import operator
import os
from pathlib import Path
from typing import Any

from floki_core.sdk import AppConfig, parse_config
from floki_core.testing import Floki


def nmea_sentence(body: str) -> bytes:
    """``$<body>*hh`` and CR LF, with the checksum a receiver puts on it (the XOR of every
    byte between ``$`` and ``*``)."""
    raw = body.encode("utf-8", "replace")
    checksum = functools.reduce(operator.xor, raw, 0)
    return b"$" + raw + f"*{checksum:02X}\r\n".encode()


# --- an appliance with the GPS plugin ------------------------------------------------------

# Every listener off unless a test switches it on, so tests never race for fixed ports.
QUIET: dict[str, Any] = {
    "listen_host": "127.0.0.1",
    "osmand_port": 0,
    "teltonika_port": 0,
    "gt06_port": 0,
    "nmea_tcp_port": 0,
    "traccar_forward": False,
    "batch_seconds": 0.05,
}
# The community hub of the tests: a square about 1.1 km a side in north London.
HUB_LON, HUB_LAT, HUB_SIZE = -0.15, 51.55, 0.01
HUB_POINT = (HUB_LAT + HUB_SIZE / 2, HUB_LON + HUB_SIZE / 2)  # (lat, lon) of its middle


def gps_config(**settings: Any) -> AppConfig:
    """The appliance's configuration with ``[plugin.gps]`` = the quiet defaults + ``settings``."""
    return parse_config(
        {
            "discovery": {"enabled": False},
            "server": {"tls": False},
            "plugins": {"supervision": {"backoff_initial": 0.02, "backoff_max": 0.1}},
            "plugin": {"gps": {**QUIET, **settings}},
        }
    )


def square(lon: float, lat: float, size: float) -> list[list[float]]:
    return [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size]]


async def tracked_asset(floki: Floki, device: str, number: str = "HOIST-1") -> tuple[int, int]:
    """An asset carrying ``device`` as its gps identifier and the hub zone drawn on the
    map; returns (asset id, zone id)."""
    headers = await floki.headers("admin")

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        resp = await floki.client.post(f"/api/v1{path}", json=body, headers=headers)
        assert resp.status == 201, await resp.text()
        made: dict[str, Any] = await resp.json()
        return made

    sites = await (await floki.client.get("/api/v1/sites", headers=headers)).json()
    site = sites["items"][0] if sites["items"] else await post("/sites", {"name": "Community"})
    zones = await (await floki.client.get("/api/v1/zones", headers=headers)).json()
    hub = next((z for z in zones["items"] if z["name"] == "North Community Hub"), None)
    if hub is None:
        hub = await post(
            "/zones",
            {
                "site_id": site["id"],
                "name": "North Community Hub",
                "geo_polygon": square(HUB_LON, HUB_LAT, HUB_SIZE),
            },
        )
    asset = await post("/assets", {"asset_number": number, "description": "Ceiling hoist"})
    await post("/identifiers", {"asset_id": asset["id"], "technology": "gps", "value": device})
    await floki.core.locations.reindex()
    return asset["id"], hub["id"]


async def located_in(floki: Floki, asset_id: int, zone_id: int) -> None:
    """Wait until GET /api/v1/assets/{id}/location places the asset in ``zone_id``."""
    headers = await floki.headers("viewer")

    async def there() -> bool:
        resp = await floki.client.get(f"/api/v1/assets/{asset_id}/location", headers=headers)
        body = await resp.json()
        return bool(body.get("located")) and (body.get("zone") or {}).get("id") == zone_id

    await Floki.eventually(there, f"asset {asset_id} located in zone {zone_id}")


async def source_counters(floki: Floki, source: str) -> dict[str, Any]:
    resp = await floki.client.get("/api/v1/sources", headers=await floki.headers("viewer"))
    for item in (await resp.json())["items"]:
        if item["name"] == source:
            found: dict[str, Any] = item
            return found
    return {}


def _degrees(value: float, width: int, hemispheres: str) -> tuple[str, str]:
    whole = int(abs(value))
    minutes = (abs(value) - whole) * 60
    return f"{whole:0{width}d}{minutes:07.4f}", hemispheres[0 if value >= 0 else 1]


def nmea_cycle(at: dt.datetime, lat: float, lon: float, talker: str = "GP") -> bytes:
    """One second of a receiver: GGA (8 satellites, HDOP 0.9, 45.2 m up), a GSV Floki
    ignores, and RMC (12.5 knots, course 84.4) at ``at``."""
    lat_text, ns = _degrees(lat, 2, "NS")
    lon_text, ew = _degrees(lon, 3, "EW")
    time = at.strftime("%H%M%S.") + f"{at.microsecond // 10000:02d}"
    date = at.strftime("%d%m%y")
    return b"".join(
        [
            nmea_sentence(
                f"{talker}GGA,{time},{lat_text},{ns},{lon_text},{ew},1,08,0.9,45.2,M,47.0,M,,"
            ),
            nmea_sentence("GPGSV,1,1,02,01,40,083,46,02,17,308,41"),
            nmea_sentence(
                f"{talker}RMC,{time},A,{lat_text},{ns},{lon_text},{ew},12.5,84.4,{date},,,A"
            ),
        ]
    )


class PtyReceiver:
    """A receiver on a serial port: Floki opens the pty's slave through a stable symlink
    (as it would /dev/serial/by-id/...), the test writes sentences into the master."""

    def __init__(self, folder: Path) -> None:
        self.link = folder / "gps-receiver"
        self.master = self.slave = -1

    def open(self) -> None:
        self.master, self.slave = os.openpty()
        if self.link.is_symlink():
            self.link.unlink()
        self.link.symlink_to(os.ttyname(self.slave))

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            if fd >= 0:
                os.close(fd)
        self.master = self.slave = -1


# --- gpsd -------------------------------------------------------------------------------------

GPSD_VERSION = (
    b'{"class":"VERSION","release":"3.25","rev":"3.25","proto_major":3,"proto_minor":15}\n'
)
GPSD_DEVICES = (
    b'{"class":"DEVICES","devices":[{"class":"DEVICE","path":"/dev/ttyACM0",'
    b'"driver":"u-blox","activated":"2026-01-05T08:00:00.000Z","native":1,"bps":9600}]}\n'
)
GPSD_WATCH = b'{"class":"WATCH","enable":true,"json":true,"nmea":false,"raw":0,"scaled":false}\n'


def tpv(at: dt.datetime, lat: float, lon: float, device: str = "/dev/ttyACM0") -> bytes:
    """A 3D TPV report as gpsd 3.x writes it."""
    stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return (
        f'{{"class":"TPV","device":"{device}","mode":3,"time":"{stamp}","ept":0.005,'
        f'"lat":{lat:.9f},"lon":{lon:.9f},"altHAE":45.2,"altMSL":0.1,"epx":6.1,"epy":7.9,'
        f'"eph":9.8,"track":84.4,"speed":6.43,"climb":0.0}}\n'
    ).encode()


class FakeGpsd:
    """A loopback double of gpsd (Debian's gpsfake is not installed here): it greets with
    VERSION, answers ``?WATCH`` with DEVICES and WATCH as gpsd does, and then streams what
    the test sends to every client watching."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.watches: list[bytes] = []
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(GPSD_VERSION)
        try:
            command = await reader.readline()
            if not command.startswith(b"?WATCH="):
                return
            self.watches.append(command)
            writer.write(GPSD_DEVICES + GPSD_WATCH)
            await writer.drain()
            self._clients.add(writer)
            while await reader.read(1024):
                pass
        except OSError:
            pass
        finally:
            self._clients.discard(writer)
            writer.close()

    def watching(self) -> bool:
        return bool(self._clients)

    async def send(self, data: bytes) -> None:
        for writer in list(self._clients):
            writer.write(data)
            with contextlib.suppress(OSError):
                await writer.drain()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._clients):
                writer.close()
            await self._server.wait_closed()
            self._server = None


# --- the conformance kit, for sightings placed by a geofence --------------------------------
