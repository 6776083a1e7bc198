"""Seeded scenarios: a hospital's layout, its register, and the gateway batches it produces.

A floor is a grid of rooms with one ceiling-mounted BLE gateway in the middle of each.
Rooms are grouped into wards, wards into a floor-wide zone, so "assets in zone" has
descendants to walk. Tags advertise once a second at their own phase; each advert is
offered to the nearest few gateways on the floor, arrives at each with an RSSI from a
log-distance path-loss model (plus one wall loss per room boundary and Gaussian noise)
or is lost. Tags dwell in a room, then walk to a neighbouring one.

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
from numpy.typing import NDArray
from sqlalchemy import Engine, Table

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
CEILING_M = 2.5  # gateways hang this far above the tags
TX_POWER_1M = -59.0  # dBm a gateway hears at one metre
PATH_LOSS_EXPONENT = 2.2
WALL_LOSS_DB = 6.0
NOISE_DB = 4.0
SENSITIVITY_DBM = -100.0
WALK_M_PER_S = 1.0
MAX_GATEWAYS = 1000  # the posting rank must fit in the microseconds below the millisecond

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]
Bools = NDArray[np.bool_]


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
        gx, gy = spec.grid
        rooms = spec.gateways
        room_idx = np.arange(rooms)
        floor_of_room = room_idx // spec.rooms_per_floor
        local = room_idx % spec.rooms_per_floor
        self.room_ix = local % gx
        self.room_iy = local // gx
        self.rx_x = (self.room_ix + 0.5) * ROOM_M
        self.rx_y = (self.room_iy + 0.5) * ROOM_M
        # Nearest gateways on the same floor, own room first; floors are not heard across.
        hearers = min(spec.hearers, spec.rooms_per_floor)
        self.hearers = np.empty((rooms, hearers), dtype=np.int64)
        for room in range(rooms):
            same = room_idx[floor_of_room == floor_of_room[room]]
            d2 = (self.rx_x[same] - self.rx_x[room]) ** 2 + (self.rx_y[same] - self.rx_y[room]) ** 2
            self.hearers[room] = same[np.argsort(d2, kind="stable")[:hearers]]
        # Grid neighbours a tag may walk to (-1 pads rooms at the edge).
        self.neighbours = np.full((rooms, 4), -1, dtype=np.int64)
        self.neighbour_count = np.zeros(rooms, dtype=np.int64)
        for room in range(rooms):
            ix, iy = int(self.room_ix[room]), int(self.room_iy[room])
            found = [
                room + dx + dy * gx
                for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1))
                if 0 <= ix + dx < gx and 0 <= iy + dy < gy
            ]
            self.neighbours[room, : len(found)] = found
            self.neighbour_count[room] = len(found)
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
        self.floor_of_tag = start_room // spec.rooms_per_floor
        self.x, self.y = self._point_in(start_room)
        self.walking = np.zeros(tags, dtype=np.bool_)
        self.from_x, self.from_y = self.x.copy(), self.y.copy()
        self.to_x, self.to_y = self.x.copy(), self.y.copy()
        self.walk_start = np.zeros(tags)
        self.walk_end = np.zeros(tags)
        self.dwell_end = np.zeros(tags)
        self.moves = 0  # walks started, for the record
        self.time: float | None = None
        self.truth: dict[int, Ints] = {}  # scenario second -> each tag's true room

    def _point_in(self, rooms: Ints) -> tuple[Floats, Floats]:
        ix = self.room_ix[rooms]
        iy = self.room_iy[rooms]
        margin = 0.15
        u = self.rng.uniform(margin, 1 - margin, (2, len(rooms)))
        return (ix + u[0]) * ROOM_M, (iy + u[1]) * ROOM_M

    def _dwell(self, n: int) -> Floats:
        spec = self.spec
        extra = max(spec.mean_dwell_s - spec.min_dwell_s, 0.0)
        return spec.min_dwell_s + self.rng.exponential(extra, n)

    def _residual_dwell(self, n: int) -> Floats:
        """What is left of stays already under way, as if the scenario had always run.

        The residual of a stay of min + Exp(mean - min) is uniform over the minimum with
        probability min / mean, else the minimum plus an exponential; starting every tag
        afresh instead would send a burst of early moves (too many transitions at first).
        """
        spec = self.spec
        low = spec.min_dwell_s
        extra = max(spec.mean_dwell_s - low, 0.0)
        total = low + extra
        if total <= 0:
            return np.zeros(n)
        in_minimum = self.rng.random(n) < low / total
        return np.where(
            in_minimum, self.rng.uniform(0.0, low, n), low + self.rng.exponential(extra, n)
        )

    def rooms_of_tags(self) -> Ints:
        gx, gy = self.spec.grid
        ix = np.clip((self.x // ROOM_M).astype(np.int64), 0, gx - 1)
        iy = np.clip((self.y // ROOM_M).astype(np.int64), 0, gy - 1)
        return cast(Ints, self.floor_of_tag * self.spec.rooms_per_floor + iy * gx + ix)

    def _advance(self, t: float) -> None:
        if self.time is None:
            self.dwell_end = t + self._residual_dwell(self.spec.tags)
        self.time = t
        arrived = self.walking & (self.walk_end <= t)
        if arrived.any():
            self.walking &= ~arrived
            self.x[arrived], self.y[arrived] = self.to_x[arrived], self.to_y[arrived]
            self.dwell_end[arrived] = t + self._dwell(int(arrived.sum()))
        walking = self.walking
        if walking.any():
            span = self.walk_end[walking] - self.walk_start[walking]
            frac = np.clip((t - self.walk_start[walking]) / span, 0.0, 1.0)
            fx, fy = self.from_x[walking], self.from_y[walking]
            self.x[walking] = fx + (self.to_x[walking] - fx) * frac
            self.y[walking] = fy + (self.to_y[walking] - fy) * frac
        leaving = ~self.walking & (self.dwell_end <= t)
        n = int(leaving.sum())
        if n:
            rooms = self.rooms_of_tags()[leaving]
            pick = (self.rng.random(n) * self.neighbour_count[rooms]).astype(np.int64)
            target = self.neighbours[rooms, pick]
            tx, ty = self._point_in(target)
            self.from_x[leaving], self.from_y[leaving] = self.x[leaving], self.y[leaving]
            self.to_x[leaving], self.to_y[leaving] = tx, ty
            dist = np.hypot(tx - self.x[leaving], ty - self.y[leaving])
            self.walk_start[leaving] = t
            self.walk_end[leaving] = t + np.maximum(dist / WALK_M_PER_S, 1.0)
            self.walking |= leaving
            self.moves += n

    def hear(self, t: int) -> list[tuple[int, list[WireObservation]]]:
        """Advance to scenario second ``t``; each gateway's sightings, in posting-rank order."""
        self._advance(float(t))
        spec = self.spec
        rooms = self.truth[t] = self.rooms_of_tags()
        hearers = self.hearers[rooms]  # (tags, hearers)
        dx = self.rx_x[hearers] - self.x[:, None]
        dy = self.rx_y[hearers] - self.y[:, None]
        dist = np.sqrt(dx * dx + dy * dy + CEILING_M * CEILING_M)
        own_ix = self.room_ix[rooms][:, None]
        own_iy = self.room_iy[rooms][:, None]
        walls = np.abs(self.room_ix[hearers] - own_ix) + np.abs(self.room_iy[hearers] - own_iy)
        noise = self.rng.normal(0.0, NOISE_DB, hearers.shape)
        rssi = TX_POWER_1M - 10 * PATH_LOSS_EXPONENT * np.log10(dist) - WALL_LOSS_DB * walls
        rssi = np.rint(rssi + noise)
        keep: Bools = (self.rng.random(hearers.shape) >= spec.link_loss) & (rssi >= SENSITIVITY_DBM)
        tag_idx = np.broadcast_to(np.arange(spec.tags)[:, None], hearers.shape)[keep]
        gateway = hearers[keep]
        values = rssi[keep].astype(np.int64)
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
