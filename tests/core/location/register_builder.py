"""A small hospital register built through the API, and observation helpers, for the
location tests: one ward with two rooms and a bay, a corridor, a room beyond it, a
community hub with a map outline, BLE gateways, QR readers and a Wi-Fi access point.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from floki_core.observations import Observation
from floki_core.testing import Floki

API = "/api/v1"

# (longitude, latitude) corners of the community hub, about 700 m by 1.1 km.
HUB_POLYGON = [[-1.55, 53.80], [-1.54, 53.80], [-1.54, 53.81], [-1.55, 53.81]]
INSIDE_HUB = (53.805, -1.545)  # (lat, lon)
OUTSIDE_HUB = (53.90, -1.40)

# Receiver name -> (technology, identifier, zone key, x, y)
RECEIVERS: Mapping[str, tuple[str, str, str, float | None, float | None]] = {
    "gw-7a": ("ble", "AA:BB:CC:00:00:01", "room_a", 3.0, 4.5),
    "gw-7b": ("ble", "AA:BB:CC:00:00:02", "room_b", 9.0, 4.5),
    "gw-corridor": ("ble", "AA:BB:CC:00:00:03", "corridor", 6.0, 10.0),
    "gw-7d": ("ble", "AA:BB:CC:00:00:04", "room_d", 12.0, 14.0),
    "gw-bay": ("ble", "AA:BB:CC:00:00:05", "bay", 15.0, 4.5),
    "qr-7a": ("qr", "QR-READER-7A", "room_a", 2.0, 1.0),
    "qr-7b": ("qr", "QR-READER-7B", "room_b", 8.0, 1.0),
    "qr-bay": ("qr", "QR-READER-BAY", "bay", 14.0, 1.0),
    "ap-ward7": ("wifi", "00:11:22:33:44:55", "ward", None, None),
}

# Asset number -> (class name, {technology: tag})
ASSETS: Mapping[str, tuple[str, dict[str, str]]] = {
    "PUMP-001": ("Infusion pump", {"ble": "C0:FF:EE:00:00:01", "qr": "QR-PUMP-001"}),
    "PUMP-002": ("Infusion pump", {"ble": "C0:FF:EE:00:00:02", "qr": "QR-PUMP-002"}),
    "SCAN-001": (
        "Bladder scanner",
        {"ble": "C0:FF:EE:00:00:03", "qr": "QR-SCAN-001", "wifi": "66:77:88:99:AA:BB"},
    ),
    "VAN-KIT-001": ("Community kit", {"gps": "GPS-VAN-001"}),
    "SPARE-001": ("Infusion pump", {}),
}


@dataclass
class Register:
    site: int
    building: int
    floor: int
    zones: dict[str, int]
    zone_names: dict[str, str]
    receivers: dict[str, dict[str, Any]]
    classes: dict[str, int]
    assets: dict[str, int]
    tags: dict[str, dict[str, str]] = field(default_factory=dict)

    def identifier(self, receiver: str) -> str:
        return str(self.receivers[receiver]["identifier"])


async def post(floki: Floki, path: str, body: dict[str, Any]) -> dict[str, Any]:
    resp = await floki.client.post(API + path, json=body, headers=await floki.headers("admin"))
    data = await resp.json()
    assert resp.status == 201, (path, body, data)
    assert isinstance(data, dict)
    return data


async def build_register(floki: Floki) -> Register:
    """The register every location test starts from; the index is rebuilt before returning."""
    site = await post(floki, "/sites", {"name": "St Elsewhere"})
    building = await post(floki, "/buildings", {"site_id": site["id"], "name": "Main block"})
    floor = await post(
        floki, "/floors", {"building_id": building["id"], "name": "Level 2", "level": 2}
    )
    sid, fid = site["id"], floor["id"]
    zones: dict[str, int] = {}
    names: dict[str, str] = {}

    async def zone(key: str, name: str, type_: str, **extra: Any) -> None:
        body = {"site_id": sid, "name": name, "type": type_, **extra}
        zones[key] = (await post(floki, "/zones", body))["id"]
        names[key] = name

    await zone("ward", "Ward 7", "ward", floor_id=fid)
    await zone("room_a", "Room 7A", "room", floor_id=fid, parent_id=zones["ward"])
    await zone("room_b", "Room 7B", "room", floor_id=fid, parent_id=zones["ward"])
    await zone("bay", "Bay 7C", "bay", floor_id=fid, parent_id=zones["ward"])
    await zone("corridor", "Corridor 2", "corridor", floor_id=fid)
    await zone("room_d", "Room 2D", "room", floor_id=fid)
    await zone("hub", "North Community Hub", "community_hub", geo_polygon=HUB_POLYGON)

    receivers: dict[str, dict[str, Any]] = {}
    for name, (technology, identifier, zone_key, x, y) in RECEIVERS.items():
        receivers[name] = await post(
            floki,
            "/receivers",
            {
                "name": name,
                "technology": technology,
                "identifier": identifier,
                "zone_id": zones[zone_key],
                "x": x,
                "y": y,
            },
        )

    classes: dict[str, int] = {}
    assets: dict[str, int] = {}
    tags: dict[str, dict[str, str]] = {}
    for number, (class_name, asset_tags) in ASSETS.items():
        if class_name not in classes:
            classes[class_name] = (await post(floki, "/asset-classes", {"name": class_name}))["id"]
        asset = await post(
            floki,
            "/assets",
            {"asset_number": number, "description": class_name, "class_id": classes[class_name]},
        )
        assets[number] = asset["id"]
        tags[number] = dict(asset_tags)
        for technology, value in asset_tags.items():
            await post(
                floki,
                "/identifiers",
                {"asset_id": asset["id"], "technology": technology, "value": value},
            )
    await floki.core.locations.reindex()
    return Register(
        site=sid,
        building=building["id"],
        floor=fid,
        zones=zones,
        zone_names=names,
        receivers=receivers,
        classes=classes,
        assets=assets,
        tags=tags,
    )


# --- observations ------------------------------------------------------------


def ble(reg: Register, asset: str, receiver: str, rssi: float, at: dt.datetime) -> Observation:
    return Observation(
        technology="ble",
        tag=reg.tags[asset]["ble"],
        receiver=reg.identifier(receiver),
        rssi=rssi,
        observed_at=at,
    )


def scan(reg: Register, asset: str, reader: str, at: dt.datetime) -> Observation:
    return Observation(
        technology="qr", tag=reg.tags[asset]["qr"], receiver=reg.identifier(reader), observed_at=at
    )


def fix(
    reg: Register, asset: str, lat: float, lon: float, at: dt.datetime, accuracy_m: float = 8.0
) -> Observation:
    return Observation(
        technology="gps",
        tag=reg.tags[asset]["gps"],
        lat=lat,
        lon=lon,
        accuracy_m=accuracy_m,
        observed_at=at,
    )


Levels = Callable[[int], Mapping[str, float]]  # second -> {receiver name: RSSI}


async def walk(
    floki: Floki,
    reg: Register,
    asset: str,
    seconds: int,
    levels: Levels,
    *,
    source: str = "gateway-1",
) -> None:
    """One batch a second as a gateway would send it, the clock moving with it."""
    for second in range(seconds):
        floki.clock.advance(1)
        now = floki.clock.now()
        batch = [ble(reg, asset, rx, rssi, now) for rx, rssi in levels(second).items()]
        await floki.core.ingest.put(source, batch)
        await floki.core.ingest.join()
    await floki.settle()


def steady(**rssi: float) -> Levels:
    """The same RSSI every second, e.g. ``steady(**{"gw-7a": -55})``."""
    return lambda _second: rssi


async def get_json(floki: Floki, path: str, role: str = "viewer", **params: Any) -> Any:
    resp = await floki.client.get(
        API + path, headers=await floki.headers(role), params={k: str(v) for k, v in params.items()}
    )
    assert resp.status == 200, (path, resp.status, await resp.text())
    return await resp.json()


async def location(floki: Floki, reg: Register, asset: str) -> dict[str, Any]:
    data = await get_json(floki, f"/assets/{reg.assets[asset]}/location")
    assert isinstance(data, dict)
    return data


async def stays(floki: Floki, reg: Register, asset: str) -> list[dict[str, Any]]:
    """The asset's stays, oldest first."""
    data = await get_json(floki, f"/assets/{reg.assets[asset]}/history", limit=500)
    assert data["total"] == len(data["items"])
    return list(reversed(data["items"]))


def zones_visited(reg: Register, history: Sequence[dict[str, Any]]) -> list[str | None]:
    by_id = {v: k for k, v in reg.zones.items()}
    return [by_id.get(s["zone_id"]) if s["zone_id"] is not None else None for s in history]


async def source_stats(floki: Floki, name: str) -> dict[str, Any]:
    data = await get_json(floki, "/sources")
    found = [s for s in data["items"] if s["name"] == name]
    assert found, (name, [s["name"] for s in data["items"]])
    return dict(found[0])


async def metrics_text(floki: Floki) -> str:
    resp = await floki.client.get("/metrics", headers=await floki.headers("viewer"))
    assert resp.status == 200
    return await resp.text()


def metric(text: str, sample: str) -> float:
    """The value of one sample line, e.g. ``floki_late_evidence_total``."""
    for line in text.splitlines():
        if line.startswith(sample + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{sample} not in /metrics")
