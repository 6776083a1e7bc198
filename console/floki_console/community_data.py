"""The Community view's data, shaped from what the appliance answers (no Qt here).

Rows: each loaned or GPS-tracked asset with where it is in words, the age of its last fix,
its tracker's battery and connection, and its loan's due date; overdue loans first.

The map layer: the zones drawn with a geographic outline, and a marker for each asset
whose coordinates the appliance gives. A loaned asset gets no marker unless the appliance
says its position is precise (the trust chose to show it): its fix may be a patient's
home, and the appliance withholds it; the console never draws what it was not meant to.

The projection is equirectangular around the drawn area's centre, longitude scaled by the
cosine of its latitude, so that a kilometre east is as long as a kilometre north on
screen. Base-map tiles, when a tile URL is set, are the usual slippy-map (OSM) tiles.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

__all__ = [
    "CommunityInputs",
    "CommunityRow",
    "MapLayer",
    "Marker",
    "Projection",
    "TileUrlError",
    "ZoneOutline",
    "appliance_today",
    "community_rows",
    "describe_fix_age",
    "map_layer",
    "tile_bounds",
    "tile_url",
    "tiles_covering",
    "valid_tile_template",
    "zoom_for",
]

GPS = "gps"
MAX_ZOOM = 19
TILE_PIXELS = 256
MAX_TILES = 64  # more than this on screen: no base map rather than hundreds of requests
MERCATOR_LIMIT = 85.0511  # latitude where the slippy map's square world ends
MIN_SPAN_DEGREES = 0.002  # about 200 m: one marker alone is still drawn at a street's scale


@dataclass(frozen=True)
class CommunityInputs:
    """What one refresh gathered. ``loans``: the open ones (overdue included);
    ``asset_numbers``: numbers of tracked assets not on loan; ``trackers``: asset id ->
    its GPS tag; ``devices``: the GPS plugin's listing by device id, ``None`` when the
    appliance has none or the user may not see it."""

    loans: Sequence[Mapping[str, Any]]
    asset_numbers: Mapping[int, str]
    locations: Mapping[int, Mapping[str, Any]]
    trackers: Mapping[int, str]
    devices: Mapping[str, Mapping[str, Any]] | None
    batteries: Sequence[Mapping[str, Any]]
    zones: Sequence[Mapping[str, Any]]
    today: dt.date


@dataclass(frozen=True)
class CommunityRow:
    asset_id: int
    asset_number: str
    loan_reference: str  # "" when not on loan
    where: str
    fix_age: str
    battery: str
    tracker: str
    due_back: str
    due_text: str
    days_overdue: int | None
    overdue: bool
    stale: bool


@dataclass(frozen=True)
class ZoneOutline:
    zone_id: int
    name: str
    points: tuple[tuple[float, float], ...]  # (longitude, latitude)


@dataclass(frozen=True)
class Marker:
    asset_id: int
    asset_number: str
    lon: float
    lat: float
    tooltip: str
    overdue: bool


@dataclass(frozen=True)
class MapLayer:
    zones: list[ZoneOutline]
    markers: list[Marker]

    def bounds(self) -> tuple[float, float, float, float] | None:
        """(west, south, east, north) of everything drawn, or ``None`` if nothing is."""
        points = [p for z in self.zones for p in z.points]
        points += [(m.lon, m.lat) for m in self.markers]
        if not points:
            return None
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        return min(lons), min(lats), max(lons), max(lats)


# --- rows ----------------------------------------------------------------------------------


def describe_fix_age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h"
    days = int(seconds // 86400)
    return f"{days} day" if days == 1 else f"{days} days"


def _where(location: Mapping[str, Any] | None) -> str:
    if not location or not location.get("located", True):
        return "not located yet"
    if location.get("label"):
        return str(location["label"])
    if location.get("status") == "in_transit":
        return "in transit"
    zone = location.get("zone")
    if location.get("off_site") or not isinstance(zone, Mapping):
        return "off site"
    return str(zone.get("name") or "")


def _fix_age_seconds(
    location: Mapping[str, Any] | None, device: Mapping[str, Any] | None
) -> float | None:
    if device is not None and isinstance(device.get("fix_age_s"), int | float):
        return float(device["fix_age_s"])
    if not location:
        return None
    for evidence in location.get("evidence") or ():
        if evidence.get("technology") == GPS and isinstance(
            evidence.get("age_seconds"), int | float
        ):
            return float(evidence["age_seconds"])
    if location.get("technology") == GPS and isinstance(location.get("age_seconds"), int | float):
        return float(location["age_seconds"])
    return None


def _battery_text(level: Any, millivolts: Any) -> str:
    if isinstance(level, int | float):
        return f"{level:.0f} %"
    if isinstance(millivolts, int | float):
        return f"{millivolts:.0f} mV"
    return ""


def _battery(
    tag: str | None,
    device: Mapping[str, Any] | None,
    readings: Mapping[str, Mapping[str, Any]],
) -> str:
    if device is not None:
        shown = _battery_text(device.get("battery_pct"), device.get("battery_mv"))
        if shown:
            return shown
    reading = readings.get(tag) if tag else None
    if reading is None:
        return ""
    return _battery_text(reading.get("level"), reading.get("millivolts"))


def _tracker(tag: str | None, devices: Mapping[str, Mapping[str, Any]] | None) -> str:
    if not tag:
        return ""
    if devices is None:
        return tag  # no listing to read (no GPS plugin, or not an engineer)
    device = devices.get(tag)
    if device is None:
        return f"{tag} (not heard yet)"
    text = f"{device.get('protocol') or 'gps'} {tag}"
    connected = device.get("connected")
    if connected is True:
        text += ", connected"
    elif connected is False:
        text += ", disconnected"
    return text


def appliance_today(locations: Mapping[int, Mapping[str, Any]], fallback: dt.date) -> dt.date:
    """The appliance's date, from any location answer (when it was last seen plus how
    long ago that is on the appliance's clock); ``fallback`` when none says."""
    for location in locations.values():
        last_seen, age = location.get("last_seen"), location.get("age_seconds")
        if not isinstance(last_seen, str) or not isinstance(age, int | float):
            continue
        try:
            seen = dt.datetime.fromisoformat(last_seen.replace("Z", "+00:00"))
        except ValueError:
            continue
        if seen.tzinfo is None:
            seen = seen.replace(tzinfo=dt.UTC)
        return (seen + dt.timedelta(seconds=float(age))).astimezone(dt.UTC).date()
    return fallback


def _days_overdue(loan: Mapping[str, Any], today: dt.date) -> int | None:
    if loan.get("status") != "overdue":
        return None
    try:
        due = dt.date.fromisoformat(str(loan.get("due_back") or ""))
    except ValueError:
        return None
    return max((today - due).days, 0)


def _due_text(due_back: str, days: int | None) -> str:
    if days is None:
        return due_back
    return f"{due_back} ({days} day{'' if days == 1 else 's'} overdue)"


def community_rows(inputs: CommunityInputs) -> list[CommunityRow]:
    """One row per loaned or tracked asset: overdue loans first (longest overdue first),
    then open loans by due date, then tracked kit not on loan by number."""
    readings = {
        str(b.get("tag")): b for b in inputs.batteries if b.get("technology") in (GPS, None)
    }
    rows: list[tuple[tuple[int, str, str], CommunityRow]] = []
    loaned: set[int] = set()
    for loan in inputs.loans:
        asset_id = int(loan["asset_id"])
        loaned.add(asset_id)
        days = _days_overdue(loan, inputs.today)
        overdue = loan.get("status") == "overdue"
        due_back = str(loan.get("due_back") or "")
        row = _row(inputs, readings, asset_id, str(loan.get("asset_number") or ""))
        row = replace(
            row,
            loan_reference=str(loan.get("reference") or ""),
            due_back=due_back,
            due_text=_due_text(due_back, days),
            days_overdue=days,
            overdue=overdue,
        )
        rows.append(((0 if overdue else 1, due_back, row.asset_number), row))
    for asset_id in inputs.trackers:
        if asset_id in loaned:
            continue
        number = inputs.asset_numbers.get(asset_id, f"#{asset_id}")
        row = _row(inputs, readings, asset_id, number)
        rows.append(((2, "", number), row))
    return [row for _, row in sorted(rows, key=lambda pair: pair[0])]


def _row(
    inputs: CommunityInputs,
    readings: Mapping[str, Mapping[str, Any]],
    asset_id: int,
    number: str,
) -> CommunityRow:
    location = inputs.locations.get(asset_id)
    tag = inputs.trackers.get(asset_id)
    device = inputs.devices.get(tag) if inputs.devices is not None and tag else None
    return CommunityRow(
        asset_id=asset_id,
        asset_number=number,
        loan_reference="",
        where=_where(location),
        fix_age=describe_fix_age(_fix_age_seconds(location, device)),
        battery=_battery(tag, device, readings),
        tracker=_tracker(tag, inputs.devices),
        due_back="",
        due_text="",
        days_overdue=None,
        overdue=False,
        stale=bool(location and location.get("stale")),
    )


# --- the map -------------------------------------------------------------------------------


def _outline(zone: Mapping[str, Any]) -> ZoneOutline | None:
    raw = zone.get("geo_polygon")
    if not isinstance(raw, Sequence) or len(raw) < 3:
        return None
    points: list[tuple[float, float]] = []
    for point in raw:
        if not isinstance(point, Sequence) or len(point) < 2:
            return None
        points.append((float(point[0]), float(point[1])))
    return ZoneOutline(int(zone.get("id") or 0), str(zone.get("name") or ""), tuple(points))


def map_layer(inputs: CommunityInputs) -> MapLayer:
    zones = [o for z in inputs.zones if (o := _outline(z)) is not None]
    rows = {r.asset_id: r for r in community_rows(inputs)}
    loaned = {int(loan["asset_id"]) for loan in inputs.loans}
    markers: list[Marker] = []
    for asset_id, row in rows.items():
        location = inputs.locations.get(asset_id) or {}
        lat, lon = location.get("lat"), location.get("lon")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            continue
        on_loan = asset_id in loaned or "on_loan" in location
        if on_loan and location.get("precise") is not True:
            continue  # the appliance hides a loaned asset's position; so does the map
        tooltip = f"{row.asset_number}: {row.where}"
        if row.loan_reference:
            tooltip += f"\nloan {row.loan_reference}, due {row.due_text}"
        if row.fix_age:
            ago = row.fix_age if row.fix_age == "just now" else f"{row.fix_age} ago"
            tooltip += f"\nlast fix {ago}"
        if row.battery:
            tooltip += f"\nbattery {row.battery}"
        markers.append(
            Marker(asset_id, row.asset_number, float(lon), float(lat), tooltip, row.overdue)
        )
    return MapLayer(zones=zones, markers=markers)


@dataclass(frozen=True)
class Projection:
    """Longitude/latitude to widget pixels and back: ``scale`` pixels per degree of
    latitude, longitude shrunk by the cosine of the centre's latitude; north is up."""

    lon0: float
    lat0: float
    scale: float
    width: float
    height: float

    @property
    def cos_lat(self) -> float:
        return math.cos(math.radians(self.lat0))

    @classmethod
    def fit(
        cls,
        bounds: tuple[float, float, float, float],
        width: float,
        height: float,
        margin: float = 20.0,
    ) -> Projection:
        """The projection showing ``bounds`` (west, south, east, north) whole, centred."""
        west, south, east, north = bounds
        lon0, lat0 = (west + east) / 2, (south + north) / 2
        cos_lat = max(math.cos(math.radians(lat0)), 1e-6)
        span_x = max((east - west) * cos_lat, MIN_SPAN_DEGREES)
        span_y = max(north - south, MIN_SPAN_DEGREES)
        usable_w = max(width - 2 * margin, 1.0)
        usable_h = max(height - 2 * margin, 1.0)
        return cls(lon0, lat0, min(usable_w / span_x, usable_h / span_y), width, height)

    def to_xy(self, lon: float, lat: float) -> tuple[float, float]:
        x = self.width / 2 + (lon - self.lon0) * self.cos_lat * self.scale
        y = self.height / 2 - (lat - self.lat0) * self.scale
        return x, y

    def to_lonlat(self, x: float, y: float) -> tuple[float, float]:
        lon = self.lon0 + (x - self.width / 2) / (self.cos_lat * self.scale)
        lat = self.lat0 - (y - self.height / 2) / self.scale
        return lon, lat


# --- base-map tiles ------------------------------------------------------------------------


class TileUrlError(ValueError):
    """A tile URL template the console cannot use; ``str()`` says why."""


_PLACEHOLDER = re.compile(r"\{([^}]*)\}")


def valid_tile_template(text: str) -> str:
    """The template, stripped; ``""`` for none. Refuses what would fetch nonsense."""
    template = text.strip()
    if not template:
        return ""
    if not template.startswith(("http://", "https://")):
        raise TileUrlError("the tile URL must start with http:// or https://")
    for needed in ("{z}", "{x}", "{y}"):
        if needed not in template:
            raise TileUrlError(f"the tile URL needs {needed} (e.g. .../{{z}}/{{x}}/{{y}}.png)")
    for name in _PLACEHOLDER.findall(template):
        if name not in ("z", "x", "y"):
            raise TileUrlError(
                f"the tile URL may only use {{z}}, {{x}} and {{y}}; {{{name}}} is not known"
            )
    return template


def tile_url(template: str, z: int, x: int, y: int) -> str:
    return template.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))


def _tile_x(lon: float, n: int) -> int:
    return min(max(int((lon + 180.0) / 360.0 * n), 0), n - 1)


def _tile_y(lat: float, n: int) -> int:
    lat = min(max(lat, -MERCATOR_LIMIT), MERCATOR_LIMIT)
    rad = math.radians(lat)
    y = (1.0 - math.asinh(math.tan(rad)) / math.pi) / 2.0 * n
    return min(max(int(y), 0), n - 1)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of slippy-map tile ``z/x/y``."""
    n = 2**z

    def lat(row: int) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)


def tiles_covering(
    bounds: tuple[float, float, float, float], z: int, limit: int = MAX_TILES
) -> list[tuple[int, int, int]]:
    """The tiles at zoom ``z`` over ``bounds``; none when more than ``limit`` would be."""
    west, south, east, north = bounds
    n = 2**z
    x0, x1 = _tile_x(west, n), _tile_x(east, n)
    y0, y1 = _tile_y(north, n), _tile_y(south, n)
    if (x1 - x0 + 1) * (y1 - y0 + 1) > limit:
        return []
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def zoom_for(pixels_per_degree_lat: float, lat0: float) -> int:
    """The zoom whose 256-pixel tiles come closest to the screen's scale at ``lat0``."""
    per_degree_lon = pixels_per_degree_lat * math.cos(math.radians(lat0))
    if per_degree_lon <= 0:
        return 0
    wanted = math.log2(per_degree_lon * 360.0 / TILE_PIXELS)
    return min(max(round(wanted), 0), MAX_ZOOM)
