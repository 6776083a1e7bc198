"""What the map shows, as plain data: floors, zones, and where each asset is.

Kept apart from Qt so the rules (which floor a zone is on, where in a zone a marker goes,
what a live event changes) are simple to test and cheap to run for thousands of assets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

Point = tuple[float, float]

MARKER_SPACING = 16.0  # plan pixels between neighbouring markers in a zone


@dataclass(frozen=True)
class FloorInfo:
    id: int
    name: str
    building: str
    level: int
    has_plan: bool
    width: int | None
    height: int | None

    @property
    def label(self) -> str:
        return f"{self.building} \u2014 {self.name}" if self.building else self.name


@dataclass(frozen=True)
class ZoneInfo:
    id: int
    name: str
    type: str
    parent_id: int | None
    floor_id: int | None
    polygon: tuple[Point, ...]


@dataclass
class AssetMarker:
    """One asset as the map needs it; ``zone_id`` None means not located."""

    id: int
    number: str
    description: str
    class_id: int | None
    class_name: str
    state: str
    zone_id: int | None = None
    zone_name: str = ""
    stale: bool = False
    last_seen: str | None = None

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> AssetMarker:
        location = item.get("location") or {}
        zone = location.get("zone") or {}
        return cls(
            id=int(item["id"]),
            number=str(item.get("asset_number", "")),
            description=str(item.get("description", "")),
            class_id=item.get("class_id"),
            class_name=str(item.get("class_name") or ""),
            state=str(item.get("state", "")),
            zone_id=zone.get("id"),
            zone_name=str(zone.get("name") or ""),
            stale=bool(location.get("stale", False)),
            last_seen=location.get("last_seen"),
        )


def point_in_polygon(point: Point, polygon: Sequence[Point]) -> bool:
    x, y = point
    inside = False
    n = len(polygon)
    for i in range(n):
        x1, y1 = polygon[i]
        x2, y2 = polygon[(i + 1) % n]
        if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1:
            inside = not inside
    return inside


def centroid(polygon: Sequence[Point]) -> Point:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return (sum(xs) / len(xs), sum(ys) / len(ys))


def slots_in_zone(
    count: int, polygon: Sequence[Point], holes: Sequence[Sequence[Point]] = ()
) -> list[Point]:
    """At least ``count`` grid points inside ``polygon``, clear of ``holes`` (the rooms
    drawn inside a ward) where there is room, the zone's middle first: a handful of
    markers sit where the eye looks. The grid tightens until everything fits."""
    if count <= 0:
        return []
    if len(polygon) < 3:
        return [centroid(polygon)] * count if polygon else [(0.0, 0.0)] * count
    left = min(p[0] for p in polygon)
    right = max(p[0] for p in polygon)
    top = min(p[1] for p in polygon)
    bottom = max(p[1] for p in polygon)
    width, height = max(right - left, 1.0), max(bottom - top, 1.0)
    spacing = MARKER_SPACING
    inside: list[Point] = []
    for _ in range(8):
        inset = min(spacing / 2, width / 4, height / 4)
        cols = max(int((width - 2 * inset) // spacing) + 1, 1)
        rows = max(int((height - 2 * inset) // spacing) + 1, 1)
        candidates = [
            (left + inset + c * spacing, top + inset + r * spacing)
            for r in range(rows)
            for c in range(cols)
        ]
        inside = [p for p in candidates if point_in_polygon(p, polygon)]
        clear = [p for p in inside if not any(point_in_polygon(p, h) for h in holes)]
        chosen = clear if len(clear) >= count else inside
        if len(chosen) >= count:
            return _middle_first(chosen)
        spacing /= 1.5
    # Hopelessly crowded: stack the rest on the centre rather than leave the zone.
    fallback = _middle_first(inside) if inside else [centroid(polygon)]
    return [fallback[i % len(fallback)] for i in range(count)]


def spread_in_zone(
    count: int, polygon: Sequence[Point], holes: Sequence[Sequence[Point]] = ()
) -> list[Point]:
    """``count`` distinct places for markers in a zone, in reading order."""
    return sorted(slots_in_zone(count, polygon, holes)[:count], key=lambda p: (p[1], p[0]))


def _middle_first(points: list[Point]) -> list[Point]:
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    return sorted(points, key=lambda p: ((p[0] - cx) ** 2 + (p[1] - cy) ** 2, p[1], p[0]))


@dataclass
class MapData:
    """The site's floors and zones and every asset's whereabouts."""

    floors: dict[int, FloorInfo] = field(default_factory=dict)
    zones: dict[int, ZoneInfo] = field(default_factory=dict)
    assets: dict[int, AssetMarker] = field(default_factory=dict)
    classes: dict[int, str] = field(default_factory=dict)
    _floor_cache: dict[int, int | None] = field(default_factory=dict, repr=False)

    @classmethod
    def from_api(
        cls,
        *,
        buildings: Iterable[dict[str, Any]],
        floors: Iterable[dict[str, Any]],
        zones: Iterable[dict[str, Any]],
        classes: Iterable[dict[str, Any]],
        assets: Iterable[dict[str, Any]],
    ) -> MapData:
        building_names = {int(b["id"]): str(b.get("name", "")) for b in buildings}
        data = cls()
        for f in floors:
            data.floors[int(f["id"])] = FloorInfo(
                id=int(f["id"]),
                name=str(f.get("name", "")),
                building=building_names.get(int(f.get("building_id") or 0), ""),
                level=int(f.get("level") or 0),
                has_plan=bool(f.get("has_plan")),
                width=f.get("plan_width_px"),
                height=f.get("plan_height_px"),
            )
        for z in zones:
            polygon = tuple((float(x), float(y)) for x, y in (z.get("polygon") or []))
            data.zones[int(z["id"])] = ZoneInfo(
                id=int(z["id"]),
                name=str(z.get("name", "")),
                type=str(z.get("type", "")),
                parent_id=z.get("parent_id"),
                floor_id=z.get("floor_id"),
                polygon=polygon,
            )
        data.classes = {int(c["id"]): str(c.get("name", "")) for c in classes}
        for item in assets:
            marker = AssetMarker.from_api(item)
            data.assets[marker.id] = marker
        return data

    def ordered_floors(self) -> list[FloorInfo]:
        return sorted(self.floors.values(), key=lambda f: (f.building, f.level, f.name))

    def floor_of(self, zone_id: int | None) -> int | None:
        """The floor a zone is on: its own, or its nearest ancestor's."""
        if zone_id is None:
            return None
        if zone_id not in self._floor_cache:
            self._floor_cache[zone_id] = self._find_floor(zone_id)
        return self._floor_cache[zone_id]

    def _find_floor(self, zone_id: int | None) -> int | None:
        seen: set[int] = set()
        while zone_id is not None and zone_id not in seen:
            seen.add(zone_id)
            zone = self.zones.get(zone_id)
            if zone is None:
                return None
            if zone.floor_id is not None:
                return zone.floor_id
            zone_id = zone.parent_id
        return None

    def drawn_zone(self, zone_id: int | None) -> int | None:
        """The zone whose polygon a marker in ``zone_id`` goes in: itself, or the nearest
        ancestor with a polygon on the plan."""
        seen: set[int] = set()
        while zone_id is not None and zone_id not in seen:
            seen.add(zone_id)
            zone = self.zones.get(zone_id)
            if zone is None:
                return None
            if len(zone.polygon) >= 3:
                return zone_id
            zone_id = zone.parent_id
        return None

    def zones_on(self, floor_id: int) -> list[ZoneInfo]:
        """Zones drawn on a floor, parents before the rooms inside them."""
        drawn = [
            z
            for z in self.zones.values()
            if len(z.polygon) >= 3 and self.floor_of(z.id) == floor_id
        ]
        return sorted(drawn, key=lambda z: (self._depth(z.id), z.name))

    def _depth(self, zone_id: int) -> int:
        depth, seen = 0, set()
        zone = self.zones.get(zone_id)
        while zone is not None and zone.parent_id is not None and zone.id not in seen:
            seen.add(zone.id)
            depth += 1
            zone = self.zones.get(zone.parent_id)
        return depth

    def holes(self, zone_id: int) -> list[tuple[Point, ...]]:
        """Polygons of the zones drawn directly inside ``zone_id``."""
        return [z.polygon for z in self.zones.values() if z.parent_id == zone_id and z.polygon]

    def apply_events(self, events: Iterable[dict[str, Any]]) -> set[int]:
        """Fold live events into the data; the ids of assets whose marker changed."""
        changed: set[int] = set()
        for event in events:
            kind = event.get("type")
            data = event.get("data") or {}
            if kind == "location.changed":
                asset_id = data.get("asset_id", event.get("entity_id"))
                marker = self.assets.get(asset_id) if isinstance(asset_id, int) else None
                if marker is None:
                    continue
                marker.zone_id = data.get("to_zone_id")
                marker.zone_name = str(data.get("zone") or "")
                marker.stale = False
                marker.last_seen = event.get("at")
                changed.add(marker.id)
            elif kind in ("asset.created", "asset.updated"):
                asset_id = event.get("entity_id")
                if not isinstance(asset_id, int):
                    continue
                marker = self.assets.get(asset_id)
                if marker is None:
                    marker = AssetMarker.from_api({**data, "id": asset_id})
                    self.assets[asset_id] = marker
                else:
                    marker.number = str(data.get("asset_number", marker.number))
                    marker.description = str(data.get("description", marker.description))
                    marker.class_id = data.get("class_id", marker.class_id)
                    marker.state = str(data.get("state", marker.state))
                if marker.class_id is not None:
                    marker.class_name = self.classes.get(marker.class_id, marker.class_name)
                changed.add(asset_id)
            elif kind == "asset.deleted":
                asset_id = event.get("entity_id")
                if isinstance(asset_id, int) and self.assets.pop(asset_id, None) is not None:
                    changed.add(asset_id)
        return changed
