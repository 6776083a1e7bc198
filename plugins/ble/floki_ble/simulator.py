"""Simulated BLE gateways: the register's site, its iBeacon tags walking about it.

``[plugin.ble] simulate = true`` feeds the appliance from simulated gateways (the demo
switches it on). The zones with a floor-plan polygon become places of the shared movement model
(``floki_ble.movement``): a parent zone's place is its area outside its child zones, and
each floor gets a walkway in the largest gap between its zones, joined to the other
floors of its building by a lift and to the other buildings by an outside path. The
BLE receivers become gateways where the register puts them.

Tags follow a hospital's equipment round: used kit goes from wards, bays and theatres to
the nearest dirty utility room, then to the equipment library for decontamination, and
from the library back out to clinical areas; now and then to the workshop. How long a
tag stays depends on the kind of zone; some tags (porters' kit) move five times as often.
The simulation starts mid-stay, as if it had always run.

Every clock second each gateway reports what it heard, as real ones do; every tag sends
a telemetry frame (``battery_pct``, ``battery_mv``) every ten seconds, a few of them with
a low battery; one gateway drops out now and then for a minute or two.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import logging
import math
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import numpy as np

from floki_ble.config import BleSettings
from floki_ble.movement import Gateway, Link, Place, Rect, Routine, Site, Tags
from floki_core.sdk import (
    AssetState,
    Clock,
    Extra,
    Floor,
    Observation,
    ObservationSink,
    RegisterSnapshot,
    RegisterView,
    Zone,
)

SOURCE_NAME = "ble-simulator"
TECHNOLOGY = "ibeacon"
DEFAULT_METRES_PER_PIXEL = 0.05  # a plan without a scale is taken as 20 px to the metre
LIFT_S = 45.0
OUTSIDE_S = 120.0  # the walk between two buildings
TELEMETRY_EVERY_S = 10
LOW_BATTERY_SHARE = 0.04
BUSY_SHARE = 0.15
BUSY_DWELL_SCALE = 0.2
MAX_BACKFILL_S = 120  # after a longer pause (a suspended machine) the gateways skip ahead
REREAD_S = 30.0  # how often an empty register is looked at again

# Kit out of the building is heard by no gateway.
_AWAY = frozenset({AssetState.ON_LOAN, AssetState.MISSING, AssetState.CONDEMNED})
_CLINICAL = frozenset(
    {"bay", "room", "ward", "corridor", "emergency", "theatre", "department", "other"}
)
# (minimum, mean) stay in seconds, by zone type.
_DWELL: dict[str, tuple[float, float]] = {
    "bay": (900.0, 7200.0),
    "room": (600.0, 3600.0),
    "ward": (120.0, 900.0),  # a ward's own area: kit parked in its corridor
    "corridor": (60.0, 300.0),
    "emergency": (600.0, 2700.0),
    "theatre": (1800.0, 5400.0),  # a list's case
    "department": (300.0, 1800.0),
    "dirty_utility": (300.0, 1800.0),
    "equipment_library": (600.0, 7200.0),
    "workshop": (1800.0, 14400.0),
    "store": (3600.0, 28800.0),
    "community_hub": (3600.0, 43200.0),
    "other": (600.0, 3600.0),
}


# The parts of the register the simulation is built from.
SiteRecords = RegisterSnapshot


async def read_register(register: RegisterView) -> SiteRecords:
    """Read the register through the plugin surface (plain records only)."""
    return await register.snapshot()


# ------------------------------------------------------------ the site, from the register


def _largest_gap(rects: list[Rect]) -> Rect | None:
    """The largest empty box inside the rooms' bounding box: the floor's corridor."""
    if not rects:
        return None
    xs = sorted({v for r in rects for v in (r[0], r[2])})
    ys = sorted({v for r in rects for v in (r[1], r[3])})
    best, best_area = None, 0.0
    for i, x0 in enumerate(xs):
        for x1 in xs[i + 1 :]:
            for k, y0 in enumerate(ys):
                for y1 in ys[k + 1 :]:
                    area = (x1 - x0) * (y1 - y0)
                    if area <= best_area:
                        continue
                    if any(r[0] < x1 and x0 < r[2] and r[1] < y1 and y0 < r[3] for r in rects):
                        break  # taller boxes from y0 overlap the same room
                    best, best_area = (x0, y0, x1, y1), area
    return best


@dataclass
class SimulatedSite:
    site: Site
    routine: Routine
    destinations: list[int]  # places a journey may end in


def build_site(records: SiteRecords) -> SimulatedSite | None:
    """Places, links and gateways from the register; None if no zone has a drawn plan."""
    floors = {f.id: f for f in records.floors}
    zones = [z for z in records.zones if z.polygon and z.floor_id in floors]
    if not zones:
        return None
    floor_of = {z.id: floors[z.floor_id] for z in zones if z.floor_id is not None}
    floor_index = {fid: i for i, fid in enumerate(sorted({f.id for f in floor_of.values()}))}

    def scale(zone: Zone) -> float:
        return floor_of[zone.id].metres_per_pixel or DEFAULT_METRES_PER_PIXEL

    def rect(zone: Zone) -> Rect:
        m = scale(zone)
        xs = [p[0] * m for p in zone.polygon or ()]
        ys = [p[1] * m for p in zone.polygon or ()]
        return (min(xs), min(ys), max(xs), max(ys))

    place_of: dict[int, int] = {z.id: i for i, z in enumerate(zones)}
    by_id = {z.id: z for z in zones}

    def parent(zone: Zone) -> Zone | None:
        up = by_id.get(zone.parent_id) if zone.parent_id is not None else None
        return up if up is not None and up.floor_id == zone.floor_id else None

    children: dict[int, list[Zone]] = {}
    for z in zones:
        up = parent(z)
        if up is not None:
            children.setdefault(up.id, []).append(z)
    places = [
        Place(
            z.name,
            floor_index[floor_of[z.id].id],
            rect(z),
            holes=tuple(rect(c) for c in children.get(z.id, ())),
            kind=str(z.type),
            zone=z.id,
        )
        for z in zones
    ]
    links = [Link(place_of[z.id], place_of[up.id]) for z in zones if (up := parent(z))]

    # Each floor's top-level zones open onto its walkway; floors meet at the walkways.
    hubs: dict[int, int] = {}  # floor id -> the place lifts and paths arrive in
    for fid in sorted(floor_index):
        top = [z for z in zones if floor_of[z.id].id == fid and parent(z) is None]
        if not top:
            continue
        gap = _largest_gap([rect(z) for z in top])
        if gap is None or (gap[2] - gap[0]) * (gap[3] - gap[1]) <= 0:
            hubs[fid] = place_of[top[0].id]
            links += [
                Link(place_of[a.id], place_of[b.id])
                for i, a in enumerate(top)
                for b in top[i + 1 :]
            ]
            continue
        hubs[fid] = len(places)
        name = f"walkway of floor {fid} ({floors[fid].name})"
        places.append(Place(name, floor_index[fid], gap, kind="walkway"))
        links += [Link(place_of[z.id], hubs[fid]) for z in top]
    by_building: dict[int, list[Floor]] = {}
    for fid in hubs:
        by_building.setdefault(floors[fid].building_id, []).append(floors[fid])
    entrances = []
    for building in sorted(by_building):
        stack = sorted(by_building[building], key=lambda f: (f.level, f.id))
        links += [Link(hubs[a.id], hubs[b.id], LIFT_S) for a, b in itertools.pairwise(stack)]
        entrances.append(hubs[stack[0].id])
    links += [Link(a, b, OUTSIDE_S) for a, b in itertools.pairwise(entrances)]

    gateways = []
    for r in sorted(records.receivers, key=lambda r: r.id):
        if r.technology != "ble" or r.zone_id not in place_of:
            continue
        p = place_of[r.zone_id]
        m = scale(by_id[r.zone_id])
        x0, y0, x1, y1 = places[p].rect
        # A receiver not placed on the plan is taken to hang in the middle of its zone.
        x = (x0 + x1) / 2 if r.x is None else r.x * m
        y = (y0 + y1) / 2 if r.y is None else r.y * m
        gateways.append(Gateway(r.identifier, x, y, p))
    site = Site(places, gateways, links)

    # Journeys end in zones with an area of their own, or a gateway to hear them by.
    heard_in = {g.place for g in gateways}
    destinations = [
        i for i, z in enumerate(zones) if place_of[z.id] in heard_in or not children.get(z.id)
    ]
    return SimulatedSite(site, _hospital_routine(site, destinations), destinations)


def _hospital_routine(site: Site, destinations: list[int]) -> Routine:
    kinds = [p.kind for p in site.places]
    clinical = [d for d in destinations if kinds[d] in _CLINICAL]

    def nearest(here: int, kind: str) -> list[tuple[int, float]]:
        costs = site.costs_from(here)
        found = [
            (costs[d], d) for d in destinations if kinds[d] == kind and d != here and d in costs
        ]
        return [(min(found)[1], 1.0)] if found else []

    def share(places: list[int], weight: float) -> list[tuple[int, float]]:
        return [(p, weight / len(places)) for p in places] if places else []

    def weighted(pairs: list[tuple[int, float]], weight: float) -> list[tuple[int, float]]:
        return [(p, w * weight) for p, w in pairs]

    def nearby(here: int) -> list[int]:
        """Clinical places around ``here``: its siblings, its parent, its children; else
        any on its floor. Walkways lead everywhere, so they do not count as "around"."""
        indoor = [n for n in site.neighbours[here] if kinds[n] != "walkway"]
        around = set(indoor) | {s for n in indoor for s in site.neighbours[n]}
        found = [d for d in clinical if d != here and d in around]
        return found or [d for d in clinical if d != here and site.floor[d] == site.floor[here]]

    table: list[tuple[tuple[int, float], ...]] = []
    for here, kind in enumerate(kinds):
        go: list[tuple[int, float]] = []
        if here not in destinations:
            pass
        elif kind == "dirty_utility":
            go = weighted(nearest(here, "equipment_library"), 0.8)
            go += weighted(nearest(here, "workshop"), 0.2)
        elif kind == "equipment_library":
            go = share([c for c in clinical if c != here], 0.9)
            go += weighted(nearest(here, "workshop"), 0.1)
        elif kind == "workshop":
            go = weighted(nearest(here, "equipment_library"), 0.6)
            go += share(clinical, 0.3) + weighted(nearest(here, "community_hub"), 0.1)
        elif kind == "store":
            go = nearest(here, "equipment_library")
        elif kind == "community_hub":
            go = nearest(here, "workshop")
        else:
            go = weighted(nearest(here, "dirty_utility"), 0.4)
            go += weighted(nearest(here, "equipment_library"), 0.15)
            go += share(nearby(here), 0.45)
        table.append(tuple(go))
    dwell = [_DWELL.get(k, _DWELL["other"]) if k != "walkway" else (0.0, 0.0) for k in kinds]
    return Routine(
        min_dwell_s=tuple(d[0] for d in dwell),
        mean_dwell_s=tuple(d[1] for d in dwell),
        destinations=tuple(table),
    )


# ------------------------------------------------------------ the simulation, second by second


class GatewayDropout:
    """When the one unreliable gateway is off the air: a minute or two, every so often."""

    def __init__(self, gateway: int, seed: int) -> None:
        self.gateway = gateway
        self._rand = random.Random(seed)
        self.outages: list[tuple[float, float]] = []  # [start, end) seconds since the start
        self._until = self._rand.uniform(120.0, 240.0)  # the first comes early in a demo

    def outages_until(self, second: float) -> list[tuple[float, float]]:
        """Every outage that starts by ``second``, planned as far as needed."""
        while self._until <= second:
            start = self._until
            end = start + self._rand.uniform(60.0, 150.0)
            self.outages.append((start, end))
            self._until = end + self._rand.uniform(300.0, 900.0)
        return self.outages

    def down(self, second: float) -> bool:
        return any(a <= second < b for a, b in self.outages_until(second)[-2:])


class Simulation:
    """The site, its tags and their batteries; ``second(s)`` is what the gateways heard."""

    def __init__(self, records: SiteRecords, seed: int, speedup: float = 1.0) -> None:
        built = build_site(records)
        if built is None:
            raise ValueError("no zone has a floor-plan polygon to walk in")
        self.site, self.speedup = built.site, speedup
        self.rng = rng = np.random.default_rng(seed)
        assets = {a.id: a for a in records.assets}
        zone_place = {p.zone: i for i, p in enumerate(self.site.places) if p.zone is not None}
        parents = {z.id: z.parent_id for z in records.zones}
        self.tag_ids: list[str] = []
        self.asset_ids: list[int] = []
        start: list[int] = []
        for ident in sorted(records.identifiers, key=lambda i: i.id):
            asset = assets.get(ident.asset_id)
            if ident.technology != TECHNOLOGY or asset is None or asset.state in _AWAY:
                continue
            zone = asset.home_zone_id
            while zone is not None and zone not in zone_place:
                zone = parents.get(zone)
            home = zone_place[zone] if zone is not None else -1
            if home not in built.destinations:
                home = built.destinations[int(rng.integers(len(built.destinations)))]
            self.tag_ids.append(ident.value)
            self.asset_ids.append(ident.asset_id)
            start.append(home)
        n = len(start)
        busy = rng.random(n) < BUSY_SHARE
        self.tags = Tags(
            self.site,
            built.routine,
            np.array(start, dtype=np.int64),
            rng,
            dwell_scale=np.where(busy, BUSY_DWELL_SCALE, 1.0),
        )
        self.advert = [dt.timedelta(milliseconds=int(m)) for m in rng.integers(0, 1000, n)]
        self.telemetry_phase = rng.integers(0, TELEMETRY_EVERY_S, n).tolist()
        low = np.zeros(n, dtype=np.bool_)
        if n:
            low[rng.permutation(n)[: max(1, round(n * LOW_BATTERY_SHARE))]] = True
        percent = np.where(low, rng.integers(3, 16, n), rng.integers(55, 101, n))
        millivolts = np.where(low, 2200 + percent * 15, 2850 + percent * 3 // 2)
        self.low_battery = {self.tag_ids[i] for i in np.flatnonzero(low).tolist()}
        self.battery: list[dict[str, Extra]] = [
            {"battery_pct": int(p), "battery_mv": int(v)}
            for p, v in zip(percent.tolist(), millivolts.tolist(), strict=True)
        ]
        gateways = len(self.site.gateways)
        self.dropout = GatewayDropout(int(rng.integers(gateways)) if gateways else -1, seed)

    @property
    def dropout_receiver(self) -> str | None:
        g = self.dropout.gateway
        return self.site.gateways[g].identifier if g >= 0 else None

    def second(self, elapsed: int, at: dt.datetime, now: dt.datetime) -> list[Observation]:
        """Sightings of the ``elapsed``-th second since the start, which began ``at``."""
        self.tags.advance(elapsed * self.speedup)
        heard = self.site.hear(self.tags, self.rng)
        tags, gateways, rssi = heard.tags, heard.gateways, heard.rssi
        if self.dropout.gateway >= 0 and self.dropout.down(elapsed):
            keep = gateways != self.dropout.gateway
            tags, gateways, rssi = tags[keep], gateways[keep], rssi[keep]
        # Grouped by gateway, as each posts its own batch.
        order = np.argsort(gateways, kind="stable")
        receivers = [g.identifier for g in self.site.gateways]
        tick = elapsed % TELEMETRY_EVERY_S
        out = []
        for t, g, v in zip(
            tags[order].tolist(), gateways[order].tolist(), rssi[order].tolist(), strict=True
        ):
            out.append(
                Observation(
                    technology=TECHNOLOGY,
                    tag=self.tag_ids[t],
                    observed_at=at + self.advert[t],
                    received_at=now,
                    receiver=receivers[g],
                    rssi=float(v),
                    extras=dict(self.battery[t]) if self.telemetry_phase[t] == tick else {},
                )
            )
        return out


Loader = Callable[[], Awaitable[SiteRecords]]


class SimulatedGateways:
    """The source: every clock second, what the simulated gateways heard in the last one.

    Driven by the injected clock, so a test moves it with a manual clock and calls
    :meth:`catch_up`; seconds missed while the loop slept are sent in order.
    """

    def __init__(
        self, settings: BleSettings, clock: Clock, load: Loader, log: logging.Logger
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.load = load
        self.log = log
        self.simulation: Simulation | None = None
        self._sink: ObservationSink | None = None
        self._start = 0  # epoch second the simulation began
        self._next = 0  # the next second to report
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()

    async def _ensure_simulation(self) -> Simulation | None:
        if self.simulation is not None:
            return self.simulation
        mono = self.clock.monotonic()
        if self._read_at is not None and mono - self._read_at < REREAD_S:
            return None
        self._read_at = mono
        records = await self.load()
        try:
            simulation = Simulation(
                records, self.settings.simulate_seed, self.settings.simulate_speedup
            )
        except ValueError as exc:
            self.log.warning("simulated gateways idle: %s", exc)
            return None
        if not simulation.tag_ids or not simulation.site.gateways:
            self.log.warning(
                "simulated gateways idle: the register has %d iBeacon tags in the building "
                "and %d BLE gateways on a plan",
                len(simulation.tag_ids),
                len(simulation.site.gateways),
            )
            return None
        self.simulation = simulation
        self._start = self._next = math.floor(self.clock.now().timestamp())
        self.log.info(
            "simulating %d tags heard by %d gateways, %g times real time; "
            "gateway %s drops out now and then",
            len(simulation.tag_ids),
            len(simulation.site.gateways),
            simulation.speedup,
            simulation.dropout_receiver,
        )
        return simulation

    async def catch_up(self, sink: ObservationSink | None = None) -> int:
        """Report every second completed since the last report to ``sink`` (by default
        the one :meth:`run` was given); returns how many seconds were reported."""
        async with self._lock:
            sink = sink or self._sink
            simulation = await self._ensure_simulation()
            if sink is None or simulation is None:
                return 0
            now = self.clock.now()
            done = math.floor(now.timestamp())  # seconds before this one are complete
            self._next = max(self._next, done - MAX_BACKFILL_S)
            sent = 0
            while self._next < done:
                second = self._next
                at = dt.datetime.fromtimestamp(second, dt.UTC)
                batch = simulation.second(second - self._start, at, now)
                self._next += 1
                sent += 1
                if batch:
                    await sink.submit(batch)
            return sent

    async def run(self, sink: ObservationSink) -> None:
        self._sink = sink
        self._stop.clear()
        while not self._stop.is_set():
            await self.catch_up()
            # Wake just after the clock's next whole second, when gateways post.
            wait = 1.0 - self.clock.now().timestamp() % 1.0 + 0.01
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), wait)

    async def stop(self) -> None:
        self._stop.set()
