"""A small hospital for the workflow tests, built through the API: two buildings, three
floors, wards with bays and a dirty utility room, an equipment library and the EBME
workshop, each with a QR reader; asset classes with PPM intervals; and helpers to add
assets, move them by scanning their labels, and call the API.

Time is the fixture's manual clock (2026-01-05 09:00 UTC, a Monday).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from floki_core.events import DomainEvent
from floki_core.observations import Observation
from floki_core.testing import Floki

API = "/api/v1"
TODAY = dt.date(2026, 1, 5)

# zone key -> (name, type, building key, floor key, parent zone key)
ZONES: dict[str, tuple[str, str, str, str, str | None]] = {
    "ward7": ("Ward 7", "ward", "main", "main_l2", None),
    "bay7a": ("Bay 7A", "bay", "main", "main_l2", "ward7"),
    "bay7b": ("Bay 7B", "bay", "main", "main_l2", "ward7"),
    "dirty7": ("Ward 7 Dirty Utility", "dirty_utility", "main", "main_l2", "ward7"),
    "library": ("Equipment Library", "equipment_library", "main", "main_g", None),
    "workshop": ("EBME Workshop", "workshop", "main", "main_g", None),
    "ward3": ("Ward 3", "ward", "east", "east_l1", None),
    "bay3b": ("Bay 3B", "bay", "east", "east_l1", "ward3"),
}
BUILDINGS = {"main": "Main Block", "east": "East Wing"}
# floor key -> (building key, name, level)
FLOORS = {
    "main_g": ("main", "Ground", 0),
    "main_l2": ("main", "Level 2", 2),
    "east_l1": ("east", "Level 1", 1),
}
# class name -> (PPM interval days, criticality)
CLASSES = {
    "Infusion pump": (365, "high"),
    "Bladder scanner": (180, "medium"),
    "Patient hoist": (182, "low"),
}


@dataclass
class Hospital:
    site: int
    buildings: dict[str, int]
    floors: dict[str, int]
    zones: dict[str, int]
    classes: dict[str, int]
    assets: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def reader(zone: str) -> str:
        return f"QR-READER-{zone.upper()}"

    @staticmethod
    def label(asset_number: str) -> str:
        return f"QR-{asset_number}"


async def call(
    floki: Floki,
    method: str,
    path: str,
    *,
    role: str = "admin",
    json: Any = None,
    params: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    """(status, decoded JSON body or text) of one API call as a user of ``role``."""
    resp = await floki.client.request(
        method,
        API + path,
        headers=await floki.headers(role),
        json=json,
        params={k: str(v) for k, v in (params or {}).items()},
    )
    if resp.content_type == "application/json":
        return resp.status, await resp.json()
    return resp.status, await resp.text()


async def ok(floki: Floki, method: str, path: str, **kwargs: Any) -> Any:
    status, body = await call(floki, method, path, **kwargs)
    assert status in (200, 201, 204), (method, path, status, body)
    return body


async def build_hospital(floki: Floki) -> Hospital:
    site = await ok(floki, "POST", "/sites", json={"name": "St Elsewhere"})
    buildings = {
        key: (await ok(floki, "POST", "/buildings", json={"site_id": site["id"], "name": name}))[
            "id"
        ]
        for key, name in BUILDINGS.items()
    }
    floors = {}
    for key, (building, name, level) in FLOORS.items():
        body = {"building_id": buildings[building], "name": name, "level": level}
        floors[key] = (await ok(floki, "POST", "/floors", json=body))["id"]
    zones: dict[str, int] = {}
    for key, (name, type_, _building, floor, parent) in ZONES.items():
        body = {"site_id": site["id"], "name": name, "type": type_, "floor_id": floors[floor]}
        if parent is not None:
            body["parent_id"] = zones[parent]
        zones[key] = (await ok(floki, "POST", "/zones", json=body))["id"]
        reader = {
            "name": f"reader-{key}",
            "technology": "qr",
            "identifier": Hospital.reader(key),
            "zone_id": zones[key],
        }
        await ok(floki, "POST", "/receivers", json=reader)
    classes = {}
    for name, (interval, criticality) in CLASSES.items():
        body = {"name": name, "ppm_interval_days": interval, "criticality": criticality}
        classes[name] = (await ok(floki, "POST", "/asset-classes", json=body))["id"]
    await floki.core.locations.reindex()
    return Hospital(site["id"], buildings, floors, zones, classes)


async def add_asset(
    floki: Floki,
    hospital: Hospital,
    number: str,
    class_name: str | None = "Infusion pump",
    *,
    due_in_days: int | None = 200,
    state: str = "available",
    **fields: Any,
) -> int:
    """An asset with a QR label; ``due_in_days`` sets next_ppm_due relative to TODAY."""
    body: dict[str, Any] = {"asset_number": number, "description": class_name or "kit", **fields}
    if class_name is not None:
        body["class_id"] = hospital.classes[class_name]
    if due_in_days is not None:
        body["next_ppm_due"] = (TODAY + dt.timedelta(days=due_in_days)).isoformat()
    if state != "available":
        body["state"] = state
    asset = await ok(floki, "POST", "/assets", json=body, role="engineer")
    label = {"asset_id": asset["id"], "technology": "qr", "value": Hospital.label(number)}
    await ok(floki, "POST", "/identifiers", json=label, role="engineer")
    hospital.assets[number] = asset["id"]
    await floki.core.locations.reindex()
    return int(asset["id"])


async def scan(floki: Floki, hospital: Hospital, number: str, zone: str) -> None:
    """A member of staff scans the asset's label at the zone's reader, now."""
    await floki.inject(
        [
            Observation(
                technology="qr",
                tag=Hospital.label(number),
                receiver=Hospital.reader(zone),
                observed_at=floki.clock.now(),
            )
        ]
    )


async def set_state(
    floki: Floki, asset_id: int, state: str, *, role: str = "staff", reason: str = ""
) -> tuple[int, Any]:
    return await call(
        floki,
        "POST",
        f"/assets/{asset_id}/state",
        role=role,
        json={"state": state, "reason": reason},
    )


def advance_days(floki: Floki, days: float) -> None:
    floki.clock.advance(days * 86400)


class EventLog:
    """Domain events as the core publishes them, for asserting what was announced."""

    def __init__(self, floki: Floki) -> None:
        self.events: list[DomainEvent] = []
        floki.core.events.add_observer("test-log", self._take)

    def _take(self, batch: Sequence[DomainEvent]) -> None:
        self.events.extend(batch)

    def of(self, type_: str) -> list[DomainEvent]:
        return [e for e in self.events if e.type == type_]


async def audit(floki: Floki, **params: Any) -> list[dict[str, Any]]:
    body = await ok(floki, "GET", "/audit", params={"limit": 500, **params})
    items: list[dict[str, Any]] = body["items"]
    return items


async def user_id(floki: Floki, role: str) -> int:
    me = await ok(floki, "GET", "/auth/me", role=role)
    return int(me["user_id"])
