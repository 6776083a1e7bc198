"""``location.changed`` describes a move already in the database: an observer that reads
the database on receipt finds it there; a move whose write fails is announced only once
a later write keeps it; and stopping the appliance leaves no observer task behind."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from floki_core import hookimpl
from floki_core.events import DomainEvent
from floki_core.location import store
from floki_core.testing import Floki
from tests.core.events.appliance import appliance, build_ward, scans


class ReadsOnReceipt:
    """For each move announced, the zone the database holds for that asset right then."""

    def __init__(self, floki: Floki) -> None:
        self.floki = floki
        self.seen: list[tuple[int, int | None, int | None]] = []

    async def __call__(self, batch: Sequence[DomainEvent]) -> None:
        moves = [e for e in batch if e.type == "location.changed"]
        if not moves:
            return
        tracks = await self.floki.core.read(store.load_tracks)
        for event in moves:
            asset_id = event.data["asset_id"]
            track = tracks.get(asset_id)
            stored = track.zone if track is not None else None
            self.seen.append((asset_id, event.data["to_zone_id"], stored))  # type: ignore[arg-type]


async def test_a_move_is_in_the_database_when_it_is_announced(floki: Floki) -> None:
    ward = await build_ward(floki, pumps=2)
    reader = ReadsOnReceipt(floki)
    floki.core.events.add_observer("reads-on-receipt", reader)
    for room in ("room_a", "room_b"):
        floki.clock.advance(5)
        await floki.core.ingest.put("reader", scans(ward, room, floki.clock.now()))
        await floki.core.ingest.join()
        await floki.core.locations.flush()
        await asyncio.wait_for(floki.core.events.drain(), 5)
    pumps = sorted(ward.pumps.values())
    room_a, room_b = ward.zones["room_a"], ward.zones["room_b"]
    assert sorted(reader.seen) == sorted(
        [(p, room_a, room_a) for p in pumps] + [(p, room_b, room_b) for p in pumps]
    )


async def test_a_move_whose_write_fails_is_announced_once_it_is_written(
    floki: Floki, monkeypatch: pytest.MonkeyPatch
) -> None:
    ward = await build_ward(floki)
    [pump] = ward.pumps.values()
    announced: list[DomainEvent] = []
    floki.core.events.add_observer(
        "moves", lambda batch: announced.extend(e for e in batch if e.type == "location.changed")
    )
    real_write = floki.core.store.write_batch

    async def failing_write(*args: Any, **kwargs: Any) -> Any:
        raise OSError("database is locked")

    monkeypatch.setattr(floki.core.store, "write_batch", failing_write)
    await floki.core.ingest.put("reader", scans(ward, "room_a", floki.clock.now()))
    await floki.core.ingest.join()
    with pytest.raises(OSError, match="database is locked"):
        await floki.core.locations.flush()
    await asyncio.wait_for(floki.core.events.drain(), 5)
    assert announced == []
    assert await floki.core.read(store.load_tracks) == {}

    monkeypatch.setattr(floki.core.store, "write_batch", real_write)
    await floki.core.locations.flush()
    await asyncio.wait_for(floki.core.events.drain(), 5)
    assert [(e.data["asset_id"], e.data["to_zone_id"]) for e in announced] == [
        (pump, ward.zones["room_a"])
    ]
    assert (await floki.core.read(store.load_tracks))[pump].zone == ward.zones["room_a"]


class HangingObserver:
    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    async def floki_events(self, events: Sequence[DomainEvent]) -> None:
        self.calls += 1
        await asyncio.Event().wait()


async def test_stopping_leaves_no_observer_task_behind(
    tmp_path: Path, floki_migrated_database: Path
) -> None:
    before = asyncio.all_tasks()
    hanging = HangingObserver()
    async with appliance(tmp_path / "data", floki_migrated_database, [("hanging", hanging)]) as fl:
        ward = await build_ward(fl)
        await fl.core.ingest.put("reader", scans(ward, "room_a", fl.clock.now()))
        await fl.core.ingest.join()
        await fl.core.locations.flush()
        assert hanging.calls == 1
        assert any(s.name == "hanging" and s.lag > 1 for s in fl.core.events.observer_stats())
    left = asyncio.all_tasks() - before
    assert not left, [t.get_name() for t in left]
