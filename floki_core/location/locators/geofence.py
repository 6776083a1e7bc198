"""Geofence locator: each GPS fix is a circle of its accuracy radius, placed in zones.

A fix is *within* a zone when its whole circle lies inside the outline, *clear* of it
when the whole circle lies outside, and *uncertain* about it when the circle straddles
the boundary. A fix places its asset, in this order:

1. where GPS last placed it (a zone, or off site) while the fix is uncertain about that
   zone's boundary (off site: about every zone's): hysteresis, so a circle straddling a
   boundary never flips the zone, however large the circle;
2. in the smallest zone holding the whole circle (a hub drawn inside a site: the hub);
3. straddling with nothing held, in the smallest zone holding its centre, or off site
   if none does, at half the confidence (``placed_by`` "centre").

Outside every zone the asset is off site; the resolver calls it in transit when the
fix says it is moving (``extras`` "moving" true, or "speed_kmh" above
``IN_TRANSIT_SPEED_KMH``).

Geometry is planar on longitude scaled by the cosine of the zones' mean latitude (an
equirectangular projection of the trust's area), so that distances come out the same
east-west and north-south there. A fix's radius is turned into degrees with the metres
per degree of WGS 84 at the fix's own latitude; away from the projection's latitude the
two directions differ slightly and the radius is taken at its widest (about 1 % per
half degree of latitude at 50°), which only ever makes a fix more uncertain, never
wrongly within or clear. Nothing here handles zones across the antimeridian.
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
from collections.abc import Callable, Sequence
from typing import Any, Literal

import msgspec
import numpy as np
import shapely  # type: ignore[import-untyped, unused-ignore]
from shapely.strtree import STRtree  # type: ignore[import-untyped, unused-ignore]

from floki_core.location.evidence import Sighting, ZoneEvidence
from floki_core.location.locators.fixed_point import check_confidence
from floki_core.location.resolver import OFF_SITE

__all__ = [
    "DEFAULT_ACCURACY_M",
    "IN_TRANSIT_SPEED_KMH",
    "GeoEvidence",
    "GeoZone",
    "GeofenceLocator",
    "metres_per_degree",
]

log = logging.getLogger(__name__)

# A fix that reports no accuracy (no HDOP either) is taken as a circle this wide: a
# consumer receiver's typical error with a fair view of the sky.
DEFAULT_ACCURACY_M = 25.0
# Off site faster than this is in transit: a receiver at rest reads a few km/h of drift.
IN_TRANSIT_SPEED_KMH = 5.0
# A straddling fix placed by its centre, with nothing held, counts this much of its due.
STRADDLE_FACTOR = 0.5

_GOOD_ACCURACY_M = 50.0  # fixes this good or better count in full
_POOR_ACCURACY_M = 500.0  # fixes this poor or worse get the floor
_CONFIDENCE_FLOOR = 0.2
_NUMBERS = (int, float)
_MIN_M_PER_DEG_LON = 1.0  # near the poles a degree of longitude shrinks to nothing

PlacedBy = Literal["circle", "held", "centre"]


class GeoZone(msgspec.Struct, frozen=True, kw_only=True):
    """A zone's outline on the map, as (lon, lat) vertices."""

    id: int
    polygon: list[tuple[float, float]]


class GeoEvidence(ZoneEvidence, frozen=True, kw_only=True, gc=False):
    """A geofence claim, with what the fix said and how it was placed."""

    accuracy_m: float | None = None  # as the fix reported it
    radius_m: float = DEFAULT_ACCURACY_M  # the circle used: accuracy_m, or the default
    # "circle": the whole circle inside the zone claimed (off site: the centre outside
    # every zone); "held": straddling the boundary of where GPS had the asset, kept
    # there; "centre": straddling with nothing held, placed by its centre.
    placed_by: PlacedBy = "circle"
    moving: bool = False
    speed_kmh: float | None = None
    protocol: str | None = None  # the tracker protocol, from extras["protocol"]

    def fix_detail(self) -> dict[str, Any]:
        """The fix behind the claim, for an answer that explains its evidence."""
        return {
            "accuracy_m": self.accuracy_m,
            "radius_m": self.radius_m,
            "placed_by": self.placed_by,
            "moving": self.moving,
            "speed_kmh": self.speed_kmh,
            "protocol": self.protocol,
        }


def metres_per_degree(lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres per degree of latitude and of longitude on WGS 84 at each latitude."""
    phi = np.radians(lat)
    per_lat = 111132.92 - 559.82 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)
    per_lon = 111412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi) + 0.118 * np.cos(5 * phi)
    return per_lat, np.maximum(per_lon, _MIN_M_PER_DEG_LON)


_NO_ZONE = -1  # no zone, or nothing held
# How a fix lies against the zone held for its asset.
_UNKNOWN, _OUTSIDE, _UNCERTAIN, _WITHIN = 0, 1, 2, 3


class _Fits:
    """How each fix of a batch lies against the zones that hold its centre, and against
    the zone its asset was held in when the batch began.

    The geometry is done for the whole batch at once (``_Index.fits``); what is left is
    a few candidate pairs per fix, gathered here in plain Python, which costs less than
    another round of array operations for the batches a location round sees."""

    __slots__ = (
        "_by_fix",
        "_index",
        "_pairs",
        "_points",
        "_reach",
        "centre",
        "held",
        "holding",
        "state",
    )

    def __init__(
        self,
        index: _Index,
        points: np.ndarray,
        reach: np.ndarray,
        pairs: tuple[list[int], list[int], list[bool]],
        held: list[int],
    ) -> None:
        self._index, self._points, self._reach, self._pairs = index, points, reach, pairs
        self._by_fix: dict[int, list[tuple[int, bool]]] | None = None
        self.held = held
        n = len(held)
        # Per fix: the smallest zone holding its centre, and the smallest holding it all.
        # Zones are indexed smallest first, so the smallest is the lowest index.
        self.centre = centre = [_NO_ZONE] * n
        self.holding = holding = [_NO_ZONE] * n
        self.state = state = [_UNKNOWN] * n  # against the held zone
        zone_ids = index.ids
        for f, z, clear in zip(*pairs, strict=True):
            zone_id = zone_ids[z]
            if centre[f] == _NO_ZONE:
                centre[f] = zone_id
            if clear and holding[f] == _NO_ZONE:
                holding[f] = zone_id
            if zone_id == held[f]:
                state[f] = _WITHIN if clear else _UNCERTAIN
        # A held zone not holding the centre: the distance to its boundary says.
        todo = [f for f in range(n) if held[f] > OFF_SITE and state[f] == _UNKNOWN]
        if todo:
            for f, fit in zip(todo, self._outside(todo, [held[f] for f in todo]), strict=True):
                state[f] = fit

    def _outside(self, fixes: list[int], zone_ids: list[int]) -> list[int]:
        """_OUTSIDE or _UNCERTAIN for fixes whose centres lie outside these zones."""
        position = self._index.position
        drawn = [(f, position[z]) for f, z in zip(fixes, zone_ids, strict=True) if z in position]
        reached: dict[int, bool] = {}
        if drawn:
            f_ix = np.array([f for f, _ in drawn], dtype=np.int64)
            z_ix = np.array([z for _, z in drawn], dtype=np.int64)
            distance = np.asarray(
                shapely.distance(self._index.boundaries[z_ix], self._points[f_ix]),
                dtype=np.float64,
            )
            reached = dict(
                zip(f_ix.tolist(), (distance <= self._reach[f_ix]).tolist(), strict=True)
            )
        # A zone no longer drawn is left behind.
        return [_UNCERTAIN if reached.get(f, False) else _OUTSIDE for f in fixes]

    def place(self, i: int, held: int) -> tuple[int | None, PlacedBy]:
        """Fix ``i``'s zone (None: off site), given where GPS had the asset (``held``:
        a zone id, OFF_SITE, or _NO_ZONE if nowhere yet)."""
        holding = self.holding[i]
        if held == OFF_SITE:
            if holding != _NO_ZONE:
                return holding, "circle"
            return None, "held" if self.centre[i] != _NO_ZONE else "circle"
        if held != _NO_ZONE:
            # Worked out for the whole batch at once, unless an earlier fix of the same
            # asset in this batch moved what is held (a tracker's backlog).
            state = self.state[i] if held == self.held[i] else self._state(i, held)
            if state == _WITHIN:
                return holding, "circle"  # a smaller zone may hold it all
            if state == _UNCERTAIN:
                return held, "held"
        if holding != _NO_ZONE:
            return holding, "circle"
        centre = self.centre[i]
        if centre != _NO_ZONE:
            return centre, "centre"
        return None, "centre" if self._touches_any(i) else "circle"

    def _state(self, i: int, held: int) -> int:
        if self._by_fix is None:
            self._by_fix = {}
            zone_ids = self._index.ids
            for f, z, clear in zip(*self._pairs, strict=True):
                self._by_fix.setdefault(f, []).append((zone_ids[z], clear))
        for zone_id, clear in self._by_fix.get(i, ()):
            if zone_id == held:
                return _WITHIN if clear else _UNCERTAIN
        return self._outside([i], [held])[0]

    def _touches_any(self, i: int) -> bool:
        """Whether fix ``i``'s circle reaches some zone (its centre being in none)."""
        if not len(self._index.polygons):
            return False
        near = self._index.tree.query(
            self._points[i], predicate="dwithin", distance=float(self._reach[i])
        )
        return bool(len(near))


class _Index:
    """The valid outlines, projected and prepared, smallest first, behind a tree."""

    __slots__ = ("boundaries", "ids", "polygons", "position", "scale", "tree")

    def __init__(self, zones: Sequence[GeoZone]) -> None:
        drawn: list[tuple[object, int]] = []
        for zone in zones:
            polygon = _polygon(zone)
            if polygon is not None:
                drawn.append((polygon, zone.id))
        outlines = np.array([p for p, _ in drawn], dtype=object)
        self.scale = 1.0
        if len(outlines):
            bounds = shapely.bounds(outlines)
            ref = np.array([(bounds[:, 1].min() + bounds[:, 3].max()) / 2])
            per_lat, per_lon = metres_per_degree(ref)
            self.scale = float(per_lon[0] / per_lat[0])
            # Longitudes scaled by the same factor as every fix's (``fits``).
            outlines = shapely.transform(outlines, lambda xy: xy * (self.scale, 1.0))
            # Smallest first: nested zones (ward in building in site), the most specific.
            order = np.argsort(shapely.area(outlines), kind="stable")
            outlines = outlines[order]
            drawn = [drawn[ix] for ix in order.tolist()]
        self.polygons = outlines
        self.boundaries = shapely.boundary(outlines) if len(outlines) else outlines
        # Prepared once here, so every later test against them skips the set-up.
        shapely.prepare(self.polygons)
        shapely.prepare(self.boundaries)
        self.ids: list[int] = [zone_id for _, zone_id in drawn]
        self.position = {zone_id: ix for ix, zone_id in enumerate(self.ids)}
        self.tree = STRtree(self.polygons)

    def fits(
        self,
        lon: np.ndarray,
        lat: np.ndarray,
        radius_m: np.ndarray,
        held: list[int],
        every: bool = False,
    ) -> _Fits:
        """How each fix lies against the zones, for ``held`` (per fix, where its asset
        was held); ``every`` works out each fix against all the zones holding its centre,
        for fixes whose held zone changes while they are placed (a backlog)."""
        x = lon * self.scale
        points = np.asarray(shapely.points(x, lat), dtype=object)
        per_lat, per_lon = metres_per_degree(lat)
        # The radius in projected degrees, at its widest (see the module's docstring).
        reach = radius_m / np.minimum(per_lat, per_lon / self.scale)
        if not len(self.polygons):
            return _Fits(self, points, reach, ([], [], []), held)
        # Bounding boxes first (the tree), then the exact tests on the few candidates.
        fix_ix, zone_ix = np.asarray(self.tree.query(points), dtype=np.int64)
        inside = np.asarray(
            shapely.contains_xy(self.polygons[zone_ix], x[fix_ix], lat[fix_ix]), dtype=np.bool_
        )
        fix_ix, zone_ix = fix_ix[inside], zone_ix[inside]
        order = np.lexsort((zone_ix, fix_ix))  # per fix, smallest zone first
        fix_ix, zone_ix = fix_ix[order], zone_ix[order]
        # Centre inside: the whole circle is inside unless it reaches the boundary. With
        # the held zone holding the centre, only it and smaller zones can change the
        # answer (it, if the circle straddles it; else the smallest wholly holding it).
        need = np.ones(len(fix_ix), dtype=np.bool_)
        if not every:
            position = self.position
            limit = np.array([position.get(h, _NO_ZONE) for h in held], dtype=np.int64)[fix_ix]
            holds_centre = np.zeros(len(held), dtype=np.bool_)
            holds_centre[fix_ix[zone_ix == limit]] = True
            need = ~holds_centre[fix_ix] | (zone_ix <= limit)
        distance = np.asarray(
            shapely.distance(self.boundaries[zone_ix[need]], points[fix_ix[need]]),
            dtype=np.float64,
        )
        clear = np.zeros(len(fix_ix), dtype=np.bool_)
        clear[need] = distance > reach[fix_ix[need]]
        return _Fits(self, points, reach, (fix_ix.tolist(), zone_ix.tolist(), clear.tolist()), held)


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


_asset_time = operator.attrgetter("asset_id", "observed_at")  # a sort key in C


class GeofenceLocator:
    """GPS fixes to zones by accuracy circle in polygon, with hysteresis per asset.

    ``current_zone`` (an asset's zone as the resolver has it: a zone id, OFF_SITE, or
    None) seeds the hysteresis of an asset this locator has not placed yet, e.g. after a
    restart; after that it follows its own placements."""

    method = "geofence"

    def __init__(
        self,
        zones: Sequence[GeoZone],
        confidence: float = 0.8,
        current_zone: Callable[[int], int | None] | None = None,
    ) -> None:
        self.confidence = check_confidence(confidence)
        self._index = _Index(zones)
        self._current_zone = current_zone
        # asset -> (where its newest fix placed it: zone id or OFF_SITE, that fix's time)
        self._held: dict[int, tuple[int, dt.datetime]] = {}

    def update_zones(self, zones: Sequence[GeoZone]) -> None:
        """Replace the zone outlines (site plan edited)."""
        self._index = _Index(zones)

    def forget(self, asset_id: int) -> None:
        """Drop what is held for an asset (deleted)."""
        self._held.pop(asset_id, None)

    def __len__(self) -> int:
        return len(self._index.polygons)

    def locate(self, batch: Sequence[Sighting]) -> list[ZoneEvidence]:
        """Evidence for every fix in the batch, each asset's placed in time order, exactly
        as if they had come one at a time."""
        fixes = [s for s in batch if s.lat is not None and s.lon is not None]
        if not fixes:
            return []
        assets = [s.asset_id for s in fixes]
        backlog = len(set(assets)) < len(assets)
        if backlog:  # each asset's fixes in time order
            fixes.sort(key=_asset_time)
            assets = [s.asset_id for s in fixes]
        n = len(fixes)
        memory = self._held
        before = [memory.get(a) for a in assets]
        seed = self._current_zone
        # Where each asset was: as held here, else as the resolver has it (asked only then).
        where = [
            held[0]
            if held is not None
            else (_NO_ZONE if seed is None or (z := seed(a)) is None else z)
            for a, held in zip(assets, before, strict=True)
        ]
        lon = np.array([s.lon for s in fixes], dtype=np.float64)
        lat = np.array([s.lat for s in fixes], dtype=np.float64)
        radius = np.array(
            [DEFAULT_ACCURACY_M if s.accuracy_m is None else s.accuracy_m for s in fixes],
            dtype=np.float64,
        )
        slot: Sequence[int] = range(n)  # each fix's row in ``fits``
        if backlog:
            # A tracker at rest sends the same position again and again (its backlog is
            # full of them): the geometry is worked out once for each run of an asset's
            # identical fixes, which also share where the asset was held.
            repeat = np.zeros(n, dtype=np.bool_)
            asset_ix = np.array(assets, dtype=np.int64)
            repeat[1:] = (
                (asset_ix[1:] == asset_ix[:-1])
                & (lon[1:] == lon[:-1])
                & (lat[1:] == lat[:-1])
                & (radius[1:] == radius[:-1])
            )
            first = np.flatnonzero(~repeat)
            slot = (np.cumsum(~repeat) - 1).tolist()
            fits = self._index.fits(
                lon[first], lat[first], radius[first], [where[f] for f in first.tolist()], True
            )
        else:
            fits = self._index.fits(lon, lat, radius, where)
        place = fits.place
        fits_held, fits_state, fits_holding = fits.held, fits.state, fits.holding
        base = self.confidence
        out: list[ZoneEvidence] = []
        for i, s in enumerate(fixes):
            asset = assets[i]
            row = slot[i]
            # An earlier fix of the same asset in this batch may have moved what is held.
            held = memory.get(asset) if backlog else before[i]
            held_zone = where[i] if held is None else held[0]
            zone_id: int | None
            placed_by: PlacedBy
            if held_zone > OFF_SITE and held_zone == fits_held[row] and fits_state[row] == _WITHIN:
                # The common case, without the call: the whole circle is inside the zone
                # held, so the smallest zone holding it all takes it (as ``place`` says).
                zone_id, placed_by = fits_holding[row], "circle"
            else:
                zone_id, placed_by = place(row, held_zone)
            # A fix older than the one held says where the asset was, not where it is.
            at = s.observed_at
            if held is None or at >= held[1]:
                memory[asset] = (OFF_SITE if zone_id is None else zone_id, at)
            # Every fix is claimed, each asset's in time order: a backlog's stays reach the
            # resolver (and the history) as if the fixes had come one at a time.
            accuracy = s.accuracy_m
            if accuracy is None or accuracy <= _GOOD_ACCURACY_M:
                confidence = base  # the common case, without the call
            else:
                confidence = self._confidence(accuracy)
            if placed_by == "centre":
                confidence *= STRADDLE_FACTOR
            extras = s.extras
            speed = extras.get("speed_kmh")
            if type(speed) not in _NUMBERS:  # not bool, not text: no speed said
                speed = None
            protocol = extras.get("protocol")
            out.append(
                GeoEvidence(
                    asset_id=asset,
                    zone_id=zone_id,
                    confidence=confidence,
                    method="geofence",
                    technology=s.technology,
                    observed_at=at,
                    lat=s.lat,
                    lon=s.lon,
                    accuracy_m=accuracy,
                    radius_m=DEFAULT_ACCURACY_M if accuracy is None else accuracy,
                    placed_by=placed_by,
                    moving=extras.get("moving") is True
                    or (speed is not None and speed > IN_TRANSIT_SPEED_KMH),
                    speed_kmh=None if speed is None else float(speed),
                    protocol=protocol if type(protocol) is str else None,
                )
            )
        return out

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
