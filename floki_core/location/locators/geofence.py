"""Geofence locator: a GPS fix falls in the smallest zone polygon that contains it."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import msgspec
import numpy as np
import shapely  # type: ignore[import-untyped, unused-ignore]
from shapely.strtree import STRtree  # type: ignore[import-untyped, unused-ignore]

from floki_core.location.evidence import Sighting, ZoneEvidence
from floki_core.location.locators.fixed_point import check_confidence, latest_per_asset

__all__ = ["GeoZone", "GeofenceLocator"]

log = logging.getLogger(__name__)

_GOOD_ACCURACY_M = 50.0  # fixes this good or better count in full
_POOR_ACCURACY_M = 500.0  # fixes this poor or worse get the floor
_CONFIDENCE_FLOOR = 0.2


class GeoZone(msgspec.Struct, frozen=True, kw_only=True):
    """A zone's outline on the map, as (lon, lat) vertices."""

    id: int
    polygon: list[tuple[float, float]]


class _Index:
    """The valid polygons, prepared, with their zone ids and areas, behind a spatial index."""

    __slots__ = ("areas", "polygons", "tree", "zone_ids")

    def __init__(self, zones: Sequence[GeoZone]) -> None:
        polygons: list[object] = []
        zone_ids: list[int] = []
        for zone in zones:
            polygon = _polygon(zone)
            if polygon is not None:
                polygons.append(polygon)
                zone_ids.append(zone.id)
        self.polygons = np.array(polygons, dtype=object)
        # Prepared once here, so every later containment test skips the set-up.
        shapely.prepare(self.polygons)
        self.zone_ids = np.array(zone_ids, dtype=np.int64)
        self.areas = np.asarray(shapely.area(self.polygons), dtype=np.float64)
        self.tree = STRtree(self.polygons)

    def zones_at(self, lon: np.ndarray, lat: np.ndarray) -> list[int | None]:
        """For each point, the id of the smallest zone containing it, or None."""
        found: list[int | None] = [None] * len(lon)
        if not len(self.polygons) or not len(lon):
            return found
        # Bounding boxes first (the tree), then the exact test on the few candidates only.
        pairs = np.asarray(self.tree.query(shapely.points(lon, lat)), dtype=np.int64)
        point_ix, zone_ix = pairs[0], pairs[1]
        inside = np.asarray(
            shapely.contains_xy(self.polygons[zone_ix], lon[point_ix], lat[point_ix]),
            dtype=bool,
        )
        point_ix, zone_ix = point_ix[inside], zone_ix[inside]
        # Nested zones (ward inside building inside site): the smallest is the most specific.
        order = np.lexsort((self.areas[zone_ix], point_ix))
        point_ix, zone_ix = point_ix[order], zone_ix[order]
        _, first = np.unique(point_ix, return_index=True)
        for p, z in zip(point_ix[first].tolist(), zone_ix[first].tolist(), strict=True):
            found[p] = int(self.zone_ids[z])
        return found


def _polygon(zone: GeoZone) -> object | None:
    """A valid shapely polygon for the zone, or None (logged) so one bad outline spares the rest."""
    try:
        polygon = shapely.Polygon(zone.polygon)
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
        log.warning("geofence zone %s skipped: %s", zone.id, exc)
        return None
    if polygon.is_empty or not shapely.is_valid(polygon):
        reason = "empty" if polygon.is_empty else shapely.is_valid_reason(polygon)
        log.warning("geofence zone %s skipped: invalid polygon (%s)", zone.id, reason)
        return None
    return polygon  # type: ignore[no-any-return, unused-ignore]


class GeofenceLocator:
    """GPS fixes to zones by point in polygon; outside every zone means off site."""

    method = "geofence"

    def __init__(self, zones: Sequence[GeoZone], confidence: float = 0.8) -> None:
        self.confidence = check_confidence(confidence)
        self._index = _Index(zones)

    def update_zones(self, zones: Sequence[GeoZone]) -> None:
        """Replace the zone outlines (site plan edited)."""
        self._index = _Index(zones)

    def __len__(self) -> int:
        return len(self._index.polygons)

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]:
        fixes = list(
            latest_per_asset([s for s in batch if s.lat is not None and s.lon is not None]).values()
        )
        lon = np.array([s.lon for s in fixes], dtype=np.float64)
        lat = np.array([s.lat for s in fixes], dtype=np.float64)
        zones = self._index.zones_at(lon, lat)
        return [
            ZoneEvidence(
                asset_id=s.asset_id,
                zone_id=zone_id,
                confidence=self._confidence(s.accuracy_m),
                method=self.method,
                technology=s.technology,
                observed_at=s.observed_at,
                lat=s.lat,
                lon=s.lon,
            )
            for s, zone_id in zip(fixes, zones, strict=True)
        ]

    def _confidence(self, accuracy_m: float | None) -> float:
        """Full confidence for good fixes, falling linearly to the floor for poor ones."""
        base = self.confidence
        if accuracy_m is None or accuracy_m <= _GOOD_ACCURACY_M:
            return base
        floor = min(_CONFIDENCE_FLOOR, base)
        if accuracy_m >= _POOR_ACCURACY_M:
            return floor
        fraction = (accuracy_m - _GOOD_ACCURACY_M) / (_POOR_ACCURACY_M - _GOOD_ACCURACY_M)
        return base - (base - floor) * fraction
