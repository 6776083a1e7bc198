"""Where a positioned Wi-Fi record (Meraki or Spaces x/y on a floor plan, or latitude/
longitude) puts a device: the zone by polygon, with a confidence from the position's
uncertainty.

A feed puts the position in the observation: ``extras`` ``x``/``y`` (metres from the
top-left corner of the vendor's floor plan), ``floor_plan`` (the vendor's plan id),
``floor_id`` (the Floki floor it is mapped to), ``uncertainty_m``; latitude/longitude in
the observation's own ``lat``/``lon``. A plan is mapped to a Floki floor by
``[[plugin.wifi.meraki.floor_plans]]`` / ``[[plugin.wifi.spaces.floor_plans]]``: the
vendor's metres become plan pixels by the floor's ``metres_per_pixel`` (or the mapping's
own) from the mapping's origin, and the zone is the smallest whose ``polygon`` (pixels on
that floor's plan) holds the point. Without a mapped plan, or outside every polygon, a
latitude/longitude is looked up in the zones' ``geo_polygon`` the same way. Neither: None,
and the locator falls back to the access point's zone.

``place`` is called by the locator on the event loop and must be cheap: the zones are
read from ``RegisterView.snapshot()`` ahead of time (``refresh``), by the feeds before
they submit, again when zones or floors change, and at least every
``REFRESH_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field

from floki_core.sdk import (
    DomainEvent,
    Extra,
    PluginContext,
    RegisterSnapshot,
    RegisterView,
    Sighting,
    ZoneEvidence,
)
from floki_wifi.config import WifiSettings
from floki_wifi.meraki_config import FloorPlan

REFRESH_SECONDS = 60.0  # the zones are read again at least this often
# A position is a Wi-Fi estimate: never as sure as a room-level BLE fix (whose lowest
# confidence is 0.5), and less sure the wider its uncertainty.
MAX_CONFIDENCE = 0.45
MIN_CONFIDENCE = 0.15
SURE_WITHIN_M = 2.0  # Meraki v3's usual uncertainty: full (Wi-Fi) confidence
UNSURE_BEYOND_M = 15.0  # wider than a ward bay: the floor of the scale
UNKNOWN_UNCERTAINTY_CONFIDENCE = 0.3
STATE_KEY = "position_placer"

Point = tuple[float, float]


def position_extras(
    feed: str,
    floor_plans: Sequence[FloorPlan],
    *,
    x: float | None,
    y: float | None,
    floor_plan: str | None,
    uncertainty_m: float | None,
) -> dict[str, Extra]:
    """A positioned record's ``extras`` as ``place`` reads them (the module's docstring):
    ``x``/``y`` with both, their ``floor_plan`` and the Floki floor it is mapped to."""
    extras: dict[str, Extra] = {"feed": feed}
    if x is not None and y is not None:
        extras["x"], extras["y"] = x, y
        if floor_plan is not None:
            extras["floor_plan"] = floor_plan
            mapped = next((p for p in floor_plans if p.id == floor_plan), None)
            if mapped is not None:
                extras["floor_id"] = mapped.floor_id
    if uncertainty_m is not None:
        extras["uncertainty_m"] = uncertainty_m
    return extras


def confidence_for(uncertainty_m: float | None) -> float:
    """The larger the uncertainty, the lower the confidence; never above MAX_CONFIDENCE."""
    if uncertainty_m is None:
        return UNKNOWN_UNCERTAINTY_CONFIDENCE
    if uncertainty_m <= SURE_WITHIN_M:
        return MAX_CONFIDENCE
    if uncertainty_m >= UNSURE_BEYOND_M:
        return MIN_CONFIDENCE
    share = (uncertainty_m - SURE_WITHIN_M) / (UNSURE_BEYOND_M - SURE_WITHIN_M)
    return MAX_CONFIDENCE - share * (MAX_CONFIDENCE - MIN_CONFIDENCE)


def inside(point: Point, polygon: Sequence[Point]) -> bool:
    """Whether ``point`` lies in ``polygon`` (even-odd rule; vertices in order)."""
    x, y = point
    hit = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            hit = not hit
        j = i
    return hit


def _area(polygon: Sequence[Point]) -> float:
    total = 0.0
    for i in range(len(polygon)):
        x1, y1 = polygon[i - 1]
        x2, y2 = polygon[i]
        total += x1 * y2 - x2 * y1
    return abs(total) / 2.0


def _bounds(polygon: Sequence[Point]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


@dataclass(frozen=True)
class _Outline:
    zone_id: int
    polygon: tuple[Point, ...]
    bounds: tuple[float, float, float, float]

    def holds(self, point: Point) -> bool:
        x0, y0, x1, y1 = self.bounds
        return x0 <= point[0] <= x1 and y0 <= point[1] <= y1 and inside(point, self.polygon)


def _outline(zone_id: int, raw: Sequence[Sequence[float]] | None) -> _Outline | None:
    if not raw or len(raw) < 3:
        return None
    polygon = tuple((float(p[0]), float(p[1])) for p in raw if len(p) >= 2)
    if len(polygon) < 3:
        return None
    return _Outline(zone_id, polygon, _bounds(polygon))


@dataclass
class _Zones:
    """What ``place`` looks positions up in, smallest zone first (a room before its ward)."""

    plan: dict[int, list[_Outline]] = field(default_factory=dict)  # floor id -> outlines
    geo: list[_Outline] = field(default_factory=list)  # (lon, lat) outlines
    scale: dict[int, float] = field(default_factory=dict)  # floor id -> metres per pixel

    @classmethod
    def of(cls, snapshot: RegisterSnapshot) -> _Zones:
        zones = cls()
        sized: dict[int, list[tuple[float, _Outline]]] = {}
        geo: list[tuple[float, _Outline]] = []
        for zone in snapshot.zones:
            if zone.floor_id is not None:
                drawn = _outline(zone.id, zone.polygon)
                if drawn is not None:
                    sized.setdefault(zone.floor_id, []).append((_area(drawn.polygon), drawn))
            mapped = _outline(zone.id, zone.geo_polygon)
            if mapped is not None:
                geo.append((_area(mapped.polygon), mapped))
        zones.plan = {f: [o for _, o in sorted(found, key=_by_area)] for f, found in sized.items()}
        zones.geo = [o for _, o in sorted(geo, key=_by_area)]
        zones.scale = {f.id: f.metres_per_pixel for f in snapshot.floors if f.metres_per_pixel}
        return zones


def _by_area(entry: tuple[float, _Outline]) -> tuple[float, int]:
    return entry[0], entry[1].zone_id


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class _Read:
    """What was read of one appliance's register, shared by every placer built on it
    (the locator's and the feeds'), so that a feed reading it before it submits serves
    the locator too."""

    zones: _Zones = field(default_factory=_Zones)
    loaded_at: float | None = None
    stale: bool = True
    loading: asyncio.Task[None] | None = None

    def due(self) -> bool:
        return (
            self.stale
            or self.loaded_at is None
            or time.monotonic() - self.loaded_at >= REFRESH_SECONDS
        )


# One per appliance's register (each appliance has its own RegisterView), gone with it.
_READS: weakref.WeakKeyDictionary[RegisterView, _Read] = weakref.WeakKeyDictionary()


def _read_of(register: RegisterView | None) -> _Read:
    if register is None:
        return _Read()
    found = _READS.get(register)
    if found is None:
        found = _READS[register] = _Read()
    return found


class PositionPlacer:
    def __init__(self, settings: WifiSettings, register: RegisterView | None) -> None:
        self._settings = settings
        self._register = register
        # Both feeds' plans by the vendor's id (Meraki's floorPlanId, Spaces' mapId).
        self._plans: dict[str, FloorPlan] = {
            plan.id: plan for plan in (*settings.meraki.floor_plans, *settings.spaces.floor_plans)
        }
        self._read = _read_of(register)

    # --- keeping the zones ------------------------------------------------------------

    def changed(self) -> None:
        """Zones or floors changed: read them again before the next position."""
        self._read.stale = True

    async def refresh(self) -> None:
        """Read the zones again if they changed or have not been read for a while (one
        read at a time; callers arriving meanwhile wait for it)."""
        read = self._read
        if self._register is None or not read.due():
            return
        if read.loading is None or read.loading.done():
            read.loading = asyncio.ensure_future(self._load(self._register))
        await asyncio.shield(read.loading)

    async def _load(self, register: RegisterView) -> None:
        read = self._read
        read.stale = False
        snapshot = await register.snapshot()
        read.zones = _Zones.of(snapshot)
        read.loaded_at = time.monotonic()

    def _refresh_soon(self) -> None:
        """From ``place`` (synchronous): start a read in the background."""
        read = self._read
        if self._register is None or (read.loading is not None and not read.loading.done()):
            return
        with contextlib.suppress(RuntimeError):  # no running loop: nothing to schedule on
            read.loading = asyncio.get_running_loop().create_task(self._load(self._register))

    # --- placing ------------------------------------------------------------------------

    def place(self, sighting: Sighting, method: str) -> ZoneEvidence | None:
        """The zone ``sighting``'s position is in, or None when it carries no position
        (or one no zone holds)."""
        if self._read.due():
            self._refresh_soon()
        extras = sighting.extras
        uncertainty = _number(extras.get("uncertainty_m"))
        if uncertainty is None:
            uncertainty = sighting.accuracy_m
        x, y = _number(extras.get("x")), _number(extras.get("y"))
        plan_id = extras.get("floor_plan")
        if x is not None and y is not None and isinstance(plan_id, str):
            placed = self._on_plan(plan_id, x, y)
            if placed is not None:
                zone_id, px, py = placed
                return self._evidence(sighting, method, zone_id, uncertainty, x=px, y=py)
        if sighting.lat is not None and sighting.lon is not None:
            point = (sighting.lon, sighting.lat)
            for outline in self._read.zones.geo:
                if outline.holds(point):
                    return self._evidence(sighting, method, outline.zone_id, uncertainty)
        return None

    def _on_plan(self, plan_id: str, x_m: float, y_m: float) -> tuple[int, float, float] | None:
        plan = self._plans.get(plan_id)
        if plan is None:
            return None
        zones = self._read.zones
        scale = plan.metres_per_pixel or zones.scale.get(plan.floor_id)
        if not scale:
            return None
        point = (plan.origin_x_px + x_m / scale, plan.origin_y_px + y_m / scale)
        for outline in zones.plan.get(plan.floor_id, ()):
            if outline.holds(point):
                return outline.zone_id, point[0], point[1]
        return None

    def _evidence(
        self,
        sighting: Sighting,
        method: str,
        zone_id: int,
        uncertainty_m: float | None,
        *,
        x: float | None = None,
        y: float | None = None,
    ) -> ZoneEvidence:
        receiver = sighting.receiver
        return ZoneEvidence(
            asset_id=sighting.asset_id,
            zone_id=zone_id,
            confidence=confidence_for(uncertainty_m),
            method=method,
            technology=sighting.technology,
            observed_at=sighting.observed_at,
            receiver_id=None if receiver is None else receiver.id,
            receiver_name=None if receiver is None else receiver.name,
            signal=sighting.rssi,
            lat=sighting.lat,
            lon=sighting.lon,
            x=x,
            y=y,
        )


def shared_placer(context: PluginContext) -> PositionPlacer:
    """The run's one placer (the locator's and the feeds'), read again when zones or
    floors change."""
    found: PositionPlacer | None = context.state.get(STATE_KEY)
    if found is None:
        found = context.state[STATE_KEY] = PositionPlacer(context.settings, context.register)
        placer = found

        def register_changed(events: Sequence[DomainEvent]) -> None:
            if any(e.type.startswith(("zone.", "floor.")) for e in events):
                placer.changed()

        with contextlib.suppress(ValueError):  # another appliance's name clash cannot be ours
            context.events.add_observer("wifi-positions", register_changed)
    return found
