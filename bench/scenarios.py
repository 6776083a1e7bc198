"""Seeded scenarios: a hospital's layout, its register, and the gateway batches it produces.

A floor is a grid of rooms with one ceiling-mounted BLE gateway in the middle of each.
Rooms are grouped into wards, wards into a floor-wide zone, so "assets in zone" has
descendants to walk. Tags advertise once a second at their own phase. Movement and radio
are the BLE simulator's model (``floki_ble.movement``): each advert is offered to the
nearest few gateways on the floor, arrives at each with an RSSI from a log-distance
path-loss model (plus one wall loss per room boundary and Gaussian noise) or is lost;
tags dwell in a room, then walk to a neighbouring one.

Gateways post what they heard once a second (one batch per gateway and second), each at
its own phase; after an outage they post the whole backlog in one batch.

Every ``observed_at`` carries the gateway's posting rank (0..999) in its microseconds, on
top of the advert's millisecond. A ``location.changed`` event repeats the ``observed_at``
of the sighting that moved the asset, so ``(second, rank)`` names the batch that caused
it and the latency can be taken from that batch's POST time.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any, cast

import msgspec
import numpy as np
from sqlalchemy import Engine, Table

from floki_ble.movement import (
    Gateway,
    Link,
    Place,
    Radio,
    Routine,
    Site,
    Tags,
)
from floki_core.storage.models import (
    AssetClassRow,
    AssetRow,
    BuildingRow,
    FloorRow,
    IdentifierRow,
    ReceiverRow,
    SiteRow,
    ZoneRow,
)

TECHNOLOGY = "ble"
ROOM_M = 6.0  # rooms are ROOM_M x ROOM_M metres
MAX_GATEWAYS = 1000  # the posting rank must fit in the microseconds below the millisecond


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    tags: int
    floors: int
    grid: tuple[int, int]  # rooms per floor along x and y; one gateway per room
    rooms_per_ward: int
    mean_dwell_s: float  # how long a tag stays in a room, on average
    min_dwell_s: float
    hearers: int = 5  # the nearest gateways an advert is offered to
    link_loss: float = 0.2  # chance one gateway misses one advert
    outage_s: int = 0  # > 0: gateways were cut off this long and flush their backlog at once
    # Scenario seconds sent before measuring. A first fix follows the first gateway batch
    # that names the tag and is corrected only after the locator's dwell (10 s), so the
    # warm-up must outlast that or the run would measure start-up corrections, not moves.
    warmup_s: int = 25
    seconds: int = 10  # default run length
    seed: int = 1

    @property
    def rooms_per_floor(self) -> int:
        return self.grid[0] * self.grid[1]

    @property
    def gateways(self) -> int:
        return self.floors * self.rooms_per_floor

    @property
    def nominal_per_s(self) -> float:
        """Expected observations per second (before the few below sensitivity)."""
        return self.tags * min(self.hearers, self.rooms_per_floor) * (1.0 - self.link_loss)


SCENARIOS: dict[str, ScenarioSpec] = {
    # Small and busy so a few seconds' run still sees moves (make test).
    "smoke": ScenarioSpec(
        "smoke",
        tags=20,
        floors=1,
        grid=(2, 2),
        rooms_per_ward=4,
        mean_dwell_s=10.0,
        min_dwell_s=4.0,
        hearers=4,
        warmup_s=15,
        seconds=3,
    ),
    "ward": ScenarioSpec(
        "ward",
        tags=400,
        floors=1,
        grid=(4, 3),
        rooms_per_ward=12,
        mean_dwell_s=120.0,
        min_dwell_s=20.0,
        warmup_s=25,
        seconds=10,
    ),
    # 10,000 tags x ~4 gateways each = ~40,000 observations a second.
    "hospital": ScenarioSpec(
        "hospital",
        tags=10_000,
        floors=10,
        grid=(10, 4),
        rooms_per_ward=10,
        mean_dwell_s=1800.0,
        min_dwell_s=60.0,
        warmup_s=25,
        seconds=20,
    ),
}
# The same hospital after its gateways were cut off for a minute.
SCENARIOS["storm"] = replace(SCENARIOS["hospital"], name="storm", outage_s=60, seconds=30)


class WireObservation(msgspec.Struct, array_like=False):
    """What a gateway posts for one sighting (the ingest API's field names)."""

    technology: str
    tag: str
    observed_at: str
    receiver: str
    rssi: int


class WireBatch(msgspec.Struct):
    observations: list[WireObservation]


@dataclass(slots=True)
class GatewayBatch:
    """One POST body: a gateway's sightings over ``first_second .. last_second``."""

    first_second: int
    last_second: int
    rank: int  # posting order within a second; also the observed_at microseconds
    gateway: int
    count: int
    payload: bytes


def tag_identifier(index: int) -> str:
    return "C3:00:" + ":".join(f"{(index >> s) & 0xFF:02X}" for s in (24, 16, 8, 0))


def gateway_identifier(index: int) -> str:
    return "AC:23:3F:" + ":".join(f"{(index >> s) & 0xFF:02X}" for s in (16, 8, 0))


@dataclass
class Layout:
    """Rooms, wards and floors as zone ids; gateways as receivers. Ids are assigned here."""

    spec: ScenarioSpec
    room_zone: list[int] = field(default_factory=list)  # room index -> zone id
    ward_zone: list[int] = field(default_factory=list)  # ward index -> zone id
    floor_zone: list[int] = field(default_factory=list)  # floor -> zone id
    room_ward: list[int] = field(default_factory=list)  # room index -> ward index

    def __post_init__(self) -> None:
        spec = self.spec
        next_id = 1
        for _floor in range(spec.floors):
            self.floor_zone.append(next_id)
            next_id += 1
        wards_per_floor = math.ceil(spec.rooms_per_floor / spec.rooms_per_ward)
        for _ in range(spec.floors * wards_per_floor):
            self.ward_zone.append(next_id)
            next_id += 1
        for room in range(spec.gateways):
            floor, local = divmod(room, spec.rooms_per_floor)
            self.room_ward.append(floor * wards_per_floor + local // spec.rooms_per_ward)
            self.room_zone.append(next_id)
            next_id += 1

    def room_xy(self, room: int) -> tuple[int, int, int]:
        """(floor, column, row) of a room index."""
        floor, local = divmod(room, self.spec.rooms_per_floor)
        iy, ix = divmod(local, self.spec.grid[0])
        return floor, ix, iy

    def register_rows(self) -> dict[str, list[dict[str, Any]]]:
        """Rows for every register table, keyed by table name, parents first."""
        spec = self.spec
        floors = [
            {"id": f + 1, "building_id": 1, "name": f"Floor {f}", "level": f}
            for f in range(spec.floors)
        ]
        wards_per_floor = math.ceil(spec.rooms_per_floor / spec.rooms_per_ward)
        floor_zones = [
            _zone(zid, f"F{f:02d}", "department", None, f + 1)
            for f, zid in enumerate(self.floor_zone)
        ]
        ward_zones = [
            _zone(
                zid,
                f"F{w // wards_per_floor:02d} Ward {w % wards_per_floor + 1}",
                "ward",
                self.floor_zone[w // wards_per_floor],
                w // wards_per_floor + 1,
            )
            for w, zid in enumerate(self.ward_zone)
        ]
        room_zones = []
        receivers = []
        for room, zid in enumerate(self.room_zone):
            floor, ix, iy = self.room_xy(room)
            room_zones.append(
                _zone(
                    zid,
                    f"F{floor:02d} Room {ix + 1}-{iy + 1}",
                    "room",
                    self.ward_zone[self.room_ward[room]],
                    floor + 1,
                )
            )
            receivers.append(
                {
                    "id": room + 1,
                    "name": f"Gateway {gateway_identifier(room)}",
                    "technology": TECHNOLOGY,
                    "identifier": gateway_identifier(room),
                    "zone_id": zid,
                    "x": (ix + 0.5) * ROOM_M,
                    "y": (iy + 0.5) * ROOM_M,
                    "notes": "",
                    "rssi_offset": 0.0,
                }
            )
        return {
            "sites": [
                {"id": 1, "name": "Bench General Hospital", "code": "BENCH", "timezone": "UTC"}
            ],
            "buildings": [{"id": 1, "site_id": 1, "name": "Main building"}],
            "floors": floors,
            "zones:floors": floor_zones,
            "zones:wards": ward_zones,
            "zones:rooms": room_zones,
            "receivers": receivers,
        }


def _zone(zid: int, name: str, type_: str, parent: int | None, floor_id: int) -> dict[str, Any]:
    return {
        "id": zid,
        "site_id": 1,
        "parent_id": parent,
        "floor_id": floor_id,
        "name": name,
        "type": type_,
        "polygon": None,
        "geo_polygon": None,
        "gln": None,
    }


ASSET_CLASSES = ("Infusion pump", "Patient monitor", "Wheelchair", "Bed", "Ventilator")


def asset_rows(
    count: int, layout: Layout, now: dt.datetime, seed: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Asset classes, assets (asset i has id i + 1) and one BLE identifier per asset."""
    rng = np.random.default_rng(seed)
    classes = [
        {
            "id": i + 1,
            "name": name,
            "category": "Medical equipment",
            "make": "Bench",
            "model": f"B-{i + 1}",
            "ppm_interval_days": 365,
            "criticality": "medium",
        }
        for i, name in enumerate(ASSET_CLASSES)
    ]
    homes = rng.integers(0, len(layout.room_zone), count).tolist()
    kinds = rng.integers(0, len(ASSET_CLASSES), count).tolist()
    assets = [
        {
            "id": i + 1,
            "asset_number": f"BN{i:07d}",
            "description": ASSET_CLASSES[kinds[i]],
            "serial": f"S{i:08d}",
            "giai": None,
            "class_id": kinds[i] + 1,
            "home_zone_id": layout.room_zone[homes[i]],
            "department": "",
            "state": "available",
            "last_ppm": None,
            "next_ppm_due": None,
            "created_at": now,
            "updated_at": now,
        }
        for i in range(count)
    ]
    identifiers = [
        {"id": i + 1, "asset_id": i + 1, "technology": TECHNOLOGY, "value": tag_identifier(i)}
        for i in range(count)
    ]
    return classes, assets, identifiers


def load_register(engine: Engine, layout: Layout, assets: int, now: dt.datetime) -> None:
    """Write the layout and ``assets`` tagged assets in one transaction (Core executemany).

    The register is written directly rather than through the API so 100,000 assets load
    in seconds; it bypasses the audit trail, which the benchmark does not measure.
    """
    rows = layout.register_rows()
    classes, asset_list, identifiers = asset_rows(assets, layout, now, layout.spec.seed)
    tables: list[tuple[type[Any], list[dict[str, Any]]]] = [
        (SiteRow, rows["sites"]),
        (BuildingRow, rows["buildings"]),
        (FloorRow, rows["floors"]),
        (ZoneRow, rows["zones:floors"]),
        (ZoneRow, rows["zones:wards"]),
        (ZoneRow, rows["zones:rooms"]),
        (ReceiverRow, rows["receivers"]),
        (AssetClassRow, classes),
        (AssetRow, asset_list),
        (IdentifierRow, identifiers),
    ]
    with engine.begin() as conn:
        for model, values in tables:
            table = cast(Table, model.__table__)
            for start in range(0, len(values), 50_000):
                conn.execute(table.insert(), values[start : start + 50_000])


def grid_neighbours(spec: ScenarioSpec, room: int) -> list[int]:
    """Rooms next to ``room`` in a fixed order (+x, -x, +y, -y), so a seed walks one way."""
    gx, gy = spec.grid
    iy, ix = divmod(room % spec.rooms_per_floor, gx)
    return [
        room + dx + dy * gx
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
        if 0 <= ix + dx < gx and 0 <= iy + dy < gy
    ]


def grid_site(spec: ScenarioSpec, layout: Layout) -> Site:
    """The scenario's rooms as places of the shared movement model, one gateway each."""
    gx = spec.grid[0]
    places, gateways, links = [], [], []
    for room in range(spec.gateways):
        floor, local = divmod(room, spec.rooms_per_floor)
        iy, ix = divmod(local, gx)
        rect = (ix * ROOM_M, iy * ROOM_M, (ix + 1) * ROOM_M, (iy + 1) * ROOM_M)
        name = f"F{floor:02d} Room {ix + 1}-{iy + 1}"
        places.append(Place(name, floor, rect, zone=layout.room_zone[room]))
        centre = ((ix + 0.5) * ROOM_M, (iy + 0.5) * ROOM_M)
        gateways.append(Gateway(gateway_identifier(room), *centre, place=room))
        links += [Link(room, n) for n in grid_neighbours(spec, room) if n > room]
    return Site(places, gateways, links, Radio(hearers=spec.hearers, link_loss=spec.link_loss))


def grid_routine(spec: ScenarioSpec) -> Routine:
    """Every room alike: the scenario's dwell, then any neighbouring room."""
    rooms = spec.gateways
    return Routine(
        min_dwell_s=(spec.min_dwell_s,) * rooms,
        mean_dwell_s=(spec.mean_dwell_s,) * rooms,
        destinations=tuple(tuple((n, 1.0) for n in grid_neighbours(spec, r)) for r in range(rooms)),
    )


class Scenario:
    """The moving tags and what the gateways hear of them, one scenario second at a time."""

    def __init__(self, spec: ScenarioSpec, anchor: dt.datetime) -> None:
        if spec.gateways > MAX_GATEWAYS:
            raise ValueError(f"at most {MAX_GATEWAYS} gateways (the rank is a microsecond)")
        if anchor.microsecond or anchor.tzinfo is None:
            raise ValueError("the anchor must be a whole, aware second")
        self.spec = spec
        self.layout = Layout(spec)
        self.anchor = anchor
        rng = self.rng = np.random.default_rng(spec.seed)
        rooms = spec.gateways
        self.site = grid_site(spec, self.layout)
        # Gateways post at their own phase within each second; the rank is that order.
        self.phase = np.sort(rng.random(rooms))
        order = rng.permutation(rooms)
        self.rank_of_gateway = np.empty(rooms, dtype=np.int64)
        self.rank_of_gateway[order] = np.arange(rooms)
        self.gateway_of_rank = order
        self.gateway_ids = [gateway_identifier(g) for g in range(rooms)]
        self.rank_suffix = [f"{r:03d}+00:00" for r in range(rooms)]

        tags = spec.tags
        self.tag_ids = [tag_identifier(i) for i in range(tags)]
        # Advert phase in whole milliseconds (0..998 keeps the rank below the next second).
        self.advert_ms = rng.integers(0, 999, tags)
        self.advert_str = [f"{m:03d}" for m in self.advert_ms.tolist()]
        start_room = rng.integers(0, rooms, tags)
        self.tags = Tags(self.site, grid_routine(spec), start_room, rng)
        self.truth: dict[int, np.ndarray[Any, np.dtype[np.int64]]] = {}  # second -> true rooms

    @property
    def moves(self) -> int:
        """Walks started, for the record."""
        return int(self.tags.moves)

    def hear(self, t: int) -> list[tuple[int, list[WireObservation]]]:
        """Advance to scenario second ``t``; each gateway's sightings, in posting-rank order."""
        self.tags.advance(float(t))
        spec = self.spec
        heard = self.site.hear(self.tags, self.rng)
        self.truth[t] = heard.places
        tag_idx, gateway, values = heard.tags, heard.gateways, heard.rssi
        # Posting rank first, then advert time within the gateway's batch.
        order = np.lexsort((self.advert_ms[tag_idx], self.rank_of_gateway[gateway]))
        tag_idx, gateway, values = tag_idx[order], gateway[order], values[order]
        ranks = self.rank_of_gateway[gateway]
        bounds = np.searchsorted(ranks, np.arange(spec.gateways + 1))
        prefix = (self.anchor + dt.timedelta(seconds=t)).strftime("%Y-%m-%dT%H:%M:%S.")
        tag_ids, adverts = self.tag_ids, self.advert_str
        tags_l, values_l = tag_idx.tolist(), values.tolist()
        out: list[tuple[int, list[WireObservation]]] = []
        for rank in range(spec.gateways):
            a, b = int(bounds[rank]), int(bounds[rank + 1])
            if a == b:
                continue
            g = int(self.gateway_of_rank[rank])
            receiver, suffix = self.gateway_ids[g], self.rank_suffix[rank]
            out.append(
                (
                    rank,
                    [
                        WireObservation(
                            TECHNOLOGY, tag_ids[i], prefix + adverts[i] + suffix, receiver, v
                        )
                        for i, v in zip(tags_l[a:b], values_l[a:b], strict=True)
                    ],
                )
            )
        return out

    def live(self, first: int, last: int) -> Iterator[list[GatewayBatch]]:
        """Seconds ``first .. last - 1``, each as its gateways' batches in posting order."""
        encode = msgspec.json.Encoder().encode
        for t in range(first, last):
            yield [
                GatewayBatch(
                    t, t, rank, int(self.gateway_of_rank[rank]), len(obs), encode(WireBatch(obs))
                )
                for rank, obs in self.hear(t)
            ]

    def backlog(self, first: int, last: int, per_post: int = 0) -> list[GatewayBatch]:
        """What each gateway buffered over ``first .. last - 1``, flushed at once.

        ``per_post`` > 0 splits each gateway's backlog into posts of that many seconds
        (in order, every gateway's first post before anyone's second); 0 posts it whole.
        """
        span = last - first
        per_post = span if per_post <= 0 else min(per_post, span)
        chunks: dict[tuple[int, int], list[WireObservation]] = {}
        for t in range(first, last):
            chunk = (t - first) // per_post
            for rank, obs in self.hear(t):
                chunks.setdefault((chunk, rank), []).extend(obs)
        encode = msgspec.json.Encoder().encode
        return [
            GatewayBatch(
                first + chunk * per_post,
                min(first + (chunk + 1) * per_post, last) - 1,
                rank,
                int(self.gateway_of_rank[rank]),
                len(obs),
                encode(WireBatch(obs)),
            )
            for (chunk, rank), obs in sorted(chunks.items())
        ]

    def key_of(self, observed_at: dt.datetime) -> tuple[int, int]:
        """``(scenario second, posting rank)`` of the batch that carried ``observed_at``."""
        delta = observed_at - self.anchor
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        return micros // 1_000_000, micros % 1000

    def tag_to_asset(self) -> dict[str, int]:
        return {tag: i + 1 for i, tag in enumerate(self.tag_ids)}

    def gateway_to_zone(self) -> dict[str, int]:
        return {gid: self.layout.room_zone[g] for g, gid in enumerate(self.gateway_ids)}
