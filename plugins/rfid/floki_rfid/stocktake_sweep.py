"""A sweep taken in the appliance: the facts its report compares (the zone and the zones
inside it, the assets expected there, the asset each read EPC names and where each was
before the sweep), and the sweep's reads handed to the location pipeline.

Every tag read in a sweep is there now: the reads go to the ingest queue (as a reader's
reads do, counted as the source ``rfid-stocktake``) as RFID sightings at the sweep's own
receiver in the swept zone (``stocktake:<zone id>``, made on the zone's first sweep), which
the plugin's RFID locator places at once (the ``stocktake`` extra) as fixed-point evidence.
So each asset read gets that zone as its location, with a transition in its history if it
moved, and an EPC that names no asset is listed among the unknown tags, as any reader's is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from floki_core.sdk import (
    Asset,
    Conflict,
    Observation,
    PluginContext,
    Principal,
    RegisterReading,
    RegisterWriting,
    Zone,
)
from floki_rfid.epc import RFID
from floki_rfid.epc_assets import asset_id_for_epc
from floki_rfid.stocktake_reads import Sweep, SweepError, SweepRead
from floki_rfid.stocktake_report import AssetFacts, expected_in

__all__ = ["SOURCE", "Gathered", "gather", "place_reads", "receiver_identifier"]

SOURCE: Final = "rfid-stocktake"
MAX_EXPECTED: Final = 100_000  # assets placed in one swept zone, far beyond any store
OFF_SITE: Final = "off site"


@dataclass(frozen=True)
class Gathered:
    zone: Zone
    swept: set[int]  # the zone and every zone inside it
    expected: list[AssetFacts]
    reads: list[tuple[SweepRead, AssetFacts | None]]


def receiver_identifier(zone_id: int) -> str:
    return f"stocktake:{zone_id}"


@dataclass(frozen=True)
class _Register:
    zone: Zone | None
    read_assets: dict[str, Asset]  # EPC hex -> the asset it names
    at_home: list[Asset]
    placed: list[Asset]
    classes: dict[int, str]


def _read_register(
    reading: RegisterReading,
    zone_id: int,
    swept: set[int],
    read_ids: dict[str, int],
    placed_ids: list[int],
) -> _Register:
    zone = reading.zone(zone_id)
    if zone is None:
        return _Register(None, {}, [], [], {})
    by_id = {a.id: a for a in reading.assets([*read_ids.values(), *placed_ids])}
    return _Register(
        zone=zone,
        read_assets={epc: by_id[i] for epc, i in read_ids.items() if i in by_id},
        at_home=reading.assets_at_home_in(sorted(swept)),
        placed=[by_id[i] for i in placed_ids if i in by_id],
        classes={c.id: c.name for c in reading.asset_classes()},
    )


async def gather(context: PluginContext, sweep: Sweep) -> Gathered:
    """The facts of the report; ``SweepError`` if the zone is not in the register."""
    locations = context.locations
    if sweep.zone_id not in locations.index.zones:
        await locations.reindex()  # a zone made a moment ago
    index = locations.index
    swept = index.descendants(sweep.zone_id) if sweep.zone_id in index.zones else set()
    placed_rows, _ = (
        await locations.assets_in_zones(sorted(swept), limit=MAX_EXPECTED) if swept else ([], 0)
    )
    # Which asset each EPC names, as the location pipeline binds it (the index holds
    # every rfid, giai and udi identifier and each asset's own GIAI): the report agrees
    # with where the reads place things, and a 10,000-tag sweep is looked up in memory.
    read_ids: dict[str, int] = {}
    view = context.register
    for read in sweep.reads:
        found = None if view is None else asset_id_for_epc(view, read.identity)
        if found is not None:
            read_ids[read.identity.hex] = found
    register = await context.records.read(
        _read_register,
        sweep.zone_id,
        swept,
        read_ids,
        [int(row["id"]) for row in placed_rows],
    )
    if register.zone is None:
        raise SweepError(f"zone_id {sweep.zone_id}: there is no such zone")

    def zone_name(zone_id: int | None) -> str | None:
        zone = index.zones.get(zone_id) if zone_id is not None else None
        return zone.name if zone is not None else None

    def facts(asset: Asset) -> AssetFacts:
        where = locations.where_is(asset.id)
        zone = where.get("zone") if where else None
        zone_id = zone.get("id") if isinstance(zone, dict) else None
        last_seen = where.get("last_seen") if where else None
        return AssetFacts(
            asset_id=asset.id,
            asset_number=asset.asset_number,
            name=asset.description,
            class_name=register.classes.get(asset.class_id) if asset.class_id else None,
            placed=where is not None,
            zone_id=zone_id,
            zone_name=(zone_name(zone_id) or OFF_SITE) if where is not None else None,
            last_seen=last_seen if isinstance(last_seen, dt.datetime) else None,
            home_zone_id=asset.home_zone_id,
            home_zone_name=zone_name(asset.home_zone_id),
        )

    candidates = {a.id: a for a in (*register.placed, *register.at_home)}
    expected = [f for f in map(facts, candidates.values()) if expected_in(swept, f)]
    reads: list[tuple[SweepRead, AssetFacts | None]] = []
    for read in sweep.reads:
        asset = register.read_assets.get(read.identity.hex)
        reads.append((read, None if asset is None else facts(asset)))
    return Gathered(zone=register.zone, swept=swept, expected=expected, reads=reads)


async def ensure_receiver(context: PluginContext, zone: Zone, actor: Principal) -> str:
    """The identifier of the swept zone's stock-take receiver, made (audited, as ``actor``
    made it) on the zone's first sweep."""
    identifier = receiver_identifier(zone.id)
    if context.locations.index.receiver(RFID, identifier) is not None:
        return identifier

    def make(writing: RegisterWriting) -> None:
        if writing.find_receiver((RFID,), identifier) is not None:
            return
        writing.create_receiver(
            name=f"RFID stock-take: {zone.name} (zone {zone.id})"[:200],
            technology=RFID,
            identifier=identifier,
            zone_id=zone.id,
            actor=actor,
            notes="The reads of handheld stock-takes of this zone (floki-rfid).",
        )

    with contextlib.suppress(Conflict):  # made by a sweep of the same zone a moment ago
        await context.records.write(make)
    if context.locations.index.receiver(RFID, identifier) is None:
        await context.locations.reindex()
    return identifier


async def place_reads(
    context: PluginContext,
    reads: Sequence[SweepRead],
    *,
    receiver: str,
    stocktake_id: int,
    taken_at: dt.datetime,
) -> None:
    """Hand every read to the location pipeline as an RFID sighting at ``receiver``."""
    if not reads:
        return
    now = context.clock.now()
    batch = [
        Observation(
            technology=RFID,
            tag=read.identity.hex,
            receiver=receiver,
            # A handheld a little ahead of the appliance is taken as read now.
            observed_at=min(read.seen_at or taken_at, now),
            received_at=now,
            rssi=read.rssi,
            extras=_extras(stocktake_id, read),
        )
        for read in reads
    ]
    await context.sink(SOURCE).submit(batch)


def _extras(stocktake_id: int, read: SweepRead) -> dict[str, Any]:
    # "stocktake" tells the rfid locator (placement.py) that this read places at once,
    # with no read-zone dwell: a sweep is a deliberate look at the shelves.
    return {"stocktake": stocktake_id, "seen_count": read.count}  # as the readers tally
