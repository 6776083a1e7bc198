"""Where the simulated community items are: rounds between the hub, depots and home areas.

The places are the register's zones drawn on the map: the community hub (type
``community_hub``), depots (type ``store``, on the map only) and home areas (any other
zone on the map only, such as the demo's "Home area N1"). Kit on loan stays long in its
home area and comes back to the hub now and then for a check; kit on the hub's shelves
goes to the depot and back, and out to a home area for a short stay. The item on loan
with the lowest asset id starts on the van: its stay at the hub ends a minute into the
simulation, so a newcomer sees it leave for its home area.

Everything here is simulated seconds since the simulation began, from a seeded RNG, so a
test can say where an item will be; the source turns simulated time into real fixes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Literal

from floki_core.sdk import AssetState, RegisterSnapshot, Zone
from floki_gps.fixes import MS_TO_KMH

TECHNOLOGY = "gps"
PlaceKind = Literal["hub", "depot", "home"]
Protocol = Literal["teltonika", "gt06", "osmand"]
METRES_PER_DEGREE = 111_320.0
DRIVE_KMH = 35.0  # a community equipment van in town
FIX_EVERY_S = 30.0  # trackers' reporting interval, in simulated seconds
DEPARTS_AFTER_S = 60.0  # the van's first departure from the hub
# (minimum, maximum) stay in simulated seconds: by place, and for loaned kit at home.
_STAY: dict[PlaceKind, tuple[float, float]] = {
    "hub": (1800.0, 7200.0),
    "depot": (900.0, 3600.0),
    "home": (1800.0, 5400.0),  # a short stay: kit delivered for the day, then collected
}
_LOAN_STAY = (14_400.0, 43_200.0)
# Battery use, percent per simulated hour.
_DRAIN_PER_HOUR = (0.2, 0.8)


def protocol_of(device: str) -> Protocol:
    """The simulated tracker's protocol, from its id: GT06 (Concox) IMEIs begin ``86``,
    other IMEIs are Teltonika trackers, any other id a phone running Traccar Client."""
    if len(device) == 15 and device.isdigit():
        return "gt06" if device.startswith("86") else "teltonika"
    return "osmand"


@dataclass(frozen=True)
class Place:
    zone_id: int
    name: str
    kind: PlaceKind
    lon: float  # the middle of the outline
    lat: float
    spread_m: float  # how far from the middle an item may stand, clear of the edge


@dataclass(frozen=True)
class Position:
    lon: float
    lat: float
    place: Place | None  # None: on the road
    speed_kmh: float = 0.0
    course_deg: float = 0.0


def _place(zone: Zone, kind: PlaceKind) -> Place | None:
    outline = zone.geo_polygon or []
    if len(outline) < 3:
        return None
    lons, lats = [p[0] for p in outline], [p[1] for p in outline]
    lon, lat = sum(lons) / len(lons), sum(lats) / len(lats)
    width = (max(lons) - min(lons)) * METRES_PER_DEGREE * math.cos(math.radians(lat))
    height = (max(lats) - min(lats)) * METRES_PER_DEGREE
    short = min(width, height)
    # A quarter of the short side, but a GPS circle of ~10 m from the edge.
    spread = max(0.0, min(short / 4, short / 2 - 12.0))
    return Place(zone.id, zone.name, kind, lon, lat, spread)


def places_of(snapshot: RegisterSnapshot) -> dict[PlaceKind, list[Place]]:
    found: dict[PlaceKind, list[Place]] = {"hub": [], "depot": [], "home": []}
    for zone in sorted(snapshot.zones, key=lambda z: z.id):
        if zone.type == "community_hub":
            kind: PlaceKind = "hub"
        elif zone.polygon or zone.floor_id is not None:
            continue  # a room of a building, on a floor plan
        elif zone.type == "store":
            kind = "depot"
        else:
            kind = "home"
        place = _place(zone, kind)
        if place is not None:
            found[kind].append(place)
    return found


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    per_lon = METRES_PER_DEGREE * math.cos(math.radians(lat))
    return lon + east_m / per_lon, lat + north_m / METRES_PER_DEGREE


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    per_lon = METRES_PER_DEGREE * math.cos(math.radians((a[1] + b[1]) / 2))
    return math.hypot((b[0] - a[0]) * per_lon, (b[1] - a[1]) * METRES_PER_DEGREE)


@dataclass
class Leg:
    start: float
    end: float
    at: Place | None  # a stay at a place; None: a drive
    origin: tuple[float, float]  # (lon, lat): where the item stands, or the drive starts
    target: tuple[float, float] = (0.0, 0.0)  # a drive's end


@dataclass
class Item:
    """One tracked asset and its round of places."""

    asset_id: int
    device: str
    protocol: Protocol
    on_loan: bool
    round: list[Place]
    rng: random.Random
    battery_pct: float
    drain_per_s: float
    fix_phase_s: float  # when in each interval this tracker reports
    leg: Leg = field(init=False)
    _stop: int = 0  # index in ``round`` of the current or last place

    def start(self, first_stay_left: float) -> None:
        place = self.round[0]
        self.leg = Leg(0.0, first_stay_left, place, self._spot(place))

    def _spot(self, place: Place) -> tuple[float, float]:
        angle, reach = self.rng.uniform(0, 2 * math.pi), self.rng.uniform(0, place.spread_m)
        return offset(place.lon, place.lat, reach * math.cos(angle), reach * math.sin(angle))

    def stay_s(self, place: Place) -> float:
        low, high = _LOAN_STAY if self.on_loan and place.kind == "home" else _STAY[place.kind]
        return self.rng.uniform(low, high)

    def _next_leg(self) -> None:
        leg = self.leg
        if leg.at is not None:  # the stay is over: drive to the next place on the round
            self._stop = (self._stop + 1) % len(self.round)
            place = self.round[self._stop]
            spot = self._spot(place)
            drive = distance_m(leg.origin, spot) / (DRIVE_KMH / MS_TO_KMH)
            self.leg = Leg(leg.end, leg.end + max(drive, 1.0), None, leg.origin, spot)
        else:
            place = self.round[self._stop]
            self.leg = Leg(leg.end, leg.end + self.stay_s(place), place, leg.target)

    def position(self, t: float) -> Position:
        """Where the item is ``t`` simulated seconds in (``t`` never goes back)."""
        while t >= self.leg.end:
            self._next_leg()
        leg = self.leg
        if leg.at is not None:
            return Position(leg.origin[0], leg.origin[1], leg.at)
        share = (t - leg.start) / (leg.end - leg.start)
        (x0, y0), (x1, y1) = leg.origin, leg.target
        per_lon = math.cos(math.radians(y0))
        course = math.degrees(math.atan2((x1 - x0) * per_lon, y1 - y0)) % 360
        return Position(
            x0 + (x1 - x0) * share, y0 + (y1 - y0) * share, None, DRIVE_KMH, round(course)
        )

    def battery(self, t: float) -> float:
        return max(3.0, self.battery_pct - self.drain_per_s * t)


def build_items(snapshot: RegisterSnapshot, seed: int) -> list[Item]:
    """An item per asset with a gps identifier, when the register has a hub on the map
    and somewhere to go; ValueError says what is missing."""
    places = places_of(snapshot)
    if not places["hub"]:
        raise ValueError("no community hub zone is drawn on the map (geo_polygon)")
    if not places["home"] and not places["depot"]:
        raise ValueError("no depot or home area zone is drawn on the map")
    hub = places["hub"][0]
    homes = places["home"] or places["depot"]
    depots = places["depot"] or homes
    assets = {a.id: a for a in snapshot.assets}
    devices = sorted(
        (i.asset_id, i.value)
        for i in snapshot.identifiers
        if i.technology == TECHNOLOGY and i.asset_id in assets
    )
    rng = random.Random(seed)
    items: list[Item] = []
    on_van: int | None = None
    for n, (asset_id, device) in enumerate(devices):
        on_loan = assets[asset_id].state == AssetState.ON_LOAN
        home = homes[n % len(homes)]
        if not on_loan:
            round_ = [hub, depots[n % len(depots)], hub, home]
        elif on_van is None:
            on_van, round_ = asset_id, [hub, home]
        else:
            round_ = [home, hub]
        low, high = _DRAIN_PER_HOUR
        item = Item(
            asset_id=asset_id,
            device=device,
            protocol=protocol_of(device),
            on_loan=on_loan,
            round=round_,
            rng=random.Random(rng.getrandbits(64)),
            battery_pct=rng.uniform(35.0, 100.0),
            drain_per_s=rng.uniform(low, high) / 3600,
            fix_phase_s=rng.uniform(0, FIX_EVERY_S),
        )
        first = round_[0]
        # Mid-stay, as if the simulation had always run; the van leaves in a minute.
        left = DEPARTS_AFTER_S if asset_id == on_van else item.stay_s(first) * rng.random()
        item.start(left)
        items.append(item)
    return items
